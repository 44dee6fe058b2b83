//! The tick: what the local scheduler does every few seconds and the dispatch function at
//! every reap (each minute) — and both when a run ends (a notification locally, an ECS task
//! state change in AWS). It reaps stale runs, pauses configs that keep failing, keeps every
//! always-on config's tables live, notices coverage lost and restored, and delivers alerts.
//! Every step is safe to repeat and to run from two places at once: each decision is made
//! under the config's row lock, and the database's limits hold whatever the timing.

use super::reaper::Reaped;
use super::{RunControl, Started, Trigger, auto_pause_if_failing, start_run, stop_reaped};
use crate::alerts::{self, AlertKind};
use crate::domain::{RunId, SimulationId};
use crate::store::{self, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use serde_json::json;

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    pub reaped: Vec<Reaped>,
    /// Configs paused for failing too often, with the reason.
    pub paused: Vec<(SimulationId, String)>,
    /// Runs started to keep always-on configs live.
    pub started: Vec<RunId>,
    /// Coverage changes: (config, `coverage_lost` | `coverage_restored`).
    pub coverage: Vec<(SimulationId, &'static str)>,
    pub alerts_delivered: usize,
}

/// One whole tick at `now`.
pub async fn tick(
    pool: &Pool,
    control: &RunControl,
    now: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    let mut report = TickReport::default();
    {
        let client = pool.get().await?;
        report.reaped = super::reaper::reap(&client, now, &control.policy.reaper).await?;
    }
    if let Some(launcher) = &control.launcher {
        stop_reaped(launcher, &report.reaped).await;
    }
    let configs: Vec<(SimulationId, bool)> = {
        let client = pool.get().await?;
        client
            .query(
                "SELECT id, schedule_type = 'always_on' FROM simulation_configs
                  WHERE status = 'active' AND (auto_pause_after IS NOT NULL
                                               OR schedule_type = 'always_on')
                  UNION ALL
                 SELECT id, true FROM simulation_configs
                  WHERE status = 'paused' AND schedule_type = 'always_on'
                    AND (uncovered_since IS NOT NULL OR coverage_lost_at IS NOT NULL)",
                &[],
            )
            .await?
            .iter()
            .filter_map(|r| SimulationId::parse(r.get(0)).map(|id| (id, r.get(1))))
            .collect()
    };
    for (config, always_on) in &configs {
        let mut client = pool.get().await?;
        let tx = client.transaction().await?;
        let locked = tx
            .query_opt(
                "SELECT 1 FROM simulation_configs WHERE id = $1 FOR UPDATE",
                &[&config.as_str()],
            )
            .await?;
        if locked.is_some()
            && let Some(reason) = auto_pause_if_failing(&tx, config, now).await?
        {
            report.paused.push((config.clone(), reason));
        }
        tx.commit().await?;
        if *always_on {
            if let Some(launcher) = &control.launcher {
                report
                    .started
                    .extend(keep_live(pool, launcher, config, now, control).await?);
            }
            if let Some(change) = check_coverage(pool, config, now, control).await? {
                report.coverage.push((config.clone(), change));
            }
        }
    }
    let mut client = pool.get().await?;
    report.alerts_delivered = control.alerts.deliver_pending(&mut client, now).await?;
    Ok(report)
}

/// Starts runs of an always-on config until it has the tables it should (or a limit says
/// no): at most one per lane, so a tick can never loop.
pub async fn keep_live(
    pool: &Pool,
    launcher: &crate::launch::Launcher,
    config: &SimulationId,
    now: DateTime<Utc>,
    control: &RunControl,
) -> Result<Vec<RunId>, StoreError> {
    let mut started = Vec::new();
    for _ in 0..18 {
        match start_run(
            pool,
            launcher,
            config,
            Trigger::KeepLive,
            now,
            &control.policy,
        )
        .await?
        {
            Started::Launched(run) => {
                tracing::info!(simulation = %config, run = %run.id, "started a table to keep the config live");
                started.push(run.id);
            }
            Started::LaunchFailed(run, reason) => {
                tracing::error!(simulation = %config, run = %run.id, %reason, "an always-on run failed to launch");
                break;
            }
            Started::Skipped { .. } | Started::NotFound => break,
        }
    }
    Ok(started)
}

/// Compares an always-on config's open tables with what it should have: no table inside its
/// window for longer than its cooldown plus the grace is coverage lost (one alert), and the
/// first table after that is coverage restored (one alert). Outside its windows, or paused,
/// nothing is expected: the state is cleared without an alert.
async fn check_coverage(
    pool: &Pool,
    config: &SimulationId,
    now: DateTime<Utc>,
    control: &RunControl,
) -> Result<Option<&'static str>, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT uncovered_since, coverage_lost_at,
                    (SELECT count(*) FROM tables t JOIN simulation_runs r ON r.id = t.run_id
                      WHERE r.config_id = c.id AND t.status = 'open') AS open
               FROM simulation_configs c WHERE id = $1 FOR UPDATE",
            &[&config.as_str()],
        )
        .await?
    else {
        return Ok(None);
    };
    let (uncovered_since, lost_at, open): (Option<DateTime<Utc>>, Option<DateTime<Utc>>, i64) =
        (row.get(0), row.get(1), row.get(2));
    let Some(record) = store::get_simulation(&tx, config).await? else {
        return Ok(None);
    };
    let expected = record.spec.status() == crate::domain::ConfigStatus::Active
        && record
            .spec
            .schedule()
            .always_on()
            .is_some_and(|a| a.in_window(now));
    let grace =
        chrono::Duration::minutes(record.spec.cooldown_minutes()) + control.policy.coverage_grace;
    let (since, lost, change) = match (expected, open > 0) {
        (false, _) => (None, None, None),
        (true, true) => (None, None, lost_at.map(|_| AlertKind::CoverageRestored)),
        (true, false) => {
            let since = uncovered_since.unwrap_or(now);
            if lost_at.is_none() && now - since > grace {
                (Some(since), Some(now), Some(AlertKind::CoverageLost))
            } else {
                (Some(since), lost_at, None)
            }
        }
    };
    if (since, lost) != (uncovered_since, lost_at) {
        tx.execute(
            "UPDATE simulation_configs SET uncovered_since = $2, coverage_lost_at = $3 WHERE id = $1",
            &[&config.as_str(), &since, &lost],
        )
        .await?;
    }
    if let Some(kind) = change {
        let uncovered = uncovered_since.unwrap_or(now);
        let payload = json!({
            "config_name": record.spec.name(),
            "uncovered_since": uncovered,
            "open_tables": open,
            "live_tables": record.spec.schedule().always_on().map(|a| a.live_tables),
        });
        alerts::record(&tx, kind, Some(config), None, payload, now).await?;
        tracing::warn!(simulation = %config, change = kind.as_str(), "coverage changed");
    }
    tx.commit().await?;
    Ok(change.map(AlertKind::as_str))
}

/// An ECS task stopped (EventBridge's "ECS Task State Change", `STOPPED`): a run it still held
/// lost its runner — closed `failed` now rather than at the lease's end. Returns the run's
/// config, so its tables can be kept live at once. A repeated event changes nothing.
pub async fn task_stopped(
    client: &impl GenericClient,
    task_ref: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<SimulationId>, StoreError> {
    let message = format!("the runner's task stopped before the run ended: {reason}");
    let row = client
        .query_opt(
            "UPDATE simulation_runs
                SET status = 'failed', completed_at = $3, error_code = 'runner_lost',
                    error_message = $2
              WHERE task_ref = $1 AND status IN ('queued', 'running')
              RETURNING config_id",
            &[&task_ref, &message, &now],
        )
        .await?;
    if row.is_some() {
        crate::store::recording::close_abandoned_tables(client).await?;
    }
    let config: Option<String> = match row {
        Some(row) => Some(row.get(0)),
        None => client
            .query_opt(
                "SELECT config_id FROM simulation_runs WHERE task_ref = $1",
                &[&task_ref],
            )
            .await?
            .map(|r| r.get(0)),
    };
    Ok(config.and_then(|c| SimulationId::parse(&c)))
}

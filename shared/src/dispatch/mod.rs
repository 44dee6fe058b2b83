//! Starting runs. One code path serves the scheduler's triggers (EventBridge or the local
//! ticker) and the admin API's "start": [`dispatch`] decides and inserts the `queued` run in
//! one short transaction; the caller then launches it and records the task.
//!
//! What the database guarantees, whatever the number of racing dispatchers: one active run
//! per config, at most `max_concurrent_runs` active runs in all, and one run per scheduled
//! time per config (duplicate deliveries collapse on the trigger key).

mod control;
pub mod reaper;

pub use control::{RunControl, RunSettings};

use crate::domain::{RunId, SimulationId};
use crate::store::{self, RunRecord, StoreError};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use deadpool_postgres::GenericClient;
use reaper::{Reaped, ReaperPolicy};
use tokio_postgres::error::SqlState;

/// What asked for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The admin API's start: skips the interval and cooldown checks, never the limits.
    Manual,
    /// A scheduler tick for the given scheduled time.
    Scheduled { at: DateTime<Utc> },
}

/// Why a trigger started nothing; recorded on the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    AlreadyRunning,
    CoolingDown,
    Paused,
    Duplicate,
    /// Less than one interval after the previous scheduled trigger.
    NotDue,
    /// A one-off config has no schedule: only a manual start runs it.
    NotPeriodic,
    /// An LLM seat's provider has no stored API key.
    MissingApiKey,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::AlreadyRunning => "already_running",
            SkipReason::CoolingDown => "cooling_down",
            SkipReason::Paused => "paused",
            SkipReason::Duplicate => "duplicate",
            SkipReason::NotDue => "not_due",
            SkipReason::NotPeriodic => "not_periodic",
            SkipReason::MissingApiKey => "missing_api_key",
        }
    }
}

/// What [`dispatch`] decided.
#[derive(Debug)]
pub enum Decision {
    /// A `queued` run now exists: launch it.
    Started(Box<RunRecord>),
    Skipped {
        reason: SkipReason,
        /// The active run when the reason is `already_running` for this config.
        active_run: Option<RunId>,
        message: String,
    },
    NotFound,
}

/// The limits dispatch enforces.
#[derive(Debug, Clone)]
pub struct DispatchPolicy {
    /// `SIMRUNNER_MAX_CONCURRENT_RUNS` (default 1).
    pub max_concurrent_runs: i32,
    pub reaper: ReaperPolicy,
}

impl DispatchPolicy {
    /// `SIMRUNNER_MAX_CONCURRENT_RUNS` (1) and `SIMRUNNER_RUN_LEASE_SECONDS` (60).
    pub fn from_env(env: &mut crate::settings::EnvReader<'_>) -> Self {
        let mut policy = Self {
            max_concurrent_runs: env.integer_in("SIMRUNNER_MAX_CONCURRENT_RUNS", 1..=100, 1) as i32,
            ..Default::default()
        };
        policy.reaper.lease =
            Duration::seconds(env.integer_in("SIMRUNNER_RUN_LEASE_SECONDS", 5..=3600, 60));
        policy
    }
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 1,
            reaper: ReaperPolicy::default(),
        }
    }
}

/// Scheduled times within this much of "one interval after the previous one" count as due:
/// the scheduler's own times are exact, but a rescheduled or re-created schedule may shift.
fn tolerance(interval_minutes: i64) -> Duration {
    Duration::seconds((interval_minutes * 60 / 10).min(60))
}

/// Decides whether `trigger` starts a run of `config` now, and if so inserts it `queued`.
/// Stale runs are reaped first, in the same transaction; what was reaped is returned so the
/// caller can stop those tasks.
pub async fn dispatch(
    client: &mut impl GenericClient,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Result<(Decision, Vec<Reaped>), StoreError> {
    let tx = client.transaction().await?;
    let reaped = reaper::reap(&tx, now, &policy.reaper).await?;
    let decision = decide_and_insert(&tx, config, trigger, now, policy).await?;
    if let Decision::Skipped { reason, .. } = &decision {
        store_execute(
            &tx,
            "UPDATE simulation_configs
                SET last_skip_reason = $2, last_skip_at = $3, skip_count = skip_count + 1
              WHERE id = $1",
            &[&config.as_str(), &reason.as_str(), &now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok((decision, reaped))
}

async fn store_execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

fn skipped(reason: SkipReason, message: impl Into<String>) -> Decision {
    Decision::Skipped {
        reason,
        active_run: None,
        message: message.into(),
    }
}

async fn decide_and_insert(
    tx: &deadpool_postgres::Transaction<'_>,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Result<Decision, StoreError> {
    // The row lock serialises every dispatch of this config until commit.
    let Some(row) = tx
        .query_opt(
            "SELECT status, schedule_type, interval_minutes, cooldown_minutes
               FROM simulation_configs WHERE id = $1 FOR UPDATE",
            &[&config.as_str()],
        )
        .await?
    else {
        return Ok(Decision::NotFound);
    };
    let status: String = row.get(0);
    let periodic = row.get::<_, String>(1) == "periodic";
    let interval: Option<i64> = row.get(2);
    let cooldown: i64 = row.get(3);

    let run_id = RunId::generate();
    let (trigger_name, trigger_key, scheduled_at) = match trigger {
        Trigger::Manual => ("manual", format!("manual:{run_id}"), None),
        Trigger::Scheduled { at } => (
            "schedule",
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
            Some(at),
        ),
    };

    if let Trigger::Scheduled { at } = trigger {
        let seen = tx
            .query_opt(
                "SELECT 1 FROM simulation_runs WHERE config_id = $1 AND trigger_key = $2",
                &[&config.as_str(), &trigger_key],
            )
            .await?;
        if seen.is_some() {
            return Ok(skipped(
                SkipReason::Duplicate,
                format!("the trigger for {trigger_key} was already handled"),
            ));
        }
        if status != "active" {
            return Ok(skipped(SkipReason::Paused, "the config is paused"));
        }
        if !periodic {
            return Ok(skipped(
                SkipReason::NotPeriodic,
                "a one-off config runs only when started",
            ));
        }
        let interval = interval.unwrap_or(1);
        let previous: Option<DateTime<Utc>> = tx
            .query_one(
                "SELECT max(scheduled_at) FROM simulation_runs
                  WHERE config_id = $1 AND trigger = 'schedule'",
                &[&config.as_str()],
            )
            .await?
            .get(0);
        if let Some(previous) = previous
            && at < previous + Duration::minutes(interval) - tolerance(interval)
        {
            return Ok(skipped(
                SkipReason::NotDue,
                format!(
                    "the previous scheduled run was for {previous}; the interval is {interval} minutes"
                ),
            ));
        }
    }

    if let Some(active) = tx
        .query_opt(
            "SELECT id FROM simulation_runs
              WHERE config_id = $1 AND status IN ('queued', 'running')",
            &[&config.as_str()],
        )
        .await?
    {
        let active: String = active.get(0);
        return Ok(Decision::Skipped {
            reason: SkipReason::AlreadyRunning,
            message: format!("run {active} of this simulation is still active"),
            active_run: RunId::parse(&active),
        });
    }

    let missing: Option<Vec<String>> = tx
        .query_one(
            "SELECT array_agg(DISTINCT provider ORDER BY provider) FROM (
                 SELECT split_part(slot->>'model', ':', 1) AS provider
                   FROM simulation_configs c, jsonb_array_elements(c.agent_slots) slot
                  WHERE c.id = $1 AND slot ? 'model') needed
              WHERE NOT EXISTS (SELECT 1 FROM provider_api_keys k WHERE k.provider = needed.provider)",
            &[&config.as_str()],
        )
        .await?
        .get(0);
    if let Some(missing) = missing {
        return Ok(skipped(
            SkipReason::MissingApiKey,
            format!(
                "no API key is stored for {}, which its LLM seats need; add one with POST \
                 /v1/admin/api-keys",
                missing.join(", ")
            ),
        ));
    }

    if trigger != Trigger::Manual {
        let last_end: Option<DateTime<Utc>> = tx
            .query_one(
                "SELECT max(completed_at) FROM simulation_runs WHERE config_id = $1",
                &[&config.as_str()],
            )
            .await?
            .get(0);
        if let Some(end) = last_end
            && now < end + Duration::minutes(cooldown)
        {
            return Ok(skipped(
                SkipReason::CoolingDown,
                format!("the last run ended at {end}; the cooldown is {cooldown} minutes"),
            ));
        }
    }

    let Some(slot) = free_slot(tx, policy.max_concurrent_runs).await? else {
        return Ok(skipped(
            SkipReason::AlreadyRunning,
            format!(
                "the limit of {} active runs is reached",
                policy.max_concurrent_runs
            ),
        ));
    };
    // A racing dispatch of another config may take the same slot first: the unique index
    // refuses the second insert, which then counts as "the limit is reached".
    tx.batch_execute("SAVEPOINT insert_run").await?;
    let inserted = tx
        .execute(
            "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key,
                                          scheduled_at, slot, created_at)
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7)",
            &[
                &run_id.as_str(),
                &config.as_str(),
                &trigger_name,
                &trigger_key,
                &scheduled_at,
                &slot,
                &now,
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT insert_run").await?;
            return Ok(skipped(
                SkipReason::AlreadyRunning,
                "another run took the last free slot at the same moment",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if trigger == Trigger::Manual && status != "active" {
        // Starting a paused config resumes it.
        tx.execute(
            "UPDATE simulation_configs SET status = 'active', updated_at = $2 WHERE id = $1",
            &[&config.as_str(), &now],
        )
        .await?;
    }
    let run = store::get_run(tx, &run_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{run_id} vanished after insert")))?;
    Ok(Decision::Started(Box::new(run)))
}

/// The lowest slot in `1..=limit` no active run holds.
async fn free_slot(
    tx: &deadpool_postgres::Transaction<'_>,
    limit: i32,
) -> Result<Option<i32>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT s FROM generate_series(1, $1::int) s
              WHERE NOT EXISTS (SELECT 1 FROM simulation_runs r
                                 WHERE r.slot = s AND r.status IN ('queued', 'running'))
              ORDER BY s LIMIT 1",
            &[&limit],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Records the launcher's handle on a run's task.
pub async fn record_launch(
    client: &impl GenericClient,
    run: &RunId,
    task_ref: &str,
) -> Result<(), StoreError> {
    store_execute(
        client,
        "UPDATE simulation_runs SET task_ref = $2 WHERE id = $1",
        &[&run.as_str(), &task_ref],
    )
    .await?;
    Ok(())
}

/// Closes a run whose launch failed, with the launcher's reason.
pub async fn fail_launch(
    client: &impl GenericClient,
    run: &RunId,
    reason: &str,
) -> Result<(), StoreError> {
    store_execute(
        client,
        "UPDATE simulation_runs
            SET status = 'failed', completed_at = now(), error_code = 'launch_failed',
                error_message = $2
          WHERE id = $1 AND status = 'queued'",
        &[&run.as_str(), &reason],
    )
    .await?;
    Ok(())
}

/// Asks the config's active run to stop (the runner sees it within a heartbeat) and pauses
/// the config. Returns the run that was asked, if any.
pub async fn stop_simulation(
    client: &mut impl GenericClient,
    config: &SimulationId,
    now: DateTime<Utc>,
) -> Result<Option<Option<RunId>>, StoreError> {
    let tx = client.transaction().await?;
    let paused = store_execute(
        &tx,
        "UPDATE simulation_configs SET status = 'paused', updated_at = $2 WHERE id = $1",
        &[&config.as_str(), &now],
    )
    .await?;
    if paused == 0 {
        return Ok(None);
    }
    let asked = request_stop_of(&tx, config, now).await?;
    tx.commit().await?;
    Ok(Some(asked.into_iter().next().map(|(run, _)| run)))
}

/// Asks the config's active run (there is at most one) to stop; returns it with its task.
async fn request_stop_of(
    client: &impl GenericClient,
    config: &SimulationId,
    now: DateTime<Utc>,
) -> Result<Vec<(RunId, Option<String>)>, StoreError> {
    let rows = client
        .query(
            "UPDATE simulation_runs SET stop_requested_at = COALESCE(stop_requested_at, $2)
              WHERE config_id = $1 AND status IN ('queued', 'running')
              RETURNING id, task_ref",
            &[&config.as_str(), &now],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| RunId::parse(r.get(0)).map(|run| (run, r.get(1))))
        .collect())
}

/// Asks every active run to stop (each finishes its hand and closes `cancelled`); returns
/// the runs asked.
pub async fn request_stop_all(
    client: &impl GenericClient,
    now: DateTime<Utc>,
) -> Result<Vec<RunId>, StoreError> {
    let rows = client
        .query(
            "UPDATE simulation_runs SET stop_requested_at = COALESCE(stop_requested_at, $1)
              WHERE status IN ('queued', 'running') RETURNING id",
            &[&now],
        )
        .await?;
    Ok(rows.iter().filter_map(|r| RunId::parse(r.get(0))).collect())
}

/// Emergency stop: asks every active run to stop and pauses every active periodic config.
/// Returns (runs asked to stop, configs paused): the caller disables their schedules.
pub async fn emergency_stop(
    client: &mut impl GenericClient,
    now: DateTime<Utc>,
) -> Result<(Vec<RunId>, Vec<SimulationId>), StoreError> {
    let tx = client.transaction().await?;
    let runs = request_stop_all(&tx, now).await?;
    let paused = tx
        .query(
            "UPDATE simulation_configs SET status = 'paused', updated_at = $1
              WHERE schedule_type = 'periodic' AND status = 'active'
              RETURNING id",
            &[&now],
        )
        .await?;
    tx.commit().await?;
    Ok((
        runs,
        paused
            .iter()
            .filter_map(|r| SimulationId::parse(r.get(0)))
            .collect(),
    ))
}

/// The first half of deleting a config, inside the caller's transaction: locks the config
/// and asks its active runs to stop. Returns the tasks to stop once the deletion has
/// committed (`None` when there is no such config).
pub async fn prepare_delete(
    tx: &impl GenericClient,
    config: &SimulationId,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, StoreError> {
    let locked = tx
        .query_opt(
            "SELECT 1 FROM simulation_configs WHERE id = $1 FOR UPDATE",
            &[&config.as_str()],
        )
        .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let asked = request_stop_of(tx, config, now).await?;
    Ok(Some(
        asked.into_iter().filter_map(|(_, task)| task).collect(),
    ))
}

/// What [`start_run`] did.
#[derive(Debug)]
pub enum Started {
    /// Queued and launched; the task reference is on the run.
    Launched(Box<RunRecord>),
    /// Queued, but the launcher failed: the run is closed `failed` (`launch_failed`).
    LaunchFailed(Box<RunRecord>, String),
    /// Nothing started, and why.
    Skipped {
        reason: SkipReason,
        active_run: Option<RunId>,
        message: String,
    },
    NotFound,
}

/// The whole start path, shared by the admin API's start, the local ticker and the dispatch
/// function: dispatch, stop what the reaper closed, launch the new run and record its task.
pub async fn start_run(
    pool: &deadpool_postgres::Pool,
    launcher: &crate::launch::Launcher,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Result<Started, StoreError> {
    let (decision, reaped) = {
        let mut client = pool.get().await?;
        dispatch(&mut client, config, trigger, now, policy).await?
    };
    stop_reaped(launcher, &reaped).await;
    let run = match decision {
        Decision::Started(run) => run,
        Decision::NotFound => return Ok(Started::NotFound),
        Decision::Skipped {
            reason,
            active_run,
            message,
        } => {
            return Ok(Started::Skipped {
                reason,
                active_run,
                message,
            });
        }
    };
    let request = crate::launch::LaunchRequest {
        run: run.id.clone(),
        config: run.config_id.clone(),
    };
    let client = pool.get().await?;
    match launcher.launch(&request).await {
        Ok(task) => {
            record_launch(&client, &run.id, &task).await?;
            tracing::info!(run = %run.id, %task, "launched run");
            let run = store::get_run(&client, &run.id).await?.unwrap_or(*run);
            Ok(Started::Launched(Box::new(run)))
        }
        Err(error) => {
            tracing::error!(run = %run.id, %error, "launch failed");
            fail_launch(&client, &run.id, &error.0).await?;
            let run = store::get_run(&client, &run.id).await?.unwrap_or(*run);
            Ok(Started::LaunchFailed(Box::new(run), error.0))
        }
    }
}

/// Stops the tasks of runs the reaper closed, best effort: a task that is already gone is
/// what the reaper expected.
pub async fn stop_reaped(launcher: &crate::launch::Launcher, reaped: &[Reaped]) {
    for run in reaped {
        if let Some(task) = &run.task_ref
            && let Err(error) = launcher.stop(task).await
        {
            tracing::info!(run = %run.run, %error, "stopping a reaped run's task");
        }
    }
}

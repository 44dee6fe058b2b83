//! Starting runs. One code path serves the scheduler's triggers (EventBridge or the local
//! ticker) and the admin API's "start": [`dispatch`] decides and inserts the `queued` run in
//! one short transaction; the caller then launches it and records the task.
//!
//! What the database guarantees, whatever the number of racing dispatchers: one active run
//! per config, at most `max_concurrent_runs` active runs in all, and one run per scheduled
//! time per config (duplicate deliveries collapse on the trigger key).

mod control;
pub mod reaper;
pub mod tick;

pub use control::{RunControl, RunSettings};

use crate::domain::{ConfigStatus, RunId, Schedule, ScheduleKind, SimulationId, SimulationSpec};
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
    /// A tick (or a run's end) asking an always-on config for one more table when it keeps
    /// fewer than it should.
    KeepLive,
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
    /// An always-on config outside its daily windows.
    OutsideWindow,
    /// A calendar schedule's time before its start or after its end.
    OutsideCalendar,
    /// A calendar schedule has started all the runs it may.
    MaxRunsReached,
    /// Too many failed or degraded runs in a row: the config was paused.
    AutoPaused,
    /// Only always-on configs keep tables live.
    NotAlwaysOn,
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
            SkipReason::OutsideWindow => "outside_window",
            SkipReason::OutsideCalendar => "outside_calendar",
            SkipReason::MaxRunsReached => "max_runs_reached",
            SkipReason::AutoPaused => "auto_paused",
            SkipReason::NotAlwaysOn => "not_always_on",
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
    /// With handover, the next table is started when the current one is expected to end
    /// within this (`SIMRUNNER_HANDOVER_LEAD_SECONDS`, default 120: a reaper tick plus a
    /// Fargate task's start).
    pub handover_lead: Duration,
    /// An always-on config with no table in its window for longer than its cooldown plus this
    /// has lost its coverage (`SIMRUNNER_COVERAGE_GRACE_SECONDS`, default 120).
    pub coverage_grace: Duration,
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
        policy.handover_lead =
            Duration::seconds(env.integer_in("SIMRUNNER_HANDOVER_LEAD_SECONDS", 0..=3600, 120));
        policy.coverage_grace =
            Duration::seconds(env.integer_in("SIMRUNNER_COVERAGE_GRACE_SECONDS", 0..=3600, 120));
        policy
    }
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 1,
            reaper: ReaperPolicy::default(),
            handover_lead: Duration::seconds(120),
            coverage_grace: Duration::seconds(120),
        }
    }
}

/// Scheduled times within this much of the one due after the previous one count as due: the
/// scheduler's own times are exact, but a rescheduled or re-created schedule may shift.
fn tolerance(schedule: &Schedule) -> Duration {
    match schedule.interval_minutes() {
        Some(minutes) => Duration::seconds((minutes * 60 / 10).min(60)),
        None => Duration::seconds(60),
    }
}

/// The newest skips kept per config.
const SKIPS_KEPT: i64 = 100;

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
    // A tick finding an always-on config already full is not a trigger that was lost.
    if let Decision::Skipped {
        reason, message, ..
    } = &decision
        && (trigger != Trigger::KeepLive || *reason == SkipReason::AutoPaused)
    {
        let scheduled_at = match trigger {
            Trigger::Scheduled { at } => Some(at),
            _ => None,
        };
        store_execute(
            &tx,
            "UPDATE simulation_configs
                SET last_skip_reason = $2, last_skip_at = $3, skip_count = skip_count + 1
              WHERE id = $1",
            &[&config.as_str(), &reason.as_str(), &now],
        )
        .await?;
        store_execute(
            &tx,
            "WITH added AS (
                 INSERT INTO simulation_skips (config_id, at, reason, message, scheduled_at)
                 VALUES ($1, $2, $3, $4, $5))
             DELETE FROM simulation_skips s
              WHERE s.config_id = $1
                AND s.at < (SELECT min(at) FROM (SELECT at FROM simulation_skips
                                                   WHERE config_id = $1
                                                   ORDER BY at DESC LIMIT $6) newest)",
            &[
                &config.as_str(),
                &now,
                &reason.as_str(),
                message,
                &scheduled_at,
                &(SKIPS_KEPT - 1),
            ],
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

/// An active run of a config, as lane accounting needs it.
struct ActiveRun {
    id: String,
    lane: i16,
    standby: bool,
    running: bool,
    started_at: Option<DateTime<Utc>>,
    hands_played: i64,
}

/// Whether an in-play run is expected to end within `lead`: by its safety timeout, or at the
/// pace it has kept so far through its hand limit.
fn ends_within(run: &ActiveRun, spec: &SimulationSpec, now: DateTime<Utc>, lead: Duration) -> bool {
    let Some(started) = run.started_at.filter(|_| run.running) else {
        return false;
    };
    let deadline = started + Duration::minutes(spec.max_run_minutes());
    if deadline <= now + lead {
        return true;
    }
    if run.hands_played == 0 {
        return false;
    }
    let per_hand = (now - started) / run.hands_played as i32;
    let left = (spec.max_hands() - run.hands_played).max(0) as i32;
    now + per_hand * left <= now + lead
}

async fn decide_and_insert(
    tx: &deadpool_postgres::Transaction<'_>,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Result<Decision, StoreError> {
    // The row lock serialises every dispatch of this config until commit.
    if tx
        .query_opt(
            "SELECT 1 FROM simulation_configs WHERE id = $1 FOR UPDATE",
            &[&config.as_str()],
        )
        .await?
        .is_none()
    {
        return Ok(Decision::NotFound);
    }
    let record = store::get_simulation(tx, config)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{config} vanished under a row lock")))?;
    let spec = &record.spec;
    let active = spec.status() == ConfigStatus::Active;

    let run_id = RunId::generate();
    let (trigger_name, trigger_key, scheduled_at) = match trigger {
        Trigger::Manual => ("manual", format!("manual:{run_id}"), None),
        Trigger::KeepLive => ("always_on", format!("always_on:{run_id}"), None),
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
        if !active {
            return Ok(skipped(SkipReason::Paused, "the config is paused"));
        }
        if spec.schedule().kind() != ScheduleKind::Periodic {
            return Ok(skipped(
                SkipReason::NotPeriodic,
                format!(
                    "a {} config is not started by a schedule",
                    spec.schedule().kind().as_str()
                ),
            ));
        }
        if let Some(calendar) = spec.schedule().calendar() {
            if calendar.starts_at.is_some_and(|start| at < start)
                || calendar.ends_at.is_some_and(|end| at > end)
            {
                return Ok(skipped(
                    SkipReason::OutsideCalendar,
                    format!("{trigger_key} is outside the schedule's start and end"),
                ));
            }
            if let Some(max) = calendar.max_runs {
                let started: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM simulation_runs
                          WHERE config_id = $1 AND trigger = 'schedule'",
                        &[&config.as_str()],
                    )
                    .await?
                    .get(0);
                if started >= max {
                    return Ok(skipped(
                        SkipReason::MaxRunsReached,
                        format!("the schedule has started its {max} runs"),
                    ));
                }
            }
        }
        let previous: Option<DateTime<Utc>> = tx
            .query_one(
                "SELECT max(scheduled_at) FROM simulation_runs
                  WHERE config_id = $1 AND trigger = 'schedule'",
                &[&config.as_str()],
            )
            .await?
            .get(0);
        if let Some(previous) = previous
            && let Some(due) = spec.schedule().next_trigger_after(previous)
            && at < due - tolerance(spec.schedule())
        {
            return Ok(skipped(
                SkipReason::NotDue,
                format!("the previous scheduled run was for {previous}; the next is due at {due}"),
            ));
        }
    }
    let always_on = spec.schedule().always_on();
    if trigger == Trigger::KeepLive {
        let Some(always_on) = always_on else {
            return Ok(skipped(
                SkipReason::NotAlwaysOn,
                "only always-on configs keep tables live",
            ));
        };
        if !active {
            return Ok(skipped(SkipReason::Paused, "the config is paused"));
        }
        if !always_on.in_window(now) {
            return Ok(skipped(
                SkipReason::OutsideWindow,
                "outside the config's daily windows",
            ));
        }
    }
    if trigger != Trigger::Manual
        && let Some(reason) = auto_pause_if_failing(tx, config, now).await?
    {
        return Ok(skipped(SkipReason::AutoPaused, reason));
    }

    let runs: Vec<ActiveRun> = tx
        .query(
            "SELECT id, lane, standby, status = 'running', started_at, hands_played
               FROM simulation_runs
              WHERE config_id = $1 AND status IN ('queued', 'running')",
            &[&config.as_str()],
        )
        .await?
        .iter()
        .map(|r| ActiveRun {
            id: r.get(0),
            lane: r.get(1),
            standby: r.get(2),
            running: r.get(3),
            started_at: r.get(4),
            hands_played: r.get(5),
        })
        .collect();
    let lanes = always_on.map_or(1, |a| a.lanes());
    let in_play = runs.iter().filter(|r| !r.standby).count() as i64;
    let waiting = runs.len() as i64 - in_play;
    let full = |active: &str| {
        let what = match always_on {
            Some(a) => format!(
                "it keeps {} table{} live",
                a.live_tables,
                if a.live_tables == 1 { "" } else { "s" }
            ),
            None => format!("run {active} of this simulation is still active"),
        };
        Decision::Skipped {
            reason: SkipReason::AlreadyRunning,
            message: what,
            active_run: RunId::parse(active),
        }
    };
    // Whether the new run starts in play, or waits to take over from a closing table.
    let standby = match always_on {
        None => {
            if let Some(run) = runs.first() {
                return Ok(full(&run.id));
            }
            false
        }
        Some(a) if a.handover && trigger == Trigger::KeepLive => {
            let closing = runs
                .iter()
                .filter(|r| !r.standby && ends_within(r, spec, now, policy.handover_lead))
                .count() as i64;
            if waiting >= (a.live_tables - in_play) + closing || runs.len() as i64 >= lanes {
                return Ok(full(runs.first().map_or("", |r| r.id.as_str())));
            }
            true
        }
        Some(a) => {
            if in_play >= a.live_tables {
                return Ok(full(runs.first().map_or("", |r| r.id.as_str())));
            }
            false
        }
    };
    let lane = (1..=lanes as i16)
        .find(|lane| !runs.iter().any(|r| r.lane == *lane))
        .unwrap_or(1);

    if !record.missing_keys.is_empty() {
        let missing: Vec<&str> = record.missing_keys.iter().map(|p| p.as_str()).collect();
        return Ok(skipped(
            SkipReason::MissingApiKey,
            format!(
                "no API key is stored for {}, which its LLM seats need; add one with POST \
                 /v1/admin/api-keys",
                missing.join(", ")
            ),
        ));
    }

    if trigger != Trigger::Manual && !standby {
        let cooldown = Duration::minutes(spec.cooldown_minutes());
        // A table's next run waits out the cooldown after that table's end: the newest ends
        // are the tables now missing.
        let ends: Vec<DateTime<Utc>> = tx
            .query(
                "SELECT completed_at FROM simulation_runs
                  WHERE config_id = $1 AND completed_at IS NOT NULL
                  ORDER BY completed_at DESC LIMIT $2",
                &[&config.as_str(), &always_on.map_or(1, |a| a.live_tables)],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let missing = always_on.map_or(1, |a| a.live_tables - in_play) as usize;
        let cooling = ends
            .iter()
            .take(missing)
            .filter(|end| now < **end + cooldown)
            .count();
        if cooling >= missing
            && let Some(end) = ends.first()
        {
            return Ok(skipped(
                SkipReason::CoolingDown,
                format!(
                    "the last run ended at {end}; the cooldown is {} minutes",
                    spec.cooldown_minutes()
                ),
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
                                          scheduled_at, slot, created_at, lane, standby)
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9)",
            &[
                &run_id.as_str(),
                &config.as_str(),
                &trigger_name,
                &trigger_key,
                &scheduled_at,
                &slot,
                &now,
                &lane,
                &standby,
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
    if trigger == Trigger::Manual && !active {
        // Starting a paused config resumes it.
        tx.execute(
            "UPDATE simulation_configs SET status = 'active', pause_reason = NULL, updated_at = $2
              WHERE id = $1",
            &[&config.as_str(), &now],
        )
        .await?;
    }
    let run = store::get_run(tx, &run_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{run_id} vanished after insert")))?;
    Ok(Decision::Started(Box::new(run)))
}

/// Pauses the config (under the caller's row lock) when its last `auto_pause_after` finished
/// runs all failed or were degraded, with the reason and a `config_auto_paused` alert; returns
/// the reason when it did.
pub async fn auto_pause_if_failing(
    tx: &impl GenericClient,
    config: &SimulationId,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let row = tx
        .query_opt(
            "WITH c AS (SELECT id, name, auto_pause_after FROM simulation_configs
                         WHERE id = $1 AND status = 'active' AND auto_pause_after IS NOT NULL),
                  recent AS (
                      SELECT r.status, r.degraded_reasons, r.error_code, r.id
                        FROM simulation_runs r, c
                       WHERE r.config_id = c.id AND r.status IN ('completed', 'failed')
                       ORDER BY r.completed_at DESC, r.id DESC
                       LIMIT (SELECT auto_pause_after FROM c))
             SELECT c.name, c.auto_pause_after,
                    (SELECT count(*) FROM recent
                      WHERE status = 'failed' OR degraded_reasons IS NOT NULL) AS bad,
                    (SELECT id FROM recent LIMIT 1) AS last_run,
                    (SELECT COALESCE(error_code, degraded_reasons -> 0 ->> 'code') FROM recent LIMIT 1) AS last_why
               FROM c",
            &[&config.as_str()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (name, after, bad): (String, i32, i64) = (row.get(0), row.get(1), row.get(2));
    if bad < i64::from(after) {
        return Ok(None);
    }
    let last_run: Option<String> = row.get(3);
    let last_why: Option<String> = row.get(4);
    let reason = format!(
        "paused automatically: its last {after} run{} failed or were degraded (the last: {})",
        if after == 1 { "" } else { "s" },
        last_why.as_deref().unwrap_or("unknown")
    );
    tx.execute(
        "UPDATE simulation_configs SET status = 'paused', pause_reason = $2, updated_at = $3
          WHERE id = $1",
        &[&config.as_str(), &reason, &now],
    )
    .await?;
    crate::alerts::record(
        tx,
        crate::alerts::AlertKind::ConfigAutoPaused,
        Some(config),
        last_run.as_deref(),
        serde_json::json!({"config_name": name, "reason": reason}),
        now,
    )
    .await?;
    tracing::warn!(simulation = %config, %reason, "auto-paused");
    Ok(Some(reason))
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

//! The reaper: closes runs that nobody will close, and ends the feeds of their tables (a
//! `hand_aborted` for a hand left unfinished, then `table_ended`). Runs inside every
//! dispatch, on its own schedule, and in the local ticker. Each rule is one UPDATE guarded by
//! the run's status, so reaping concurrently or twice closes each run once.

use crate::domain::RunId;
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

/// How long runs may go quiet before they are closed.
#[derive(Debug, Clone)]
pub struct ReaperPolicy {
    /// A running run whose heartbeat is older than this lost its runner (default 60 s).
    pub lease: Duration,
    /// A queued run not started within this never will be (default 10 minutes: Fargate can
    /// be slow to place a task).
    pub start_deadline: Duration,
    /// Added to a run's safety timeout before the reaper closes it (default 2 minutes: the
    /// runner closes its own run at the timeout; this catches one that cannot).
    pub safety_grace: Duration,
    /// A run still running this long after a stop request has its task stopped and is closed
    /// `cancelled` (default 60 s: the runner honours a request within one heartbeat).
    pub stop_grace: Duration,
}

impl Default for ReaperPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            start_deadline: Duration::minutes(10),
            safety_grace: Duration::minutes(2),
            stop_grace: Duration::seconds(60),
        }
    }
}

/// A run the reaper closed, and its task (to be stopped when still alive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub run: RunId,
    pub reason: &'static str,
    pub task_ref: Option<String>,
}

/// Closes every stale run (`failed` with the reason; `cancelled` for an ignored stop request)
/// and returns what it closed.
pub async fn reap(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    policy: &ReaperPolicy,
) -> Result<Vec<Reaped>, StoreError> {
    // (reason, message, condition on run r and config c with $2 seconds, $2's value)
    let rules: [(&'static str, &str, &str, f64); 4] = [
        (
            "stop_timeout",
            "the runner did not honour the stop request; its task was stopped",
            "r.status = 'running' AND r.stop_requested_at < $1::timestamptz - make_interval(secs => $2::float8)",
            seconds(policy.stop_grace),
        ),
        (
            "safety_timeout",
            "the run outlived its safety timeout",
            "r.status = 'running' AND r.started_at
                 + make_interval(mins => c.max_run_minutes::int, secs => $2::float8) < $1::timestamptz",
            seconds(policy.safety_grace),
        ),
        (
            "runner_lost",
            "the runner stopped sending heartbeats",
            "r.status = 'running' AND r.heartbeat_at < $1::timestamptz - make_interval(secs => $2::float8)",
            seconds(policy.lease),
        ),
        (
            "start_timeout",
            "the run was never started by a runner",
            "r.status = 'queued' AND r.created_at < $1::timestamptz - make_interval(secs => $2::float8)",
            seconds(policy.start_deadline),
        ),
    ];
    let mut reaped = Vec::new();
    for (reason, message, condition, limit) in rules {
        // An ignored stop request still ends as the operator asked: cancelled.
        let status = if reason == "stop_timeout" {
            "cancelled"
        } else {
            "failed"
        };
        let sql = format!(
            "UPDATE simulation_runs r
                SET status = '{status}', completed_at = $1, error_code = '{reason}',
                    error_message = '{message}'
               FROM simulation_configs c
              WHERE c.id = r.config_id AND {condition}
              RETURNING r.id, r.task_ref"
        );
        let statement = client.prepare_cached(&sql).await?;
        let rows = client.query(&statement, &[&now, &limit]).await?;
        for row in rows {
            let id: String = row.get(0);
            if let Some(run) = RunId::parse(&id) {
                tracing::warn!(%run, reason, "reaped a run");
                reaped.push(Reaped {
                    run,
                    reason,
                    task_ref: row.get(1),
                });
            }
        }
    }
    // Their tables, and any other left open by a run that is over, end in the feed too.
    let closed = crate::store::recording::close_abandoned_tables(client).await?;
    if !closed.is_empty() {
        tracing::info!(tables = ?closed, "ended the feeds of abandoned tables");
    }
    Ok(reaped)
}

/// Durations travel to PostgreSQL as seconds for `make_interval`.
fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

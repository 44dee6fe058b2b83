//! The dispatch function. EventBridge Scheduler invokes it with
//! `{"config_id": "sim_…", "scheduled_at": "<scheduled time>"}` for a config's trigger, or
//! `{"action": "reap"}` every minute; it runs the shared dispatch path
//! ([`simrunner::dispatch::start_run`]) with the ECS launcher. The reap also repairs drift
//! between the periodic configs and their schedules.
//!
//! Bad input is answered with an `{"outcome": "rejected", …}` result, not an error: a
//! malformed trigger will not get better by being retried.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::{Value, json};
use simrunner::dispatch::{self, DispatchPolicy, Started, Trigger};
use simrunner::domain::SimulationId;
use simrunner::launch::Launcher;
use simrunner::schedule::{ReconcileError, Scheduler};
use simrunner::store::StoreError;

/// What the function is given.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DispatchEvent {
    Trigger {
        config_id: String,
        /// Absent for a manual invocation: then it is a manual start.
        scheduled_at: Option<String>,
    },
    Action {
        action: String,
    },
}

/// Built once per execution environment.
pub struct Dispatcher {
    pub pool: Pool,
    pub launcher: Launcher,
    /// Checked against the configs at every reap (a quick state check; `simrunner
    /// reconcile` also compares rates).
    pub scheduler: Scheduler,
    pub policy: DispatchPolicy,
}

fn rejected(message: String) -> Value {
    tracing::warn!(%message, "rejected a dispatch event");
    json!({"outcome": "rejected", "message": message})
}

impl Dispatcher {
    /// Handles one event. `Err` only for faults worth a retry (the database is down).
    pub async fn handle(&self, event: Value, now: DateTime<Utc>) -> Result<Value, StoreError> {
        let event: DispatchEvent = match serde_json::from_value(event) {
            Ok(event) => event,
            Err(_) => {
                return Ok(rejected(
                    "expected {\"config_id\", \"scheduled_at\"?} or {\"action\": \"reap\"}".into(),
                ));
            }
        };
        match event {
            DispatchEvent::Action { action } if action == "reap" => {
                let mut client = self.pool.get().await?;
                let reaped = dispatch::reaper::reap(&client, now, &self.policy.reaper).await?;
                dispatch::stop_reaped(&self.launcher, &reaped).await;
                let runs: Vec<Value> = reaped
                    .iter()
                    .map(|r| json!({"run": r.run.as_str(), "reason": r.reason}))
                    .collect();
                // Drift between configs and schedules is repaired here too; a scheduler
                // failure is reported, not retried: the next minute's reap tries again.
                let reconciled = match self.scheduler.reconcile(&mut client, now, false).await {
                    Ok(report) => json!({
                        "checked": report.checked,
                        "repaired": report.repaired.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        "deleted": report.deleted,
                    }),
                    Err(ReconcileError::Store(e)) => return Err(e),
                    Err(ReconcileError::Schedule(e)) => {
                        tracing::warn!(error = %e, "reconciling schedules failed");
                        json!({"error": e.to_string()})
                    }
                };
                Ok(json!({"outcome": "reaped", "runs": runs, "schedules": reconciled}))
            }
            DispatchEvent::Action { action } => Ok(rejected(format!("unknown action {action:?}"))),
            DispatchEvent::Trigger {
                config_id,
                scheduled_at,
            } => {
                let Some(config) = SimulationId::parse(&config_id) else {
                    return Ok(rejected(format!("{config_id:?} is not a simulation id")));
                };
                let trigger = match scheduled_at.as_deref() {
                    None => Trigger::Manual,
                    Some(text) => match DateTime::parse_from_rfc3339(text) {
                        Ok(at) => Trigger::Scheduled {
                            at: at.with_timezone(&Utc),
                        },
                        Err(_) => {
                            return Ok(rejected(format!(
                                "scheduled_at {text:?} is not an RFC 3339 time"
                            )));
                        }
                    },
                };
                let started = dispatch::start_run(
                    &self.pool,
                    &self.launcher,
                    &config,
                    trigger,
                    now,
                    &self.policy,
                )
                .await?;
                Ok(match started {
                    Started::Launched(run) => {
                        json!({"outcome": "started", "run_id": run.id.as_str()})
                    }
                    Started::LaunchFailed(run, reason) => {
                        json!({"outcome": "launch_failed", "run_id": run.id.as_str(), "reason": reason})
                    }
                    Started::Skipped {
                        reason, message, ..
                    } => {
                        json!({"outcome": "skipped", "reason": reason.as_str(), "message": message})
                    }
                    Started::NotFound => {
                        json!({"outcome": "skipped", "reason": "not_found", "message": format!("no simulation {config}")})
                    }
                })
            }
        }
    }
}

//! The dispatch function. EventBridge Scheduler invokes it with
//! `{"config_id": "sim_…", "scheduled_at": "<scheduled time>"}` for a config's trigger, or
//! `{"action": "reap"}` every minute; it runs the shared dispatch path
//! ([`simrunner::dispatch::start_run`]) with the launcher `SIMRUNNER_LAUNCHER` names (ECS in
//! AWS; a child process or a container under `cargo lambda watch`). The reap is the whole
//! tick ([`simrunner::dispatch::tick`]: reap, auto-pause, always-on tables, coverage, alerts),
//! prints the site's health as a CloudWatch embedded-metric line, and repairs drift between
//! the periodic configs and the schedules of `SIMRUNNER_SCHEDULER`. An EventBridge rule also
//! sends ECS task state changes: a stopped runner task closes its run at once (if it was still
//! open) and its always-on config gets its next table without waiting for the minute.
//!
//! Bad input is answered with an `{"outcome": "rejected", …}` result, not an error: a
//! malformed trigger will not get better by being retried.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::{Value, json};
use simrunner::db::PoolError;
use simrunner::dispatch::{self, RunControl, RunSettings, Started, Trigger};
use simrunner::domain::SimulationId;
use simrunner::launch::{LaunchError, LocalRunners};
use simrunner::schedule::ReconcileError;
use simrunner::settings::{EnvReader, Secret, SettingsError};
use simrunner::store::{StoreError, health};

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
    /// EventBridge's `ECS Task State Change` of a runner task.
    TaskStateChange {
        #[serde(rename = "detail-type")]
        detail_type: String,
        detail: TaskDetail,
    },
}

/// What an ECS task state change says about the task.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDetail {
    pub task_arn: String,
    pub last_status: String,
    #[serde(default)]
    pub stopped_reason: Option<String>,
}

/// The function's settings: `DATABASE_URL`, and `SIMRUNNER_LAUNCHER`,
/// `SIMRUNNER_SCHEDULER` and the dispatch limits as the admin API reads them.
#[derive(Debug)]
pub struct DispatchSettings {
    pub database_url: Secret<String>,
    pub runs: RunSettings,
}

impl DispatchSettings {
    /// Reads every setting; the error names each variable that is missing or malformed.
    pub fn load(mut env: EnvReader<'_>) -> Result<Self, SettingsError> {
        let url = env.secret("DATABASE_URL");
        let url = env.require("DATABASE_URL", url, "the PostgreSQL connection URL");
        // No launcher unless one is named: a reap needs none, and a trigger then says which
        // setting is missing.
        let runs = RunSettings::from_env(&mut env, None);
        env.finish()?;
        Ok(Self {
            database_url: url.expect("finish() reports a missing DATABASE_URL"),
            runs,
        })
    }
}

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Runners(#[from] LaunchError),
}

/// A fault of the function, not of its event: answered as the invocation's error.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The database is down or refused a statement.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no launcher is configured, so runs cannot start: set SIMRUNNER_LAUNCHER to process, \
         docker or ecs"
    )]
    NoLauncher,
}

/// What the invoker sees: `errorType` says which fault it is.
impl From<DispatchError> for lambda_runtime::Diagnostic {
    fn from(error: DispatchError) -> Self {
        let error_type = match error {
            DispatchError::Store(_) => "DatabaseError",
            DispatchError::NoLauncher => "NoLauncher",
        };
        Self {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// Built once per execution environment.
pub struct Dispatcher {
    pub pool: Pool,
    /// The launcher (if any), and the scheduler checked against the configs at every reap
    /// (a quick state check; `simrunner reconcile` also compares rates).
    pub runs: RunControl,
}

fn rejected(message: String) -> Value {
    tracing::warn!(%message, "rejected a dispatch event");
    json!({"outcome": "rejected", "message": message})
}

impl Dispatcher {
    /// Builds the pool and the adapters; nothing connects until the first invocation. A
    /// process launcher's runner is `runner-task` beside this executable unless
    /// `SIMRUNNER_RUNNER_PROGRAM` names another.
    pub async fn build(settings: DispatchSettings) -> Result<Self, StartupError> {
        let pool = simrunner::db::build_pool(settings.database_url.expose(), 2)?;
        let runners = LocalRunners::beside_this_executable(settings.database_url)?;
        Ok(Self {
            pool,
            runs: RunControl::build(settings.runs, &runners).await,
        })
    }

    /// Handles one event. `Err` only for faults of the function, not of the event: the
    /// database is down, or no launcher is configured.
    pub async fn handle(&self, event: Value, now: DateTime<Utc>) -> Result<Value, DispatchError> {
        let event: DispatchEvent = match serde_json::from_value(event) {
            Ok(event) => event,
            Err(_) => {
                return Ok(rejected(
                    "expected {\"config_id\", \"scheduled_at\"?}, {\"action\": \"reap\"} or an \
                     ECS Task State Change"
                        .into(),
                ));
            }
        };
        match event {
            DispatchEvent::Action { action } if action == "reap" => {
                let report = dispatch::tick::tick(&self.pool, &self.runs, now).await?;
                if self.runs.launcher.is_none() && !report.reaped.is_empty() {
                    tracing::warn!(
                        "no launcher is configured (SIMRUNNER_LAUNCHER): the tasks of reaped \
                         runs are left alone, and always-on configs get no tables"
                    );
                }
                let mut client = self.pool.get().await.map_err(StoreError::from)?;
                let (from, buckets) = health::period("24h", now).expect("a known period");
                let health = health::health(&client, from, now, buckets).await?;
                // CloudWatch Logs reads this line as metrics (embedded metric format).
                println!("{}", simrunner::metrics::site_emf(&health, now));
                let runs: Vec<Value> = report
                    .reaped
                    .iter()
                    .map(|r| json!({"run": r.run.as_str(), "reason": r.reason}))
                    .collect();
                // Drift between configs and schedules is repaired here too; a scheduler
                // failure is reported, not retried: the next minute's reap tries again.
                let reconciled = match self.runs.scheduler.reconcile(&mut client, now, false).await
                {
                    Ok(report) => json!({
                        "checked": report.checked,
                        "repaired": report.repaired.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        "deleted": report.deleted,
                    }),
                    Err(ReconcileError::Store(e)) => return Err(e.into()),
                    Err(ReconcileError::Schedule(e)) => {
                        tracing::warn!(error = %e, "reconciling schedules failed");
                        json!({"error": e.to_string()})
                    }
                };
                Ok(json!({
                    "outcome": "reaped", "runs": runs, "schedules": reconciled,
                    "started": report.started.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "paused": report.paused.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
                    "coverage": report.coverage.iter().map(|(c, change)| json!({"config": c.as_str(), "change": change})).collect::<Vec<_>>(),
                    "alerts_delivered": report.alerts_delivered,
                }))
            }
            DispatchEvent::TaskStateChange {
                detail_type,
                detail,
            } => {
                if detail_type != "ECS Task State Change" || detail.last_status != "STOPPED" {
                    return Ok(json!({"outcome": "ignored", "status": detail.last_status}));
                }
                let reason = detail
                    .stopped_reason
                    .as_deref()
                    .unwrap_or("no reason given");
                let config = {
                    let client = self.pool.get().await.map_err(StoreError::from)?;
                    let task = simrunner::launch::ecs_task_ref(&detail.task_arn);
                    dispatch::tick::task_stopped(&client, &task, reason, now).await?
                };
                let mut started = Vec::new();
                if let (Some(config), Some(launcher)) = (&config, &self.runs.launcher) {
                    started =
                        dispatch::tick::keep_live(&self.pool, launcher, config, now, &self.runs)
                            .await?;
                }
                let mut client = self.pool.get().await.map_err(StoreError::from)?;
                let delivered = self.runs.alerts.deliver_pending(&mut client, now).await?;
                Ok(json!({
                    "outcome": "task_stopped",
                    "config_id": config.as_ref().map(|c| c.as_str()),
                    "started": started.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "alerts_delivered": delivered,
                }))
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
                let launcher = self
                    .runs
                    .launcher
                    .as_ref()
                    .ok_or(DispatchError::NoLauncher)?;
                let started = dispatch::start_run(
                    &self.pool,
                    launcher,
                    &config,
                    trigger,
                    now,
                    &self.runs.policy,
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

#[cfg(test)]
mod tests {
    use super::*;
    use simrunner::launch::LauncherSettings;

    fn load(vars: &[(&str, &str)]) -> Result<DispatchSettings, SettingsError> {
        DispatchSettings::load(EnvReader::from_vars(vars))
    }

    fn variables(error: &SettingsError) -> Vec<&str> {
        error.problems.iter().map(|p| p.variable.as_str()).collect()
    }

    #[test]
    fn a_database_url_is_enough_and_the_launcher_is_the_one_named() {
        let url = (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5433/simrunner",
        );
        assert_eq!(load(&[url]).unwrap().runs.launcher, None);
        let process = load(&[url, ("SIMRUNNER_LAUNCHER", "process")]).unwrap();
        assert_eq!(
            process.runs.launcher,
            Some(LauncherSettings::Process {
                runner_program: None
            })
        );
    }

    #[test]
    fn every_bad_variable_is_named_at_once() {
        let error = load(&[
            ("SIMRUNNER_LAUNCHER", "ecs"),
            ("SIMRUNNER_SCHEDULER", "cron"),
        ])
        .unwrap_err();
        assert_eq!(
            variables(&error),
            [
                "DATABASE_URL",
                "SIMRUNNER_ECS_CLUSTER",
                "SIMRUNNER_ECS_TASK_DEFINITION",
                "SIMRUNNER_ECS_SUBNETS",
                "SIMRUNNER_ECS_SECURITY_GROUPS",
                "SIMRUNNER_SCHEDULER"
            ]
        );
    }
}

//! The scheduler port: keeps one schedule per periodic config in step with the config.
//!
//! - [`Scheduler::Local`]: nothing to keep: the local ticker reads the configs from Postgres.
//! - `Scheduler::EventBridge` (feature `aws`): an EventBridge Scheduler schedule per periodic
//!   config, `rate(N minutes)` or `cron(…)` in the config's time zone with its start and end
//!   dates, invoking the dispatch function with
//!   `{"config_id", "scheduled_at": <aws.scheduler.scheduled-time>}`; ENABLED while the config
//!   is active, DISABLED while paused, deleted with the config or when it stops being periodic.
//!   Always-on configs need no schedule: the reaper's tick and run endings start their runs.

#[cfg(feature = "aws")]
use crate::domain::CronExpr;
use crate::domain::{ConfigStatus, Schedule, SimulationId, SimulationSpec};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
#[cfg(feature = "aws")]
use tokio_postgres::Row;

/// A scheduler call that failed. `unavailable` when the scheduler could not be reached at
/// all (the API answers 503), otherwise it refused or failed the call (502).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ScheduleError {
    pub unavailable: bool,
    pub message: String,
}

/// What a config's schedule should be; `None` in [`Scheduler::sync`] means "no schedule".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    /// `rate(N minutes)` or `cron(…)`.
    pub expression: String,
    /// The cron expression's IANA time zone.
    pub time_zone: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub enabled: bool,
}

/// The configs columns [`ScheduleSpec::from_row`] reads, in its order.
#[cfg(feature = "aws")]
const SCHEDULE_COLUMNS: &str =
    "interval_minutes, cron_expression, time_zone, starts_at, ends_at, status = 'active'";

impl ScheduleSpec {
    /// The schedule a config needs: one for a periodic config, enabled while it is active.
    pub fn of(spec: &SimulationSpec) -> Option<Self> {
        let enabled = spec.status() == ConfigStatus::Active;
        match spec.schedule() {
            Schedule::OneOff | Schedule::AlwaysOn(_) => None,
            Schedule::Periodic { interval_minutes } => Some(Self {
                expression: rate_expression(*interval_minutes),
                time_zone: None,
                starts_at: None,
                ends_at: None,
                enabled,
            }),
            Schedule::Calendar(calendar) => Some(Self {
                expression: calendar.cron.expression(),
                time_zone: Some(calendar.time_zone.name().to_owned()),
                starts_at: calendar.starts_at,
                ends_at: calendar.ends_at,
                enabled,
            }),
        }
    }

    /// From a periodic config's [`SCHEDULE_COLUMNS`] (starting at column `at`).
    #[cfg(feature = "aws")]
    fn from_row(row: &Row, at: usize) -> Self {
        let interval: Option<i64> = row.get(at);
        let cron: Option<String> = row.get(at + 1);
        let expression = match (interval, cron) {
            (Some(minutes), _) => rate_expression(minutes),
            (None, Some(fields)) => CronExpr::parse(&fields)
                .map(|c| c.expression())
                .unwrap_or_else(|_| format!("cron({fields})")),
            (None, None) => rate_expression(1),
        };
        Self {
            expression,
            time_zone: row.get(at + 2),
            starts_at: row.get(at + 3),
            ends_at: row.get(at + 4),
            enabled: row.get(at + 5),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Scheduler {
    Local,
    #[cfg(feature = "aws")]
    EventBridge(EventBridgeScheduler),
}

/// `SIMRUNNER_SCHEDULER`: which scheduler adapter a process uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerSettings {
    Local,
    #[cfg(feature = "aws")]
    EventBridge(crate::aws::EventBridgeSettings),
}

impl SchedulerSettings {
    /// `local` (the default) or `eventbridge` (with the `SIMRUNNER_SCHEDULE_GROUP`,
    /// `SIMRUNNER_DISPATCH_FUNCTION_ARN`, `SIMRUNNER_SCHEDULER_ROLE_ARN` and
    /// `SIMRUNNER_SCHEDULER_DLQ_ARN` settings).
    pub fn from_env(env: &mut crate::settings::EnvReader<'_>) -> Self {
        match env.raw("SIMRUNNER_SCHEDULER").as_deref().map(str::trim) {
            None | Some("local") => Self::Local,
            #[cfg(feature = "aws")]
            Some("eventbridge") => crate::aws::EventBridgeSettings::from_env(env)
                .map(Self::EventBridge)
                .unwrap_or(Self::Local),
            Some(other) => {
                env.problem(
                    "SIMRUNNER_SCHEDULER",
                    format!("expected local or eventbridge, got {other:?}"),
                );
                Self::Local
            }
        }
    }

    /// Builds the adapter; the AWS client exists only when EventBridge is chosen.
    pub async fn build(self) -> Scheduler {
        match self {
            Self::Local => Scheduler::Local,
            #[cfg(feature = "aws")]
            Self::EventBridge(settings) => Scheduler::EventBridge(settings.scheduler().await),
        }
    }
}

/// What [`Scheduler::reconcile`] found and repaired.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Periodic configs compared with their schedules.
    pub checked: usize,
    /// Configs whose schedule was missing or differed, and was made to match.
    pub repaired: Vec<SimulationId>,
    /// Schedules that belonged to no periodic config, deleted.
    pub deleted: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

/// A schedule younger than this may belong to a config whose creation has not committed yet:
/// reconcile leaves it alone.
#[cfg(feature = "aws")]
const ORPHAN_GRACE_MINUTES: i64 = 5;

impl Scheduler {
    /// Makes the config's schedule match `spec`: created or updated, or deleted for `None`.
    /// Safe to repeat.
    pub async fn sync(
        &self,
        config: &SimulationId,
        spec: Option<ScheduleSpec>,
    ) -> Result<(), ScheduleError> {
        match self {
            Scheduler::Local => {
                let _ = (config, spec);
                Ok(())
            }
            #[cfg(feature = "aws")]
            Scheduler::EventBridge(eb) => match spec {
                Some(spec) => eb.upsert(config, spec).await,
                None => eb.delete(config).await,
            },
        }
    }

    /// Repairs drift between the configs and their schedules: a missing schedule is created,
    /// one in the wrong state (or, when `deep`, with the wrong rate) is updated, and one that
    /// belongs to no periodic config is deleted. Each repair re-reads its config under a row
    /// lock, as the admin API's edits do, so it never undoes a concurrent edit. The local
    /// scheduler reads the configs themselves: nothing can drift.
    pub async fn reconcile(
        &self,
        client: &mut impl GenericClient,
        now: DateTime<Utc>,
        deep: bool,
    ) -> Result<ReconcileReport, ReconcileError> {
        match self {
            Scheduler::Local => {
                let _ = (client, now, deep);
                Ok(ReconcileReport::default())
            }
            #[cfg(feature = "aws")]
            Scheduler::EventBridge(eb) => {
                // Schedules first: a config created after this listing is simply repaired
                // (idempotently); one deleted after it is already gone from the database.
                let schedules = eb.list().await?;
                let rows = client
                    .query(
                        &format!(
                            "SELECT id, {SCHEDULE_COLUMNS} FROM simulation_configs
                              WHERE schedule_type = 'periodic'"
                        ),
                        &[],
                    )
                    .await
                    .map_err(StoreError::from)?;
                let mut report = ReconcileReport::default();
                let mut wanted = std::collections::HashSet::new();
                for row in &rows {
                    let Some(config) = SimulationId::parse(row.get(0)) else {
                        continue;
                    };
                    wanted.insert(config.as_str().to_owned());
                    report.checked += 1;
                    let spec = ScheduleSpec::from_row(row, 1);
                    let matches = match schedules.iter().find(|s| s.name == config.as_str()) {
                        None => false,
                        Some(s) if s.enabled != spec.enabled => false,
                        Some(_) if deep => {
                            eb.describe(&config)
                                .await?
                                .map(|(expression, _)| expression)
                                == Some(spec.expression.clone())
                        }
                        Some(_) => true,
                    };
                    if !matches && self.repair(client, &config).await? {
                        report.repaired.push(config);
                    }
                }
                let grace = chrono::Duration::minutes(ORPHAN_GRACE_MINUTES);
                // Only schedules named after a config are ours to delete: the group also
                // holds the reaper's schedule.
                for (orphan, config) in schedules
                    .iter()
                    .filter(|s| !wanted.contains(&s.name))
                    .filter_map(|s| SimulationId::parse(&s.name).map(|id| (s, id)))
                {
                    if orphan.created_at.is_some_and(|at| at > now - grace) {
                        continue;
                    }
                    if !self.repair(client, &config).await? {
                        report.deleted.push(orphan.name.clone());
                    }
                }
                Ok(report)
            }
        }
    }

    /// Syncs one config's schedule under its row lock; `false` when the config is gone or
    /// one-off (its schedule, if any, is then deleted by [`Scheduler::sync`]).
    #[cfg(feature = "aws")]
    async fn repair(
        &self,
        client: &mut impl GenericClient,
        config: &SimulationId,
    ) -> Result<bool, ReconcileError> {
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM simulation_configs
                      WHERE id = $1 AND schedule_type = 'periodic' FOR UPDATE"
                ),
                &[&config.as_str()],
            )
            .await
            .map_err(StoreError::from)?;
        let spec = row.map(|r| ScheduleSpec::from_row(&r, 0));
        let exists = spec.is_some();
        self.sync(config, spec).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(exists)
    }
}

/// `rate(1 minute)`, `rate(15 minutes)`.
pub fn rate_expression(interval_minutes: i64) -> String {
    if interval_minutes == 1 {
        "rate(1 minute)".to_owned()
    } else {
        format!("rate({interval_minutes} minutes)")
    }
}

/// The dispatch function's input for a config's scheduled trigger.
pub fn dispatch_input(config: &SimulationId) -> String {
    serde_json::json!({
        "config_id": config.as_str(),
        "scheduled_at": "<aws.scheduler.scheduled-time>",
    })
    .to_string()
}

#[cfg(feature = "aws")]
pub use eventbridge::{EventBridgeScheduler, ListedSchedule};

#[cfg(feature = "aws")]
mod eventbridge {
    use super::{ScheduleError, ScheduleSpec, dispatch_input};
    use crate::domain::SimulationId;
    use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    use aws_sdk_scheduler::types::{
        DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState,
        Target,
    };
    use chrono::{DateTime, Utc};

    /// Where schedules live and what they invoke.
    #[derive(Debug, Clone)]
    pub struct EventBridgeScheduler {
        pub client: aws_sdk_scheduler::Client,
        /// The schedule group (`SIMRUNNER_SCHEDULE_GROUP`).
        pub group: String,
        /// The dispatch function's ARN.
        pub target_arn: String,
        /// The role EventBridge Scheduler assumes to invoke it.
        pub role_arn: String,
        /// Where undeliverable triggers go, if anywhere.
        pub dead_letter_arn: Option<String>,
    }

    /// A schedule as listed: its name (the config id), state and creation time.
    #[derive(Debug, Clone)]
    pub struct ListedSchedule {
        pub name: String,
        pub enabled: bool,
        pub created_at: Option<DateTime<Utc>>,
    }

    fn failed<E, R>(what: &str, error: SdkError<E, R>) -> ScheduleError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        ScheduleError {
            unavailable: matches!(
                error,
                SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
            ),
            message: format!(
                "EventBridge Scheduler {what} failed: {}",
                DisplayErrorContext(error)
            ),
        }
    }

    /// The schedule (or its group) does not exist.
    fn is_not_found<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
        error.as_service_error().and_then(|e| e.code()) == Some("ResourceNotFoundException")
    }

    fn invalid(what: &str, error: impl std::error::Error) -> ScheduleError {
        ScheduleError {
            unavailable: false,
            message: format!("EventBridge Scheduler {what} is invalid: {error}"),
        }
    }

    impl EventBridgeScheduler {
        fn target(&self, config: &SimulationId) -> Result<Target, ScheduleError> {
            Target::builder()
                .arn(&self.target_arn)
                .role_arn(&self.role_arn)
                .input(dispatch_input(config))
                .retry_policy(
                    RetryPolicy::builder()
                        .maximum_retry_attempts(3)
                        .maximum_event_age_in_seconds(300)
                        .build(),
                )
                .set_dead_letter_config(
                    self.dead_letter_arn
                        .as_ref()
                        .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
                )
                .build()
                .map_err(|e| invalid("target", e))
        }

        fn window() -> Result<FlexibleTimeWindow, ScheduleError> {
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .map_err(|e| invalid("time window", e))
        }

        /// Updates the schedule, or creates it when it does not exist yet.
        pub async fn upsert(
            &self,
            config: &SimulationId,
            spec: ScheduleSpec,
        ) -> Result<(), ScheduleError> {
            let state = if spec.enabled {
                ScheduleState::Enabled
            } else {
                ScheduleState::Disabled
            };
            let date = |at: Option<DateTime<Utc>>| {
                at.map(|at| aws_sdk_scheduler::primitives::DateTime::from_secs(at.timestamp()))
            };
            let updated = self
                .client
                .update_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .schedule_expression(&spec.expression)
                .set_schedule_expression_timezone(spec.time_zone.clone())
                .set_start_date(date(spec.starts_at))
                .set_end_date(date(spec.ends_at))
                .flexible_time_window(Self::window()?)
                .target(self.target(config)?)
                .state(state.clone())
                .send()
                .await;
            match updated {
                Ok(_) => return Ok(()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(failed("UpdateSchedule", e)),
            }
            self.client
                .create_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .schedule_expression(&spec.expression)
                .set_schedule_expression_timezone(spec.time_zone)
                .set_start_date(date(spec.starts_at))
                .set_end_date(date(spec.ends_at))
                .flexible_time_window(Self::window()?)
                .target(self.target(config)?)
                .state(state)
                .send()
                .await
                .map(drop)
                .map_err(|e| failed("CreateSchedule", e))
        }

        /// Deletes the schedule; one that does not exist is already what was wanted.
        pub async fn delete(&self, config: &SimulationId) -> Result<(), ScheduleError> {
            match self
                .client
                .delete_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) => Ok(()),
                Err(e) => Err(failed("DeleteSchedule", e)),
            }
        }

        /// Every schedule in the group.
        pub async fn list(&self) -> Result<Vec<ListedSchedule>, ScheduleError> {
            let mut pages = self
                .client
                .list_schedules()
                .group_name(&self.group)
                .into_paginator()
                .send();
            let mut listed = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| failed("ListSchedules", e))?;
                for schedule in page.schedules() {
                    let Some(name) = schedule.name() else {
                        continue;
                    };
                    listed.push(ListedSchedule {
                        name: name.to_owned(),
                        enabled: schedule.state() == Some(&ScheduleState::Enabled),
                        created_at: schedule
                            .creation_date()
                            .and_then(|d| DateTime::from_timestamp(d.secs(), d.subsec_nanos())),
                    });
                }
            }
            Ok(listed)
        }

        /// The schedule's expression and whether it is enabled, if it exists.
        pub async fn describe(
            &self,
            config: &SimulationId,
        ) -> Result<Option<(String, bool)>, ScheduleError> {
            match self
                .client
                .get_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .send()
                .await
            {
                Ok(s) => Ok(Some((
                    s.schedule_expression().unwrap_or_default().to_owned(),
                    s.state() == Some(&ScheduleState::Enabled),
                ))),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(failed("GetSchedule", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_inputs_are_what_eventbridge_expects() {
        assert_eq!(rate_expression(1), "rate(1 minute)");
        assert_eq!(rate_expression(30), "rate(30 minutes)");
        let id = SimulationId::generate();
        let input: serde_json::Value = serde_json::from_str(&dispatch_input(&id)).unwrap();
        assert_eq!(input["config_id"], id.as_str());
        assert_eq!(input["scheduled_at"], "<aws.scheduler.scheduled-time>");
    }
}

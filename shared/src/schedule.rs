//! The scheduler port: keeps one schedule per periodic config in step with the config.
//!
//! - [`Scheduler::Local`]: nothing to keep: the local ticker reads the configs from Postgres.
//! - `Scheduler::EventBridge` (feature `aws`): an EventBridge Scheduler schedule per periodic
//!   config, `rate(N minutes)`, invoking the dispatch function with
//!   `{"config_id", "scheduled_at": <aws.scheduler.scheduled-time>}`; ENABLED while the config
//!   is active, DISABLED while paused, deleted with the config or when it becomes one-off.

use crate::domain::SimulationId;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// What a config's schedule should be; `None` in [`Scheduler::sync`] means "no schedule".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub interval_minutes: i64,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub enum Scheduler {
    Local,
    #[cfg(feature = "aws")]
    EventBridge(EventBridgeScheduler),
}

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
pub use eventbridge::EventBridgeScheduler;

#[cfg(feature = "aws")]
mod eventbridge {
    use super::{ScheduleError, ScheduleSpec, dispatch_input, rate_expression};
    use crate::domain::SimulationId;
    use aws_sdk_scheduler::error::DisplayErrorContext;
    use aws_sdk_scheduler::types::{
        DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState,
        Target,
    };

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

    fn failed(what: &str, error: impl std::error::Error) -> ScheduleError {
        ScheduleError(format!(
            "EventBridge Scheduler {what} failed: {}",
            DisplayErrorContext(error)
        ))
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
                .map_err(|e| failed("target", e))
        }

        fn window() -> Result<FlexibleTimeWindow, ScheduleError> {
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .map_err(|e| failed("time window", e))
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
            let expression = rate_expression(spec.interval_minutes);
            let updated = self
                .client
                .update_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .schedule_expression(&expression)
                .flexible_time_window(Self::window()?)
                .target(self.target(config)?)
                .state(state.clone())
                .send()
                .await;
            match updated {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) => {}
                Err(e) => return Err(failed("UpdateSchedule", e)),
            }
            self.client
                .create_schedule()
                .name(config.as_str())
                .group_name(&self.group)
                .schedule_expression(&expression)
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
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(())
                }
                Err(e) => Err(failed("DeleteSchedule", e)),
            }
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
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
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

//! The ECS Fargate launcher: one task per run (`RunTask` with the run id in the container's
//! environment, a client token derived from the run so a retried launch starts nothing twice)
//! and `StopTask` with a reason.

use super::{LaunchError, LaunchRequest};
use crate::aws::EcsSettings;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, KeyValuePair, LaunchType,
    NetworkConfiguration, Tag, TaskOverride,
};

/// Runner tasks on ECS Fargate, placed as `placement` says.
#[derive(Debug, Clone)]
pub struct EcsLauncher {
    pub client: aws_sdk_ecs::Client,
    pub placement: EcsSettings,
}

impl EcsLauncher {
    pub async fn launch(&self, request: &LaunchRequest) -> Result<String, LaunchError> {
        let aws_error = |e: String| LaunchError(format!("ECS RunTask failed: {e}"));
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(self.placement.subnets.clone()))
            .set_security_groups(Some(self.placement.security_groups.clone()))
            .assign_public_ip(if self.placement.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| aws_error(e.to_string()))?;
        let container = ContainerOverride::builder()
            .name(&self.placement.container)
            .environment(
                KeyValuePair::builder()
                    .name("RUN_ID")
                    .value(request.run.as_str())
                    .build(),
            )
            .build();
        let output = self
            .client
            .run_task()
            .cluster(&self.placement.cluster)
            .task_definition(&self.placement.task_definition)
            .launch_type(LaunchType::Fargate)
            .count(1)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .overrides(
                TaskOverride::builder()
                    .container_overrides(container)
                    .build(),
            )
            // Idempotency: the same run never starts two tasks, however often it is retried.
            .client_token(request.run.as_str())
            .started_by("simrunner")
            .tags(
                Tag::builder()
                    .key("simrunner:run")
                    .value(request.run.as_str())
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key("simrunner:config")
                    .value(request.config.as_str())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error(aws_sdk_ecs::error::DisplayErrorContext(e).to_string()))?;
        if let Some(failure) = output.failures().first() {
            return Err(aws_error(format!(
                "{} ({})",
                failure.reason().unwrap_or("no reason given"),
                failure.detail().or(failure.arn()).unwrap_or("")
            )));
        }
        output
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(task_ref)
            .ok_or_else(|| aws_error("no task and no failure in the answer".into()))
    }

    pub async fn stop(&self, task_arn: &str, reason: &str) -> Result<(), LaunchError> {
        self.client
            .stop_task()
            .cluster(&self.placement.cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                LaunchError(format!(
                    "ECS StopTask failed: {}",
                    aws_sdk_ecs::error::DisplayErrorContext(e)
                ))
            })
    }
}

/// The run's task reference for an ECS task: what runs record, and what an ECS task state
/// change names (by ARN).
pub fn task_ref(task_arn: &str) -> String {
    format!("ecs:{task_arn}")
}

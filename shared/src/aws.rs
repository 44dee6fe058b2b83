//! The AWS adapters' settings and the one SDK configuration a process builds.
//!
//! Nothing here touches the network when read: the SDK configuration is loaded the first
//! time an adapter is built (once per process, see [`sdk_config`]), and its credentials are
//! resolved on the first AWS call.

use crate::launch::EcsLauncher;
use crate::schedule::EventBridgeScheduler;
use crate::settings::EnvReader;
use tokio::sync::OnceCell;

static SDK_CONFIG: OnceCell<aws_config::SdkConfig> = OnceCell::const_new();

/// The process's AWS configuration (region, credentials chain, endpoint overrides such as
/// `AWS_ENDPOINT_URL`), loaded on first use and shared by every client.
pub async fn sdk_config() -> &'static aws_config::SdkConfig {
    SDK_CONFIG
        .get_or_init(|| aws_config::load_defaults(aws_config::BehaviorVersion::latest()))
        .await
}

/// A comma-separated list; blanks are dropped.
fn list(env: &EnvReader<'_>, name: &str) -> Vec<String> {
    env.raw(name)
        .map(|text| {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Where runner tasks are placed (`SIMRUNNER_ECS_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsSettings {
    pub cluster: String,
    /// Family or ARN.
    pub task_definition: String,
    /// The runner's container in the task definition.
    pub container: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Public subnets without a NAT gateway need a public IP to reach the database and ECR.
    pub assign_public_ip: bool,
}

impl EcsSettings {
    /// Reads `SIMRUNNER_ECS_CLUSTER`, `_TASK_DEFINITION`, `_SUBNETS`, `_SECURITY_GROUPS`
    /// (required), `_ASSIGN_PUBLIC_IP` (default false) and `_CONTAINER` (default `runner`).
    pub fn from_env(env: &mut EnvReader<'_>) -> Option<Self> {
        let cluster = env.required("SIMRUNNER_ECS_CLUSTER", "the ECS cluster runs start in");
        let task_definition = env.required(
            "SIMRUNNER_ECS_TASK_DEFINITION",
            "the runner's task definition (family or ARN)",
        );
        let subnets = list(env, "SIMRUNNER_ECS_SUBNETS");
        if subnets.is_empty() {
            env.problem(
                "SIMRUNNER_ECS_SUBNETS",
                "is required: comma-separated subnet ids",
            );
        }
        let security_groups = list(env, "SIMRUNNER_ECS_SECURITY_GROUPS");
        if security_groups.is_empty() {
            env.problem(
                "SIMRUNNER_ECS_SECURITY_GROUPS",
                "is required: comma-separated security group ids",
            );
        }
        let assign_public_ip = env
            .parsed::<bool>("SIMRUNNER_ECS_ASSIGN_PUBLIC_IP", "true or false")
            .unwrap_or(false);
        let container = env
            .raw("SIMRUNNER_ECS_CONTAINER")
            .unwrap_or_else(|| "runner".into());
        Some(Self {
            cluster: cluster?,
            task_definition: task_definition?,
            container,
            subnets,
            security_groups,
            assign_public_ip,
        })
    }

    pub async fn launcher(self) -> EcsLauncher {
        EcsLauncher {
            client: aws_sdk_ecs::Client::new(sdk_config().await),
            placement: self,
        }
    }
}

/// Where schedules live and what they invoke (`SIMRUNNER_SCHEDULE_GROUP`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeSettings {
    pub group: String,
    pub dispatch_function_arn: String,
    pub role_arn: String,
    pub dead_letter_arn: Option<String>,
}

impl EventBridgeSettings {
    /// Reads `SIMRUNNER_DISPATCH_FUNCTION_ARN` and `SIMRUNNER_SCHEDULER_ROLE_ARN` (required),
    /// `SIMRUNNER_SCHEDULE_GROUP` (default `simrunner`) and `SIMRUNNER_SCHEDULER_DLQ_ARN`.
    pub fn from_env(env: &mut EnvReader<'_>) -> Option<Self> {
        let target = env.required(
            "SIMRUNNER_DISPATCH_FUNCTION_ARN",
            "the ARN of the dispatch function schedules invoke",
        );
        let role = env.required(
            "SIMRUNNER_SCHEDULER_ROLE_ARN",
            "the role EventBridge Scheduler assumes to invoke the dispatch function",
        );
        Some(Self {
            group: env
                .raw("SIMRUNNER_SCHEDULE_GROUP")
                .unwrap_or_else(|| "simrunner".into()),
            dispatch_function_arn: target?,
            role_arn: role?,
            dead_letter_arn: env.raw("SIMRUNNER_SCHEDULER_DLQ_ARN"),
        })
    }

    pub async fn scheduler(self) -> EventBridgeScheduler {
        EventBridgeScheduler {
            client: aws_sdk_scheduler::Client::new(sdk_config().await),
            group: self.group,
            target_arn: self.dispatch_function_arn,
            role_arn: self.role_arn,
            dead_letter_arn: self.dead_letter_arn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsError;

    fn read<T>(
        vars: &[(&str, &str)],
        f: impl FnOnce(&mut EnvReader<'_>) -> Option<T>,
    ) -> Result<Option<T>, SettingsError> {
        let mut env = EnvReader::from_vars(vars);
        let value = f(&mut env);
        env.finish().map(|()| value)
    }

    fn variables(error: SettingsError) -> Vec<String> {
        error.problems.into_iter().map(|p| p.variable).collect()
    }

    #[test]
    fn ecs_settings_name_every_missing_variable() {
        let error = read(&[], EcsSettings::from_env).unwrap_err();
        assert_eq!(
            variables(error),
            [
                "SIMRUNNER_ECS_CLUSTER",
                "SIMRUNNER_ECS_TASK_DEFINITION",
                "SIMRUNNER_ECS_SUBNETS",
                "SIMRUNNER_ECS_SECURITY_GROUPS"
            ]
        );
        let settings = read(
            &[
                ("SIMRUNNER_ECS_CLUSTER", "sims"),
                ("SIMRUNNER_ECS_TASK_DEFINITION", "runner:3"),
                ("SIMRUNNER_ECS_SUBNETS", "subnet-a, subnet-b,"),
                ("SIMRUNNER_ECS_SECURITY_GROUPS", "sg-1"),
                ("SIMRUNNER_ECS_ASSIGN_PUBLIC_IP", "true"),
            ],
            EcsSettings::from_env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(settings.subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(settings.container, "runner");
        assert!(settings.assign_public_ip);
    }

    #[test]
    fn eventbridge_settings_need_the_target_and_role() {
        let error = read(&[], EventBridgeSettings::from_env).unwrap_err();
        assert_eq!(
            variables(error),
            [
                "SIMRUNNER_DISPATCH_FUNCTION_ARN",
                "SIMRUNNER_SCHEDULER_ROLE_ARN"
            ]
        );
        let settings = read(
            &[
                (
                    "SIMRUNNER_DISPATCH_FUNCTION_ARN",
                    "arn:aws:lambda:eu-west-1:1:function:d",
                ),
                ("SIMRUNNER_SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/s"),
            ],
            EventBridgeSettings::from_env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(settings.group, "simrunner");
        assert_eq!(settings.dead_letter_arn, None);
    }
}

//! The dispatch function as an AWS Lambda (invoked by EventBridge Scheduler; locally by
//! `cargo lambda invoke`).

use dispatch::Dispatcher;
use simrunner::dispatch::DispatchPolicy;
use simrunner::launch::{EcsLauncher, Launcher};
use simrunner::settings::EnvReader;

fn list(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    let mut env = EnvReader::from_process();
    let url = env.secret("DATABASE_URL");
    let url = env.require("DATABASE_URL", url, "the PostgreSQL connection URL");
    let cluster = env.raw("SIMRUNNER_ECS_CLUSTER");
    let cluster = env.require(
        "SIMRUNNER_ECS_CLUSTER",
        cluster,
        "the ECS cluster runs start in",
    );
    let task_definition = env.raw("SIMRUNNER_ECS_TASK_DEFINITION");
    let task_definition = env.require(
        "SIMRUNNER_ECS_TASK_DEFINITION",
        task_definition,
        "the runner's task definition (family or ARN)",
    );
    let subnets = list(env.raw("SIMRUNNER_ECS_SUBNETS"));
    if subnets.is_empty() {
        env.problem(
            "SIMRUNNER_ECS_SUBNETS",
            "is required: comma-separated subnet ids",
        );
    }
    let security_groups = list(env.raw("SIMRUNNER_ECS_SECURITY_GROUPS"));
    if security_groups.is_empty() {
        env.problem(
            "SIMRUNNER_ECS_SECURITY_GROUPS",
            "is required: comma-separated security group ids",
        );
    }
    let public_ip = env
        .parsed::<bool>("SIMRUNNER_ECS_ASSIGN_PUBLIC_IP", "true or false")
        .unwrap_or(false);
    let container = env
        .raw("SIMRUNNER_ECS_CONTAINER")
        .unwrap_or_else(|| "runner".into());
    let policy = DispatchPolicy::from_env(&mut env);
    if let Err(e) = env.finish() {
        tracing::error!("{e}");
        return Err(e.into());
    }
    let (Some(url), Some(cluster), Some(task_definition)) = (url, cluster, task_definition) else {
        return Err("incomplete settings".into());
    };
    // Built once per execution environment; AWS clients and the pool connect lazily.
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dispatcher = Dispatcher {
        pool: simrunner::db::build_pool(url.expose(), 2)?,
        launcher: Launcher::Ecs(EcsLauncher {
            client: aws_sdk_ecs::Client::new(&aws),
            cluster,
            task_definition,
            container,
            subnets,
            security_groups,
            assign_public_ip: public_ip,
        }),
        policy,
    };
    let dispatcher = &dispatcher;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            dispatcher
                .handle(event.payload, chrono::Utc::now())
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        },
    ))
    .await
}

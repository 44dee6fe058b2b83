//! The dispatch function as an AWS Lambda (invoked by EventBridge Scheduler; locally by
//! `cargo lambda invoke`).

use dispatch::Dispatcher;
use simrunner::aws::EcsSettings;
use simrunner::dispatch::DispatchPolicy;
use simrunner::launch::Launcher;
use simrunner::schedule::SchedulerSettings;
use simrunner::settings::EnvReader;

/// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    let mut env = EnvReader::from_process();
    let url = env.secret("DATABASE_URL");
    let url = env.require("DATABASE_URL", url, "the PostgreSQL connection URL");
    let ecs = EcsSettings::from_env(&mut env);
    let scheduler = SchedulerSettings::from_env(&mut env);
    let policy = DispatchPolicy::from_env(&mut env);
    if let Err(e) = env.finish() {
        tracing::error!("{e}");
        return Err(e.into());
    }
    let (Some(url), Some(ecs)) = (url, ecs) else {
        return Err("incomplete settings".into());
    };
    // Built once per execution environment; AWS clients and the pool connect lazily.
    let dispatcher = Dispatcher {
        pool: simrunner::db::build_pool(url.expose(), 2)?,
        launcher: Launcher::Ecs(ecs.launcher().await),
        scheduler: scheduler.build().await,
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

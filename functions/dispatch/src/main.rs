//! The dispatch function as an AWS Lambda (invoked by EventBridge Scheduler; locally by
//! `cargo lambda invoke`).

use dispatch::{DispatchSettings, Dispatcher};
use simrunner::settings::EnvReader;

/// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    // Built once per execution environment; AWS clients and the pool connect lazily.
    let dispatcher = match DispatchSettings::load(EnvReader::from_process()) {
        Ok(settings) => Dispatcher::build(settings).await,
        Err(e) => Err(e.into()),
    };
    let dispatcher = match dispatcher {
        Ok(dispatcher) => dispatcher,
        Err(e) => return lambda_startup::answer_every_invocation_with(e).await,
    };
    let dispatcher = &dispatcher;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            dispatcher.handle(event.payload, chrono::Utc::now()).await
        },
    ))
    .await
}

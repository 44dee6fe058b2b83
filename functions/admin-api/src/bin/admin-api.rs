//! The admin API as an AWS Lambda function (API Gateway HTTP API), also what
//! `cargo lambda watch` runs.

use admin_api::auth::Authenticator;
use admin_api::session::Sessions;
use admin_api::settings::{self, Mode};
use admin_api::state::AppState;
use simrunner::dispatch::RunControl;
use simrunner::launch::LocalRunners;
use std::sync::Arc;

/// One thread and the system allocator: Lambda hands an environment one request at a time,
/// so more worker threads and mimalloc's arenas would only add resident memory (measured in
/// `benches/api.rs`; see ARCHITECTURE.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    admin_api::telemetry::init(true);
    match state().await {
        Ok(state) => lambda_http::run(admin_api::app(state)).await,
        // Bad settings are answered to every request instead of ending the process, which
        // would leave the invoker waiting (see the lambda-startup crate).
        Err(e) => lambda_startup::answer_every_invocation_with(format!("{e:#}")).await,
    }
}

/// Built once per execution environment and reused by every warm invocation; the pool
/// connects lazily, so a cold start does no network I/O before the first request.
async fn state() -> anyhow::Result<AppState> {
    let mut settings = settings::load(Mode::Lambda)?;
    let url = settings
        .database_url
        .take()
        .expect("required in Lambda mode");
    let pool = simrunner::db::build_pool(url.expose(), settings.pool_size)?;
    // A process launcher (under `cargo lambda watch`) runs `runner-task` beside this binary
    // unless SIMRUNNER_RUNNER_PROGRAM names another.
    let runners = LocalRunners::beside_this_executable(url)?;
    let keyring = settings.keyring.take().expect("required in Lambda mode");
    let sessions = Sessions::for_keyring(&keyring);
    Ok(AppState {
        pool,
        keyring: Arc::new(keyring),
        auth: Arc::new(Authenticator::new(
            settings.admin_token.as_ref(),
            settings.jwt.take(),
            sessions,
        )),
        // ECS and EventBridge clients exist only when chosen; they too connect lazily.
        runs: Arc::new(RunControl::build(settings.runs, &runners).await),
        webhooks: settings.webhooks,
        answers: Default::default(),
    })
}

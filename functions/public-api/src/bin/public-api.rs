//! The public API and pages as an AWS Lambda function (API Gateway HTTP API). It connects
//! with a read-only database login (a member of the `simrunner_public` role), so a bug here
//! cannot write anything or read admin data; pages poll the feed, since API Gateway buffers
//! responses and cannot stream Server-Sent Events.

use public_api::{PublicState, Transport};
use simrunner::settings::EnvReader;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    match state() {
        Ok(state) => lambda_http::run(public_api::app(state).0).await,
        // Bad settings are answered to every request instead of ending the process.
        Err(e) => lambda_startup::answer_every_invocation_with(format!("{e:#}")).await,
    }
}

/// Built once per execution environment; the pool connects on the first request.
fn state() -> anyhow::Result<PublicState> {
    let mut env = EnvReader::from_process();
    let url = env.secret("DATABASE_URL");
    let url = env.require(
        "DATABASE_URL",
        url,
        "the read-only PostgreSQL URL (a login in the simrunner_public role)",
    );
    let pool_size = env.integer_in("SIMRUNNER_DB_POOL_SIZE", 1..=100, 2) as usize;
    env.finish()?;
    let url = url.expect("checked by finish");
    let pool = simrunner::db::build_pool(url.expose(), pool_size)?;
    Ok(PublicState::new(
        pool,
        Transport::Poll,
        Duration::from_millis(500),
    ))
}

//! The runner's command line, shared by the `runner-task` binary and `simrunner runner`:
//! play the run named by `RUN_ID`, or check one hand with `hand < hand.json`.
//!
//! Exit codes: 0 completed or cancelled (or nothing to do: the run was not queued),
//! 1 failed, 2 bad settings or input, or no such run.

use crate::run::{Outcome, Runner, Signals};
use crate::settings::RunnerSettings;
use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the command named by the first argument (`run` when there is none).
pub fn main(mut args: impl Iterator<Item = String>) -> ExitCode {
    match args.next().as_deref() {
        None | Some("run") => {}
        Some("hand") => return hand(),
        Some(_) => {
            eprintln!(
                "usage: runner-task [run | hand]\n  run   play the run in RUN_ID (default)\n  hand  read one hand as JSON on stdin, print its outcome"
            );
            return ExitCode::from(2);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    // One thread: the runner is sequential, and a single thread keeps memory small. Play
    // yields at every database write, so the heartbeat and signal tasks still run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(play())
}

async fn play() -> ExitCode {
    let settings = match RunnerSettings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("runner-task: {e}");
            return ExitCode::from(2);
        }
    };
    let pool = match simrunner::db::build_pool(settings.database_url.expose(), 2) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("runner-task: {e}");
            return ExitCode::from(2);
        }
    };
    let signals = Arc::new(Signals::default());
    let on_signal = signals.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("termination signal: finishing the current hand and closing the run");
        on_signal.terminate();
    });
    let runner = Runner {
        pool,
        settings,
        signals,
    };
    // The providers' model listings for the console, once a day or when asked: best effort,
    // beside the run.
    let listings = async {
        let Some(keyring) = &runner.settings.keyring else {
            return;
        };
        let max_age = Some(simrunner::store::models::MAX_AGE);
        let refreshed = crate::llm::models::refresh_due(
            &runner.pool,
            keyring,
            &runner.settings.base_urls,
            max_age,
        );
        if let Err(error) = refreshed.await {
            tracing::warn!(%error, "refreshing the providers' model listings");
        }
    };
    let (outcome, ()) = tokio::join!(runner.execute(), listings);
    match outcome {
        Ok(Outcome::Completed | Outcome::Cancelled) => ExitCode::SUCCESS,
        Ok(Outcome::NotClaimed(reason)) => {
            tracing::warn!("nothing to do: {reason}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::UnknownRun) => {
            tracing::error!(run = %runner.settings.run_id, "there is no such run");
            ExitCode::from(2)
        }
        Ok(Outcome::Failed { code, message }) => {
            tracing::error!(code, message, "run failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "the database failed; the run could not be closed");
            ExitCode::FAILURE
        }
    }
}

fn hand() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("runner-task hand: reading stdin: {e}");
        return ExitCode::from(2);
    }
    match crate::hand_tool::run(&input) {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", e.to_json());
            ExitCode::from(2)
        }
    }
}

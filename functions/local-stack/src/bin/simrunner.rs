//! `simrunner`: the local stack on a laptop.
//!
//! - `simrunner` / `simrunner up`: database, migrations and the admin API, until Ctrl-C.
//! - `simrunner migrate`: applies pending migrations to `DATABASE_URL` (or the embedded
//!   database) and exits.
//! - `simrunner reconcile`: repairs drift between periodic configs and their EventBridge
//!   schedules.
//! - `simrunner rotate-keys`: seals stored provider keys again under the current master key.
//! - `simrunner runner`: the runner (as `runner-task`), started by the process launcher.

/// mimalloc: fewer cycles per request than the system allocator (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

const USAGE: &str = "usage: simrunner [up | migrate | reconcile | rotate-keys | runner | help]

  up         run the local stack (default): an embedded PostgreSQL unless DATABASE_URL is
             set, migrations, the admin API on SIMRUNNER_HTTP_ADDR (default 127.0.0.1:8080),
             the local scheduler and the process launcher
  migrate    apply pending migrations to DATABASE_URL (or the embedded database) and exit
  reconcile  repair drift between periodic configs and their EventBridge schedules
             (SIMRUNNER_SCHEDULER=eventbridge) and print what changed
  rotate-keys
             seal every stored provider key again under SIMRUNNER_KEY_ENCRYPTION_KEY, opening
             them with SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED (the second step of a rotation)
  runner     play the run in RUN_ID (what the process launcher starts; same as runner-task)

Settings are environment variables; README.md lists them all.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `simrunner runner` is the runner itself (what the process launcher starts); it builds
    // its own runtime and logging.
    if args.first().map(String::as_str) == Some("runner") {
        return runner_task::cli::main(args.into_iter().skip(1));
    }
    tokio::runtime::Runtime::new()
        .expect("a Tokio runtime")
        .block_on(local(args))
}

async fn local(args: Vec<String>) -> ExitCode {
    admin_api::telemetry::init(false);
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["up"] => local_stack::up().await,
        ["migrate"] => local_stack::migrate().await,
        ["reconcile"] => local_stack::reconcile().await,
        ["rotate-keys"] => local_stack::rotate_keys().await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("simrunner: {error:#}");
            ExitCode::FAILURE
        }
    }
}

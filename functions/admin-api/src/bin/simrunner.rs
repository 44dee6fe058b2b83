//! `simrunner`: the local stack on a laptop.
//!
//! - `simrunner` / `simrunner up`: database, migrations and the admin API, until Ctrl-C.
//! - `simrunner migrate`: applies pending migrations to `DATABASE_URL` (or the embedded
//!   database) and exits.

/// mimalloc: fewer cycles per request than the system allocator (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

const USAGE: &str = "usage: simrunner [up | migrate | help]

  up       run the local stack (default): an embedded PostgreSQL unless DATABASE_URL is set,
           migrations, and the admin API on SIMRUNNER_HTTP_ADDR (default 127.0.0.1:8080)
  migrate  apply pending migrations to DATABASE_URL (or the embedded database) and exit

Settings are environment variables; README.md lists them all.";

#[tokio::main]
async fn main() -> ExitCode {
    admin_api::telemetry::init(false);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["up"] => admin_api::local::up().await,
        ["migrate"] => admin_api::local::migrate().await,
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

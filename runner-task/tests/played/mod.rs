//! Plays one queued run with the real runner binary to its end, as dispatch would start it.

#![allow(dead_code)] // each test binary uses a part of it

use simrunner::testing::TestDatabase;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The key-encryption key the tests seal secrets with and give the runner.
pub const KEK: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Runs `run` (heartbeat every second, the tests' key-encryption key, `env` on top) and
/// returns what it printed and how long it took.
pub fn play_run(db: &TestDatabase, run: &str, env: &[(&str, &str)]) -> (String, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", run)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_KEY_ENCRYPTION_KEY", KEK)
        .env("SIMRUNNER_HEARTBEAT_SECONDS", "1")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (printed, started.elapsed())
}

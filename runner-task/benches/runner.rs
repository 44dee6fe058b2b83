//! Runner benchmark: `cargo bench -p runner-task --bench runner`.
//!
//! Runs the real `runner-task` binary at fast pace against a fresh database and prints:
//! - hands per second, exec to exit, recording every hand, event and log line
//!   (6 seats of tight and callstation bots, blinds 1/2, a million chips each: real betting,
//!   yet nobody busts before the hand limit);
//! - peak resident memory (VmHWM) of a 9-bot run.
//!
//! Targets from the issue: >= 10,000 hands/s; <= 16 MB peak RSS with 9 bots.

use simrunner::testing::{TestDatabase, bot_simulation, fresh_database};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A queued run with a fixed seed, so every benchmark run plays the same hands.
async fn queued_run(db: &TestDatabase, slots: &[&str], hands: i64) -> String {
    let config = bot_simulation(db, slots, "fast", hands, (1, 2), 1_000_000).await;
    simrunner::testing::queued_run(db, &config, Some(7))
        .await
        .to_string()
}

/// Runs the binary; returns (seconds, peak RSS in KiB).
fn run(db: &TestDatabase, run: &str) -> (f64, u64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", run)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = peak.max(line.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    (started.elapsed().as_secs_f64(), peak)
}

async fn hands_of(db: &TestDatabase, run: &str) -> (i64, i64) {
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT r.hands_played,
                    (SELECT count(*) FROM table_events e WHERE e.table_id = r.table_id)
               FROM simulation_runs r WHERE r.id = $1",
            &[&run],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::main]
async fn main() {
    let db = fresh_database().await;
    let six = [
        "tight",
        "callstation",
        "tight",
        "callstation",
        "tight",
        "callstation",
    ];
    let id = queued_run(&db, &six, 10_000).await;
    let (seconds, _) = run(&db, &id);
    let (hands, events) = hands_of(&db, &id).await;

    let nine = [
        "tight",
        "callstation",
        "tight",
        "callstation",
        "tight",
        "callstation",
        "tight",
        "callstation",
        "tight",
    ];
    let id9 = queued_run(&db, &nine, 10_000).await;
    let (seconds9, peak9) = run(&db, &id9);
    let (hands9, _) = hands_of(&db, &id9).await;

    println!("\nrunner benchmark (fast pace, everything recorded in PostgreSQL on this machine)");
    println!(
        "  6 bots: {hands} hands, {events} events in {seconds:.2} s (exec to exit): {:.0} hands/s",
        hands as f64 / seconds
    );
    println!(
        "  9 bots: {hands9} hands in {seconds9:.2} s, peak RSS {:.1} MiB",
        peak9 as f64 / 1024.0
    );
}

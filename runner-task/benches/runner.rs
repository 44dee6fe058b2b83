//! Runner benchmark: `cargo bench -p runner-task --bench runner`.
//!
//! Runs the real `runner-task` binary at fast pace against a fresh database and prints:
//! - hands per second, exec to exit, recording every hand, event and log line
//!   (6 seats of tight and callstation bots, blinds 1/2, a million chips each: real betting;
//!   with the fixed seed one seat holds every chip after 4,782 hands), and the runner's own
//!   CPU time (the rest of the time it waits for PostgreSQL);
//! - peak resident memory (VmHWM) of a 9-bot run;
//! - the PHH export of the 9-bot table's 10,000 hands, as the admin and public downloads
//!   read, write and gzip it: time and bytes.
//!
//! Targets from the issue: >= 10,000 hands/s; <= 16 MB peak RSS with 9 bots.

use simrunner::store::hand_histories::{self, View};
use simrunner::store::public;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database};
use std::process::{Command, Stdio};
use std::time::Instant;

mod process;

/// A queued run with a fixed seed, so every benchmark run plays the same hands.
async fn queued_run(db: &TestDatabase, slots: &[&str], hands: i64) -> String {
    let config = bot_simulation(db, slots, "fast", hands, (1, 2), 1_000_000).await;
    simrunner::testing::queued_run(db, &config, Some(7))
        .await
        .to_string()
}

/// Runs the binary; returns (seconds, peak RSS in KiB, the runner's own CPU seconds).
fn run(db: &TestDatabase, run: &str) -> (f64, u64, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", run)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let mut cpu = 0.0;
    loop {
        peak = peak.max(process::peak_rss_kib(child.id()).unwrap_or(0));
        cpu = process::cpu_seconds(child.id()).unwrap_or(cpu);
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    (started.elapsed().as_secs_f64(), peak, cpu)
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
    let (seconds, _, cpu) = run(&db, &id);
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
    let (seconds9, peak9, _) = run(&db, &id9);
    let (hands9, _) = hands_of(&db, &id9).await;

    let full = export(&db, &id9, View::Full).await;
    let public = export(&db, &id9, View::Public).await;

    println!("\nrunner benchmark (fast pace, everything recorded in PostgreSQL on this machine)");
    println!(
        "  6 bots: {hands} hands, {events} events in {seconds:.2} s (exec to exit): {:.0} hands/s; \
         the runner's own CPU {cpu:.2} s (the rest: waiting for PostgreSQL)",
        hands as f64 / seconds
    );
    println!(
        "  9 bots: {hands9} hands in {seconds9:.2} s, peak RSS {:.1} MiB",
        peak9 as f64 / 1024.0
    );
    for (export, view) in [(full, "every hole card"), (public, "public view")] {
        println!(
            "  PHH export of the 9-bot table, {view}: {} hands in {:.2} s ({:.0} hands/s), \
             {:.1} MB ({:.0} bytes per hand); gzipped in {:.2} s more to {:.2} MB",
            export.hands,
            export.seconds,
            export.hands as f64 / export.seconds,
            export.bytes as f64 / 1e6,
            export.bytes as f64 / export.hands as f64,
            export.gzip_seconds,
            export.gzip_bytes as f64 / 1e6,
        );
    }
}

struct Export {
    hands: u64,
    seconds: f64,
    bytes: usize,
    gzip_seconds: f64,
    gzip_bytes: usize,
}

/// Exports a run's table as a `.phhs` file, as the downloads do.
async fn export(db: &TestDatabase, run: &str, view: View) -> Export {
    let client = db.pool.get().await.unwrap();
    let table = hand_histories::run_table(&client, run, 1)
        .await
        .unwrap()
        .flatten()
        .unwrap();
    let started = Instant::now();
    let mut text = String::new();
    let write = |h: &simrunner::poker::phh::HandHistory| Ok(h.write_phhs_entry(&mut text)?);
    let hands = match view {
        View::Full => {
            hand_histories::visit(&client, &table.id, &table.seats, view, 1..=i64::MAX, write).await
        }
        View::Public => {
            let table = public::get_table(&client, &table.id)
                .await
                .unwrap()
                .unwrap();
            public::hand_histories(&client, &table, 1..=i64::MAX, write).await
        }
    }
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let bytes = text.len();
    let mut accepts = axum::http::HeaderMap::new();
    accepts.insert("accept-encoding", "gzip".parse().unwrap());
    let started = Instant::now();
    let (gzipped, _) = web::phh::encode(text, &accepts);
    Export {
        hands,
        seconds,
        bytes,
        gzip_seconds: started.elapsed().as_secs_f64(),
        gzip_bytes: gzipped.len(),
    }
}

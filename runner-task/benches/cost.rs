//! The cost of a live table: `cargo bench -p runner-task --bench cost`.
//!
//! Runs the real `runner-task` binary with one run of N live-pace tables of 6 bots (think
//! times of 0.5 to 3 s, 2 s between hands, every action in the feed at once) against a fresh
//! database, for N = 1, 10 and 50, and prints for each: the runner's CPU over a steady
//! window (share of one core), its peak resident memory (VmHWM), the decisions it made, and
//! the cost per live table-hour when one Fargate task of the template's default size
//! (0.25 vCPU, 0.5 GB, ARM64) holds the N tables.
//!
//! Target from the issue: 50 live tables in one 0.25 vCPU task (CPU <= 25 % of one core,
//! RSS <= 128 MiB). PostgreSQL's own work is not counted: it is the database's bill.
//!
//! `BENCH_COST_TABLES` (default `1,10,50`) and `BENCH_COST_SECONDS` (the measured window,
//! default 60) change what is measured.

use simrunner::testing::{TestDatabase, bot_simulation, fresh_database};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod process;

/// AWS Fargate on-demand prices for Linux/ARM64 in us-east-1 (USD), as published at
/// <https://aws.amazon.com/fargate/pricing/>: the one place the benchmark's cost comes from.
struct FargatePrice {
    per_vcpu_hour: f64,
    per_gb_hour: f64,
}

const FARGATE_ARM64_US_EAST_1: FargatePrice = FargatePrice {
    per_vcpu_hour: 0.032_38,
    per_gb_hour: 0.003_56,
};

/// The runner task's size in `template.yaml` (`RunnerCpu` 256, `RunnerMemory` 512).
const TASK_VCPU: f64 = 0.25;
const TASK_GB: f64 = 0.5;

/// The warm-up before the window: every table open and dealing.
const WARM_UP: Duration = Duration::from_secs(8);

fn task_price_per_hour() -> f64 {
    TASK_VCPU * FARGATE_ARM64_US_EAST_1.per_vcpu_hour
        + TASK_GB * FARGATE_ARM64_US_EAST_1.per_gb_hour
}

async fn one_i64(db: &TestDatabase, sql: &str, run: &str) -> i64 {
    let client = db.pool.get().await.unwrap();
    client.query_one(sql, &[&run]).await.unwrap().get(0)
}

/// Decisions made at the run's tables so far.
async fn decisions(db: &TestDatabase, run: &str) -> i64 {
    one_i64(
        db,
        "SELECT count(*) FROM table_events e JOIN tables t ON t.id = e.table_id
          WHERE t.run_id = $1 AND e.kind = 'action'",
        run,
    )
    .await
}

struct Measured {
    tables: usize,
    cpu_share: f64,
    peak_mib: f64,
    decisions_per_second: f64,
}

async fn measure(db: &TestDatabase, tables: usize, window: Duration) -> Measured {
    let six = [
        "tight",
        "callstation",
        "tight",
        "callstation",
        "tight",
        "callstation",
    ];
    let config = bot_simulation(db, &six, "live", 10_000, (1, 2), 1_000_000).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET tables = $2, max_run_minutes = 60 WHERE id = $1",
            &[&config.as_str(), &(tables as i16)],
        )
        .await
        .unwrap();
    let run = simrunner::testing::queued_run(db, &config, Some(7))
        .await
        .to_string();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", &run)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_HEARTBEAT_SECONDS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    tokio::time::sleep(WARM_UP).await;
    let open = one_i64(db, "SELECT count(*) FROM tables WHERE run_id = $1", &run).await;
    assert_eq!(open, tables as i64, "every table is open after the warm-up");
    let cpu_time = |pid| process::cpu_seconds(pid).expect("the runner runs");
    let (cpu_before, decisions_before, started) =
        (cpu_time(pid), decisions(db, &run).await, Instant::now());
    tokio::time::sleep(window).await;
    let (cpu_after, decisions_after, elapsed) =
        (cpu_time(pid), decisions(db, &run).await, started.elapsed());
    let peak = process::peak_rss_kib(pid).expect("the runner runs");
    simrunner::dispatch::request_stop_all(&client, chrono::Utc::now())
        .await
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "the run stops cleanly");
    Measured {
        tables,
        cpu_share: (cpu_after - cpu_before) / elapsed.as_secs_f64(),
        peak_mib: peak as f64 / 1024.0,
        decisions_per_second: (decisions_after - decisions_before) as f64 / elapsed.as_secs_f64(),
    }
}

#[tokio::main]
async fn main() {
    let counts: Vec<usize> = std::env::var("BENCH_COST_TABLES")
        .unwrap_or_else(|_| "1,10,50".into())
        .split(',')
        .map(|n| n.trim().parse().expect("BENCH_COST_TABLES: numbers"))
        .collect();
    let window = Duration::from_secs(
        std::env::var("BENCH_COST_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let db = fresh_database().await;
    let mut results = Vec::new();
    for tables in counts {
        results.push(measure(&db, tables, window).await);
    }
    let price = task_price_per_hour();
    println!(
        "\ncost of a live table (live pace, 6 bots a table, one runner process, {} s window)",
        window.as_secs()
    );
    println!(
        "  task: {TASK_VCPU} vCPU / {TASK_GB} GB Fargate ARM64 us-east-1 on demand = ${price:.5}/hour"
    );
    for m in &results {
        println!(
            "  {:>2} tables: CPU {:5.2} % of one core ({:5.1} % of the task's {TASK_VCPU} vCPU), \
             peak RSS {:5.1} MiB, {:5.1} decisions/s; ${:.6} per live table-hour",
            m.tables,
            m.cpu_share * 100.0,
            m.cpu_share / TASK_VCPU * 100.0,
            m.peak_mib,
            m.decisions_per_second,
            price / m.tables as f64,
        );
    }
}

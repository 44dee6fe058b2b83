//! An always-on config on the real local stack: the time from a run's end to the next
//! table's first hand, with handover (the next table waits, open, beside the closing one)
//! and without (cooldown 0: the next run starts when the end is noticed). Printed, not
//! asserted.
//!
//! `cargo bench -p local-stack --bench always_on` (`BENCH_ALWAYS_ON_RUNS`, default 40 runs
//! each; fast pace, 400 hands a run).

mod common;

use common::{admin, env_number, free_addr, listening, spawn_server};
use serde_json::json;
use std::time::{Duration, Instant};

/// Milliseconds from each run's end to the next run's first hand, in run order.
async fn gaps(db: &simrunner::testing::TestDatabase, config: &str) -> Vec<f64> {
    let client = db.pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT r.completed_at,
                    (SELECT h.started_at FROM simulation_runs n JOIN hands h ON h.table_id = n.table_id
                      WHERE n.config_id = r.config_id AND n.created_at > r.created_at AND h.number = 1
                      ORDER BY n.created_at LIMIT 1)
               FROM simulation_runs r
              WHERE r.config_id = $1 AND r.status = 'completed'
              ORDER BY r.created_at",
            &[&config],
        )
        .await
        .unwrap();
    rows.iter()
        .filter_map(|r| {
            let end: chrono::DateTime<chrono::Utc> = r.get(0);
            let next: Option<chrono::DateTime<chrono::Utc>> = r.get(1);
            next.map(|next| (next - end).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(handover: bool, runs: u64) {
    let db = simrunner::testing::fresh_database().await;
    let addr = free_addr();
    let data_dir =
        std::env::temp_dir().join(format!("simrunner-bench-always-on-{}", std::process::id()));
    let mut server = spawn_server(
        &db.url,
        addr,
        &data_dir,
        &[("SIMRUNNER_MAX_CONCURRENT_RUNS", "2")],
    );
    listening(addr).await;
    let created = admin(addr, "POST", "/v1/admin/simulations", json!({
        "name": "always on", "schedule_type": "always_on", "live_tables": 1, "handover": handover,
        "cooldown_minutes": 0, "pace": "fast", "max_hands": 400, "max_run_minutes": 1,
        "agent_slots": [{"type": "callstation"}, {"type": "callstation"}, {"type": "tight"}],
        "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 100000, "actionTimeoutMs": 1000}
    }))
    .await;
    let config = created["id"].as_str().expect("created").to_owned();
    admin(
        addr,
        "PATCH",
        &format!("/v1/admin/simulations/{config}"),
        json!({"status": "active"}),
    )
    .await;
    let started = Instant::now();
    loop {
        let done = gaps(&db, &config).await.len() as u64;
        if done >= runs || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut gaps = gaps(&db, &config).await;
    gaps.sort_by(f64::total_cmp);
    println!(
        "always-on, handover {}: run end -> next table's first hand over {} runs: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        if handover { "on " } else { "off" },
        gaps.len(),
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or(0.0)
    );
}

#[tokio::main]
async fn main() {
    let runs = env_number("BENCH_ALWAYS_ON_RUNS", 40);
    measure(true, runs).await;
    measure(false, runs).await;
}

//! Health query benchmark: `cargo bench -p simrunner-shared --features testing --bench health`.
//!
//! The health figures (coverage per config from its tables, runs, failures, hands, spend,
//! fallbacks, with hourly buckets) over a database of 100,000 finished runs and their
//! tables, all inside the last 7 days (the worst case: every run is in the 7-day period), 20
//! configs (10 always-on with daily windows). Prints the first query of each period (which
//! computes the settled hours and keeps them in `health_hours`, as the first reap after a
//! deploy does), then p50, p99 and max of 40 more (the current hour computed, the rest read
//! back). Target: p99 <= 50 ms.

use chrono::Utc;
use simrunner::store::health;
use simrunner::testing::{bot_simulation, fresh_database};
use std::time::Instant;

const RUNS: i64 = 100_000;

#[tokio::main]
async fn main() {
    let db = fresh_database().await;
    let mut configs = Vec::new();
    for i in 0..20 {
        let id = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
        let client = db.pool.get().await.unwrap();
        let set = if i % 2 == 0 {
            r#"schedule_type = 'always_on', live_tables = 2, time_zone = 'Europe/Berlin',
               windows = '[{"start": "08:00", "end": "23:00"}]'"#
        } else {
            "schedule_type = 'periodic', interval_minutes = 5"
        };
        client
            .execute(
                &format!("UPDATE simulation_configs SET status = 'active', created_at = now() - interval '30 days', {set} WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .unwrap();
        configs.push(id.to_string());
    }
    let client = db.pool.get().await.unwrap();
    let now = Utc::now();
    let began = Instant::now();
    // 100,000 runs of 3 to 6 minutes, spread evenly over the last 7 days, each with its table;
    // one in 12 failed, one in 20 degraded, one in 4 with LLM usage.
    client
        .execute(
            "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key, created_at,
                                          started_at, completed_at, hands_played, error_code,
                                          degraded_reasons, decisions, fallbacks, llm_usage, lane)
             SELECT 'run_' || lpad(to_hex(n), 32, '0'), ($2::text[])[1 + n % 20],
                    CASE WHEN n % 12 = 0 THEN 'failed' ELSE 'completed' END, 'always_on',
                    'k' || n, t, t, t + make_interval(secs => 180 + n % 180), 20 + n % 30,
                    CASE WHEN n % 12 = 0 THEN 'runner_lost' END,
                    CASE WHEN n % 20 = 0 THEN '[{\"code\": \"timeouts\", \"message\": \"x\"}]'::jsonb END,
                    40, n % 7,
                    CASE WHEN n % 4 = 0 THEN '{\"cost_usd\": 0.012, \"warnings\": []}'::jsonb END, 1
               FROM (SELECT n, $1::timestamptz - make_interval(secs => n * 6.0) AS t
                       FROM generate_series(1, $3::bigint) n) runs",
            &[&now, &configs, &RUNS],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                                 action_timeout_ms, seats, status, created_at, ended_at)
             SELECT 'tbl_' || substr(id, 5), id, 'b', 5, 10, 1000, 1000, '[]', 'ended',
                    started_at, completed_at
               FROM simulation_runs",
            &[],
        )
        .await
        .unwrap();
    client.batch_execute("ANALYZE").await.unwrap();
    println!(
        "health: {RUNS} runs and tables over 7 days written in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    for period in ["24h", "7d"] {
        let (from, buckets) = health::period(period, now).unwrap();
        let began = Instant::now();
        health::health(&client, from, now, buckets).await.unwrap();
        let first = began.elapsed().as_secs_f64() * 1000.0;
        let mut times = Vec::new();
        let mut figures = None;
        for _ in 0..40 {
            let began = Instant::now();
            figures = Some(health::health(&client, from, now, buckets).await.unwrap());
            times.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let figures = figures.unwrap();
        println!(
            "health over {period} ({} runs in it, coverage {:.1} %): first {first:.0} ms; then p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            figures.overall.runs + figures.overall.cancelled,
            figures.overall.coverage.unwrap_or(0.0) * 100.0,
            times[times.len() / 2],
            times[((times.len() as f64 * 0.99).ceil() as usize).min(times.len()) - 1],
            times[times.len() - 1]
        );
    }
}

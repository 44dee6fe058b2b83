//! Dispatch benchmark: `cargo bench -p simrunner-shared --features testing --bench dispatch`.
//!
//! Time of one dispatch (reap, decide, insert, commit) on loopback PostgreSQL, excluding any
//! launcher call: 2,000 scheduled triggers across 100 periodic configs, each run closed
//! before the config's next trigger. Prints p50, p99 and max. Target: p99 <= 10 ms.

use chrono::{Duration, Utc};
use simrunner::dispatch::{Decision, DispatchPolicy, Trigger, dispatch};
use simrunner::testing::{bot_simulation, fresh_database};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let db = fresh_database().await;
    let mut configs = Vec::new();
    for _ in 0..100 {
        configs.push(bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await);
    }
    let mut client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'periodic', interval_minutes = 1,
                    cooldown_minutes = 0, status = 'active'",
            &[],
        )
        .await
        .unwrap();
    let policy = DispatchPolicy {
        max_concurrent_runs: 200,
        ..Default::default()
    };
    let start = Utc::now();
    let mut times = Vec::new();
    for round in 0..20 {
        let at = start + Duration::minutes(round);
        for config in &configs {
            let began = Instant::now();
            let (decision, _) =
                dispatch(&mut client, config, Trigger::Scheduled { at }, at, &policy)
                    .await
                    .unwrap();
            times.push(began.elapsed());
            assert!(matches!(decision, Decision::Started(_)), "{decision:?}");
        }
        client
            .execute(
                "UPDATE simulation_runs SET status = 'completed', started_at = $1, completed_at = $1
                  WHERE status = 'queued'",
                &[&at],
            )
            .await
            .unwrap();
    }
    times.sort();
    let ms = |i: usize| times[i].as_secs_f64() * 1e3;
    println!(
        "\ndispatch benchmark: {} dispatches (reap + decide + insert + commit) on loopback",
        times.len()
    );
    println!(
        "  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(times.len() / 2),
        ms(times.len() * 99 / 100),
        ms(times.len() - 1)
    );
}

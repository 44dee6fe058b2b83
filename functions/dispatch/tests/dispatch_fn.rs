//! The dispatch function's handler with the real ECS launcher (moto) and real PostgreSQL.

use chrono::{DateTime, Utc};
use dispatch::Dispatcher;
use serde_json::{Value, json};
use simrunner::launch::Launcher;
use simrunner::schedule::Scheduler;
use simrunner::testing::{bot_simulation, fresh_database, moto_ecs_launcher, moto_scheduler};

/// A dispatcher with the ECS launcher on a new moto cluster and EventBridge Scheduler on a
/// schedule group of the same name.
async fn dispatcher(cluster: &str) -> (Dispatcher, simrunner::testing::TestDatabase) {
    let db = fresh_database().await;
    let (ecs, _) = moto_ecs_launcher(cluster).await;
    let dispatcher = Dispatcher {
        pool: db.pool.clone(),
        launcher: Launcher::Ecs(ecs),
        scheduler: Scheduler::EventBridge(moto_scheduler(cluster).await),
        policy: Default::default(),
    };
    (dispatcher, db)
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test]
async fn scheduled_triggers_start_ecs_tasks_once_per_scheduled_time() {
    let (dispatcher, db) = dispatcher("dispatch-a").await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'periodic', interval_minutes = 5, status = 'active'",
            &[],
        )
        .await
        .unwrap();
    let event = json!({"config_id": config.as_str(), "scheduled_at": "2026-11-22T10:00:00Z"});
    let first = dispatcher
        .handle(event.clone(), at("2026-11-22T10:00:01Z"))
        .await
        .unwrap();
    assert_eq!(first["outcome"], "started", "{first}");
    let run = first["run_id"].as_str().unwrap();
    let task: String = client
        .query_one(
            "SELECT task_ref FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap()
        .get(0);
    assert!(task.starts_with("ecs:arn:aws:ecs:"), "{task}");

    let again = dispatcher
        .handle(event, at("2026-11-22T10:00:02Z"))
        .await
        .unwrap();
    assert_eq!(
        (again["outcome"].as_str(), again["reason"].as_str()),
        (Some("skipped"), Some("duplicate"))
    );
}

#[tokio::test]
async fn bad_events_are_rejected_not_retried_and_reap_runs_the_reaper() {
    let (dispatcher, _db) = dispatcher("dispatch-b").await;
    let now = Utc::now();
    for event in [
        json!({"config_id": "nonsense"}),
        json!({"config_id": "sim_0123456789abcdef0123456789abcdef", "scheduled_at": "yesterday"}),
        json!({"action": "explode"}),
        json!([1, 2, 3]),
        Value::Null,
    ] {
        let out = dispatcher.handle(event.clone(), now).await.unwrap();
        assert_eq!(out["outcome"], "rejected", "{event} -> {out}");
    }
    let missing = dispatcher
        .handle(
            json!({"config_id": "sim_0123456789abcdef0123456789abcdef"}),
            now,
        )
        .await
        .unwrap();
    assert_eq!(missing["reason"], "not_found");
    let reaped = dispatcher
        .handle(json!({"action": "reap"}), now)
        .await
        .unwrap();
    assert_eq!(
        reaped,
        json!({"outcome": "reaped", "runs": [],
               "schedules": {"checked": 0, "repaired": [], "deleted": []}})
    );
}

#[tokio::test]
async fn every_reap_gives_an_active_periodic_config_without_a_schedule_its_schedule() {
    let (dispatcher, db) = dispatcher("dispatch-reconcile").await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'periodic', interval_minutes = 2, status = 'active'",
            &[],
        )
        .await
        .unwrap();
    let reaped = dispatcher
        .handle(json!({"action": "reap"}), Utc::now())
        .await
        .unwrap();
    assert_eq!(reaped["schedules"]["repaired"], json!([config.as_str()]));
    let Scheduler::EventBridge(eb) = &dispatcher.scheduler else {
        unreachable!()
    };
    assert_eq!(
        eb.describe(&config).await.unwrap(),
        Some(("rate(2 minutes)".into(), true))
    );
    let again = dispatcher
        .handle(json!({"action": "reap"}), Utc::now())
        .await
        .unwrap();
    assert_eq!(again["schedules"]["repaired"], json!([]));
}

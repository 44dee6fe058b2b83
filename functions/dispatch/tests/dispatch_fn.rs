//! The dispatch function's handler on real PostgreSQL: with the real ECS launcher and
//! EventBridge Scheduler (moto), and with the adapters its settings choose on a laptop.

use chrono::{DateTime, Utc};
use dispatch::{DispatchError, DispatchSettings, Dispatcher};
use serde_json::{Value, json};
use simrunner::dispatch::RunControl;
use simrunner::launch::Launcher;
use simrunner::schedule::Scheduler;
use simrunner::settings::EnvReader;
use simrunner::testing::{
    TestDatabase, bot_simulation, fresh_database, moto_ecs_launcher, moto_scheduler,
};
use std::os::unix::fs::PermissionsExt as _;

/// A dispatcher with the ECS launcher on a new moto cluster and EventBridge Scheduler on a
/// schedule group of the same name.
async fn dispatcher(cluster: &str) -> (Dispatcher, TestDatabase) {
    let db = fresh_database().await;
    let (ecs, _) = moto_ecs_launcher(cluster).await;
    let dispatcher = Dispatcher {
        pool: db.pool.clone(),
        runs: RunControl {
            launcher: Some(Launcher::Ecs(ecs)),
            scheduler: Scheduler::EventBridge(moto_scheduler(cluster).await),
            policy: Default::default(),
            alerts: Default::default(),
        },
    };
    (dispatcher, db)
}

/// The dispatcher the function's `main` builds from these settings (and `DATABASE_URL`).
async fn dispatcher_from_settings(db: &TestDatabase, vars: &[(&str, &str)]) -> Dispatcher {
    let vars = [vars, &[("DATABASE_URL", db.url.as_str())]].concat();
    let settings = DispatchSettings::load(EnvReader::from_vars(&vars)).expect("valid settings");
    Dispatcher::build(settings).await.unwrap()
}

async fn make_periodic_and_active(db: &TestDatabase) {
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'periodic', interval_minutes = 5, status = 'active'",
            &[],
        )
        .await
        .unwrap();
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test]
async fn scheduled_triggers_start_ecs_tasks_once_per_scheduled_time() {
    let (dispatcher, db) = dispatcher("dispatch-a").await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    make_periodic_and_active(&db).await;
    let client = db.pool.get().await.unwrap();
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
               "schedules": {"checked": 0, "repaired": [], "deleted": []},
               "started": [], "paused": [], "coverage": [], "alerts_delivered": 0})
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
    let Scheduler::EventBridge(eb) = &dispatcher.runs.scheduler else {
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

#[tokio::test]
async fn with_the_process_launcher_a_scheduled_trigger_starts_the_runner_program() {
    let db = fresh_database().await;
    let dir = std::env::temp_dir().join(format!("dispatch-process-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    // A stand-in runner that records what it was started with.
    let runner = dir.join("runner");
    let launched = dir.join("launched");
    std::fs::write(
        &runner,
        format!(
            "#!/bin/sh\necho \"$RUN_ID $DATABASE_URL\" > {}\n",
            launched.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dispatcher = dispatcher_from_settings(
        &db,
        &[
            ("SIMRUNNER_LAUNCHER", "process"),
            ("SIMRUNNER_RUNNER_PROGRAM", runner.to_str().unwrap()),
        ],
    )
    .await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    make_periodic_and_active(&db).await;

    // Now, not a fixed time: the reap below must see a fresh queued run, not a stale one.
    let now = Utc::now();
    let scheduled_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = dispatcher
        .handle(
            json!({"config_id": config.as_str(), "scheduled_at": scheduled_at}),
            now,
        )
        .await
        .unwrap();
    assert_eq!(started["outcome"], "started", "{started}");
    let run = started["run_id"].as_str().unwrap();
    let mut seen = String::new();
    for _ in 0..100 {
        seen = std::fs::read_to_string(&launched).unwrap_or_default();
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen.trim(), format!("{run} {}", db.url));

    // SIMRUNNER_SCHEDULER is unset (local): a reap has no schedules to check.
    let reaped = dispatcher
        .handle(json!({"action": "reap"}), now)
        .await
        .unwrap();
    assert_eq!(
        reaped,
        json!({"outcome": "reaped", "runs": [],
               "schedules": {"checked": 0, "repaired": [], "deleted": []},
               "started": [], "paused": [], "coverage": [], "alerts_delivered": 0})
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn without_a_launcher_a_reap_works_and_a_trigger_names_the_missing_setting() {
    let db = fresh_database().await;
    let dispatcher = dispatcher_from_settings(&db, &[]).await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    let reaped = dispatcher
        .handle(json!({"action": "reap"}), Utc::now())
        .await
        .unwrap();
    assert_eq!(reaped["outcome"], "reaped", "{reaped}");

    let error = dispatcher
        .handle(json!({"config_id": config.as_str()}), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(error, DispatchError::NoLauncher), "{error}");
    assert!(error.to_string().contains("SIMRUNNER_LAUNCHER"), "{error}");
    let runs: i64 = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM simulation_runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0, "nothing was queued");
}

/// An ECS task state change, as EventBridge delivers it.
fn task_stopped_event(task_arn: &str) -> Value {
    json!({
        "version": "0", "id": "e1", "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1",
        "resources": [task_arn],
        "detail": {"taskArn": task_arn, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                   "stoppedReason": "Essential container in task exited", "startedBy": "simrunner"}
    })
}

#[tokio::test]
async fn an_always_on_config_gets_its_table_from_the_reap_and_its_next_from_the_task_stop_event_once()
 {
    let (dispatcher, db) = dispatcher("dispatch-always-on").await;
    let config = bot_simulation(&db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'always_on', live_tables = 1,
                    cooldown_minutes = 0, time_zone = 'UTC', status = 'active'",
            &[],
        )
        .await
        .unwrap();
    let now = Utc::now();
    let reaped = dispatcher
        .handle(json!({"action": "reap"}), now)
        .await
        .unwrap();
    let first = reaped["started"][0]
        .as_str()
        .expect("a table started")
        .to_owned();
    let task: String = client
        .query_one(
            "SELECT task_ref FROM simulation_runs WHERE id = $1",
            &[&first],
        )
        .await
        .unwrap()
        .get(0);
    let arn = task.strip_prefix("ecs:").unwrap().to_owned();
    // The runner claimed it, then its task died; EventBridge tells dispatch, twice.
    client
        .execute(
            "UPDATE simulation_runs SET status = 'running', started_at = now(), heartbeat_at = now() WHERE id = $1",
            &[&first],
        )
        .await
        .unwrap();
    let stopped = dispatcher
        .handle(task_stopped_event(&arn), now)
        .await
        .unwrap();
    assert_eq!(stopped["outcome"], "task_stopped", "{stopped}");
    assert_eq!(stopped["config_id"], config.as_str());
    assert_eq!(
        stopped["started"].as_array().unwrap().len(),
        1,
        "the next table, at once: {stopped}"
    );
    let again = dispatcher
        .handle(task_stopped_event(&arn), now)
        .await
        .unwrap();
    assert_eq!(
        again["started"],
        json!([]),
        "a repeated event starts nothing: {again}"
    );
    let (failed, active, alerts): (i64, i64, i64) = {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM simulation_runs WHERE status = 'failed' AND error_code = 'runner_lost'),
                        (SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running')),
                        (SELECT count(*) FROM alerts WHERE kind = 'run_failed')",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((failed, active, alerts), (1, 1, 1));
    let ignored = dispatcher
        .handle(
            json!({"detail-type": "ECS Task State Change", "detail": {"taskArn": arn, "lastStatus": "RUNNING"}}),
            now,
        )
        .await
        .unwrap();
    assert_eq!(ignored["outcome"], "ignored");
}

//! The AWS adapters through the real AWS SDK, against a moto server the harness starts.

use simrunner::domain::{RunId, SimulationId};
use simrunner::launch::{LaunchRequest, Launcher};
use simrunner::schedule::{ScheduleSpec, Scheduler};
use simrunner::testing::{
    bot_simulation, fresh_database, moto_ecs_launcher, moto_scheduler, unreachable,
};

#[tokio::test]
async fn run_task_starts_one_fargate_task_per_run_and_stop_task_stops_it() {
    let (ecs_launcher, ecs) = moto_ecs_launcher("simrunner-a").await;
    let launcher = Launcher::Ecs(ecs_launcher);
    let request = LaunchRequest {
        run: RunId::generate(),
        config: SimulationId::generate(),
    };
    let task_ref = launcher.launch(&request).await.unwrap();
    let arn = task_ref
        .strip_prefix("ecs:")
        .expect("an ECS task reference")
        .to_owned();

    let described = ecs
        .describe_tasks()
        .cluster("simrunner-a")
        .tasks(&arn)
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .unwrap();
    let task = &described.tasks()[0];
    assert_eq!(
        task.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    assert_eq!(task.started_by(), Some("simrunner"));
    let overrides = task.overrides().unwrap().container_overrides();
    assert_eq!(overrides[0].name(), Some("runner"));
    let env = overrides[0].environment();
    assert_eq!(env[0].name(), Some("RUN_ID"));
    assert_eq!(env[0].value(), Some(request.run.as_str()));
    let tags: Vec<(&str, &str)> = task
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert!(
        tags.contains(&("simrunner:run", request.run.as_str())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("simrunner:config", request.config.as_str())),
        "{tags:?}"
    );

    launcher.stop(&task_ref).await.unwrap();
    let described = ecs
        .describe_tasks()
        .cluster("simrunner-a")
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.tasks()[0].stopped_reason(),
        Some("stopped by simrunner")
    );
}

#[tokio::test]
async fn a_run_task_that_ecs_refuses_is_a_launch_error_naming_the_cause() {
    let (mut ecs_launcher, _) = moto_ecs_launcher("simrunner-b").await;
    ecs_launcher.placement.task_definition = "no-such-task-definition".into();
    let error = Launcher::Ecs(ecs_launcher)
        .launch(&LaunchRequest {
            run: RunId::generate(),
            config: SimulationId::generate(),
        })
        .await
        .unwrap_err();
    assert!(error.0.starts_with("ECS RunTask failed"), "{}", error.0);
}

/// What a config's schedule should be: every `interval_minutes`, enabled or not.
fn spec(interval_minutes: i64, enabled: bool) -> Option<ScheduleSpec> {
    Some(ScheduleSpec {
        expression: simrunner::schedule::rate_expression(interval_minutes),
        time_zone: None,
        starts_at: None,
        ends_at: None,
        enabled,
    })
}

#[tokio::test]
async fn calendar_schedules_carry_their_cron_time_zone_and_dates() {
    let eb = moto_scheduler("simrunner-test-cron").await;
    let scheduler = Scheduler::EventBridge(eb.clone());
    let sim = SimulationId::generate();
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let calendar = ScheduleSpec {
        expression: "cron(0 8 ? * MON-FRI *)".into(),
        time_zone: Some("Europe/Berlin".into()),
        starts_at: Some(at("2030-01-01T00:00:00Z")),
        ends_at: Some(at("2030-06-30T00:00:00Z")),
        enabled: true,
    };
    scheduler.sync(&sim, Some(calendar)).await.unwrap();
    let stored = eb
        .client
        .get_schedule()
        .name(sim.as_str())
        .group_name("simrunner-test-cron")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.schedule_expression(),
        Some("cron(0 8 ? * MON-FRI *)")
    );
    assert_eq!(stored.schedule_expression_timezone(), Some("Europe/Berlin"));
    assert_eq!(
        stored.start_date().map(|d| d.secs()),
        Some(at("2030-01-01T00:00:00Z").timestamp())
    );
    assert_eq!(
        stored.end_date().map(|d| d.secs()),
        Some(at("2030-06-30T00:00:00Z").timestamp())
    );
}

#[tokio::test]
async fn schedules_are_created_updated_disabled_and_deleted() {
    let eb = moto_scheduler("simrunner-test").await;
    let client = eb.client.clone();
    let scheduler = Scheduler::EventBridge(eb.clone());
    let sim = SimulationId::generate();

    scheduler.sync(&sim, spec(5, true)).await.unwrap();
    assert_eq!(
        eb.describe(&sim).await.unwrap(),
        Some(("rate(5 minutes)".into(), true))
    );
    let stored = client
        .get_schedule()
        .name(sim.as_str())
        .group_name("simrunner-test")
        .send()
        .await
        .unwrap();
    let target = stored.target().unwrap();
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:us-east-1:123456789012:function:simrunner-dispatch"
    );
    assert_eq!(
        target.role_arn(),
        "arn:aws:iam::123456789012:role/simrunner-scheduler"
    );
    let input: serde_json::Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input["config_id"], sim.as_str());
    assert_eq!(
        target.retry_policy().unwrap().maximum_retry_attempts(),
        Some(3)
    );

    // Idempotent: the same sync again changes nothing; a paused config's schedule is disabled.
    scheduler.sync(&sim, spec(5, true)).await.unwrap();
    scheduler.sync(&sim, spec(1, false)).await.unwrap();
    assert_eq!(
        eb.describe(&sim).await.unwrap(),
        Some(("rate(1 minute)".into(), false))
    );

    scheduler.sync(&sim, None).await.unwrap();
    assert_eq!(eb.describe(&sim).await.unwrap(), None);
    scheduler.sync(&sim, None).await.unwrap();
}

/// A config made periodic (or one-off when `interval` is `None`) with the given status.
async fn config_with(
    db: &simrunner::testing::TestDatabase,
    interval: Option<i64>,
    status: &str,
) -> SimulationId {
    let id = bot_simulation(db, &["random", "tight"], "fast", 10, (5, 10), 1000).await;
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE simulation_configs
                SET schedule_type = CASE WHEN $2::bigint IS NULL THEN 'one_off' ELSE 'periodic' END,
                    interval_minutes = $2, status = $3
              WHERE id = $1",
            &[&id.as_str(), &interval, &status],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn reconcile_repairs_missing_stale_and_left_over_schedules() {
    let db = fresh_database().await;
    let eb = moto_scheduler("reconcile-test").await;
    let scheduler = Scheduler::EventBridge(eb.clone());
    let missing = config_with(&db, Some(5), "active").await;
    let wrong_state = config_with(&db, Some(5), "paused").await;
    scheduler.sync(&wrong_state, spec(5, true)).await.unwrap();
    let wrong_rate = config_with(&db, Some(10), "active").await;
    scheduler.sync(&wrong_rate, spec(3, true)).await.unwrap();
    let right = config_with(&db, Some(15), "active").await;
    scheduler.sync(&right, spec(15, true)).await.unwrap();
    let one_off = config_with(&db, None, "active").await;
    scheduler.sync(&one_off, spec(5, true)).await.unwrap();
    let ghost = SimulationId::generate();
    scheduler.sync(&ghost, spec(5, true)).await.unwrap();
    // The reaper's schedule lives in the same group and is none of reconcile's business.
    eb.client
        .create_schedule()
        .name("simrunner-ReaperSchedule-1A2B3C")
        .group_name(&eb.group)
        .schedule_expression("rate(1 minute)")
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn(&eb.target_arn)
                .role_arn(&eb.role_arn)
                .input(r#"{"action": "reap"}"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut client = db.pool.get().await.unwrap();

    // The quick check (every reap) compares states; young left-overs may belong to a config
    // whose creation has not committed yet, so they stay.
    let now = chrono::Utc::now();
    let quick = scheduler.reconcile(&mut client, now, false).await.unwrap();
    assert_eq!(quick.checked, 4);
    let mut repaired = quick.repaired.clone();
    repaired.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![missing.clone(), wrong_state.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(repaired, expected);
    assert!(quick.deleted.is_empty());
    assert_eq!(
        eb.describe(&missing).await.unwrap(),
        Some(("rate(5 minutes)".into(), true))
    );
    assert_eq!(
        eb.describe(&wrong_state).await.unwrap(),
        Some(("rate(5 minutes)".into(), false))
    );

    // The deep check (`simrunner reconcile`) compares rates too; later, left-overs go.
    let later = now + chrono::Duration::minutes(10);
    let deep = scheduler.reconcile(&mut client, later, true).await.unwrap();
    assert_eq!(deep.repaired, std::slice::from_ref(&wrong_rate));
    let mut deleted = deep.deleted.clone();
    deleted.sort();
    let mut expected = vec![one_off.to_string(), ghost.to_string()];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(
        eb.describe(&wrong_rate).await.unwrap(),
        Some(("rate(10 minutes)".into(), true))
    );
    assert_eq!(eb.describe(&one_off).await.unwrap(), None);
    assert_eq!(eb.describe(&ghost).await.unwrap(), None);

    let names: Vec<String> = eb
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(
        names.contains(&"simrunner-ReaperSchedule-1A2B3C".to_owned()),
        "{names:?}"
    );

    let again = scheduler.reconcile(&mut client, later, true).await.unwrap();
    assert!(
        again.repaired.is_empty() && again.deleted.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.checked, 4);
}

#[tokio::test]
async fn an_unreachable_scheduler_is_reported_as_unavailable() {
    let eb = unreachable(moto_scheduler("unreachable-test").await);
    let error = Scheduler::EventBridge(eb)
        .sync(&SimulationId::generate(), None)
        .await
        .unwrap_err();
    assert!(error.unavailable, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_published_to_the_sns_topic_once() {
    let db = simrunner::testing::fresh_database().await;
    let receiver = simrunner::testing::http_receiver();
    let (sns, topic) = simrunner::testing::moto_sns_topic("simrunner-alerts", &receiver.url).await;
    let alerts = simrunner::alerts::Alerts::sns(sns, topic);
    let now = chrono::Utc::now();
    let mut client = db.pool.get().await.unwrap();
    let config = SimulationId::generate();
    simrunner::alerts::record(
        &client,
        simrunner::alerts::AlertKind::CoverageLost,
        Some(&config),
        None,
        serde_json::json!({"config_name": "Evening table"}),
        now,
    )
    .await
    .unwrap();
    assert_eq!(alerts.deliver_pending(&mut client, now).await.unwrap(), 1);
    assert_eq!(
        alerts
            .deliver_pending(&mut client, now + chrono::Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let notification: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(notification["Type"], "Notification");
    assert_eq!(notification["Subject"], "simrunner alert.coverage_lost");
    let message: serde_json::Value =
        serde_json::from_str(notification["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["data"]["config_id"], config.as_str());
    assert_eq!(message["data"]["config_name"], "Evening table");
}

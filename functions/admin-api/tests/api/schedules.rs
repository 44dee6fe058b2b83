//! The admin API with the AWS adapters (EventBridge Scheduler and ECS on a moto server, through
//! the real SDK): every change to a periodic config reaches its schedule before it commits,
//! and a scheduler that fails leaves the database unchanged.

use crate::helpers::{TestApp, fake_launcher};
use axum::http::StatusCode;
use serde_json::json;
use simrunner::dispatch::RunControl;
use simrunner::launch::Launcher;
use simrunner::schedule::{EventBridgeScheduler, Scheduler};
use simrunner::testing::{moto_ecs_launcher, moto_scheduler, unreachable};

async fn app_with(scheduler: EventBridgeScheduler, launcher: Launcher) -> TestApp {
    TestApp::with_runs(RunControl {
        launcher: Some(launcher),
        scheduler: Scheduler::EventBridge(scheduler),
        ..RunControl::default()
    })
    .await
}

/// The schedule of `id` as (expression, enabled), or `None` when there is none.
async fn schedule(eb: &EventBridgeScheduler, id: &str) -> Option<(String, bool)> {
    eb.describe(&simrunner::domain::SimulationId::parse(id).unwrap())
        .await
        .unwrap()
}

fn rate(minutes: &str, enabled: bool) -> Option<(String, bool)> {
    Some((format!("rate({minutes})"), enabled))
}

#[tokio::test]
async fn a_periodic_configs_schedule_follows_every_change() {
    let eb = moto_scheduler("api-follow").await;
    let app = app_with(eb.clone(), fake_launcher("exec sleep 30")).await;
    let id = app
        .create_simulation(|body| body["interval_minutes"] = json!(5))
        .await;
    assert_eq!(
        schedule(&eb, &id).await,
        rate("5 minutes", false),
        "created paused"
    );
    let path = format!("/v1/admin/simulations/{id}");

    let resumed = app.patch(&path, json!({"status": "active"})).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
    assert_eq!(schedule(&eb, &id).await, rate("5 minutes", true));

    app.patch(&path, json!({"interval_minutes": 1})).await;
    assert_eq!(schedule(&eb, &id).await, rate("1 minute", true));

    let stopped = app.post(&format!("{path}/stop"), json!({})).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert!(stopped.body.get("schedule_error").is_none());
    assert_eq!(schedule(&eb, &id).await, rate("1 minute", false));

    let started = app.post(&format!("{path}/start"), json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(
        schedule(&eb, &id).await,
        rate("1 minute", true),
        "start resumes the schedule"
    );

    let emergency = app
        .post("/v1/admin/simulations/emergency-stop", json!({}))
        .await;
    assert_eq!(
        emergency.body["paused_simulations"], 1,
        "{}",
        emergency.text
    );
    assert_eq!(schedule(&eb, &id).await, rate("1 minute", false));

    app.patch(&path, json!({"schedule_type": "one_off"})).await;
    assert_eq!(schedule(&eb, &id).await, None, "a one-off config has none");
    app.patch(
        &path,
        json!({"schedule_type": "periodic", "interval_minutes": 15, "status": "active"}),
    )
    .await;
    assert_eq!(schedule(&eb, &id).await, rate("15 minutes", true));

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(schedule(&eb, &id).await, None);
    assert_eq!(app.count("simulation_configs").await, 0);
}

#[tokio::test]
async fn when_the_scheduler_is_unreachable_changes_are_refused_and_nothing_is_written() {
    let eb = moto_scheduler("api-unreachable").await;
    let app = app_with(unreachable(eb), fake_launcher("exec sleep 30")).await;

    let create = app
        .post("/v1/admin/simulations", crate::helpers::valid_simulation())
        .await;
    assert_eq!(
        (create.status, create.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "scheduler_unavailable"),
        "{}",
        create.text
    );
    assert_eq!(app.count("simulation_configs").await, 0, "rolled back");

    // A one-off config needs no schedule.
    let id = app
        .create_simulation(|body| {
            body["schedule_type"] = json!("one_off");
            body.as_object_mut().unwrap().remove("interval_minutes");
        })
        .await;
    let path = format!("/v1/admin/simulations/{id}");
    let to_periodic = app
        .patch(
            &path,
            json!({"schedule_type": "periodic", "interval_minutes": 5}),
        )
        .await;
    assert_eq!(to_periodic.code(), "scheduler_unavailable");
    let detail = app.get(&path).await;
    assert_eq!(detail.body["simulation"]["schedule_type"], "one_off");

    // A periodic config made behind the API's back (as after drift): stopping it works all
    // the same and says what could not be done; deleting it is refused.
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs
                SET schedule_type = 'periodic', interval_minutes = 5, status = 'active'",
            &[],
        )
        .await
        .unwrap();
    let stopped = app.post(&format!("{path}/stop"), json!({})).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert!(
        stopped.body["schedule_error"]
            .as_str()
            .unwrap()
            .contains("EventBridge Scheduler"),
        "{}",
        stopped.text
    );
    let detail = app.get(&path).await;
    assert_eq!(detail.body["simulation"]["status"], "paused");

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.code(), "scheduler_unavailable");
    assert_eq!(app.count("simulation_configs").await, 1, "nothing deleted");
}

#[tokio::test]
async fn with_the_ecs_launcher_start_runs_a_fargate_task_and_delete_stops_it() {
    let eb = moto_scheduler("api-ecs").await;
    let (ecs_launcher, ecs) = moto_ecs_launcher("api-ecs").await;
    let app = app_with(eb.clone(), Launcher::Ecs(ecs_launcher)).await;
    let id = app.create_simulation(|_| {}).await;
    let path = format!("/v1/admin/simulations/{id}");

    let started = app.post(&format!("{path}/start"), json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let client = app.db.pool.get().await.unwrap();
    let task: String = client
        .query_one("SELECT task_ref FROM simulation_runs", &[])
        .await
        .unwrap()
        .get(0);
    let arn = task.strip_prefix("ecs:").expect("an ECS task").to_owned();
    let status = |ecs: aws_sdk_ecs::Client, arn: String| async move {
        let tasks = ecs
            .describe_tasks()
            .cluster("api-ecs")
            .tasks(arn)
            .send()
            .await
            .unwrap();
        tasks.tasks()[0]
            .desired_status()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(status(ecs.clone(), arn.clone()).await, "RUNNING");

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(status(ecs, arn).await, "STOPPED", "the task was stopped");
    assert_eq!(schedule(&eb, &id).await, None);
    assert_eq!(app.count("simulation_runs").await, 0);
}

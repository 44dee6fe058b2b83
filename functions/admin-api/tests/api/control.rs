use crate::helpers::{TestApp, fake_launcher};
use axum::http::StatusCode;
use serde_json::json;
use simrunner::dispatch::RunControl;

#[tokio::test]
async fn start_queues_and_launches_a_run_and_a_second_start_is_a_409() {
    let app = TestApp::spawn().await;
    let id = app.create_simulation(|_| {}).await;
    let started = app
        .post(&format!("/v1/admin/simulations/{id}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.body["status"], "queued");
    assert_eq!(started.body["trigger"], "manual");
    let run = started.body["id"].as_str().unwrap().to_owned();
    let detail = app.get(&format!("/v1/admin/simulations/{id}")).await;
    assert_eq!(
        detail.body["simulation"]["status"], "active",
        "start resumes a paused config"
    );
    assert_eq!(detail.body["simulation"]["is_running"], true);
    let client = app.db.pool.get().await.unwrap();
    let task: String = client
        .query_one(
            "SELECT task_ref FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap()
        .get(0);
    assert!(task.starts_with("pid:"), "{task}");

    let again = app
        .post(&format!("/v1/admin/simulations/{id}/start"), json!({}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "simulation_running")
    );
    assert!(
        again.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&run)
    );

    let missing = app
        .post(
            "/v1/admin/simulations/sim_0123456789abcdef0123456789abcdef/start",
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Clean up the launched stand-in process.
    fake_launcher("").stop(&task).await.unwrap();
}

#[tokio::test]
async fn a_failed_launch_closes_the_run_failed_and_answers_502() {
    let app = TestApp::with_runs(RunControl {
        launcher: Some(simrunner::launch::Launcher::Process(
            simrunner::launch::ProcessLauncher {
                program: "/nonexistent/runner".into(),
                args: vec![],
                env: vec![],
                log_dir: std::env::temp_dir(),
            },
        )),
        ..RunControl::default()
    })
    .await;
    let id = app.create_simulation(|_| {}).await;
    let response = app
        .post(&format!("/v1/admin/simulations/{id}/start"), json!({}))
        .await;
    assert_eq!(
        (response.status, response.code()),
        (StatusCode::BAD_GATEWAY, "launch_failed")
    );
    let client = app.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, error_code, error_message FROM simulation_runs",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "failed");
    assert_eq!(row.get::<_, String>(1), "launch_failed");
    assert!(row.get::<_, String>(2).contains("/nonexistent/runner"));
    // The failed run does not block the next start.
    let detail = app.get(&format!("/v1/admin/simulations/{id}")).await;
    assert_eq!(detail.body["simulation"]["is_running"], false);
}

#[tokio::test]
async fn without_a_launcher_start_answers_503() {
    let app = TestApp::with_runs(RunControl::default()).await;
    let id = app.create_simulation(|_| {}).await;
    let response = app
        .post(&format!("/v1/admin/simulations/{id}/start"), json!({}))
        .await;
    assert_eq!(
        (response.status, response.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "launcher_unavailable")
    );
    assert_eq!(app.count("simulation_runs").await, 0);
}

#[tokio::test]
async fn stop_and_emergency_stop_pause_and_ask_runs_to_stop() {
    let app = TestApp::spawn().await;
    let a = app.create_simulation(|_| {}).await;
    let b = app.create_simulation(|_| {}).await;
    let run = app.insert_run(&a, "running", 1).await;
    app.patch(
        &format!("/v1/admin/simulations/{b}"),
        json!({"status": "active"}),
    )
    .await;

    let stopped = app
        .post(&format!("/v1/admin/simulations/{a}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert_eq!(
        stopped.body,
        json!({"stopping_run": run, "status": "paused"})
    );
    let idle = app
        .post(&format!("/v1/admin/simulations/{b}/stop"), json!({}))
        .await;
    assert_eq!(idle.body["stopping_run"], serde_json::Value::Null);

    app.patch(
        &format!("/v1/admin/simulations/{b}"),
        json!({"status": "active"}),
    )
    .await;
    let all = app
        .post("/v1/admin/simulations/emergency-stop", json!({}))
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        all.body,
        json!({"stopping_runs": [run], "paused_simulations": 1})
    );
    let detail = app.get(&format!("/v1/admin/simulations/{b}")).await;
    assert_eq!(detail.body["simulation"]["status"], "paused");
}

#[tokio::test]
async fn an_llm_config_without_a_key_is_refused_with_a_422_and_warned_about() {
    let app = TestApp::spawn().await;
    let id = app
        .create_simulation(|body| {
            body["agent_slots"] = json!([
                {"type": "random"},
                {"type": "protocol", "model": "openai:gpt-4o-mini"},
                {"type": "autonomous", "model": "google:gemini-2.5-flash"},
            ]);
        })
        .await;
    let detail = app.get(&format!("/v1/admin/simulations/{id}")).await;
    let warnings = &detail.body["simulation"]["warnings"];
    assert_eq!(warnings[0]["code"], "missing_api_key", "{warnings}");
    assert_eq!(warnings[0]["providers"], json!(["openai", "google"]));
    let listed = app.get("/v1/admin/simulations").await;
    assert_eq!(listed.body["items"][0]["warnings"], *warnings);

    let start = app
        .post(&format!("/v1/admin/simulations/{id}/start"), json!({}))
        .await;
    assert_eq!(
        (start.status, start.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_api_key")
    );
    let message = start.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("openai") && message.contains("google"),
        "{message}"
    );
    assert_eq!(app.count("simulation_runs").await, 0, "nothing was queued");

    // With a key for one provider the warning names only the other.
    let added = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "openai", "label": "prod", "key": "sk-test-0123456789abcdef"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let detail = app.get(&format!("/v1/admin/simulations/{id}")).await;
    assert_eq!(
        detail.body["simulation"]["warnings"][0]["providers"],
        json!(["google"])
    );
}

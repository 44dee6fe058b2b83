use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;
use simrunner::domain::RunId;
use simrunner::store::recording::{self, Batch, LogRow};

async fn write_logs(app: &TestApp, run: &str, lines: &[(&str, serde_json::Value)]) {
    let mut batch = Batch::default();
    for (i, (stream, entry)) in lines.iter().enumerate() {
        batch.logs.push(LogRow {
            stream: (*stream).to_owned(),
            seq: i as i64 + 1,
            entry: entry.clone(),
        });
    }
    let mut client = app.db.pool.get().await.unwrap();
    let run = RunId::parse(run).unwrap();
    recording::write_batch(&mut client, &run, None, &batch, 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn run_logs_come_back_by_stream_summary_first() {
    let app = TestApp::spawn().await;
    let config = app.create_simulation(|_| {}).await;
    let run = app.insert_run(&config, "completed", 1).await;
    write_logs(
        &app,
        &run,
        &[
            ("agent-1-random", json!({"event": "decision", "hand": 3})),
            ("simulation-summary", json!({"event": "simulation_start"})),
            ("agent-0-tight", json!({"event": "decision", "hand": 1})),
            (
                "simulation-summary",
                json!({"event": "simulation_complete"}),
            ),
        ],
    )
    .await;
    let response = app
        .get(&format!("/v1/admin/simulations/runs/{run}/logs"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["run_id"], json!(run));
    let names: Vec<&str> = response.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["simulation-summary", "agent-0-tight", "agent-1-random"]
    );
    assert_eq!(
        response.body["files"][0]["entries"],
        json!([{"event": "simulation_start"}, {"event": "simulation_complete"}])
    );

    let detail = app.get(&format!("/v1/admin/simulations/runs/{run}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["status"], "completed");
}

#[tokio::test]
async fn rotated_logs_answer_logs_expired_and_unknown_runs_not_found() {
    let app = TestApp::spawn().await;
    let config = app.create_simulation(|_| {}).await;
    let old = app.insert_run(&config, "completed", 60).await;
    let new = app.insert_run(&config, "completed", 1).await;
    for run in [&old, &new] {
        write_logs(
            &app,
            run,
            &[("simulation-summary", json!({"event": "simulation_start"}))],
        )
        .await;
    }
    let client = app.db.pool.get().await.unwrap();
    assert_eq!(recording::rotate_logs(&client, 1).await.unwrap(), 1);
    assert_eq!(
        recording::rotate_logs(&client, 1).await.unwrap(),
        0,
        "rotation is idempotent"
    );

    let expired = app
        .get(&format!("/v1/admin/simulations/runs/{old}/logs"))
        .await;
    assert_eq!(
        (expired.status, expired.code()),
        (StatusCode::NOT_FOUND, "logs_expired")
    );
    let kept = app
        .get(&format!("/v1/admin/simulations/runs/{new}/logs"))
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(app.count("run_log_entries").await, 1);

    for path in [
        format!("/v1/admin/simulations/runs/{}/logs", RunId::generate()),
        "/v1/admin/simulations/runs/nonsense/logs".to_owned(),
        format!("/v1/admin/simulations/runs/{}", RunId::generate()),
    ] {
        let response = app.get(&path).await;
        assert_eq!(
            (response.status, response.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
}

use crate::helpers::{TOKEN, TestApp, valid_simulation};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use simrunner::domain::RunId;
use simrunner::store::recording::{self, Batch, LogRow};

async fn write_logs(app: &TestApp, run: &str, lines: &[(&str, serde_json::Value)]) {
    let mut batch = Batch::default();
    for (i, (stream, entry)) in lines.iter().enumerate() {
        batch.logs.push(LogRow {
            stream: (*stream).to_owned(),
            seq: i as i64 + 1,
            entry: entry.into(),
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

/// The cards of a PHH document's `d dh` actions, by player (`p1`, `p2`…).
fn dealt_cards(document: &str) -> Vec<String> {
    document
        .split('"')
        .filter_map(
            |action| match action.split_whitespace().collect::<Vec<_>>()[..] {
                ["d", "dh", _, cards] => Some(cards.to_owned()),
                _ => None,
            },
        )
        .collect()
}

#[tokio::test]
async fn a_runs_hands_download_as_phh_with_every_hole_card() {
    let app = TestApp::spawn().await;
    let run = app.queued_fast_run(12).await;
    let path = format!("/v1/admin/simulations/runs/{run}/hands.phhs");
    let before = app.get(&path).await;
    assert_eq!(
        (before.status, before.text.as_str()),
        (StatusCode::OK, ""),
        "no table yet: no hands"
    );

    app.play_run(&run).await;

    let all = app.get(&path).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(
        all.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        all.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{run}.phhs\"").as_str()
    );
    // Every seat's hole cards, shown down or not, in each hand's document.
    let client = app.db.pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT h.number, h.results::text FROM hands h
               JOIN simulation_runs r ON r.table_id = h.table_id
              WHERE r.id = $1 ORDER BY h.number",
            &[&run],
        )
        .await
        .unwrap();
    let documents: Vec<&str> = all.text.split("\n[").collect();
    assert_eq!(documents.len(), rows.len());
    assert!(rows.len() >= 2);
    for (row, document) in rows.iter().zip(&documents) {
        let number: i64 = row.get(0);
        let results: serde_json::Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
        let mut holes: Vec<String> = results
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r["hole"][0].as_str().unwrap(),
                    r["hole"][1].as_str().unwrap()
                )
            })
            .collect();
        let mut dealt = dealt_cards(document);
        holes.sort();
        dealt.sort();
        assert_eq!(dealt, holes, "hand {number}: {document}");
        assert!(
            document.contains(&format!("\nhand = {number}\n")),
            "{document}"
        );
    }

    // Gzipped for clients that accept it.
    let gzipped = app
        .raw(
            Request::builder()
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(gzipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.headers[header::VARY], "accept-encoding");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(gzipped.bytes.as_slice()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, all.text);

    let part = app.get(&format!("{path}?from=2&to=2")).await;
    assert!(part.text.starts_with("[2]\n") && part.text.matches("variant").count() == 1);
    let bad = app.get(&format!("{path}?from=3&to=2")).await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    for unknown in [
        format!(
            "/v1/admin/simulations/runs/{}/hands.phhs",
            RunId::generate()
        ),
        "/v1/admin/simulations/runs/nonsense/hands.phhs".to_owned(),
    ] {
        let response = app.get(&unknown).await;
        assert_eq!(
            (response.status, response.code()),
            (StatusCode::NOT_FOUND, "not_found")
        );
    }
}

#[tokio::test]
async fn a_multi_table_run_shows_its_tables_and_exports_each_one() {
    let app = TestApp::spawn().await;
    let config = app
        .create_simulation(|body| {
            body["pace"] = json!("fast");
            body["max_hands"] = json!(8);
            body["tables"] = json!(3);
        })
        .await;
    let shown = app.get(&format!("/v1/admin/simulations/{config}")).await;
    assert_eq!(shown.body["simulation"]["tables"], 3);
    let run = app.insert_run(&config, "queued", 0).await;
    let queued = app.get(&format!("/v1/admin/simulations/runs/{run}")).await;
    assert_eq!(
        queued.body["tables"],
        json!([]),
        "no tables before it opens them"
    );

    app.play_run(&run).await;

    let detail = app.get(&format!("/v1/admin/simulations/runs/{run}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.body["status"], "completed");
    let tables = detail.body["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3);
    let mut total = 0;
    for (i, table) in tables.iter().enumerate() {
        assert_eq!(table["position"], i + 1);
        assert_eq!(table["status"], "ended");
        assert_eq!(
            table["name"],
            format!(
                "{} #{}",
                valid_simulation()["name"].as_str().unwrap(),
                i + 1
            )
        );
        total += table["hands_played"].as_i64().unwrap();
    }
    assert_eq!(detail.body["hands_played"], total);
    assert_eq!(detail.body["table_id"], tables[0]["id"]);

    // Each table exports its own hands.
    let path = format!("/v1/admin/simulations/runs/{run}/hands.phhs");
    let mut exports = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let export = app.get(&format!("{path}?table={}", i + 1)).await;
        assert_eq!(export.status, StatusCode::OK, "{}", export.text);
        assert_eq!(
            export.text.matches("variant").count() as i64,
            table["hands_played"].as_i64().unwrap()
        );
        exports.push(export.text);
    }
    assert_eq!(
        app.get(&path).await.text,
        exports[0],
        "the first by default"
    );
    assert_ne!(exports[0], exports[1], "each table deals its own hands");
    let missing = app.get(&format!("{path}?table=4")).await;
    assert_eq!(
        (missing.status, missing.text.as_str()),
        (StatusCode::OK, "")
    );
    for bad in ["0", "51", "x"] {
        let response = app.get(&format!("{path}?table={bad}")).await;
        assert_eq!(
            (response.status, response.code()),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "table={bad}"
        );
    }
}

use crate::helpers::{TestApp, valid_simulation};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use simrunner::domain::PlatformId;

async fn add(app: &TestApp, base_url: &str, credential: &str) -> crate::helpers::Response {
    app.post(
        "/v1/admin/platforms",
        json!({"name": "our site", "base_url": base_url, "credential": credential}),
    )
    .await
}

/// A platform on 127.0.0.1 that speaks protocol `version` and accepts `credential` on its
/// admin routes (a table that does not exist: 404).
async fn serve_platform(version: &'static str, credential: &'static str) -> String {
    let app = Router::new()
        .route(
            "/v1/tables",
            get(move || async move {
                axum::Json(json!({"tables": [], "hasMore": false, "protocol_version": version}))
            }),
        )
        .route(
            "/v1/admin/tables/{id}/stop",
            post(move |headers: HeaderMap| async move {
                let sent = headers.get("authorization").and_then(|v| v.to_str().ok());
                if sent == Some(&format!("Bearer {credential}")) {
                    (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": "TABLE_NOT_FOUND", "message": "no such table"}})))
                } else {
                    (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": "UNAUTHORIZED", "message": "no"}})))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_platform_keeps_its_credential_sealed_and_shows_it_masked() {
    let app = TestApp::spawn().await;
    let credential = "platform-admin-credential-7c1e";
    let created = add(&app, "https://poker.example.com/", credential).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(PlatformId::parse(&id).is_some(), "{id}");
    assert_eq!(
        created.body["base_url"], "https://poker.example.com",
        "no trailing slash"
    );
    assert_eq!(created.body["masked_credential"], "****7c1e");
    assert!(
        !created.text.contains("credential-7c1e"),
        "{}",
        created.text
    );

    let listed = app.get("/v1/admin/platforms").await;
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    assert!(!listed.text.contains("admin-credential"), "{}", listed.text);
    let one = app.get(&format!("/v1/admin/platforms/{id}")).await;
    assert_eq!(one.body["name"], "our site");
    let client = app.db.pool.get().await.unwrap();
    let dump: String = client
        .query_one("SELECT string_agg(t::text, '|') FROM platforms t", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains("admin-credential"), "{dump}");
    let (_, opened) = simrunner::store::platforms::reveal_platform(
        &client,
        &app.state.keyring,
        &PlatformId::parse(&id).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(opened.expose(), credential);

    let path = format!("/v1/admin/platforms/{id}");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/admin/platforms/plt_garbage").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_platforms_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (
            json!({"name": "x", "base_url": "ftp://example.com", "credential": "c"}),
            "base_url",
        ),
        (
            json!({"name": "x", "base_url": "https://example.com/?q=1", "credential": "c"}),
            "base_url",
        ),
        // 2,049 characters (found by the fuzzer: it was a 500 from the column's check).
        (
            json!({"name": "x", "base_url": format!("http://0{}", "*".repeat(2042)), "credential": "c"}),
            "base_url",
        ),
        (
            json!({"name": "", "base_url": "https://example.com", "credential": "c"}),
            "name",
        ),
        (
            json!({"name": "x", "base_url": "https://example.com"}),
            "credential",
        ),
        (
            json!({"name": "x", "base_url": "https://example.com", "credential": "has space"}),
            "credential",
        ),
    ] {
        let refused = app.post("/v1/admin/platforms", body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            refused.text
        );
        assert_eq!(refused.code(), "validation_failed", "{body}");
        assert!(
            refused.fields().contains(&field.to_owned()),
            "{body}: {:?}",
            refused.fields()
        );
        assert!(
            !refused.text.contains("has space"),
            "the credential is never echoed"
        );
    }
    assert_eq!(app.count("platforms").await, 0);
}

#[tokio::test]
async fn a_config_plays_at_a_platform_that_exists_without_external_seats() {
    let app = TestApp::spawn().await;
    let id = add(&app, "https://poker.example.com", "cred").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = valid_simulation();
    body["host"] = json!(id);
    let created = app.post("/v1/admin/simulations", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["host"], id.as_str());
    let config = created.body["id"].as_str().unwrap().to_owned();

    // The console says where it plays, and the platforms page lists it, masked.
    let cookie = crate::console::sign_in(&app).await;
    let list = crate::console::page(&app, "/admin", &cookie).await;
    assert!(
        list.text.contains(&format!("plays at platform {id}")),
        "{}",
        list.text
    );
    let platforms = crate::console::page(&app, "/admin/platforms", &cookie).await;
    assert!(platforms.text.contains("****cred"), "{}", platforms.text);
    assert!(
        platforms
            .text
            .contains(&format!("/v1/admin/platforms/{id}/check"))
    );

    // In use: not deleted.
    let in_use = app.delete(&format!("/v1/admin/platforms/{id}")).await;
    assert_eq!(
        (in_use.status, in_use.code()),
        (StatusCode::CONFLICT, "platform_in_use")
    );
    assert!(in_use.text.contains(&config), "{}", in_use.text);
    let used = app.get(&format!("/v1/admin/platforms/{id}")).await;
    assert_eq!(used.body["used_by"], json!([config]));

    let mut external = body.clone();
    external["agent_slots"][0] = json!({"type": "external"});
    let refused = app.post("/v1/admin/simulations", external).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.fields().contains(&"agent_slots[0].type".to_owned()),
        "{:?}",
        refused.fields()
    );

    let mut unknown = body;
    unknown["host"] = json!("plt_0123456789abcdef0123456789abcdef");
    let refused = app.post("/v1/admin/simulations", unknown).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.code(), "unknown_reference");

    // Back to simrunner's own tables, and then the platform may go.
    let moved = app
        .patch(
            &format!("/v1/admin/simulations/{config}"),
            json!({"host": "builtin"}),
        )
        .await;
    assert_eq!(moved.body["host"], "builtin", "{}", moved.text);
    assert_eq!(
        app.delete(&format!("/v1/admin/platforms/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn the_connection_check_says_what_works_in_plain_words() {
    let app = TestApp::spawn().await;
    let good = serve_platform("0.1", "right").await;
    let check = |id: Value| {
        let app = &app;
        async move {
            let response = app
                .post(
                    &format!("/v1/admin/platforms/{}/check", id.as_str().unwrap()),
                    json!({}),
                )
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text);
            response.body
        }
    };
    let ready = check(add(&app, &good, "right").await.body["id"].clone()).await;
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["credential_accepted"], true);
    assert!(
        ready["summary"]
            .as_str()
            .unwrap()
            .contains("simulations can play there"),
        "{ready}"
    );

    let refused = check(add(&app, &good, "wrong").await.body["id"].clone()).await;
    assert_eq!(
        (
            refused["ready"].clone(),
            refused["credential_accepted"].clone()
        ),
        (json!(false), json!(false))
    );
    assert!(
        refused["summary"]
            .as_str()
            .unwrap()
            .contains("refuses the admin credential"),
        "{refused}"
    );

    let newer = serve_platform("0.2", "right").await;
    let other = check(add(&app, &newer, "right").await.body["id"].clone()).await;
    assert_eq!(other["ready"], false);
    assert!(
        other["summary"]
            .as_str()
            .unwrap()
            .contains("speaks protocol 0.2"),
        "{other}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gone = check(add(&app, &nowhere, "right").await.body["id"].clone()).await;
    assert_eq!(gone["reachable"], false);
    assert!(
        gone["summary"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{gone}"
    );
    assert!(
        !gone.to_string().contains("right"),
        "the credential is never shown"
    );
}

#[tokio::test]
async fn a_hosted_table_is_created_started_and_stopped_for_a_remote_client() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/v1/admin/tables",
            json!({"config": {"blinds": {"small": 5, "big": 10}, "maxSeats": 3, "initialStack": 500,
                              "actionTimeoutMs": 2000, "minPlayersToStart": 2}, "bucket_key": "remote"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let table = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "waiting");
    assert_eq!(created.body["config"]["maxSeats"], 3);
    assert_eq!(created.body["seats"].as_array().unwrap().len(), 3);
    // Behind it, a hosted config and its run, launched at once.
    let client = app.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT c.id, (SELECT count(*) FROM simulation_runs r WHERE r.config_id = c.id)
               FROM simulation_configs c WHERE c.hosted_table_id = $1",
            &[&table],
        )
        .await
        .unwrap();
    let config: String = row.get(0);
    assert_eq!(row.get::<_, i64>(1), 1);
    let seats: i64 = client
        .query_one(
            "SELECT count(*) FROM table_seats WHERE table_id = $1",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seats, 3, "every seat open for joins");

    let started = app
        .post(&format!("/v1/admin/tables/{table}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    assert_eq!(started.body["status"], "running");
    let start_asked: i64 = client
        .query_one(
            "SELECT count(*) FROM agent_inbox WHERE table_id = $1 AND kind = 'start'",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(start_asked, 1, "the runner is asked to start");

    let stopped = app
        .post(&format!("/v1/admin/tables/{table}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    let stop_requested: bool = client
        .query_one(
            "SELECT bool_or(stop_requested_at IS NOT NULL) FROM simulation_runs WHERE config_id = $1",
            &[&config],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stop_requested);

    // Once its runner ended it, it cannot start again.
    client
        .execute(
            "UPDATE tables SET status = 'ended', ended_at = now() WHERE id = $1",
            &[&table],
        )
        .await
        .unwrap();
    let again = app
        .post(&format!("/v1/admin/tables/{table}/start"), json!({}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "table_ended"),
        "{}",
        again.text
    );
    let stopped = app
        .post(&format!("/v1/admin/tables/{table}/stop"), json!({}))
        .await;
    assert_eq!(stopped.body["status"], "ended");

    for path in [
        "/v1/admin/tables/tbl_nope/start",
        "/v1/admin/tables/tbl_nope/stop",
    ] {
        let missing = app.post(path, json!({})).await;
        assert_eq!(
            (missing.status, missing.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let bad = app
        .post(
            "/v1/admin/tables",
            json!({"config": {"blinds": {"small": 5, "big": 10}, "maxSeats": 12}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(
        bad.fields().contains(&"config.maxSeats".to_owned()),
        "{:?}",
        bad.fields()
    );
}

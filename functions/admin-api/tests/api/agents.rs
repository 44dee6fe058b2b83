use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_agents_and_the_key_is_shown_once() {
    let app = TestApp::spawn().await;
    let created = app
        .post("/v1/admin/agents", json!({"name": " House bot "}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("agk_"));
    let id = created.body["agent"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["agent"]["name"], "House bot");
    assert_eq!(created.body["agent"]["created_by"], "admin");

    let list = app.get("/v1/admin/agents").await;
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert!(!list.text.contains(&key), "the key is never listed");
    let one = app.get(&format!("/v1/admin/agents/{id}")).await;
    assert_eq!(
        (
            one.body["tables_played"].as_i64(),
            one.body["timeouts"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert!(!one.text.contains(&key));

    let bad = app.post("/v1/admin/agents", json!({"name": "x\ny"})).await;
    assert_eq!(
        (bad.status, bad.fields()),
        (StatusCode::BAD_REQUEST, vec!["name".to_owned()])
    );
    for path in [
        "/v1/admin/agents/agt_missing",
        "/v1/admin/agents/agt_0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    let revoked = app
        .post(&format!("/v1/admin/agents/{id}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let at = revoked.body["revoked_at"].clone();
    assert!(at.is_string());
    let again = app
        .post(&format!("/v1/admin/agents/{id}/revoke"), json!({}))
        .await;
    assert_eq!(
        again.body["revoked_at"], at,
        "revoking twice changes nothing"
    );
}

#[tokio::test]
async fn an_external_seat_may_be_kept_only_for_an_agent_that_exists_and_is_not_revoked() {
    let app = TestApp::spawn().await;
    let agent = app.post("/v1/admin/agents", json!({"name": "kept"})).await;
    let id = agent.body["agent"]["id"].as_str().unwrap().to_owned();
    let slots = |agent: &str| json!([{"type": "external", "agent_id": agent}, {"type": "external"}, {"type": "tight"}]);
    let unknown = app
        .post("/v1/admin/simulations", {
            let mut body = crate::helpers::valid_simulation();
            body["agent_slots"] = slots("agt_0123456789abcdef0123456789abcdef");
            body
        })
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference")
    );
    assert_eq!(unknown.fields(), ["agent_slots[0].agent_id"]);
    assert_eq!(app.count("simulation_configs").await, 0, "nothing written");

    let config = app
        .create_simulation(|body| {
            body["agent_slots"] = slots(&id);
            body["join_timeout_seconds"] = json!(30);
            body["fill_empty_seats_with"] = json!("tight");
        })
        .await;
    let view = app
        .get(&format!("/v1/admin/simulations/{config}"))
        .await
        .body["simulation"]
        .clone();
    assert_eq!(view["agent_slots"][0]["agent_id"], id.as_str());
    assert_eq!(
        (
            view["join_timeout_seconds"].as_i64(),
            view["fill_empty_seats_with"].as_str()
        ),
        (Some(30), Some("tight"))
    );

    // Without external seats the seating rules go; they cannot be set on their own.
    let path = format!("/v1/admin/simulations/{config}");
    let bots = app
        .patch(
            &path,
            json!({"agent_slots": [{"type": "random"}, {"type": "tight"}]}),
        )
        .await;
    assert_eq!(bots.status, StatusCode::OK, "{}", bots.text);
    assert_eq!(bots.body["join_timeout_seconds"], json!(null));
    let refused = app.patch(&path, json!({"join_timeout_seconds": 20})).await;
    assert_eq!(refused.fields(), ["join_timeout_seconds"]);

    app.post(&format!("/v1/admin/agents/{id}/revoke"), json!({}))
        .await;
    let revoked = app.patch(&path, json!({"agent_slots": slots(&id)})).await;
    assert_eq!(
        revoked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a revoked agent cannot be named"
    );
    assert_eq!(revoked.fields(), ["agent_slots[0].agent_id"]);
}

//! The agents surface's REST routes against a real PostgreSQL, for what the conformance
//! suite (infra/agent-tests) cannot set up cheaply on its shared stack: closed registration,
//! rate limits with Retry-After, and a revoked key.

use agents_api::{AgentsSettings, AgentsState};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use simrunner::testing::fresh_database;
use tower::ServiceExt as _;

fn settings(registration_open: bool, per_minute: u32) -> AgentsSettings {
    AgentsSettings {
        registration_open,
        public_url: Some("https://poker.example.com".into()),
        ws_url: None,
        requests_per_minute: per_minute,
        frames_per_second: 20,
    }
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        retry,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn closed_registration_lets_only_an_admin_create_agents() {
    let db = fresh_database().await;
    let router = agents_api::app(AgentsState::new(
        db.pool.clone(),
        settings(false, 1000),
        None,
    ))
    .0;
    let (status, _, body) = call(
        &router,
        "POST",
        "/v1/agents",
        None,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("closed")
    );
    let count: i64 = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM agents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "nothing written");
}

#[tokio::test]
async fn each_address_and_key_is_rate_limited_with_retry_after() {
    let db = fresh_database().await;
    let router = agents_api::app(AgentsState::new(db.pool.clone(), settings(true, 3), None)).0;
    let (status, _, registered) = call(&router, "POST", "/v1/agents", None, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        registered["skill_doc_url"],
        "https://poker.example.com/skill.md"
    );
    let key = registered["api_key"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (status, _, _) = call(&router, "GET", "/v1/tables", None, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, retry, body) = call(&router, "GET", "/v1/tables", None, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "RATE_LIMIT_EXCEEDED");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // The key's own budget is separate from the address's, but an address over its limit
    // waits whatever key it shows.
    let (status, _, _) = call(&router, "POST", "/v1/tables/tbl_x/leave", Some(&key), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_revoked_key_opens_nothing() {
    let db = fresh_database().await;
    let router = agents_api::app(AgentsState::new(
        db.pool.clone(),
        settings(true, 1000),
        None,
    ))
    .0;
    let (_, _, registered) = call(
        &router,
        "POST",
        "/v1/agents",
        None,
        Some(json!({"name": "gone"})),
    )
    .await;
    let key = registered["api_key"].as_str().unwrap();
    let (status, _, body) = call(
        &router,
        "POST",
        "/v1/tables/tbl_missing/leave",
        Some(key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("TABLE_NOT_FOUND"))
    );
    let id = simrunner::domain::AgentId::parse(registered["agent_id"].as_str().unwrap()).unwrap();
    let mut client = db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    simrunner::store::agents::revoke_agent(&tx, &id)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let (status, _, body) = call(
        &router,
        "POST",
        "/v1/tables/tbl_missing/leave",
        Some(key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED"))
    );
}

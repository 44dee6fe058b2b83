use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;
use simrunner::domain::ApiKeyId;

const PLAINTEXT: &str = "sk-ant-api03-SECRETVALUE-do-not-leak-9f3c";

#[tokio::test]
async fn keys_are_added_listed_masked_and_deleted() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "anthropic", "label": "production", "key": PLAINTEXT}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["masked_key"], "****9f3c");
    assert!(
        created.body.get("env_var").is_none(),
        "keys reach no environment"
    );
    assert_eq!(created.body["provider"], "anthropic");
    assert_eq!(
        created.body["encryption_key_id"],
        app.state.keyring.current_key_id()
    );
    app.post(
        "/v1/admin/api-keys",
        json!({"provider": "google", "label": "gemini", "key": "AIzaSyExample1234"}),
    )
    .await;

    let listed = app.get("/v1/admin/api-keys").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["provider"], "google", "newest first");
    assert_eq!(items[1]["label"], "production");

    let id = created.body["id"].as_str().unwrap();
    let path = format!("/v1/admin/api-keys/{id}");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let again = app.delete(&path).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        app.delete("/v1/admin/api-keys/garbage").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("provider_api_keys").await, 1);
}

#[tokio::test]
async fn the_plaintext_is_in_no_response_and_not_stored_in_clear() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "openai", "label": "main", "key": PLAINTEXT}),
        )
        .await;
    let listed = app.get("/v1/admin/api-keys").await;
    let bad = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "openia", "label": "", "key": PLAINTEXT}),
        )
        .await;
    for response in [&created, &listed, &bad] {
        assert!(!response.text.contains("SECRETVALUE"), "{}", response.text);
    }

    // Every column of every row, as text and as bytes.
    let client = app.db.pool.get().await.unwrap();
    let dump: String = client
        .query_one(
            "SELECT string_agg(t::text, '|') FROM provider_api_keys t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains("SECRETVALUE"), "{dump}");
    let ciphertext: Vec<u8> = client
        .query_one("SELECT ciphertext FROM provider_api_keys", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!ciphertext.windows(11).any(|w| w == b"SECRETVALUE"));

    // …yet the key decrypts for the agents that need it.
    let id = ApiKeyId::parse(created.body["id"].as_str().unwrap()).unwrap();
    let revealed = simrunner::store::reveal_api_key(&client, &app.state.keyring, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revealed.expose(), PLAINTEXT);
}

#[tokio::test]
async fn invalid_keys_are_refused_without_echoing_the_key() {
    let app = TestApp::spawn().await;
    for (body, fields) in [
        (
            json!({"provider": "azure", "label": "x", "key": "sk-12345678"}),
            vec!["provider"],
        ),
        (
            json!({"label": "x", "key": "sk-12345678"}),
            vec!["provider"],
        ),
        (
            json!({"provider": "openai", "label": " ", "key": "sk-12345678"}),
            vec!["label"],
        ),
        (
            json!({"provider": "openai", "label": "x", "key": ""}),
            vec!["key"],
        ),
        (
            json!({"provider": "openai", "label": "x", "key": "short"}),
            vec!["key"],
        ),
        (
            json!({"provider": "openai", "label": "x", "key": "has spaces 123"}),
            vec!["key"],
        ),
        (
            json!({"provider": "openai", "label": "x", "key": 918_273_645_546_i64}),
            vec!["key"],
        ),
        (
            json!({"provider": "openai", "label": "x", "key": "sk-12345678", "scope": "all"}),
            vec!["scope"],
        ),
    ] {
        let response = app.post("/v1/admin/api-keys", body.clone()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.fields(), fields, "{body}");
        assert!(!response.text.contains("918273645546"), "{}", response.text);
        assert!(!response.text.contains("has spaces"), "{}", response.text);
    }
    assert_eq!(app.count("provider_api_keys").await, 0);
}

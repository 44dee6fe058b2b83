use crate::helpers::{TestApp, state_for, valid_simulation};
use admin_api::state::AppState;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use simrunner::domain::{WebhookId, WebhookPolicy};
use simrunner::testing::fresh_database;

async fn create(app: &TestApp, url: &str) -> crate::helpers::Response {
    app.post("/v1/admin/webhooks", json!({"label": "my bot", "url": url}))
        .await
}

/// A config of three bots and a webhook seat calling `webhook_id`.
fn config_calling(webhook_id: &str) -> Value {
    let mut body = valid_simulation();
    body["agent_slots"][3] = json!({"type": "webhook", "webhook_id": webhook_id});
    body
}

#[tokio::test]
async fn an_endpoint_shows_its_secret_once_is_listed_masked_and_is_deleted() {
    let app = TestApp::spawn().await;
    let created = create(&app, "https://bot.example.com/poker").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(WebhookId::parse(&id).is_some(), "{id}");
    assert_eq!(created.body["url"], "https://bot.example.com/poker");
    assert_eq!(created.body["label"], "my bot");
    assert_eq!(created.body["used_by"], json!([]));
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32, "a Standard Webhooks secret of 256 bits");
    assert_eq!(
        created.body["masked_secret"],
        format!("whsec_****{}", &secret[secret.len() - 4..])
    );

    // Never again: not in the list, not stored in clear; the runner can still open it.
    let listed = app.get("/v1/admin/webhooks").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    assert!(listed.body["items"][0].get("secret").is_none());
    let hidden = &secret["whsec_".len()..secret.len() - 4];
    assert!(!listed.text.contains(hidden), "{}", listed.text);
    let client = app.db.pool.get().await.unwrap();
    let dump: String = client
        .query_one(
            "SELECT string_agg(t::text, '|') FROM webhook_endpoints t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains(hidden), "{dump}");
    let opened = simrunner::store::webhooks::reveal_webhook(
        &client,
        &app.state.keyring,
        &WebhookId::parse(&id).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(opened.secret.expose(), &secret);

    let path = format!("/v1/admin/webhooks/{id}");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let again = app.delete(&path).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let garbage = app.delete("/v1/admin/webhooks/garbage").await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/admin/webhooks").await.body["items"], json!([]));
}

#[tokio::test]
async fn urls_that_could_reach_inside_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (url, says) in [
        ("http://bot.example.com/", "must be https://"),
        ("ftp://bot.example.com/", "must be https://"),
        ("https://user:pw@bot.example.com/", "user name or password"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.8/", "private"),
        ("https://100.64.1.1/", "CGNAT"),
        ("https://[fd00::1]/", "unique local"),
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("https://127.0.0.1:8443/", "loopback"),
        (
            "http://127.0.0.1:8080/",
            "SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on",
        ),
        ("https://localhost/", "loopback host"),
        ("not a url", "not a valid URL"),
    ] {
        let refused = create(&app, url).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            "{url}"
        );
        assert_eq!(refused.fields(), ["url"], "{url}");
        assert!(refused.text.contains(says), "{url}: {}", refused.text);
    }
    let blank = app
        .post(
            "/v1/admin/webhooks",
            json!({"label": " ", "secret": "mine"}),
        )
        .await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.text);
    assert!(
        blank.fields().contains(&"secret".to_owned()),
        "{}",
        blank.text
    );
    let missing = app.post("/v1/admin/webhooks", json!({"label": "x"})).await;
    assert_eq!(missing.fields(), ["url"]);
    assert_eq!(app.count("webhook_endpoints").await, 0);
}

#[tokio::test]
async fn plain_http_to_this_machine_needs_the_local_setting() {
    let db = fresh_database().await;
    let app = TestApp::with_state(db, |pool| AppState {
        webhooks: WebhookPolicy {
            allow_loopback: true,
        },
        ..state_for(pool, None)
    });
    for url in [
        "http://127.0.0.1:9000/act",
        "http://localhost:9000/",
        "http://[::1]:9000/",
    ] {
        assert_eq!(create(&app, url).await.status, StatusCode::CREATED, "{url}");
    }
    for url in [
        "http://bot.example.com/",
        "http://10.0.0.1/",
        "https://169.254.169.254/",
    ] {
        assert_eq!(
            create(&app, url).await.status,
            StatusCode::BAD_REQUEST,
            "{url}"
        );
    }
}

#[tokio::test]
async fn configs_must_name_existing_endpoints_which_then_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let nowhere = WebhookId::generate().to_string();
    let refused = app
        .post("/v1/admin/simulations", config_calling(&nowhere))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference"),
        "{}",
        refused.text
    );
    assert_eq!(refused.fields(), ["agent_slots[3].webhook_id"]);
    assert!(refused.text.contains(&nowhere));
    assert_eq!(app.count("simulation_configs").await, 0);

    let endpoint = create(&app, "https://bot.example.com/poker").await;
    let id = endpoint.body["id"].as_str().unwrap().to_owned();
    let created = app.post("/v1/admin/simulations", config_calling(&id)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let config = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/v1/admin/webhooks").await.body["items"][0]["used_by"],
        json!([config])
    );

    // An edit that names a missing endpoint is refused the same way, and changes nothing.
    let edited = app
        .patch(
            &format!("/v1/admin/simulations/{config}"),
            json!({"agent_slots": config_calling(&nowhere)["agent_slots"]}),
        )
        .await;
    assert_eq!(
        (edited.status, edited.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["agent_slots[3].webhook_id".to_owned()]
        )
    );

    let path = format!("/v1/admin/webhooks/{id}");
    let kept = app.delete(&path).await;
    assert_eq!(
        (kept.status, kept.code()),
        (StatusCode::CONFLICT, "webhook_in_use")
    );
    assert!(kept.text.contains(&config), "{}", kept.text);
    assert_eq!(app.count("webhook_endpoints").await, 1);

    let deleted = app.delete(&format!("/v1/admin/simulations/{config}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_document_describes_the_resource_as_the_api_checks_it() {
    let app = TestApp::spawn().await;
    let doc = admin_api::openapi(&app.state);
    let input = &doc["components"]["schemas"]["CreateWebhook"];
    assert_eq!(input["required"], json!(["label", "url"]));
    assert_eq!(input["additionalProperties"], false);
    assert_eq!(
        input["properties"]["url"]["maxLength"],
        simrunner::domain::WEBHOOK_URL_MAX_CHARS
    );
    let label = &input["properties"]["label"];
    assert_eq!(
        (&label["minLength"], &label["maxLength"]),
        (&json!(1), &json!(simrunner::domain::LABEL_MAX_CHARS))
    );
    assert_eq!(
        label,
        &doc["components"]["schemas"]["CreateApiKey"]["properties"]["label"]
    );
    let create = &doc["paths"]["/v1/admin/webhooks"]["post"]["responses"];
    assert_eq!(
        create["201"]["links"]["delete_webhook"]["parameters"]["id"],
        "$response.body#/id"
    );
    let delete = &doc["paths"]["/v1/admin/webhooks/{id}"]["delete"]["responses"];
    for status in ["204", "404", "409", "401", "403", "503"] {
        assert!(delete.get(status).is_some(), "DELETE {status}");
    }
    for (path, method) in [
        ("/v1/admin/simulations", "post"),
        ("/v1/admin/simulations/{id}", "patch"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(responses.get("422").is_some(), "{method} {path}");
    }
}

#[tokio::test]
async fn the_console_lists_endpoints_masked_and_escaped_and_offers_the_form() {
    let app = TestApp::spawn().await;
    let xss = "<script>alert(1)</script>";
    let created = app
        .post(
            "/v1/admin/webhooks",
            json!({"label": xss, "url": "https://bot.example.com/poker"}),
        )
        .await;
    let secret = created.body["secret"].as_str().unwrap();
    let id = created.body["id"].as_str().unwrap();
    let config = app
        .post("/v1/admin/simulations", config_calling(id))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = crate::console::sign_in(&app).await;
    let page = crate::console::page(&app, "/admin/webhooks", &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains(xss), "the label is escaped");
    assert!(
        !page.text.contains(&secret[6..]),
        "the secret is never on the page"
    );
    assert!(
        page.text
            .contains(&format!("whsec_****{}", &secret[secret.len() - 4..]))
    );
    assert!(page.text.contains("https://bot.example.com/poker"));
    assert!(
        page.text
            .contains(&format!(r#"href="/admin/simulations/{config}""#))
    );
    assert!(
        page.text.contains("Simulations still call it"),
        "delete is disabled"
    );
    assert!(page.text.contains(r#"id="webhook-form""#));
    assert!(
        page.text
            .contains(r#"href="/admin/webhooks" class="active""#)
    );
}

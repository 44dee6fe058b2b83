//! The OpenAPI document says exactly what the API checks: its limits are the domain's own,
//! and every admin operation lists the answers of its kind.

use crate::helpers::TestApp;
use serde_json::Value;
use simrunner::domain::{Limits, MAX_CHIPS, MODEL_MAX_CHARS};

fn range(schema: &Value) -> (i64, i64) {
    (
        schema["minimum"].as_i64().unwrap_or(i64::MIN),
        schema["maximum"].as_i64().unwrap_or(i64::MAX),
    )
}

#[tokio::test]
async fn request_limits_in_the_document_are_the_ones_the_domain_enforces() {
    let app = TestApp::spawn().await;
    let doc = admin_api::openapi(&app.state);
    let schemas = &doc["components"]["schemas"];
    for name in ["CreateSimulation", "UpdateSimulation"] {
        let fields = &schemas[name]["properties"];
        let bounds = |r: std::ops::RangeInclusive<i64>| (*r.start(), *r.end());
        assert_eq!(
            range(&fields["max_hands"]),
            bounds(Limits::MAX_HANDS),
            "{name}"
        );
        assert_eq!(
            range(&fields["max_run_minutes"]),
            bounds(Limits::MAX_RUN_MINUTES)
        );
        assert_eq!(
            range(&fields["interval_minutes"]),
            bounds(Limits::INTERVAL_MINUTES)
        );
        assert_eq!(
            range(&fields["cooldown_minutes"]),
            bounds(Limits::COOLDOWN_MINUTES)
        );
        assert_eq!(range(&fields["agent_count"]), bounds(Limits::AGENTS));
        assert_eq!(fields["agent_slots"]["maxItems"], *Limits::AGENTS.end());
        assert_eq!(fields["name"]["maxLength"], *Limits::NAME_CHARS.end());
        assert_eq!(
            fields["max_llm_cost_usd"]["maximum"],
            *Limits::MAX_LLM_COST_CENTS.end() / 100
        );
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} refuses unknown fields"
        );
    }
    let table = &schemas["TableConfigInput"]["properties"];
    assert_eq!(
        range(&table["actionTimeoutMs"]),
        (
            *Limits::ACTION_TIMEOUT_MS.start(),
            *Limits::ACTION_TIMEOUT_MS.end()
        )
    );
    assert_eq!(range(&table["initialStack"]).1, MAX_CHIPS);
    assert_eq!(
        range(&schemas["BlindsInput"]["properties"]["big"]).1,
        MAX_CHIPS
    );
    let slot = &schemas["AgentSlotInput"];
    assert_eq!(slot["additionalProperties"], false);
    assert_eq!(
        slot["properties"]["type"]["enum"],
        serde_json::json!([
            "random",
            "tight",
            "callstation",
            "autonomous",
            "protocol",
            "external",
            "webhook"
        ])
    );
    assert!(
        slot["properties"]["model"]["pattern"]
            .as_str()
            .unwrap()
            .contains(&MODEL_MAX_CHARS.to_string())
    );
    let key = &schemas["CreateApiKey"];
    assert_eq!(
        key["required"],
        serde_json::json!(["provider", "label", "key"])
    );
    assert_eq!(key["properties"]["key"]["maxLength"], 512);
}

#[tokio::test]
async fn every_admin_operation_declares_auth_failures_and_its_kind_of_errors() {
    let app = TestApp::spawn().await;
    let doc = admin_api::openapi(&app.state);
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            if path.starts_with("/v1/admin") {
                checked += 1;
                assert!(operation.get("security").is_some(), "{method} {path}");
                assert!(has("401") && has("403"), "{method} {path}");
            }
            if operation.get("requestBody").is_some() {
                assert!(has("400") && has("413") && has("415"), "{method} {path}");
            }
            if path.contains('{') {
                assert!(has("404"), "{method} {path}");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert_eq!(checked, 34);
}

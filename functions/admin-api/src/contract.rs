//! The API contract made exact. Each route's `#[utoipa::path]` says what is particular to it
//! (its body, its 404, its 409…); what every route of a kind answers is added here, from the
//! same facts the middleware and extractors act on, so no route can forget one:
//!
//! - behind the admin guard (`security`): 401 `unauthorized`, 403 `forbidden`; and the
//!   console's session cookie as the alternative to the bearer token;
//! - reading the database: 503 `database_unavailable`;
//! - with a JSON body (`JsonBody`): 400 `invalid_json` / `validation_failed`, 413
//!   `payload_too_large`, 415 `unsupported_media_type`; and its schemas refuse unknown fields
//!   (`additionalProperties: false`, as the extractor does);
//! - with query parameters (`QueryParams`): 400 `invalid_query` / `invalid_cursor`;
//! - with a path id: 404 `not_found`.
//!
//! Also the request fields' allowed values, for the fields whose rules the domain checks.

use serde_json::{Map, Value, json};
use simrunner::domain::{AgentType, ConfigStatus, LABEL_MAX_CHARS, Pace, Provider, ScheduleKind};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// Operations that answer without touching the database.
const NO_DATABASE: [&str; 3] = ["agent_types", "healthz", "preview_schedule"];

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}

/// Adds `status` unless the route already describes it.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status)
        .or_insert_with(|| error_response(description));
}

/// Completes every operation of `doc` (see the module documentation).
pub fn complete(doc: &mut Value) {
    doc["components"]["securitySchemes"]["console_session"] = json!({
        "type": "apiKey",
        "in": "cookie",
        "name": crate::session::COOKIE,
        "description": "The admin console's session, set by signing in at /admin/login. Requests \
                        that change anything must also send the session's X-CSRF-Token (in \
                        every console page) and come from the same origin.",
    });
    let mut input_schemas = Vec::new();
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has = |place: &str| parameters.iter().any(|p| p["in"] == place);
        let (query, path) = (has("query"), has("path"));
        let body = operation.get("requestBody").cloned();
        // The agents surface answers in the protocol's own error format and describes every
        // answer itself; its bodies still refuse unknown fields.
        if operation["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == "agents"))
        {
            if let Some(reference) = body
                .as_ref()
                .and_then(|b| b.pointer("/content/application~1json/schema/$ref"))
            {
                input_schemas.extend(reference.as_str().map(str::to_owned));
            }
            continue;
        }
        let secured = operation.get("security").is_some();
        if let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) {
            security.push(json!({"console_session": []}));
        }
        let uses_database = !NO_DATABASE.contains(&operation["operationId"].as_str().unwrap_or(""));
        let responses = operation["responses"]
            .as_object_mut()
            .expect("every operation has responses");
        if secured {
            add(
                responses,
                "401",
                "`unauthorized`: no credentials, or bad ones",
            );
            add(
                responses,
                "403",
                "`forbidden`: a valid JWT whose email is not an admin; with the console's \
                 session cookie, a change without the session's `X-CSRF-Token` or from another \
                 origin",
            );
        }
        if uses_database {
            add(
                responses,
                "503",
                "`database_unavailable`: try again shortly (`Retry-After`)",
            );
        }
        if let Some(body) = body {
            add(
                responses,
                "400",
                "`invalid_json` or `validation_failed`: `details` names each field",
            );
            add(
                responses,
                "413",
                "`payload_too_large`: bodies are at most 64 KiB",
            );
            add(
                responses,
                "415",
                "`unsupported_media_type`: send `Content-Type: application/json`",
            );
            if let Some(reference) = body.pointer("/content/application~1json/schema/$ref") {
                input_schemas.extend(reference.as_str().map(str::to_owned));
            }
        } else if query {
            add(responses, "400", "`invalid_query` or `invalid_cursor`");
        }
        if path {
            add(responses, "404", "`not_found`");
        }
    }
    add_links(doc);
    let schemas = &mut doc["components"]["schemas"];
    while let Some(reference) = input_schemas.pop() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &mut schemas[name];
        if schema.get("additionalProperties").is_some() || !schema.is_object() {
            continue;
        }
        schema["additionalProperties"] = json!(false);
        collect_references(schema, &mut input_schemas);
    }
}

fn collect_references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get("$ref") {
                into.push(reference.clone());
            }
            fields.values().for_each(|v| collect_references(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, into)),
        _ => {}
    }
}

/// A request field that is a string from `names`; `nullable` where null (like absence)
/// means the default.
fn one_of(
    names: impl IntoIterator<Item = &'static str>,
    nullable: bool,
    description: &str,
) -> Object {
    let mut values: Vec<Value> = names.into_iter().map(Value::from).collect();
    let schema_type = if nullable {
        values.push(Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

pub fn schedule_type_schema() -> Object {
    let names = ScheduleKind::ALL.map(ScheduleKind::as_str);
    one_of(
        names,
        true,
        "`one_off` (default), `periodic` (an interval or a cron expression) or `always_on`.",
    )
}

pub fn pace_schema() -> Object {
    one_of(
        Pace::ALL.map(Pace::as_str),
        true,
        "`live` (default) or `fast`.",
    )
}

pub fn status_schema() -> Object {
    let names = ConfigStatus::ALL.map(ConfigStatus::as_str);
    one_of(
        names,
        true,
        "`active` or `paused`; absent leaves it as it is.",
    )
}

pub fn agent_type_schema() -> Object {
    one_of(
        AgentType::ALL.map(AgentType::as_str),
        false,
        "A built-in bot (`random`, `tight`, `callstation`), an LLM agent (`autonomous`, \
         `protocol`, which need `model`), an outside agent over the agent protocol \
         (`external`, optionally with `agent_id`) or over HTTPS (`webhook`, with `webhook_id`).",
    )
}

pub fn bot_type_schema() -> Object {
    one_of(
        AgentType::BOTS.map(AgentType::as_str),
        true,
        "A built-in bot: `random`, `tight` or `callstation`.",
    )
}

/// The label of a stored secret (a provider key, a webhook endpoint), as the domain checks it.
pub fn label_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .max_length(Some(LABEL_MAX_CHARS))
        .pattern(Some(r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"))
        .description(Some(format!(
            "1 to {LABEL_MAX_CHARS} characters, not blank, no control characters."
        )))
        .examples([json!("production")])
        .build()
}

pub fn provider_schema() -> Object {
    let names = Provider::ALL.map(Provider::as_str);
    one_of(names, false, "`openai`, `anthropic` or `google`.")
}

/// Where the ids a response returns lead (OpenAPI links), so clients and fuzzers can follow
/// a created config to its detail, edits, start and stop, and a started run to its logs:
/// (operation, status, the operations that take that `id`).
const LINKS: [(&str, &str, &[&str]); 4] = [
    (
        "create_simulation",
        "201",
        &[
            "get_simulation",
            "update_simulation",
            "start_simulation",
            "stop_simulation",
            "delete_simulation",
        ],
    ),
    (
        "start_simulation",
        "201",
        &["get_run", "get_run_logs", "get_run_hand_histories"],
    ),
    ("create_api_key", "201", &["delete_api_key"]),
    ("create_webhook", "201", &["delete_webhook"]),
];

fn add_links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let id = operation["operationId"].as_str().unwrap_or("").to_owned();
        for (_, status, targets) in LINKS.iter().filter(|(from, _, _)| *from == id) {
            let links: Map<String, Value> = targets
                .iter()
                .map(|target| {
                    let parameters = json!({"id": "$response.body#/id"});
                    let link = json!({"operationId": target, "parameters": parameters});
                    ((*target).to_owned(), link)
                })
                .collect();
            operation["responses"][*status]["links"] = Value::Object(links);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_gets_the_answers_of_its_kind_and_inputs_refuse_unknown_fields() {
        let mut doc = json!({
            "paths": {
                "/v1/admin/things/{id}": {
                    "patch": {
                        "operationId": "update_thing",
                        "security": [{"bearer": []}],
                        "parameters": [{"name": "id", "in": "path"}],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Update"}}}},
                        "responses": {"200": {"description": "ok"}, "400": {"description": "mine"}},
                    }
                },
                "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "ok"}}}},
                "/v1/admin/things": {"get": {
                    "operationId": "list_things", "security": [{"bearer": []}],
                    "parameters": [{"name": "cursor", "in": "query"}],
                    "responses": {"200": {"description": "ok"}},
                }},
            },
            "components": {"schemas": {
                "Update": {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
                "Inner": {"type": "object", "properties": {}},
                "View": {"type": "object", "properties": {}},
            }},
        });
        complete(&mut doc);
        let statuses = |path: &str, method: &str| -> Vec<String> {
            doc["paths"][path][method]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let mut patch = statuses("/v1/admin/things/{id}", "patch");
        patch.sort();
        assert_eq!(
            patch,
            ["200", "400", "401", "403", "404", "413", "415", "503"]
        );
        assert_eq!(
            doc["paths"]["/v1/admin/things/{id}"]["patch"]["responses"]["400"]["description"],
            "mine"
        );
        assert_eq!(statuses("/healthz", "get"), ["200"]);
        let mut list = statuses("/v1/admin/things", "get");
        list.sort();
        assert_eq!(list, ["200", "400", "401", "403", "503"]);
        assert_eq!(
            doc["components"]["schemas"]["Update"]["additionalProperties"],
            false
        );
        assert_eq!(
            doc["components"]["schemas"]["Inner"]["additionalProperties"],
            false
        );
        assert!(
            doc["components"]["schemas"]["View"]
                .get("additionalProperties")
                .is_none()
        );
    }
}

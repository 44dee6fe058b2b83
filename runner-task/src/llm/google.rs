//! Google's Gemini API (`generateContent`). An answer is forced with `responseMimeType:
//! application/json` and a `responseSchema` (Gemini's OpenAPI-style schema dialect), with a
//! capped thinking budget; tools are function declarations, the last round forced with
//! `functionCallingConfig` mode `ANY` and only `act` allowed.

use super::wire::{
    ChatRequest, ChatResponse, ErrorKind, Finish, LlmError, Message, Output, ToolCall, Usage,
    retry_after_seconds,
};
use serde_json::{Map, Value, json};

pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// Thinking tokens allowed per call on models that think: enough to weigh a decision,
/// small enough that a turn stays cheap and inside the action timeout.
pub const THINKING_BUDGET: u32 = 512;

pub fn url(base: &str, model: &str) -> String {
    format!(
        "{}/v1beta/models/{model}:generateContent",
        base.trim_end_matches('/')
    )
}

pub fn auth_header(key: &str) -> (&'static str, String) {
    ("x-goog-api-key", key.to_owned())
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// JSON Schema → Gemini's schema dialect: upper-case type names, `nullable` instead of a
/// `null` type, no `additionalProperties` (which Gemini rejects).
pub fn gemini_schema(schema: &Value) -> Value {
    let Value::Object(fields) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.as_str() {
            "additionalProperties" => {}
            "type" => {
                let types: Vec<&str> = match value {
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    Value::String(one) => vec![one.as_str()],
                    _ => vec![],
                };
                if types.contains(&"null") {
                    out.insert("nullable".into(), json!(true));
                }
                if let Some(main) = types.iter().find(|t| **t != "null") {
                    out.insert("type".into(), json!(main.to_ascii_uppercase()));
                }
            }
            "properties" => {
                let properties: Map<String, Value> = value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), gemini_schema(s)))
                    .collect();
                // Gemini orders its output alphabetically unless told: reasoning comes first.
                out.insert(
                    "propertyOrdering".into(),
                    json!(properties.keys().collect::<Vec<_>>()),
                );
                out.insert("properties".into(), Value::Object(properties));
            }
            "items" => {
                out.insert("items".into(), gemini_schema(value));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Models from before thinking existed reject a thinking configuration.
fn thinks(model: &str) -> bool {
    !(model.starts_with("gemini-1") || model.starts_with("gemini-2.0"))
}

pub fn body(request: &ChatRequest<'_>) -> Value {
    let contents: Vec<Value> = request
        .messages
        .iter()
        .map(|message| match message {
            Message::User(text) => json!({"role": "user", "parts": [{"text": text}]}),
            Message::Assistant { text, calls } => {
                let mut parts: Vec<Value> = text
                    .iter()
                    .filter(|t| !t.is_empty())
                    .map(|t| json!({"text": t}))
                    .collect();
                parts.extend(
                    calls
                        .iter()
                        .map(|c| json!({"functionCall": {"name": c.name, "args": c.arguments}})),
                );
                json!({"role": "model", "parts": parts})
            }
            Message::ToolResults(results) => {
                let parts: Vec<Value> = results
                    .iter()
                    .map(|r| {
                        let key = if r.is_error { "error" } else { "result" };
                        json!({"functionResponse": {"name": r.name, "response": {key: r.content}}})
                    })
                    .collect();
                json!({"role": "user", "parts": parts})
            }
        })
        .collect();
    let mut generation = json!({"maxOutputTokens": request.max_tokens});
    if thinks(request.model) {
        generation["thinkingConfig"] = json!({"thinkingBudget": THINKING_BUDGET});
    }
    let mut body = json!({
        "systemInstruction": {"parts": [{"text": request.system}]},
        "contents": contents,
    });
    match request.output {
        Output::Answer { schema } => {
            generation["responseMimeType"] = json!("application/json");
            generation["responseSchema"] = gemini_schema(schema);
        }
        Output::Tools { tools, forced } => {
            let declarations: Vec<Value> = tools
                .iter()
                .map(|t| {
                    let mut declaration = json!({"name": t.name, "description": t.description});
                    // Gemini rejects an OBJECT schema without properties: leave it out.
                    if t.parameters["properties"]
                        .as_object()
                        .is_some_and(|p| !p.is_empty())
                    {
                        declaration["parameters"] = gemini_schema(&t.parameters);
                    }
                    declaration
                })
                .collect();
            body["tools"] = json!([{"functionDeclarations": declarations}]);
            let mut config = json!({"mode": "ANY"});
            if let Some(name) = forced {
                config["allowedFunctionNames"] = json!([name]);
            }
            body["toolConfig"] = json!({"functionCallingConfig": config});
        }
    }
    body["generationConfig"] = generation;
    body
}

pub fn parse(body: &Value) -> Result<ChatResponse, LlmError> {
    if let Some(blocked) = body["promptFeedback"]["blockReason"].as_str() {
        return Ok(ChatResponse {
            text: None,
            calls: Vec::new(),
            finish: Finish::Refused(format!("prompt blocked: {blocked}")),
            finish_reason: blocked.to_owned(),
            usage: usage(body),
            request_id: body["responseId"].as_str().map(str::to_owned),
        });
    }
    let candidate = body
        .pointer("/candidates/0")
        .ok_or_else(|| LlmError::new(ErrorKind::Provider, None, "the answer has no candidates"))?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for (i, part) in candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if part["thought"].as_bool() == Some(true) {
            continue;
        }
        if let Some(t) = part["text"].as_str() {
            text.push_str(t);
        }
        if let Some(call) = part.get("functionCall") {
            calls.push(ToolCall {
                // Gemini's calls carry no id: the position identifies them.
                id: format!("call_{i}"),
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                arguments: call.get("args").cloned().unwrap_or(json!({})),
            });
        }
    }
    let finish_reason = candidate["finishReason"].as_str().unwrap_or("").to_owned();
    let finish = match finish_reason.as_str() {
        "MAX_TOKENS" => Finish::Truncated,
        "SAFETY" | "RECITATION" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII" => {
            Finish::Refused(finish_reason.to_ascii_lowercase())
        }
        _ => Finish::Complete,
    };
    Ok(ChatResponse {
        text: (!text.is_empty()).then_some(text),
        calls,
        finish,
        finish_reason,
        usage: usage(body),
        request_id: body["responseId"].as_str().map(str::to_owned),
    })
}

fn usage(body: &Value) -> Usage {
    let count = |name: &str| body["usageMetadata"][name].as_u64().unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Usage {
        input: count("promptTokenCount"),
        output: count("candidatesTokenCount") + thoughts,
        cached: count("cachedContentTokenCount"),
        reasoning: thoughts,
    }
}

/// `{"error": {"code", "message", "status", "details"}}`; a 429 is a daily quota when a
/// `QuotaFailure` names a per-day quota, otherwise a rate limit whose `RetryInfo` says when
/// to try again.
pub fn error(status: u16, body: &Value) -> LlmError {
    let error = &body["error"];
    let status_name = error["status"].as_str().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or("no message").to_owned();
    let details: Vec<&Value> = error["details"].as_array().into_iter().flatten().collect();
    let daily_quota = details.iter().any(|d| {
        d["violations"].as_array().into_iter().flatten().any(|v| {
            v["quotaId"]
                .as_str()
                .is_some_and(|id| id.contains("PerDay"))
        })
    });
    let retry_after = details
        .iter()
        .find_map(|d| d["retryDelay"].as_str())
        .and_then(|delay| retry_after_seconds(delay.trim_end_matches('s')));
    let key_invalid = message.contains("API key") || status_name == "UNAUTHENTICATED";
    let kind = match status {
        401 | 403 => ErrorKind::Auth,
        400 if key_invalid => ErrorKind::Auth,
        429 if daily_quota => ErrorKind::Quota,
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::Overloaded,
        400..=499 => ErrorKind::Rejected,
        _ => ErrorKind::Provider,
    };
    LlmError {
        retry_after,
        ..LlmError::new(kind, Some(status), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poker::llm::ToolSpec;
    use std::time::Duration;

    #[test]
    fn the_answer_schema_is_translated_to_geminis_dialect() {
        let schema = json!({
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["fold", "call"]},
                "amount": {"type": ["integer", "null"]},
            },
            "required": ["action", "amount"],
            "additionalProperties": false,
        });
        let messages = [Message::User("state".into())];
        let body = body(&ChatRequest {
            model: "gemini-2.5-flash",
            system: "rules",
            messages: &messages,
            output: Output::Answer { schema: &schema },
            max_tokens: 400,
        });
        let config = &body["generationConfig"];
        assert_eq!(config["responseMimeType"], "application/json");
        assert_eq!(config["thinkingConfig"]["thinkingBudget"], THINKING_BUDGET);
        let translated = &config["responseSchema"];
        assert_eq!(translated["type"], "OBJECT");
        assert!(translated.get("additionalProperties").is_none());
        assert_eq!(
            translated["properties"]["amount"],
            json!({"type": "INTEGER", "nullable": true})
        );
        assert_eq!(
            translated["properties"]["action"]["enum"],
            json!(["fold", "call"])
        );
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "rules");
        assert_eq!(body["contents"][0]["role"], "user");

        let tools = [ToolSpec {
            name: "rules",
            description: "d",
            parameters: json!({"type": "object", "properties": {}}),
        }];
        let body = super::body(&ChatRequest {
            model: "gemini-2.0-flash",
            system: "rules",
            messages: &messages,
            output: Output::Tools {
                tools: &tools,
                forced: Some("act"),
            },
            max_tokens: 400,
        });
        assert!(
            body["tools"][0]["functionDeclarations"][0]
                .get("parameters")
                .is_none()
        );
        assert_eq!(
            body["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"],
            json!(["act"])
        );
        assert!(
            body["generationConfig"].get("thinkingConfig").is_none(),
            "2.0 does not think"
        );
    }

    #[test]
    fn answers_thoughts_usage_and_errors_are_read() {
        let answer = json!({
            "responseId": "r1",
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "thinking...", "thought": true},
                {"text": "{\"action\": \"call\"}"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 700, "candidatesTokenCount": 30, "thoughtsTokenCount": 100, "cachedContentTokenCount": 0},
        });
        let parsed = parse(&answer).unwrap();
        assert_eq!(parsed.text.as_deref(), Some("{\"action\": \"call\"}"));
        assert_eq!(
            parsed.usage,
            Usage {
                input: 700,
                output: 130,
                cached: 0,
                reasoning: 100
            }
        );
        let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}});
        assert!(matches!(
            parse(&blocked).unwrap().finish,
            Finish::Refused(_)
        ));

        let limited = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource exhausted",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}});
        let e = error(429, &limited);
        assert_eq!(
            (e.kind, e.retry_after),
            (ErrorKind::RateLimited, Some(Duration::from_millis(1500)))
        );
        let daily = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
            "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                         "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}});
        assert_eq!(error(429, &daily).kind, ErrorKind::Quota);
        let bad_key = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid. Please pass a valid API key."}});
        assert_eq!(error(400, &bad_key).kind, ErrorKind::Auth);
    }
}

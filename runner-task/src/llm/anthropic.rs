//! Anthropic's Messages API. An answer is forced as the input of a single tool (`act`,
//! `tool_choice` of that tool), the reasoning inside it; the autonomous agent's tools are
//! ordinary tools, the last round forced the same way.

use super::wire::{
    ANSWER_TOOL, ChatRequest, ChatResponse, ErrorKind, Finish, LlmError, Message, Output, ToolCall,
    Usage,
};
use serde_json::{Value, json};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";

pub fn url(base: &str) -> String {
    format!("{}/v1/messages", base.trim_end_matches('/'))
}

pub fn auth_header(key: &str) -> (&'static str, String) {
    ("x-api-key", key.to_owned())
}

pub const REQUEST_ID_HEADER: &str = "request-id";

pub fn body(request: &ChatRequest<'_>) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|message| match message {
            Message::User(text) => json!({"role": "user", "content": text}),
            Message::Assistant { text, calls } => {
                let mut content: Vec<Value> = text
                    .iter()
                    .filter(|t| !t.is_empty())
                    .map(|t| json!({"type": "text", "text": t}))
                    .collect();
                content.extend(calls.iter().map(|c| {
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
                }));
                json!({"role": "assistant", "content": content})
            }
            Message::ToolResults(results) => {
                let content: Vec<Value> = results
                    .iter()
                    .map(|r| {
                        json!({
                            "type": "tool_result", "tool_use_id": r.call_id,
                            "content": r.content.to_string(), "is_error": r.is_error,
                        })
                    })
                    .collect();
                json!({"role": "user", "content": content})
            }
        })
        .collect();
    let (tools, choice) = match request.output {
        Output::Answer { schema } => (
            vec![json!({
                "name": ANSWER_TOOL,
                "description": "Take your action at the poker table.",
                "input_schema": schema,
            })],
            json!({"type": "tool", "name": ANSWER_TOOL}),
        ),
        Output::Tools { tools, forced } => (
            tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect(),
            match forced {
                Some(name) => json!({"type": "tool", "name": name}),
                None => json!({"type": "any"}),
            },
        ),
    };
    json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "system": request.system,
        "messages": messages,
        "tools": tools,
        "tool_choice": choice,
    })
}

pub fn parse(body: &Value) -> Result<ChatResponse, LlmError> {
    let content = body["content"]
        .as_array()
        .ok_or_else(|| LlmError::new(ErrorKind::Provider, None, "the answer has no content"))?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in content {
        match block["type"].as_str() {
            Some("text") => text.push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: block["input"].clone(),
            }),
            _ => {}
        }
    }
    let finish_reason = body["stop_reason"].as_str().unwrap_or("").to_owned();
    let finish = match finish_reason.as_str() {
        "max_tokens" => Finish::Truncated,
        "refusal" => Finish::Refused(if text.is_empty() {
            "refused".into()
        } else {
            text.clone()
        }),
        _ => Finish::Complete,
    };
    let cache_read = body["usage"]["cache_read_input_tokens"]
        .as_u64()
        .unwrap_or(0);
    let cache_write = body["usage"]["cache_creation_input_tokens"]
        .as_u64()
        .unwrap_or(0);
    Ok(ChatResponse {
        text: (!text.is_empty()).then_some(text),
        calls,
        finish,
        finish_reason,
        usage: Usage {
            input: body["usage"]["input_tokens"].as_u64().unwrap_or(0) + cache_read + cache_write,
            output: body["usage"]["output_tokens"].as_u64().unwrap_or(0),
            cached: cache_read,
            reasoning: 0,
        },
        request_id: body["id"].as_str().map(str::to_owned),
    })
}

/// `{"type": "error", "error": {"type", "message"}}` with the HTTP status.
pub fn error(status: u16, body: &Value) -> LlmError {
    let kind_name = body["error"]["type"].as_str().unwrap_or_default();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .to_owned();
    let lower = message.to_ascii_lowercase();
    let kind = match (status, kind_name) {
        (401, _) | (403, _) | (_, "authentication_error" | "permission_error") => ErrorKind::Auth,
        (_, "billing_error") | (402, _) => ErrorKind::Quota,
        (400, _) if lower.contains("credit balance") || lower.contains("billing") => {
            ErrorKind::Quota
        }
        (429, _) | (_, "rate_limit_error") => ErrorKind::RateLimited,
        (529 | 503, _) | (_, "overloaded_error") => ErrorKind::Overloaded,
        (400..=499, _) => ErrorKind::Rejected,
        _ => ErrorKind::Provider,
    };
    LlmError::new(kind, Some(status), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::wire::ToolResult;

    #[test]
    fn an_answer_is_a_single_forced_tool() {
        let schema = json!({"type": "object", "properties": {}});
        let messages = [
            Message::User("state".into()),
            Message::Assistant {
                text: None,
                calls: vec![ToolCall {
                    id: "toolu_1".into(),
                    name: "act".into(),
                    arguments: json!({"action": "shove"}),
                }],
            },
            Message::ToolResults(vec![ToolResult {
                call_id: "toolu_1".into(),
                name: "act".into(),
                content: json!("unknown action \"shove\""),
                is_error: true,
            }]),
        ];
        let body = body(&ChatRequest {
            model: "claude-sonnet-4",
            system: "rules",
            messages: &messages,
            output: Output::Answer { schema: &schema },
            max_tokens: 400,
        });
        assert_eq!(body["system"], "rules");
        assert_eq!(body["tools"][0]["name"], "act");
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "act"}));
        assert_eq!(body["messages"][1]["content"][0]["type"], "tool_use");
        assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], "toolu_1");
        assert_eq!(body["messages"][2]["content"][0]["is_error"], true);
    }

    #[test]
    fn tool_input_usage_and_errors_are_read() {
        let answer = json!({
            "id": "msg_1", "stop_reason": "tool_use",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "act",
                         "input": {"reasoning": "r", "action": "fold", "amount": null}}],
            "usage": {"input_tokens": 300, "output_tokens": 50, "cache_read_input_tokens": 200},
        });
        let parsed = parse(&answer).unwrap();
        assert_eq!(parsed.answer().unwrap()["action"], "fold");
        assert_eq!(
            parsed.usage,
            Usage {
                input: 500,
                output: 50,
                cached: 200,
                reasoning: 0
            }
        );
        let cut = json!({"content": [], "stop_reason": "max_tokens"});
        assert_eq!(parse(&cut).unwrap().finish, Finish::Truncated);

        let error_body = |kind: &str, message: &str| json!({"type": "error", "error": {"type": kind, "message": message}});
        assert_eq!(
            error(529, &error_body("overloaded_error", "Overloaded")).kind,
            ErrorKind::Overloaded
        );
        assert_eq!(
            error(429, &error_body("rate_limit_error", "slow down")).kind,
            ErrorKind::RateLimited
        );
        assert_eq!(
            error(
                401,
                &error_body("authentication_error", "invalid x-api-key")
            )
            .kind,
            ErrorKind::Auth
        );
        let credit = error_body(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
        );
        assert_eq!(error(400, &credit).kind, ErrorKind::Quota);
        assert_eq!(
            error(400, &error_body("invalid_request_error", "bad schema")).kind,
            ErrorKind::Rejected
        );
    }
}

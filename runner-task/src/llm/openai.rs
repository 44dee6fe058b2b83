//! OpenAI's Chat Completions API, which most OpenAI-compatible servers (llama.cpp, vLLM,
//! Ollama) also speak. Answers are forced with `response_format` `json_schema` (strict);
//! tools are functions, the last round forced with `tool_choice`.

use super::wire::{
    ChatRequest, ChatResponse, ErrorKind, Finish, LlmError, Message, Output, ToolCall, Usage,
};
use serde_json::{Value, json};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

pub fn url(base: &str) -> String {
    format!("{}/chat/completions", base.trim_end_matches('/'))
}

pub fn auth_header(key: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {key}"))
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn body(request: &ChatRequest<'_>) -> Value {
    let mut messages = vec![json!({"role": "system", "content": request.system})];
    for message in request.messages {
        match message {
            Message::User(text) => messages.push(json!({"role": "user", "content": text})),
            Message::Assistant { text, calls } => {
                let mut entry = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    entry["tool_calls"] = calls
                        .iter()
                        .map(|c| {
                            json!({
                                "id": c.id, "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments.to_string()},
                            })
                        })
                        .collect();
                }
                messages.push(entry);
            }
            Message::ToolResults(results) => {
                for result in results {
                    messages.push(json!({
                        "role": "tool", "tool_call_id": result.call_id,
                        "content": result.content.to_string(),
                    }));
                }
            }
        }
    }
    // max_completion_tokens: reasoning models refuse max_tokens.
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "max_completion_tokens": request.max_tokens,
    });
    match request.output {
        Output::Answer { schema } => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "poker_action", "strict": true, "schema": schema},
            });
        }
        Output::Tools { tools, forced } => {
            body["tools"] = tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    }})
                })
                .collect();
            body["tool_choice"] = match forced {
                Some(name) => json!({"type": "function", "function": {"name": name}}),
                None => json!("required"),
            };
            body["parallel_tool_calls"] = json!(false);
        }
    }
    body
}

fn u64_at(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

pub fn parse(body: &Value) -> Result<ChatResponse, LlmError> {
    let choice = body
        .pointer("/choices/0")
        .ok_or_else(|| LlmError::new(ErrorKind::Provider, None, "the answer has no choices"))?;
    let message = &choice["message"];
    let finish_reason = choice["finish_reason"].as_str().unwrap_or("").to_owned();
    let mut calls = Vec::new();
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        let arguments = call["function"]["arguments"].as_str().unwrap_or("{}");
        calls.push(ToolCall {
            id: call["id"].as_str().unwrap_or_default().to_owned(),
            name: call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            // Unparseable arguments are kept as text: the agent reports them as malformed.
            arguments: serde_json::from_str(arguments)
                .unwrap_or_else(|_| Value::String(arguments.to_owned())),
        });
    }
    let finish = match (message["refusal"].as_str(), finish_reason.as_str()) {
        (Some(refusal), _) => Finish::Refused(refusal.to_owned()),
        (None, "length") => Finish::Truncated,
        (None, "content_filter") => Finish::Refused("content filter".into()),
        _ => Finish::Complete,
    };
    Ok(ChatResponse {
        text: message["content"].as_str().map(str::to_owned),
        calls,
        finish,
        finish_reason,
        usage: Usage {
            input: u64_at(body, "/usage/prompt_tokens"),
            output: u64_at(body, "/usage/completion_tokens"),
            cached: u64_at(body, "/usage/prompt_tokens_details/cached_tokens"),
            reasoning: u64_at(body, "/usage/completion_tokens_details/reasoning_tokens"),
        },
        request_id: body["id"].as_str().map(str::to_owned),
    })
}

/// `{"error": {"message", "type", "code"}}` with the HTTP status.
pub fn error(status: u16, body: &Value) -> LlmError {
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let kind = match status {
        401 | 403 => ErrorKind::Auth,
        429 if code == "insufficient_quota" => ErrorKind::Quota,
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::Overloaded,
        400..=499 => ErrorKind::Rejected,
        _ => ErrorKind::Provider,
    };
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .to_owned();
    LlmError::new(kind, Some(status), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poker::llm::ToolSpec;

    #[test]
    fn answers_are_forced_into_the_schema_and_tools_into_functions() {
        let schema = json!({"type": "object"});
        let messages = [Message::User("state".into())];
        let request = ChatRequest {
            model: "gpt-4o-mini",
            system: "rules",
            messages: &messages,
            output: Output::Answer { schema: &schema },
            max_tokens: 300,
        };
        let body = body(&request);
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "rules"})
        );
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
        assert_eq!(body["max_completion_tokens"], 300);

        let tools = [ToolSpec {
            name: "act",
            description: "d",
            parameters: schema.clone(),
        }];
        let call = ToolCall {
            id: "call_1".into(),
            name: "pot_odds".into(),
            arguments: json!({}),
        };
        let messages = [
            Message::User("go".into()),
            Message::Assistant {
                text: None,
                calls: vec![call],
            },
            Message::ToolResults(vec![super::super::wire::ToolResult {
                call_id: "call_1".into(),
                name: "pot_odds".into(),
                content: json!({"pot_odds": 0.25}),
                is_error: false,
            }]),
        ];
        let body = super::body(&ChatRequest {
            messages: &messages,
            output: Output::Tools {
                tools: &tools,
                forced: Some("act"),
            },
            ..request
        });
        assert_eq!(body["tool_choice"]["function"]["name"], "act");
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(body["messages"][3]["role"], "tool");
        assert_eq!(body["messages"][3]["content"], "{\"pot_odds\":0.25}");
    }

    #[test]
    fn answers_usage_and_errors_are_read() {
        let answer = json!({
            "id": "chatcmpl-1",
            "choices": [{"message": {"role": "assistant", "content": "{\"action\":\"call\"}"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 500, "completion_tokens": 40,
                      "prompt_tokens_details": {"cached_tokens": 128},
                      "completion_tokens_details": {"reasoning_tokens": 12}},
        });
        let parsed = parse(&answer).unwrap();
        assert_eq!(parsed.answer(), Some(json!("{\"action\":\"call\"}")));
        assert_eq!(
            parsed.usage,
            Usage {
                input: 500,
                output: 40,
                cached: 128,
                reasoning: 12
            }
        );
        assert_eq!(parsed.finish, Finish::Complete);
        let refused = json!({"choices": [{"message": {"content": null, "refusal": "I can't help"}, "finish_reason": "stop"}]});
        assert_eq!(
            parse(&refused).unwrap().finish,
            Finish::Refused("I can't help".into())
        );
        let cut =
            json!({"choices": [{"message": {"content": "{\"reas"}, "finish_reason": "length"}]});
        assert_eq!(parse(&cut).unwrap().finish, Finish::Truncated);

        let quota = json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}});
        assert_eq!(error(429, &quota).kind, ErrorKind::Quota);
        let limited =
            json!({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}});
        assert_eq!(error(429, &limited).kind, ErrorKind::RateLimited);
        assert_eq!(error(401, &json!({})).kind, ErrorKind::Auth);
        assert_eq!(error(503, &json!({})).kind, ErrorKind::Overloaded);
        assert_eq!(error(500, &json!({})).kind, ErrorKind::Provider);
    }
}

//! A fake LLM provider on 127.0.0.1 for tests and benchmarks: real HTTP, speaking OpenAI's
//! Chat Completions, Anthropic's Messages and Google's generateContent wire formats. It
//! checks every request's auth header and body shape (violations are collected for the
//! test to assert on) and answers by scenario, chosen by the model name:
//!
//! `legal`, `illegal`, `out-of-range`, `malformed`, `truncated`, `refusal`, `slow` (1.5 s),
//! `patient` (0.3 s, within any action timeout),
//! `ratelimit-short` (429, `retry-after` 0.2 s, then an answer), `ratelimit-long` (429,
//! `retry-after` 30 s), `server-error` (500), `unauthorized` (401), `quota`, `reask` (an
//! illegal answer, then a legal one). With tools offered, `legal` first calls `pot_odds`,
//! then acts. Usage counts are derived from the request size (4 bytes a token), so prompt
//! sizes can be compared across a run.
//!
//! The server runs on its own thread and runtime, so a test may block on a child process.

#![allow(dead_code)] // each test binary uses a part of it

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The key every request must carry.
pub const KEY: &str = "sk-fake-provider-test-key-7f3a9c2e1b";

#[derive(Debug, Clone)]
pub struct Seen {
    pub provider: &'static str,
    pub model: String,
    pub bytes: usize,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    violations: Mutex<Vec<String>>,
    calls: AtomicU64,
    /// Calls per provider and model: scenarios that alternate count their own calls.
    calls_by_model: Mutex<std::collections::HashMap<String, u64>>,
    /// Keep no request bodies (benchmarks: memory stays flat).
    light: bool,
    /// OpenAI requests being answered now, and the most there ever were at once.
    in_flight: AtomicU64,
    most_in_flight: AtomicU64,
}

/// One OpenAI request being answered: counted in flight until dropped.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn start(shared: &Arc<Shared>) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on 127.0.0.1 from its own thread and runtime (so a test may block on a child
/// process meanwhile); the address it listens on.
pub fn serve(app: Router) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

pub struct FakeProvider {
    pub addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl FakeProvider {
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Like [`FakeProvider::start`], without keeping the requests (for benchmarks).
    pub fn start_light() -> Self {
        Self::start_with(true)
    }

    fn start_with(light: bool) -> Self {
        let shared = Arc::new(Shared {
            light,
            ..Shared::default()
        });
        let app = Router::new()
            .route("/openai/v1/chat/completions", post(openai))
            .route("/anthropic/v1/messages", post(anthropic))
            .route("/google/v1beta/models/{call}", post(google))
            .with_state(shared.clone());
        Self {
            addr: serve(app),
            shared,
        }
    }

    /// The runner's settings that point every provider here.
    pub fn env(&self) -> [(&'static str, String); 3] {
        let base = format!("http://{}", self.addr);
        [
            ("SIMRUNNER_OPENAI_BASE_URL", format!("{base}/openai/v1")),
            ("SIMRUNNER_ANTHROPIC_BASE_URL", format!("{base}/anthropic")),
            ("SIMRUNNER_GOOGLE_BASE_URL", format!("{base}/google")),
        ]
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// The most OpenAI requests that were ever being answered at once.
    pub fn most_in_flight(&self) -> u64 {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }
}

impl Shared {
    /// Counts the call; returns how many calls this provider's model has had, this one
    /// included.
    fn record(&self, provider: &'static str, model: &str, body: &Value, bytes: usize) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let n = {
            let mut by_model = self.calls_by_model.lock().unwrap();
            let count = by_model.entry(format!("{provider}:{model}")).or_default();
            *count += 1;
            *count
        };
        if !self.light {
            self.seen.lock().unwrap().push(Seen {
                provider,
                model: model.to_owned(),
                bytes,
                body: body.clone(),
            });
        }
        n
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.violations.lock().unwrap().push(what());
        }
    }
}

/// What the scenario makes the model answer, provider-neutral.
enum Reply {
    Answer(Value),
    Text(String),
    Tool(&'static str, Value),
    Truncated(String),
    Refused,
    Error(StatusCode, Option<&'static str>, ErrorKind),
}

enum ErrorKind {
    RateLimit,
    Server,
    Unauthorized,
    Quota,
    /// A model name the provider does not know (404).
    NoSuchModel,
}

/// The scenario's answer, given the legal action names and whether tools are offered
/// (and which are allowed).
async fn reply(
    scenario: &str,
    legal: &[String],
    tools: Option<Tools>,
    call: u64,
    results_so_far: usize,
) -> Reply {
    let legal_answer = || {
        let pick = ["call", "check"]
            .into_iter()
            .find(|a| legal.iter().any(|l| l == a))
            .unwrap_or("fold");
        json!({"reasoning": "a reasonable price", "action": pick, "amount": null})
    };
    let illegal_answer = || {
        let action = if legal.iter().any(|l| l == "fold") {
            "check"
        } else {
            "dance"
        };
        json!({"reasoning": "trying something", "action": action, "amount": null})
    };
    let answer = |value: Value| match &tools {
        Some(_) => Reply::Tool("act", value),
        None => Reply::Answer(value),
    };
    // With tools offered and not forced to act: look at the pot odds first.
    if let Some(tools) = &tools
        && !tools.forced_act
        && results_so_far == 0
        && matches!(scenario, "legal" | "instant")
    {
        return Reply::Tool("pot_odds", json!({}));
    }
    match scenario {
        "illegal" => answer(illegal_answer()),
        "reask" if results_so_far == 0 && call % 2 == 1 => answer(illegal_answer()),
        "out-of-range" => match legal.iter().find(|l| *l == "raise" || *l == "bet") {
            Some(raise) => answer(
                json!({"reasoning": "all of it and more", "action": raise, "amount": 1_000_000_000}),
            ),
            None => answer(legal_answer()),
        },
        "malformed" => Reply::Text("I think I will call here.".into()),
        "truncated" => Reply::Truncated("{\"reasoning\": \"the pot is".into()),
        "refusal" => Reply::Refused,
        "slow" => {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            answer(legal_answer())
        }
        "patient" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            answer(legal_answer())
        }
        "ratelimit-short" if call % 2 == 1 => Reply::Error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("0.2"),
            ErrorKind::RateLimit,
        ),
        "ratelimit-long" => Reply::Error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("30"),
            ErrorKind::RateLimit,
        ),
        "server-error" => Reply::Error(StatusCode::INTERNAL_SERVER_ERROR, None, ErrorKind::Server),
        "unauthorized" => Reply::Error(StatusCode::UNAUTHORIZED, None, ErrorKind::Unauthorized),
        "quota" => Reply::Error(StatusCode::TOO_MANY_REQUESTS, None, ErrorKind::Quota),
        "no-such-model" => Reply::Error(StatusCode::NOT_FOUND, None, ErrorKind::NoSuchModel),
        _ => answer(legal_answer()),
    }
}

struct Tools {
    forced_act: bool,
}

fn usage_tokens(bytes: usize) -> u64 {
    (bytes / 4) as u64
}

fn enum_at(schema: &Value) -> Vec<String> {
    schema["properties"]["action"]["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn openai(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let bytes = body.len();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        shared.check(false, || "openai: the body is not JSON".into());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let call = shared.record("openai", &model, &body, bytes);
    shared.check(
        header(&headers, "authorization") == format!("Bearer {KEY}"),
        || "openai: missing or wrong Authorization: Bearer".into(),
    );
    shared.check(body["messages"][0]["role"] == "system", || {
        "openai: the first message is not the system prompt".into()
    });
    shared.check(body["max_completion_tokens"].is_u64(), || {
        "openai: no max_completion_tokens".into()
    });
    let (legal, tools) = if let Some(format) = body.get("response_format") {
        shared.check(
            format["type"] == "json_schema" && format["json_schema"]["strict"] == true,
            || format!("openai: response_format is not a strict json_schema: {format}"),
        );
        (enum_at(&format["json_schema"]["schema"]), None)
    } else {
        let tools = body["tools"].as_array().cloned().unwrap_or_default();
        shared.check(
            !tools.is_empty() && body.get("tool_choice").is_some(),
            || "openai: neither response_format nor tools".into(),
        );
        let act = tools
            .iter()
            .find(|t| t["function"]["name"] == "act")
            .cloned()
            .unwrap_or_default();
        let forced = body["tool_choice"]["function"]["name"] == "act";
        (
            enum_at(&act["function"]["parameters"]),
            Some(Tools { forced_act: forced }),
        )
    };
    let results = body["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["role"] == "tool").count())
        .unwrap_or(0);
    let usage = json!({"prompt_tokens": usage_tokens(bytes), "completion_tokens": 20,
                       "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}});
    let message = |message: Value, finish: &str| {
        axum::Json(json!({
            "id": format!("chatcmpl-{call}"), "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }))
        .into_response()
    };
    let _answering = InFlight::start(&shared);
    match reply(&model, &legal, tools, call, results).await {
        Reply::Answer(value) => message(
            json!({"role": "assistant", "content": value.to_string()}),
            "stop",
        ),
        Reply::Text(text) => message(json!({"role": "assistant", "content": text}), "stop"),
        Reply::Tool(name, arguments) => message(
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": format!("call_{call}"), "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}]}),
            "tool_calls",
        ),
        Reply::Truncated(text) => message(json!({"role": "assistant", "content": text}), "length"),
        Reply::Refused => message(
            json!({"role": "assistant", "content": null, "refusal": "I can't help with gambling."}),
            "stop",
        ),
        Reply::Error(status, retry_after, kind) => {
            let (message, code) = match kind {
                ErrorKind::RateLimit => ("Rate limit reached for requests", "rate_limit_exceeded"),
                ErrorKind::Server => ("The server had an error", "server_error"),
                ErrorKind::Unauthorized => (
                    "Incorrect API key provided: sk-fake-***********************7f3a. You can find your API key at https://platform.openai.com/account/api-keys.",
                    "invalid_api_key",
                ),
                ErrorKind::Quota => (
                    "You exceeded your current quota, please check your plan and billing details.",
                    "insufficient_quota",
                ),
                ErrorKind::NoSuchModel => (
                    "The model `no-such-model` does not exist or you do not have access to it.",
                    "model_not_found",
                ),
            };
            let mut response = (
                status,
                axum::Json(json!({"error": {"message": message, "type": code, "code": code}})),
            )
                .into_response();
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            response
        }
    }
}

async fn anthropic(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let bytes = body.len();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        shared.check(false, || "anthropic: the body is not JSON".into());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let call = shared.record("anthropic", &model, &body, bytes);
    shared.check(header(&headers, "x-api-key") == KEY, || {
        "anthropic: missing or wrong x-api-key".into()
    });
    shared.check(!header(&headers, "anthropic-version").is_empty(), || {
        "anthropic: no anthropic-version".into()
    });
    shared.check(header(&headers, "authorization").is_empty(), || {
        "anthropic: an Authorization header".into()
    });
    shared.check(
        body["system"].is_string() && body["max_tokens"].is_u64(),
        || "anthropic: no system or max_tokens".into(),
    );
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    let act = tools
        .iter()
        .find(|t| t["name"] == "act")
        .cloned()
        .unwrap_or_default();
    shared.check(act.is_object() && body["tool_choice"].is_object(), || {
        "anthropic: no act tool or tool_choice".into()
    });
    let forced = body["tool_choice"] == json!({"type": "tool", "name": "act"});
    let offering_tools = tools.len() > 1;
    let results = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["content"][0]["type"] == "tool_result")
                .count()
        })
        .unwrap_or(0);
    let legal = enum_at(&act["input_schema"]);
    let tools = offering_tools.then_some(Tools { forced_act: forced });
    let reply_value = reply(&model, &legal, tools, call, results).await;
    let usage = json!({"input_tokens": usage_tokens(bytes), "output_tokens": 20, "cache_read_input_tokens": 0});
    let message = |content: Value, stop: &str| {
        axum::Json(json!({"id": format!("msg_{call}"), "type": "message", "role": "assistant", "model": model,
                          "content": content, "stop_reason": stop, "usage": usage}))
        .into_response()
    };
    match reply_value {
        Reply::Answer(value) => message(
            json!([{"type": "tool_use", "id": format!("toolu_{call}"), "name": "act", "input": value}]),
            "tool_use",
        ),
        Reply::Tool(name, input) => message(
            json!([{"type": "tool_use", "id": format!("toolu_{call}"), "name": name, "input": input}]),
            "tool_use",
        ),
        Reply::Text(text) => message(json!([{"type": "text", "text": text}]), "end_turn"),
        Reply::Truncated(text) => message(json!([{"type": "text", "text": text}]), "max_tokens"),
        Reply::Refused => message(json!([]), "refusal"),
        Reply::Error(status, retry_after, kind) => {
            let (status, kind_name, message) = match kind {
                ErrorKind::RateLimit => (
                    status,
                    "rate_limit_error",
                    "Number of requests has exceeded your rate limit",
                ),
                ErrorKind::Server => (status, "api_error", "Internal server error"),
                ErrorKind::Unauthorized => (status, "authentication_error", "invalid x-api-key"),
                ErrorKind::NoSuchModel => (status, "not_found_error", "model: no-such-model"),
                ErrorKind::Quota => (
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Your credit balance is too low to access the Anthropic API.",
                ),
            };
            let mut response = (
                status,
                axum::Json(
                    json!({"type": "error", "error": {"type": kind_name, "message": message}}),
                ),
            )
                .into_response();
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            response
        }
    }
}

async fn google(
    State(shared): State<Arc<Shared>>,
    Path(call_path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bytes = body.len();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        shared.check(false, || "google: the body is not JSON".into());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(model) = call_path.strip_suffix(":generateContent") else {
        shared.check(false, || format!("google: unexpected path {call_path}"));
        return StatusCode::NOT_FOUND.into_response();
    };
    let model = model.to_owned();
    let call = shared.record("google", &model, &body, bytes);
    shared.check(header(&headers, "x-goog-api-key") == KEY, || {
        "google: missing or wrong x-goog-api-key".into()
    });
    shared.check(
        body["systemInstruction"]["parts"][0]["text"].is_string(),
        || "google: no systemInstruction".into(),
    );
    let config = &body["generationConfig"];
    let (legal, tools) = if config.get("responseSchema").is_some() {
        shared.check(config["responseMimeType"] == "application/json", || {
            "google: responseSchema without JSON mime type".into()
        });
        shared.check(
            config["responseSchema"]
                .get("additionalProperties")
                .is_none(),
            || "google: additionalProperties in responseSchema".into(),
        );
        (enum_at(&config["responseSchema"]), None)
    } else {
        let declarations = body["tools"][0]["functionDeclarations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        shared.check(!declarations.is_empty(), || {
            "google: neither responseSchema nor functionDeclarations".into()
        });
        let act = declarations
            .iter()
            .find(|d| d["name"] == "act")
            .cloned()
            .unwrap_or_default();
        let forced =
            body["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == json!(["act"]);
        (
            enum_at(&act["parameters"]),
            Some(Tools { forced_act: forced }),
        )
    };
    let results = body["contents"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["parts"][0].get("functionResponse").is_some())
                .count()
        })
        .unwrap_or(0);
    let usage = json!({"promptTokenCount": usage_tokens(bytes), "candidatesTokenCount": 20, "thoughtsTokenCount": 0});
    let candidate = |parts: Value, finish: &str| {
        axum::Json(json!({"responseId": format!("resp-{call}"), "modelVersion": model,
                          "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
                          "usageMetadata": usage}))
        .into_response()
    };
    match reply(&model, &legal, tools, call, results).await {
        Reply::Answer(value) => candidate(json!([{"text": value.to_string()}]), "STOP"),
        Reply::Text(text) => candidate(json!([{"text": text}]), "STOP"),
        Reply::Tool(name, args) => candidate(
            json!([{"functionCall": {"name": name, "args": args}}]),
            "STOP",
        ),
        Reply::Truncated(text) => candidate(json!([{"text": text}]), "MAX_TOKENS"),
        Reply::Refused => candidate(json!([]), "SAFETY"),
        Reply::Error(status, retry_after, kind) => {
            let (status_name, message, details) = match kind {
                ErrorKind::RateLimit => (
                    "RESOURCE_EXHAUSTED",
                    "Resource has been exhausted",
                    json!([
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{}s", retry_after.unwrap_or("1"))}]),
                ),
                ErrorKind::Server => ("INTERNAL", "An internal error has occurred", json!([])),
                ErrorKind::Unauthorized => (
                    "UNAUTHENTICATED",
                    "API key not valid. Please pass a valid API key.",
                    json!([]),
                ),
                ErrorKind::NoSuchModel => (
                    "NOT_FOUND",
                    "models/no-such-model is not found for API version v1beta",
                    json!([]),
                ),
                ErrorKind::Quota => (
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota",
                    json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]),
                ),
            };
            (status, axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "status": status_name, "details": details}}))).into_response()
        }
    }
}

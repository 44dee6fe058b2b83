//! A provider-neutral chat exchange: what the agents ask ([`ChatRequest`]) and get back
//! ([`ChatResponse`] or [`LlmError`]). Each provider module turns these into its own HTTP
//! body and reads its own answers and errors; nothing here does I/O.

use poker::FallbackReason;
use poker::llm::ToolSpec;
use serde_json::{Value, json};
use std::time::Duration;

/// One turn of the conversation after the system prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    User(String),
    Assistant {
        text: Option<String>,
        calls: Vec<ToolCall>,
    },
    /// The results of the previous assistant message's tool calls, in order.
    ToolResults(Vec<ToolResult>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub call_id: String,
    pub name: String,
    pub content: Value,
    pub is_error: bool,
}

/// What the model must produce.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// One JSON answer following this schema, by the provider's native mechanism
    /// (structured output, or a single forced tool).
    Answer { schema: &'a Value },
    /// Tool calls from `tools`; with `forced`, only that tool may be called.
    Tools {
        tools: &'a [ToolSpec],
        forced: Option<&'static str>,
    },
}

/// The tool name under which an [`Output::Answer`] comes back where a provider forces a tool.
pub const ANSWER_TOOL: &str = poker::llm::ACT_TOOL;

#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub system: &'a str,
    pub messages: &'a [Message],
    pub output: Output<'a>,
    pub max_tokens: u32,
}

/// Tokens as the providers count them, normalised: `input` includes `cached`, `output`
/// includes `reasoning`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.input += other.input;
        self.output += other.output;
        self.cached += other.cached;
        self.reasoning += other.reasoning;
    }

    pub fn to_json(self) -> Value {
        json!({"input": self.input, "output": self.output, "cached": self.cached, "reasoning": self.reasoning})
    }
}

/// How the model ended its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Complete,
    /// Cut off at the token limit.
    Truncated,
    /// Declined (a refusal, or a safety block), with what the provider said.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: Option<String>,
    pub calls: Vec<ToolCall>,
    pub finish: Finish,
    /// The provider's own finish reason, for the log.
    pub finish_reason: String,
    pub usage: Usage,
    pub request_id: Option<String>,
}

impl ChatResponse {
    /// The answer of an [`Output::Answer`] request: the forced tool's input, else the text.
    pub fn answer(&self) -> Option<Value> {
        self.calls
            .iter()
            .find(|c| c.name == ANSWER_TOOL)
            .map(|c| c.arguments.clone())
            .or_else(|| self.text.clone().map(Value::String))
    }
}

/// Why a request failed, as the agents act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Timeout,
    RateLimited,
    Overloaded,
    Auth,
    Quota,
    /// A 5xx other than overload, an unreadable answer, or no connection.
    Provider,
    /// The provider rejected the request itself (4xx): a model name it does not know, a
    /// schema it does not accept.
    Rejected,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Auth => "auth",
            ErrorKind::Quota => "quota",
            ErrorKind::Provider => "provider_error",
            ErrorKind::Rejected => "rejected",
        }
    }

    pub fn fallback(self) -> FallbackReason {
        match self {
            ErrorKind::Timeout => FallbackReason::Timeout,
            ErrorKind::RateLimited => FallbackReason::RateLimited,
            ErrorKind::Overloaded => FallbackReason::Overloaded,
            ErrorKind::Auth => FallbackReason::Auth,
            ErrorKind::Quota => FallbackReason::Quota,
            ErrorKind::Provider | ErrorKind::Rejected => FallbackReason::ProviderError,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// What the provider said, with anything that looks like a key removed.
    pub message: String,
    /// How long the provider asked us to wait (`retry-after`, `RetryInfo`).
    pub retry_after: Option<Duration>,
}

impl LlmError {
    pub fn new(kind: ErrorKind, status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The most of a provider's error message that is kept.
const MESSAGE_MAX_CHARS: usize = 300;

/// A provider's error text made safe to log: the key itself and anything shaped like an API
/// key (OpenAI echoes a masked key in 401 messages) are replaced, and the text is capped.
pub fn scrub(message: &str, key: &str) -> String {
    let without_key = if key.is_empty() {
        message.to_owned()
    } else {
        message.replace(key, "[redacted]")
    };
    let words: Vec<String> = without_key
        .split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '*');
            let key_like = bare.starts_with("sk-")
                || bare.starts_with("AIza")
                || bare.contains("***")
                || (bare.len() >= 24
                    && bare
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                    && bare.chars().any(|c| c.is_ascii_digit()));
            if key_like {
                "[redacted]".to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// `retry-after` as seconds (fractions allowed); HTTP dates are not worth waiting for.
pub fn retry_after_seconds(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 86_400.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_never_carries_a_key() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        let openai = "Incorrect API key provided: sk-proj-********************************6789. \
                      You can find your API key at https://platform.openai.com/account/api-keys.";
        let scrubbed = scrub(openai, key);
        assert!(!scrubbed.contains("6789") && scrubbed.contains("Incorrect API key provided"));
        let echoed = format!("bad key {key}!");
        assert_eq!(scrub(&echoed, key), "bad key [redacted]!");
        assert!(!scrub("API key AIzaSyA1b2c3d4e5f6g7h8 not valid", "other").contains("AIza"));
        assert_eq!(
            scrub(&"x".repeat(1000), key).chars().count(),
            MESSAGE_MAX_CHARS + 1
        );
        assert_eq!(
            scrub("Rate limit reached for gpt-4o", key),
            "Rate limit reached for gpt-4o"
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(retry_after_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after_seconds("0.25"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}

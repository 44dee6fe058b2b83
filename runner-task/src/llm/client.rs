//! One provider's HTTP endpoint with its key: sends a [`ChatRequest`] in that provider's
//! wire format and reads the answer or the error. One attempt per call, bounded by the
//! decision's deadline; retrying is the agent's choice.

use super::wire::{ChatRequest, ChatResponse, ErrorKind, LlmError, retry_after_seconds, scrub};
use super::{anthropic, google, openai};
use simrunner::domain::Provider;
use simrunner::settings::Secret;
use std::time::{Duration, Instant};

/// The providers' base URLs (`SIMRUNNER_<PROVIDER>_BASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrls {
    pub openai: String,
    pub anthropic: String,
    pub google: String,
}

impl Default for BaseUrls {
    fn default() -> Self {
        Self {
            openai: openai::DEFAULT_BASE_URL.into(),
            anthropic: anthropic::DEFAULT_BASE_URL.into(),
            google: google::DEFAULT_BASE_URL.into(),
        }
    }
}

impl BaseUrls {
    pub fn of(&self, provider: Provider) -> &str {
        match provider {
            Provider::OpenAi => &self.openai,
            Provider::Anthropic => &self.anthropic,
            Provider::Google => &self.google,
        }
    }
}

pub use remote::{http_client, tls_config};

/// A provider with its key. The key goes only into the auth header of each request.
pub struct ProviderClient {
    http: reqwest::Client,
    provider: Provider,
    base_url: String,
    key: Secret<String>,
}

impl ProviderClient {
    pub fn new(
        http: reqwest::Client,
        provider: Provider,
        base_url: &str,
        key: Secret<String>,
    ) -> Self {
        Self {
            http,
            provider,
            base_url: base_url.to_owned(),
            key,
        }
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// One request, answered or failed by `deadline`.
    pub async fn send(
        &self,
        request: &ChatRequest<'_>,
        deadline: Instant,
    ) -> Result<ChatResponse, LlmError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LlmError::new(
                ErrorKind::Timeout,
                None,
                "no time left before the deadline",
            ));
        }
        let key = self.key.expose();
        let (url, body, (auth_name, auth_value), request_id_header) = match self.provider {
            Provider::OpenAi => (
                openai::url(&self.base_url),
                openai::body(request),
                openai::auth_header(key),
                openai::REQUEST_ID_HEADER,
            ),
            Provider::Anthropic => (
                anthropic::url(&self.base_url),
                anthropic::body(request),
                anthropic::auth_header(key),
                anthropic::REQUEST_ID_HEADER,
            ),
            Provider::Google => (
                google::url(&self.base_url, request.model),
                google::body(request),
                google::auth_header(key),
                google::REQUEST_ID_HEADER,
            ),
        };
        let mut http = self
            .http
            .post(url)
            .timeout(left)
            .header(auth_name, auth_value)
            .header("content-type", "application/json")
            .body(body.to_string());
        if self.provider == Provider::Anthropic {
            http = http.header("anthropic-version", anthropic::API_VERSION);
        }
        let transport = |e: reqwest::Error| {
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Provider
            };
            // reqwest names the URL, never headers: the key is not in it (Google's is a
            // header too), but scrub anyway.
            LlmError::new(
                kind,
                None,
                scrub(&format!("{}: {e}", self.provider.as_str()), key),
            )
        };
        let response = http.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header(request_id_header);
        let retry_after = header("retry-after-ms")
            .and_then(|ms| ms.parse::<u64>().ok().map(Duration::from_millis))
            .or_else(|| header("retry-after").and_then(|s| retry_after_seconds(&s)));
        let bytes = response.bytes().await.map_err(transport)?;
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let body = json.unwrap_or(serde_json::Value::Null);
            let mut error = match self.provider {
                Provider::OpenAi => openai::error(status, &body),
                Provider::Anthropic => anthropic::error(status, &body),
                Provider::Google => google::error(status, &body),
            };
            error.message = scrub(&error.message, key);
            error.retry_after = error.retry_after.or(retry_after);
            return Err(error);
        }
        let Some(json) = json else {
            return Err(LlmError::new(
                ErrorKind::Provider,
                Some(status),
                "the answer is not JSON",
            ));
        };
        let mut parsed = match self.provider {
            Provider::OpenAi => openai::parse(&json),
            Provider::Anthropic => anthropic::parse(&json),
            Provider::Google => google::parse(&json),
        }
        .map_err(|e| LlmError {
            status: Some(status),
            ..e
        })?;
        parsed.request_id = request_id.or(parsed.request_id);
        Ok(parsed)
    }
}

//! The providers' model listings, fetched with the stored key: what the console offers in a
//! seat's model field besides the models simrunner knows. Refreshed when an operator asks
//! (the local stack does it at once; in AWS the next runner does) and once a day otherwise,
//! best effort: a listing that fails is recorded with its (scrubbed) reason, nothing more.

use super::client::BaseUrls;
use super::wire::scrub;
use super::{anthropic, google, openai};
use chrono::{Duration, Utc};
use deadpool_postgres::Pool;
use serde_json::Value;
use simrunner::domain::Provider;
use simrunner::secrets::Keyring;
use simrunner::store::{self, models};

/// How long one listing may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The listing's URL for `provider` at `base`.
fn url(provider: Provider, base: &str) -> String {
    let base = base.trim_end_matches('/');
    match provider {
        Provider::OpenAi => format!("{base}/models"),
        Provider::Anthropic => format!("{base}/v1/models?limit=1000"),
        Provider::Google => format!("{base}/v1beta/models?pageSize=1000"),
    }
}

/// The model names in a listing: OpenAI's and Anthropic's `data[].id`; Google's
/// `models[].name` (without `models/`) of the models that generate content.
pub fn parse_listing(provider: Provider, body: &Value) -> Vec<String> {
    let mut names: Vec<String> = match provider {
        Provider::OpenAi | Provider::Anthropic => body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect(),
        Provider::Google => body["models"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| {
                m["supportedGenerationMethods"]
                    .as_array()
                    .is_none_or(|methods| methods.iter().any(|x| x == "generateContent"))
            })
            .filter_map(|m| m["name"].as_str())
            .map(|name| name.trim_start_matches("models/").to_owned())
            .collect(),
    };
    names.retain(|n| {
        !n.is_empty()
            && n.len() <= simrunner::domain::MODEL_MAX_CHARS
            && !n.contains(char::is_whitespace)
    });
    names.sort();
    names.dedup();
    names
}

/// One provider's listing with `key`.
pub async fn list(
    http: &reqwest::Client,
    provider: Provider,
    base: &str,
    key: &str,
) -> Result<Vec<String>, String> {
    let (name, value) = match provider {
        Provider::OpenAi => openai::auth_header(key),
        Provider::Anthropic => anthropic::auth_header(key),
        Provider::Google => google::auth_header(key),
    };
    let mut request = http
        .get(url(provider, base))
        .timeout(TIMEOUT)
        .header(name, value);
    if provider == Provider::Anthropic {
        request = request.header("anthropic-version", anthropic::API_VERSION);
    }
    let response = request
        .send()
        .await
        .map_err(|e| scrub(&format!("the model listing could not be fetched: {e}"), key))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| scrub(&format!("the model listing could not be read: {e}"), key))?;
    if !status.is_success() {
        return Err(scrub(
            &format!("the model listing answered {status}: {text}"),
            key,
        ));
    }
    let body: Value =
        serde_json::from_str(&text).map_err(|_| "the model listing is not JSON".to_owned())?;
    Ok(parse_listing(provider, &body))
}

/// Fetches the listings that are due (asked for, or older than `max_age` when given) with
/// each provider's newest key, and records them. Returns how many were fetched.
pub async fn refresh_due(
    pool: &Pool,
    keyring: &Keyring,
    base_urls: &BaseUrls,
    max_age: Option<Duration>,
) -> Result<usize, store::StoreError> {
    let due = {
        let client = pool.get().await?;
        models::due(&client, Utc::now(), max_age).await?
    };
    if due.is_empty() {
        return Ok(0);
    }
    let http = super::client::http_client().map_err(store::StoreError::Unavailable)?;
    for provider in &due {
        let client = pool.get().await?;
        let listed = match store::reveal_newest_api_key(&client, keyring, *provider).await {
            Ok(Some(key)) => list(&http, *provider, base_urls.of(*provider), key.expose()).await,
            Ok(None) => continue,
            Err(error) => Err(format!("the stored key could not be opened: {error}")),
        };
        if let Err(error) = &listed {
            tracing::warn!(provider = provider.as_str(), %error, "listing a provider's models");
        }
        models::record_listing(&client, *provider, listed, Utc::now()).await?;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listings_are_read_as_each_provider_writes_them() {
        let openai = json!({"data": [{"id": "gpt-4o"}, {"id": "gpt-4o-mini"}, {"id": "gpt-4o"}]});
        assert_eq!(
            parse_listing(Provider::OpenAi, &openai),
            ["gpt-4o", "gpt-4o-mini"]
        );
        let google = json!({"models": [
            {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
        ]});
        assert_eq!(
            parse_listing(Provider::Google, &google),
            ["gemini-2.5-flash"]
        );
        assert!(parse_listing(Provider::Anthropic, &json!({"error": "x"})).is_empty());
        assert_eq!(
            url(Provider::Anthropic, "http://x/"),
            "http://x/v1/models?limit=1000"
        );
    }
}

//! The models each provider lists for its stored key, refreshed on request or once a day by
//! whoever may open provider keys (a runner, the local stack), and what the console offers:
//! the models simrunner knows, then those the provider listed.

use super::{StoreError, execute, query};
use crate::domain::Provider;
use crate::domain::models::known_models;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

/// A listing is refreshed once it is this old, even unasked.
pub const MAX_AGE: Duration = Duration::hours(24);

/// One provider's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderModels {
    pub provider: Provider,
    /// The models simrunner knows, then those the provider listed that it does not.
    pub models: Vec<String>,
    /// How many came from the provider's own listing.
    pub listed: usize,
    pub fetched_at: Option<DateTime<Utc>>,
    pub refresh_requested_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// A key is stored: a listing can be fetched.
    pub has_key: bool,
}

/// Every provider's models.
pub async fn listings(client: &impl GenericClient) -> Result<Vec<ProviderModels>, StoreError> {
    let rows = query(
        client,
        "SELECT p.provider, m.models, m.fetched_at, m.refresh_requested_at, m.last_error,
                EXISTS (SELECT 1 FROM provider_api_keys k WHERE k.provider = p.provider)
           FROM unnest(ARRAY['openai', 'anthropic', 'google']) p(provider)
           LEFT JOIN provider_models m ON m.provider = p.provider",
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let provider = Provider::parse(row.get(0))?;
            let listed: Vec<String> = row.get::<_, Option<Vec<String>>>(1).unwrap_or_default();
            let mut models: Vec<String> = known_models(provider)
                .into_iter()
                .map(str::to_owned)
                .collect();
            let known = models.len();
            for model in listed {
                if !models.contains(&model) {
                    models.push(model);
                }
            }
            Some(ProviderModels {
                provider,
                listed: models.len() - known,
                models,
                fetched_at: row.get(2),
                refresh_requested_at: row.get(3),
                last_error: row.get(4),
                has_key: row.get(5),
            })
        })
        .collect())
}

/// Every model the console offers, as `provider:model`.
pub async fn offered(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    Ok(listings(client)
        .await?
        .into_iter()
        .flat_map(|l| {
            let provider = l.provider.as_str();
            l.models.into_iter().map(move |m| format!("{provider}:{m}"))
        })
        .collect())
}

/// Asks for a fresh listing of every provider with a stored key; returns them.
pub async fn request_refresh(
    client: &impl GenericClient,
    now: DateTime<Utc>,
) -> Result<Vec<Provider>, StoreError> {
    let rows = query(
        client,
        "INSERT INTO provider_models (provider, refresh_requested_at)
         SELECT DISTINCT provider, $1::timestamptz FROM provider_api_keys
         ON CONFLICT (provider) DO UPDATE SET refresh_requested_at = excluded.refresh_requested_at
         RETURNING provider",
        &[&now],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Provider::parse(r.get(0)))
        .collect())
}

/// Providers with a stored key whose listing was asked for since it was last fetched, or is
/// older than `max_age` (`None`: only those asked for).
pub async fn due(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    max_age: Option<Duration>,
) -> Result<Vec<Provider>, StoreError> {
    let oldest = max_age.map(|age| now - age);
    let rows = query(
        client,
        "SELECT DISTINCT k.provider FROM provider_api_keys k
           LEFT JOIN provider_models m ON m.provider = k.provider
          WHERE m.refresh_requested_at > COALESCE(m.fetched_at, '-infinity')
             OR ($1::timestamptz IS NOT NULL AND COALESCE(m.fetched_at, '-infinity') < $1)",
        &[&oldest],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Provider::parse(r.get(0)))
        .collect())
}

/// Records what a listing answered: the models, or why there are none.
pub async fn record_listing(
    client: &impl GenericClient,
    provider: Provider,
    listed: Result<Vec<String>, String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (models, error) = match listed {
        Ok(models) => (Some(models), None),
        Err(error) => (None, Some(error)),
    };
    execute(
        client,
        "INSERT INTO provider_models (provider, models, fetched_at, last_error)
         VALUES ($1, COALESCE($2, '{}'), $3, $4)
         ON CONFLICT (provider) DO UPDATE
            SET models = COALESCE($2, provider_models.models), fetched_at = $3, last_error = $4",
        &[&provider.as_str(), &models, &now, &error],
    )
    .await?;
    Ok(())
}

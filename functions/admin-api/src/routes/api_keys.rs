//! `/v1/admin/api-keys`: LLM provider keys. A key goes in once and never comes out: responses
//! show its last four characters only.

use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use simrunner::domain::{ApiKeyDraft, ApiKeyId};
use simrunner::settings::Secret;
use simrunner::store::{self, ApiKeyRecord};
use utoipa::ToSchema;
use web::json::Json;

/// The key's text. Deserialising it never quotes the input in an error, whatever was sent.
#[derive(Debug)]
pub struct KeyInput(Secret<String>);

impl KeyInput {
    pub fn into_secret(self) -> Secret<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for KeyInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)
            .map(|k| Self(Secret::new(k)))
            .map_err(|_| serde::de::Error::custom("must be a string"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(schema_with = crate::contract::provider_schema, required = true, example = "anthropic")]
    pub provider: Option<String>,
    #[schema(schema_with = crate::contract::label_schema, required = true)]
    pub label: Option<String>,
    /// The provider's API key, 8 to 512 characters without spaces; stored encrypted, never
    /// shown again.
    #[schema(
        value_type = String,
        format = Password,
        min_length = 8,
        max_length = 512,
        pattern = r"^\S+$",
        required = true
    )]
    pub key: Option<KeyInput>,
}

/// A stored key as it may be shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub provider: &'static str,
    pub label: String,
    /// The last four characters behind a mask.
    #[schema(example = "****a1b2")]
    pub masked_key: String,
    /// The master key that encrypts it (changes after a key rotation).
    pub encryption_key_id: String,
    pub created_at: DateTime<Utc>,
    /// Set when a run's LLM seat was refused with this key (401/403), until a later run gets
    /// answers with it: the key needs replacing.
    pub auth_failed_at: Option<DateTime<Utc>>,
    /// What the provider said (scrubbed of anything key-shaped).
    pub auth_error: Option<String>,
    /// When a run that got answers with it last ended.
    pub last_worked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for ApiKeyView {
    fn from(record: ApiKeyRecord) -> Self {
        Self {
            id: record.id.to_string(),
            provider: record.provider.as_str(),
            label: record.label,
            masked_key: format!("****{}", record.last4),
            encryption_key_id: record.key_id,
            created_at: record.created_at,
            auth_failed_at: record.auth_failed_at,
            auth_error: record.auth_error,
            last_worked_at: record.last_worked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Newest first.
    pub items: Vec<ApiKeyView>,
}

/// Stored keys, masked.
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody)))]
pub async fn list_api_keys(State(state): State<AppState>) -> Result<Json<ApiKeyList>, ApiError> {
    let client = state.db().await?;
    let keys = store::list_api_keys(&client).await?;
    Ok(Json(ApiKeyList {
        items: keys.into_iter().map(ApiKeyView::from).collect(),
    }))
}

/// Stores a key, encrypted at rest.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "api-keys",
    request_body = CreateApiKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ApiKeyView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn create_api_key(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateApiKey>,
) -> Result<(StatusCode, Json<ApiKeyView>), ApiError> {
    let key = ApiKeyDraft {
        provider: input.provider,
        label: input.label,
        key: input.key.map(|k| k.0),
    }
    .validate()?;
    let client = state.db().await?;
    let record = store::insert_api_key(&client, &state.keyring, &key).await?;
    tracing::info!(key = %record.id, provider = record.provider.as_str(), "stored provider key");
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Deletes a key.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "key_…")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_api_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key_id = ApiKeyId::parse(&id).ok_or_else(|| ApiError::not_found("API key", &id))?;
    let client = state.db().await?;
    if store::delete_api_key(&client, &key_id).await? {
        tracing::info!(key = %key_id, "deleted provider key");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key", &id))
    }
}

/// One provider's models: those simrunner knows, then those its listing added.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderModelsView {
    /// `openai`, `anthropic` or `google`.
    pub provider: &'static str,
    /// Model names (without the provider), for `provider:model`.
    pub models: Vec<String>,
    /// How many of them came from the provider's own listing.
    pub listed: usize,
    /// When the listing was last fetched with the stored key; null: never.
    pub fetched_at: Option<DateTime<Utc>>,
    /// A refresh was asked for then (and is pending while after `fetched_at`).
    pub refresh_requested_at: Option<DateTime<Utc>>,
    /// Why the last listing failed.
    pub last_error: Option<String>,
    /// A key is stored, so its listing can be fetched.
    pub has_key: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderModelsList {
    pub items: Vec<ProviderModelsView>,
}

fn models_list(listings: Vec<simrunner::store::models::ProviderModels>) -> ProviderModelsList {
    ProviderModelsList {
        items: listings
            .into_iter()
            .map(|l| ProviderModelsView {
                provider: l.provider.as_str(),
                models: l.models,
                listed: l.listed,
                fetched_at: l.fetched_at,
                refresh_requested_at: l.refresh_requested_at,
                last_error: l.last_error,
                has_key: l.has_key,
            })
            .collect(),
    }
}

/// The models each provider offers: the ones simrunner knows, then those the provider's own
/// listing (fetched with the stored key) adds. Free text stays allowed in a seat's model.
#[utoipa::path(get, path = "/v1/admin/api-keys/models", tag = "api-keys",
    security(("bearer" = [])),
    responses((status = 200, body = ProviderModelsList)))]
pub async fn list_models(
    State(state): State<AppState>,
) -> Result<Json<ProviderModelsList>, ApiError> {
    let client = state.db().await?;
    Ok(Json(models_list(
        simrunner::store::models::listings(&client).await?,
    )))
}

/// Asks for fresh listings of every provider with a stored key: fetched at once by the local
/// stack, and by the next runner in AWS (only runners open provider keys there). 202 with the
/// listings as they are now.
#[utoipa::path(post, path = "/v1/admin/api-keys/models/refresh", tag = "api-keys",
    security(("bearer" = [])),
    responses((status = 202, body = ProviderModelsList)))]
pub async fn refresh_models(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ProviderModelsList>), ApiError> {
    let client = state.db().await?;
    simrunner::store::models::request_refresh(&client, Utc::now()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(models_list(
            simrunner::store::models::listings(&client).await?,
        )),
    ))
}

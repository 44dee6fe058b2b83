//! `/v1/admin/webhooks`: the endpoints webhook seats call, one signed POST per decision. An
//! endpoint's signing secret (`whsec_…`) is in the answer that creates it and nowhere else
//! afterwards: lists show its last four characters. An endpoint a config's seat names cannot
//! be deleted.

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::JsonBody;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simrunner::domain::{WebhookDraft, WebhookId};
use simrunner::store::webhooks::{self, WebhookDeletion, WebhookRecord};
use utoipa::ToSchema;
use web::json::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    #[schema(schema_with = crate::contract::label_schema, required = true)]
    pub label: Option<String>,
    /// Where each decision is POSTed: `https://`, with a host, no user name or password and
    /// no `#fragment`, not an inside address (loopback, private, link-local, CGNAT, unique
    /// local, IPv4-mapped…). Plain `http://` only to a loopback host, and only where
    /// `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on`.
    #[schema(
        example = "https://bot.example.com/poker",
        max_length = 2048,
        pattern = "^https?://",
        required = true,
        nullable = false
    )]
    pub url: Option<String>,
}

/// An endpoint as it may be shown: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub label: String,
    pub url: String,
    /// The signing secret's last four characters behind a mask.
    #[schema(example = "whsec_****a1b2")]
    pub masked_secret: String,
    /// The master key that encrypts the secret (changes after a key rotation).
    pub encryption_key_id: String,
    pub created_at: DateTime<Utc>,
    /// The configs (`sim_…`) whose seats call it; while there is one, it cannot be deleted.
    pub used_by: Vec<String>,
}

impl From<WebhookRecord> for WebhookView {
    fn from(record: WebhookRecord) -> Self {
        Self {
            id: record.id.to_string(),
            label: record.label,
            url: record.url,
            masked_secret: format!("whsec_****{}", record.secret_last4),
            encryption_key_id: record.key_id,
            created_at: record.created_at,
            used_by: record.used_by,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and 32 random bytes in base64: the key of the Standard Webhooks signature
    /// (`webhook-signature: v1,<base64 HMAC-SHA256>`) on every request. Stored encrypted;
    /// never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwVNQfAGhDhHs=")]
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Newest first.
    pub items: Vec<WebhookView>,
}

/// Every endpoint, its secret masked.
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(State(state): State<AppState>) -> Result<Json<WebhookList>, ApiError> {
    let client = state.db().await?;
    let items = webhooks::list_webhooks(&client).await?;
    Ok(Json(WebhookList {
        items: items.into_iter().map(WebhookView::from).collect(),
    }))
}

/// Creates an endpoint with a fresh signing secret, which is in this answer only.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedWebhook)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let webhook = WebhookDraft {
        label: input.label,
        url: input.url,
    }
    .validate(state.webhooks)?;
    let client = state.db().await?;
    let (record, secret) = webhooks::insert_webhook(&client, &state.keyring, &webhook).await?;
    tracing::info!(webhook = %record.id, "created webhook endpoint");
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: record.into(),
            secret: secret.expose().clone(),
        }),
    ))
}

/// Deletes an endpoint that no config's seat names.
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "whk_…")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`webhook_in_use`: the message names the configs whose seats call it", body = ErrorBody),
    ))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::not_found("webhook endpoint", &id);
    let webhook_id = WebhookId::parse(&id).ok_or_else(not_found)?;
    let mut client = state.db().await?;
    match webhooks::delete_webhook(&mut client, &webhook_id).await? {
        WebhookDeletion::Deleted => {
            tracing::info!(webhook = %webhook_id, "deleted webhook endpoint");
            Ok(StatusCode::NO_CONTENT)
        }
        WebhookDeletion::NotFound => Err(not_found()),
        WebhookDeletion::InUse(configs) => Err(ApiError::new(
            ErrorCode::WebhookInUse,
            format!(
                "webhook endpoint {id} is called by the seats of {}; change or delete those \
                 configs first",
                configs.join(", ")
            ),
        )),
    }
}

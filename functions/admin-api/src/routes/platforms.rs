//! `/v1/admin/platforms`: remote MoltPoker-compatible platforms simulations can play at. A
//! platform's admin credential goes in once and never comes out (lists show its last four
//! characters); "check" says in plain words what works. A platform a config plays at cannot
//! be deleted.

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::JsonBody;
use crate::routes::api_keys::KeyInput;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simrunner::domain::{PlatformDraft, PlatformId};
use simrunner::store::platforms::{self, PlatformDeletion, PlatformRecord};
use std::sync::OnceLock;
use utoipa::ToSchema;
use web::json::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlatform {
    /// 1 to 100 characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        required = true,
        nullable = false
    )]
    pub name: Option<String>,
    /// The platform's base URL (`http://` or `https://`, no credentials, query or fragment);
    /// its `/v1/…` routes hang below it.
    #[schema(
        example = "https://poker.example.com",
        max_length = 2048,
        pattern = "^https?://",
        required = true,
        nullable = false
    )]
    pub base_url: Option<String>,
    /// What the platform's `/v1/admin/*` routes accept as a bearer token (its admin token or
    /// service key); stored encrypted, never shown again.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 4096, pattern = r"^\S+$", required = true)]
    pub credential: Option<KeyInput>,
}

/// A platform as it may be shown: never its credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformView {
    pub id: String,
    pub name: String,
    pub base_url: String,
    #[schema(example = "****a1b2")]
    pub masked_credential: String,
    pub created_at: DateTime<Utc>,
    /// The configs (`sim_…`) that play there; while there is one, it cannot be deleted.
    pub used_by: Vec<String>,
}

impl From<PlatformRecord> for PlatformView {
    fn from(record: PlatformRecord) -> Self {
        Self {
            id: record.id.to_string(),
            name: record.name,
            base_url: record.base_url,
            masked_credential: format!("****{}", record.credential_last4),
            created_at: record.created_at,
            used_by: record.used_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformList {
    /// Newest first.
    pub items: Vec<PlatformView>,
}

/// What a connection check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformCheck {
    /// `GET /v1/tables` answered.
    pub reachable: bool,
    /// The protocol version the platform says it speaks.
    pub protocol_version: Option<String>,
    /// `true`: the admin credential was accepted; `false`: refused; `null`: not known
    /// (unreachable, or the platform answered something else).
    pub credential_accepted: Option<bool>,
    /// Whether simrunner can play there: reachable, credential accepted, protocol 0.1.
    pub ready: bool,
    /// What works and what does not, in plain words.
    pub summary: String,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("platform", id)
}

/// Every platform, its credential masked.
#[utoipa::path(get, path = "/v1/admin/platforms", tag = "platforms",
    security(("bearer" = [])),
    responses((status = 200, body = PlatformList)))]
pub async fn list_platforms(State(state): State<AppState>) -> Result<Json<PlatformList>, ApiError> {
    let client = state.db().await?;
    let items = platforms::list_platforms(&client).await?;
    Ok(Json(PlatformList {
        items: items.into_iter().map(PlatformView::from).collect(),
    }))
}

/// Adds a platform; its credential is stored encrypted.
#[utoipa::path(post, path = "/v1/admin/platforms", tag = "platforms",
    request_body = CreatePlatform,
    security(("bearer" = [])),
    responses((status = 201, body = PlatformView)))]
pub async fn create_platform(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreatePlatform>,
) -> Result<(StatusCode, Json<PlatformView>), ApiError> {
    let platform = PlatformDraft {
        name: input.name,
        base_url: input.base_url,
        credential: input.credential.map(KeyInput::into_secret),
    }
    .validate()?;
    let client = state.db().await?;
    let record = platforms::insert_platform(&client, &state.keyring, &platform).await?;
    tracing::info!(platform = %record.id, "added platform");
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// One platform.
#[utoipa::path(get, path = "/v1/admin/platforms/{id}", tag = "platforms",
    params(("id" = String, Path, description = "plt_…")),
    security(("bearer" = [])),
    responses((status = 200, body = PlatformView)))]
pub async fn get_platform(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PlatformView>, ApiError> {
    let platform_id = PlatformId::parse(&id).ok_or_else(|| not_found(&id))?;
    let client = state.db().await?;
    let record = platforms::get_platform(&client, &platform_id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(record.into()))
}

/// Deletes a platform no config plays at.
#[utoipa::path(delete, path = "/v1/admin/platforms/{id}", tag = "platforms",
    params(("id" = String, Path, description = "plt_…")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`platform_in_use`: the message names the configs that play there", body = ErrorBody),
    ))]
pub async fn delete_platform(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let platform_id = PlatformId::parse(&id).ok_or_else(|| not_found(&id))?;
    let mut client = state.db().await?;
    match platforms::delete_platform(&mut client, &platform_id).await? {
        PlatformDeletion::Deleted => {
            tracing::info!(platform = %platform_id, "deleted platform");
            Ok(StatusCode::NO_CONTENT)
        }
        PlatformDeletion::NotFound => Err(not_found(&id)),
        PlatformDeletion::InUse(configs) => Err(ApiError::new(
            ErrorCode::PlatformInUse,
            format!(
                "platform {id} is where {} play; move or delete those configs first",
                configs.join(", ")
            ),
        )),
    }
}

/// The HTTPS client for platform checks, built once per process.
fn http() -> Result<&'static reqwest::Client, ApiError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(remote::http_client)
        .as_ref()
        .map_err(|e| {
            tracing::error!(error = %e, "building the HTTPS client");
            ApiError::new(
                ErrorCode::Internal,
                "an internal error occurred; it has been logged",
            )
        })
}

/// Tries the platform: is it reachable, which protocol version does it speak, does it accept
/// the admin credential? Answers 200 whatever it finds; `summary` says it in words.
#[utoipa::path(post, path = "/v1/admin/platforms/{id}/check", tag = "platforms",
    params(("id" = String, Path, description = "plt_…")),
    security(("bearer" = [])),
    responses((status = 200, body = PlatformCheck)))]
pub async fn check_platform(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PlatformCheck>, ApiError> {
    let platform_id = PlatformId::parse(&id).ok_or_else(|| not_found(&id))?;
    let client = state.db().await?;
    let (record, credential) = platforms::reveal_platform(&client, &state.keyring, &platform_id)
        .await
        .map_err(|e| match e {
            simrunner::store::RevealError::Store(e) => ApiError::from(e),
            other => {
                tracing::error!(error = %other, "opening a platform's credential");
                ApiError::new(
                    ErrorCode::Internal,
                    "the platform's credential could not be opened (was the key-encryption key rotated without its retired key?)",
                )
            }
        })?
        .ok_or_else(|| not_found(&id))?;
    drop(client);
    let check = remote::Platform::new(http()?.clone(), &record.base_url, credential)
        .check()
        .await;
    Ok(Json(describe(&record.base_url, check)))
}

/// A check in words.
fn describe(base_url: &str, check: remote::Check) -> PlatformCheck {
    let supported = check.protocol_version.as_deref() == Some(protocol::PROTOCOL_VERSION);
    let credential_accepted = check.credential_accepted.as_ref().ok().copied();
    let summary = match (&check.reachable, &check.credential_accepted) {
        (Err(reason), _) => format!("{base_url} cannot be reached: {reason}"),
        (Ok(()), Ok(false)) => format!(
            "{base_url} answers, but refuses the admin credential: replace it (delete and add \
             the platform again)"
        ),
        (Ok(()), Err(reason)) => {
            format!("{base_url} answers, but its admin routes answered unexpectedly: {reason}")
        }
        (Ok(()), Ok(true)) if !supported => format!(
            "{base_url} answers and accepts the admin credential, but speaks protocol {}, not \
             {}",
            check.protocol_version.as_deref().unwrap_or("(none said)"),
            protocol::PROTOCOL_VERSION
        ),
        (Ok(()), Ok(true)) => format!(
            "{base_url} answers, accepts the admin credential and speaks protocol {}: \
             simulations can play there",
            protocol::PROTOCOL_VERSION
        ),
    };
    PlatformCheck {
        reachable: check.reachable.is_ok(),
        protocol_version: check.protocol_version,
        credential_accepted,
        ready: supported && credential_accepted == Some(true),
        summary,
    }
}

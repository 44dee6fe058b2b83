//! `/v1/admin/agents`: the outside agents that play over the agent protocol. The admin
//! lists them (with when they were last seen, tables played and timeouts), creates them
//! (the only way in when registration is closed) and revokes them: a revoked key opens
//! nothing and the agent's sessions end at once.

use super::{PageParams, page_request};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simrunner::domain::{AgentDraft, AgentId};
use simrunner::store::StoreError;
use simrunner::store::agents::{self, AgentRecord, Creator};
use utoipa::ToSchema;
use web::json::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// Shown at tables; 1 to 64 characters, no control characters. Absent: made from the id.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"
    )]
    pub name: Option<String>,
    /// A JSON object of at most 4 KiB.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// An outside agent, never its key.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    /// `self` (registered over the protocol) or `admin`.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Its last authenticated call.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Set once revoked: its key opens nothing.
    pub revoked_at: Option<DateTime<Utc>>,
    pub tables_played: i32,
    /// Decisions it let time out (played check-or-fold for it).
    pub timeouts: i64,
}

impl From<AgentRecord> for AgentView {
    fn from(a: AgentRecord) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            created_by: a.created_by,
            created_at: a.created_at,
            last_seen_at: a.last_seen_at,
            revoked_at: a.revoked_at,
            tables_played: a.tables_played,
            timeouts: a.timeouts,
        }
    }
}

/// A new agent with its key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAgent {
    pub agent: AgentView,
    /// `Authorization: Bearer <api_key>` on the agent's calls; only a hash is kept.
    pub api_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<AgentView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn parse_id(id: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(id).ok_or_else(|| ApiError::not_found("agent", id))
}

/// Every outside agent, newest first.
#[utoipa::path(get, path = "/v1/admin/agents", tag = "agents-admin",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = AgentList), (status = 400, body = ErrorBody)))]
pub async fn list_agents(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<AgentList>, ApiError> {
    let page = page_request(params.limit, params.cursor.as_deref(), "limit")?;
    let client = state.db().await?;
    let page = agents::list_agents(&client, &page).await?;
    Ok(Json(AgentList {
        items: page.items.into_iter().map(AgentView::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// Creates an agent (also when registration is closed). Its key is in this answer only.
#[utoipa::path(post, path = "/v1/admin/agents", tag = "agents-admin",
    request_body = CreateAgent,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedAgent)))]
pub async fn create_agent(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateAgent>,
) -> Result<(StatusCode, Json<CreatedAgent>), ApiError> {
    let agent = AgentDraft {
        name: input.name,
        metadata: input.metadata,
    }
    .validate()?;
    let client = state.db().await?;
    let (record, key) = agents::register_agent(&client, &agent, Creator::Admin).await?;
    tracing::info!(agent = %record.id, "agent created by an admin");
    Ok((
        StatusCode::CREATED,
        Json(CreatedAgent {
            agent: record.into(),
            api_key: key.expose().clone(),
        }),
    ))
}

/// One agent.
#[utoipa::path(get, path = "/v1/admin/agents/{id}", tag = "agents-admin",
    params(("id" = String, Path, description = "agt_…")),
    security(("bearer" = [])),
    responses((status = 200, body = AgentView)))]
pub async fn get_agent(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    let id = parse_id(&id)?;
    let client = state.db().await?;
    let agent = agents::get_agent(&client, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent", id.as_str()))?;
    Ok(Json(agent.into()))
}

/// Revokes an agent: its key stops working and its sessions end now (a seat in a hand
/// checks or folds to the end of the hand, then is cashed out). Revoking twice changes
/// nothing.
#[utoipa::path(post, path = "/v1/admin/agents/{id}/revoke", tag = "agents-admin",
    params(("id" = String, Path, description = "agt_…")),
    security(("bearer" = [])),
    responses((status = 200, body = AgentView)))]
pub async fn revoke_agent(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    let id = parse_id(&id)?;
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let agent = agents::revoke_agent(&tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent", id.as_str()))?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(agent = %id, "agent revoked");
    Ok(Json(agent.into()))
}

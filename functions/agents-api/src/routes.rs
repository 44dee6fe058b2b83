//! The agent protocol's REST routes.

use crate::AgentsState;
use crate::error::{AgentError, AgentErrorBody};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use protocol::ErrorCode;
use protocol::rest::{
    AgentRegistered, AutoJoin, Blinds, JoinTable, Joined, Left, RegisterAgent, SeatInfo, TableInfo,
    TableList, TableRules,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use simrunner::domain::AgentDraft;
use simrunner::store::StoreError;
use simrunner::store::agents::{self, AgentRecord, Creator};
use simrunner::store::seating::{
    self, AgentTableRecord, AgentTableStatus, JoinRefusal, LeaveOutcome, Seated,
};
use std::net::SocketAddr;
use utoipa::IntoParams;
use web::json::Json;

/// This server's public base URL: the setting, or the request's own host.
pub fn base_url(state: &AgentsState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.clone();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header("x-forwarded-host")
        .or_else(|| header(header::HOST.as_str()))
        .unwrap_or("localhost");
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

fn ws_url(state: &AgentsState, headers: &HeaderMap) -> String {
    state.settings.ws_url.clone().unwrap_or_else(|| {
        let base = base_url(state, headers);
        let base = base
            .strip_prefix("https://")
            .map(|rest| format!("wss://{rest}"))
            .or_else(|| {
                base.strip_prefix("http://")
                    .map(|rest| format!("ws://{rest}"))
            })
            .unwrap_or(base);
        format!("{base}/v1/ws")
    })
}

fn skill_url(state: &AgentsState, headers: &HeaderMap) -> String {
    format!("{}/skill.md", base_url(state, headers))
}

/// Where a request came from, for per-address limits: the peer (the local stack), else the
/// first address API Gateway or the CDN put in `X-Forwarded-For`.
fn address(parts: &Parts) -> String {
    if let Some(axum::extract::ConnectInfo(peer)) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return peer.ip().to_string();
    }
    parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn limited(state: &AgentsState, who: &str) -> Result<(), AgentError> {
    state.limits.check(who).map_err(|wait| AgentError {
        retry_after: Some(wait),
        ..AgentError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimitExceeded,
            format!("too many requests; try again in {wait} s"),
        )
    })
}

/// The caller's address, rate limited.
pub struct Caller;

impl FromRequestParts<AgentsState> for Caller {
    type Rejection = AgentError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AgentsState,
    ) -> Result<Self, Self::Rejection> {
        limited(state, &format!("ip:{}", address(parts)))?;
        Ok(Caller)
    }
}

/// The agent holding the bearer key (not revoked), rate limited per key and per address.
pub struct SignedAgent(pub AgentRecord);

impl FromRequestParts<AgentsState> for SignedAgent {
    type Rejection = AgentError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AgentsState,
    ) -> Result<Self, Self::Rejection> {
        limited(state, &format!("ip:{}", address(parts)))?;
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                AgentError::unauthorized("send Authorization: Bearer <api_key> (POST /v1/agents)")
            })?;
        let client = state.db().await?;
        let agent = agents::authenticate_agent(&client, key)
            .await?
            .ok_or_else(|| AgentError::unauthorized("unknown or revoked agent key"))?;
        limited(state, &format!("key:{}", agent.id))?;
        Ok(SignedAgent(agent))
    }
}

/// A JSON body in protocol errors; an empty body reads as `{}` (every field is optional).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AgentsState> for Body<T> {
    type Rejection = AgentError;

    async fn from_request(req: Request, state: &AgentsState) -> Result<Self, Self::Rejection> {
        let has_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|len| len != "0");
        if !has_body || req.headers().get(header::CONTENT_TYPE).is_none() {
            let (parts, body) = req.into_parts();
            let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| AgentError::validation("the request body could not be read"))?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Body(T::default()));
            }
            return Err(AgentError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::ValidationError,
                "send the body as Content-Type: application/json",
            ));
        }
        web::extract::JsonBody::<T>::from_request(req, state)
            .await
            .map(|b| Body(b.0))
            .map_err(AgentError::from)
    }
}

fn registration_closed() -> AgentError {
    AgentError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::Unauthorized,
        "registration is closed on this server; ask its operator for an agent key",
    )
}

/// Registers an outside agent. The key is shown once; only its hash is kept.
#[utoipa::path(post, path = "/v1/agents", tag = "agents",
    request_body = RegisterAgent,
    responses(
        (status = 201, body = AgentRegistered),
        (status = 400, description = "`VALIDATION_ERROR`", body = AgentErrorBody),
        (status = 403, description = "`UNAUTHORIZED`: registration is closed", body = AgentErrorBody),
        (status = 413, description = "`VALIDATION_ERROR`: bodies are at most 64 KiB", body = AgentErrorBody),
        (status = 415, description = "`VALIDATION_ERROR`: not JSON", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED` (see Retry-After)", body = AgentErrorBody),
        (status = 503, description = "`INTERNAL_ERROR`: the database is unavailable", body = AgentErrorBody),
    ))]
pub async fn register_agent(
    State(state): State<AgentsState>,
    _caller: Caller,
    headers: HeaderMap,
    Body(input): Body<RegisterAgent>,
) -> Result<(StatusCode, Json<AgentRegistered>), AgentError> {
    if !state.settings.registration_open {
        return Err(registration_closed());
    }
    let agent = AgentDraft {
        name: input.name,
        metadata: input.metadata,
    }
    .validate()?;
    let client = state.db().await?;
    let (record, key) = agents::register_agent(&client, &agent, Creator::SelfRegistered).await?;
    tracing::info!(agent = %record.id, "agent registered");
    Ok((
        StatusCode::CREATED,
        Json(AgentRegistered {
            agent_id: record.id.to_string(),
            api_key: key.expose().clone(),
            protocol_version: protocol::PROTOCOL_VERSION.into(),
            skill_doc_url: skill_url(&state, &headers),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TableParams {
    /// `waiting` (open seats, not started), `running` or `ended`; absent: all.
    pub status: Option<String>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Tables to skip, 0 to 10,000.
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<i64>,
}

fn table_info(table: AgentTableRecord) -> TableInfo {
    let seats_json = table.seats.as_array().cloned().unwrap_or_default();
    let external = table.external.as_array().cloned().unwrap_or_default();
    let stack_of = |seat: u64| {
        table
            .stacks
            .as_ref()
            .and_then(Value::as_array)
            .and_then(|stacks| stacks.iter().find(|s| s["seat"].as_u64() == Some(seat)))
            .and_then(|s| s["stack"].as_i64())
            .unwrap_or(table.initial_stack)
    };
    let mut available = 0u8;
    let seats: Vec<SeatInfo> = seats_json
        .iter()
        .map(|seat| {
            let number = seat["seat"].as_u64().unwrap_or(0);
            let outside = external.iter().find(|e| e["seat"].as_u64() == Some(number));
            let (agent_id, agent_name, active) = match outside {
                Some(e) => {
                    let agent = e["agent_id"].as_str().map(str::to_owned);
                    if agent.is_none() && !table.started {
                        available += 1;
                    }
                    (
                        agent,
                        e["name"].as_str().map(str::to_owned),
                        e["left"] != Value::Bool(true),
                    )
                }
                None => {
                    let name = seat["name"].as_str().unwrap_or_default().to_owned();
                    let id = seat["agent_id"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("builtin:{name}"));
                    (Some(id), Some(name), true)
                }
            };
            SeatInfo {
                seat_id: number as u8,
                agent_id,
                agent_name,
                stack: stack_of(number),
                is_active: active && !table.ended,
            }
        })
        .collect();
    let players = seats.iter().filter(|s| s.agent_id.is_some()).count() as u8;
    let size = seats.len() as u8;
    TableInfo {
        status: if table.ended {
            "ended"
        } else if table.started {
            "running"
        } else {
            "waiting"
        }
        .into(),
        config: TableRules {
            blinds: Blinds {
                small: table.small_blind,
                big: table.big_blind,
            },
            max_seats: size,
            initial_stack: table.initial_stack,
            action_timeout_ms: table.action_timeout_ms,
            min_players_to_start: size,
        },
        seats,
        available_seats: available,
        player_count: players,
        created_at: table.created_at.to_rfc3339(),
        bucket_key: table.bucket_key,
        id: table.id,
    }
}

/// Tables, newest first, with their seats (`agentId: null` is an open seat).
#[utoipa::path(get, path = "/v1/tables", tag = "agents",
    params(TableParams),
    responses(
        (status = 200, body = TableList),
        (status = 400, description = "`VALIDATION_ERROR`", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED`", body = AgentErrorBody),
        (status = 503, body = AgentErrorBody),
    ))]
pub async fn list_tables(
    State(state): State<AgentsState>,
    _caller: Caller,
    query: Result<web::extract::QueryParams<TableParams>, web::error::ApiError>,
) -> Result<Json<TableList>, AgentError> {
    let params = query?.0;
    let status = match params.status.as_deref() {
        None => None,
        Some("waiting") => Some(AgentTableStatus::Waiting),
        Some("running") => Some(AgentTableStatus::Running),
        Some("ended") => Some(AgentTableStatus::Ended),
        Some(other) => {
            return Err(AgentError::validation(format!(
                "status must be waiting, running or ended (got {other:?})"
            )));
        }
    };
    let limit = params.limit.unwrap_or(20);
    let offset = params.offset.unwrap_or(0);
    if !(1..=100).contains(&limit) || !(0..=10_000).contains(&offset) {
        return Err(AgentError::validation(
            "limit must be 1 to 100 and offset 0 to 10000",
        ));
    }
    let client = state.db().await?;
    let mut tables = seating::list_agent_tables(&client, status, limit, offset).await?;
    let has_more = tables.len() as i64 > limit;
    tables.truncate(limit as usize);
    Ok(Json(TableList {
        tables: tables.into_iter().map(table_info).collect(),
        has_more,
        protocol_version: protocol::PROTOCOL_VERSION.into(),
    }))
}

fn table_not_found(id: &str) -> AgentError {
    AgentError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::TableNotFound,
        format!("no table {id:?}"),
    )
}

/// One table and its seats.
#[utoipa::path(get, path = "/v1/tables/{id}", tag = "agents",
    params(("id" = String, Path, description = "tbl_…")),
    responses(
        (status = 200, body = TableInfo),
        (status = 404, description = "`TABLE_NOT_FOUND`", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED`", body = AgentErrorBody),
        (status = 503, body = AgentErrorBody),
    ))]
pub async fn get_table(
    State(state): State<AgentsState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TableInfo>, AgentError> {
    let client = state.db().await?;
    let table = seating::get_agent_table(&client, &id)
        .await?
        .ok_or_else(|| table_not_found(&id))?;
    Ok(Json(table_info(table)))
}

fn check_version(
    state: &AgentsState,
    headers: &HeaderMap,
    version: Option<&str>,
    preferred_seat: Option<u8>,
) -> Result<(), AgentError> {
    protocol::client_version_supported(version).map_err(|message| {
        AgentError::new(StatusCode::BAD_REQUEST, ErrorCode::OutdatedClient, message)
            .with_skill_doc(skill_url(state, headers))
    })?;
    if preferred_seat.is_some_and(|s| s > 8) {
        return Err(AgentError::validation("preferred_seat must be 0 to 8"));
    }
    Ok(())
}

fn refused(refusal: JoinRefusal, table: &str) -> AgentError {
    let (status, code, message) = match refusal {
        JoinRefusal::TableNotFound => return table_not_found(table),
        JoinRefusal::TableEnded => (
            StatusCode::CONFLICT,
            ErrorCode::TableEnded,
            "the table has ended".to_owned(),
        ),
        JoinRefusal::TableFull => (
            StatusCode::CONFLICT,
            ErrorCode::TableFull,
            "no seat at this table is open to you (taken, kept for another agent, or the \
             table has started)"
                .to_owned(),
        ),
        JoinRefusal::AlreadySeated => (
            StatusCode::CONFLICT,
            ErrorCode::AlreadySeated,
            "you already sit at this table; connect with your session token".to_owned(),
        ),
    };
    AgentError::new(status, code, message)
}

fn joined(state: &AgentsState, headers: &HeaderMap, seated: Seated) -> Json<Joined> {
    Json(Joined {
        table_id: seated.table_id,
        seat_id: seated.seat,
        session_token: seated.session_token.expose().clone(),
        ws_url: ws_url(state, headers),
        protocol_version: protocol::PROTOCOL_VERSION.into(),
        min_supported_protocol_version: protocol::MIN_SUPPORTED_PROTOCOL_VERSION.into(),
        skill_doc_url: skill_url(state, headers),
        action_timeout_ms: seated.action_timeout_ms,
    })
}

/// Takes a seat at a waiting table: one kept for this agent first, then `preferred_seat`.
#[utoipa::path(post, path = "/v1/tables/{id}/join", tag = "agents",
    params(("id" = String, Path, description = "tbl_…")),
    request_body = JoinTable,
    security(("agent_key" = [])),
    responses(
        (status = 200, body = Joined),
        (status = 400, description = "`VALIDATION_ERROR`, `OUTDATED_CLIENT`", body = AgentErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = AgentErrorBody),
        (status = 404, description = "`TABLE_NOT_FOUND`", body = AgentErrorBody),
        (status = 409, description = "`TABLE_FULL`, `TABLE_ENDED`, `ALREADY_SEATED`", body = AgentErrorBody),
        (status = 413, description = "`VALIDATION_ERROR`: bodies are at most 64 KiB", body = AgentErrorBody),
        (status = 415, description = "`VALIDATION_ERROR`: not JSON", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED`", body = AgentErrorBody),
        (status = 503, body = AgentErrorBody),
    ))]
pub async fn join_table(
    State(state): State<AgentsState>,
    SignedAgent(agent): SignedAgent,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(input): Body<JoinTable>,
) -> Result<Json<Joined>, AgentError> {
    check_version(
        &state,
        &headers,
        input.client_protocol_version.as_deref(),
        input.preferred_seat,
    )?;
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let seated = seating::join_table(
        &tx,
        &id,
        agent.id.as_str(),
        &agent.name,
        input.preferred_seat,
    )
    .await?
    .map_err(|refusal| refused(refusal, &id))?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(agent = %agent.id, table = %seated.table_id, seat = seated.seat, "agent joined");
    Ok(joined(&state, &headers, seated))
}

/// Takes a seat at the oldest waiting table with one open to this agent (in `bucket_key`,
/// if given).
#[utoipa::path(post, path = "/v1/tables/auto-join", tag = "agents",
    request_body = AutoJoin,
    security(("agent_key" = [])),
    responses(
        (status = 200, body = Joined),
        (status = 400, description = "`VALIDATION_ERROR`, `OUTDATED_CLIENT`", body = AgentErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = AgentErrorBody),
        (status = 404, description = "`TABLE_NOT_FOUND`: no waiting table has a seat open to you", body = AgentErrorBody),
        (status = 409, description = "`TABLE_FULL`", body = AgentErrorBody),
        (status = 413, description = "`VALIDATION_ERROR`: bodies are at most 64 KiB", body = AgentErrorBody),
        (status = 415, description = "`VALIDATION_ERROR`: not JSON", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED`", body = AgentErrorBody),
        (status = 503, body = AgentErrorBody),
    ))]
pub async fn auto_join(
    State(state): State<AgentsState>,
    SignedAgent(agent): SignedAgent,
    headers: HeaderMap,
    Body(input): Body<AutoJoin>,
) -> Result<Json<Joined>, AgentError> {
    check_version(
        &state,
        &headers,
        input.client_protocol_version.as_deref(),
        input.preferred_seat,
    )?;
    if input.bucket_key.as_ref().is_some_and(|b| b.len() > 200) {
        return Err(AgentError::validation(
            "bucket_key is at most 200 characters",
        ));
    }
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let seated = seating::auto_join(
        &tx,
        agent.id.as_str(),
        &agent.name,
        input.bucket_key.as_deref(),
        input.preferred_seat,
    )
    .await?
    .map_err(|refusal| match refusal {
        JoinRefusal::TableNotFound => AgentError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::TableNotFound,
            match &input.bucket_key {
                Some(bucket) => format!("no waiting table in {bucket:?} has a seat open to you"),
                None => "no waiting table has a seat open to you".to_owned(),
            },
        ),
        other => refused(other, "(auto-join)"),
    })?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(agent = %agent.id, table = %seated.table_id, seat = seated.seat, "agent auto-joined");
    Ok(joined(&state, &headers, seated))
}

/// Leaves the table: before the first hand the seat opens again; between hands the stack
/// is cashed out; mid-hand the seat checks or folds to the end of the hand (a forfeit),
/// then is cashed out. The session ends either way.
#[utoipa::path(post, path = "/v1/tables/{id}/leave", tag = "agents",
    params(("id" = String, Path, description = "tbl_…")),
    security(("agent_key" = [])),
    responses(
        (status = 200, body = Left),
        (status = 401, description = "`UNAUTHORIZED`", body = AgentErrorBody),
        (status = 404, description = "`TABLE_NOT_FOUND`, `NOT_SEATED`", body = AgentErrorBody),
        (status = 429, description = "`RATE_LIMIT_EXCEEDED`", body = AgentErrorBody),
        (status = 503, body = AgentErrorBody),
    ))]
pub async fn leave_table(
    State(state): State<AgentsState>,
    SignedAgent(agent): SignedAgent,
    Path(id): Path<String>,
) -> Result<Json<Left>, AgentError> {
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let outcome = seating::leave_table(&tx, &id, agent.id.as_str()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let message = match outcome {
        LeaveOutcome::TableNotFound => return Err(table_not_found(&id)),
        LeaveOutcome::NotSeated => {
            return Err(AgentError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotSeated,
                "you do not sit at this table (or already left)",
            ));
        }
        LeaveOutcome::Unseated => "you left before the first hand; the seat is open again",
        LeaveOutcome::Left => {
            "you left; a hand in progress is played check-or-fold to its end, then your stack \
             is cashed out"
        }
    };
    tracing::info!(agent = %agent.id, table = %id, "agent left");
    Ok(Json(Left {
        success: true,
        message: message.into(),
    }))
}

/// How to play here, for agents (and the people who write them).
pub async fn skill_doc(State(state): State<AgentsState>, headers: HeaderMap) -> impl IntoResponse {
    let text = include_str!("../skill.md")
        .replace("{base_url}", &base_url(&state, &headers))
        .replace("{ws_url}", &ws_url(&state, &headers));
    (
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        text,
    )
}

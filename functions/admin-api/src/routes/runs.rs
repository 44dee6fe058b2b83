//! `/v1/admin/simulations/runs/{id}`: one run, its logs, and its hands as hand histories.

use super::simulations::RunView;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use simrunner::domain::RunId;
use simrunner::store::hand_histories::{self, View};
use simrunner::store::{self, recording};
use utoipa::ToSchema;
use web::extract::QueryParams;
use web::phh::{self, HandRange};

/// One log stream: `simulation-summary` or `agent-<seat>-<type>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogFile {
    pub name: String,
    /// The stream's JSON lines, in order.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunLogs {
    pub run_id: String,
    /// The summary first, then one stream per agent.
    pub files: Vec<LogFile>,
}

fn parse_id(id: &str) -> Result<RunId, ApiError> {
    RunId::parse(id).ok_or_else(|| ApiError::not_found("run", id))
}

/// One run.
#[utoipa::path(get, path = "/v1/admin/simulations/runs/{id}", tag = "simulations",
    params(("id" = String, Path, description = "run_…")),
    security(("bearer" = [])),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    let run_id = parse_id(&id)?;
    let client = state.db().await?;
    let run = store::get_run(&client, &run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run", &id))?;
    Ok(Json(run.into()))
}

/// A run's log streams. Only the most recent runs keep their logs (5 unless the runner is
/// told otherwise); older runs answer 404 `logs_expired`.
#[utoipa::path(get, path = "/v1/admin/simulations/runs/{id}/logs", tag = "simulations",
    params(("id" = String, Path, description = "run_…")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RunLogs),
        (status = 404, description = "`not_found` or `logs_expired`", body = ErrorBody),
    ))]
pub async fn get_run_logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunLogs>, ApiError> {
    let run_id = parse_id(&id)?;
    let client = state.db().await?;
    match recording::read_run_logs(&client, &run_id).await? {
        recording::RunLogs::Unknown => Err(ApiError::not_found("run", &id)),
        recording::RunLogs::Expired => Err(ApiError::new(
            ErrorCode::LogsExpired,
            format!(
                "the logs of run {id} were deleted by log retention; only recent runs keep them"
            ),
        )),
        recording::RunLogs::Streams(streams) => Ok(Json(RunLogs {
            run_id: id,
            files: streams
                .into_iter()
                .map(|(name, entries)| LogFile { name, entries })
                .collect(),
        })),
    }
}

/// A run's finished hands as one `.phhs` file (Poker Hand History, one TOML table per hand
/// named by its number) with every seat's hole cards. `from` and `to` cut it to a range of
/// hands; a run that never opened a table has none.
#[utoipa::path(get, path = "/v1/admin/simulations/runs/{id}/hands.phhs", tag = "simulations",
    params(("id" = String, Path, description = "run_…"), HandRange),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "A `.phhs` download"),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_run_hand_histories(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(range): QueryParams<HandRange>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let run_id = parse_id(&id)?;
    let numbers = range.numbers()?;
    let client = state.db().await?;
    let table = hand_histories::run_table(&client, run_id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("run", &id))?;
    let mut body = String::new();
    if let Some(table) = table {
        hand_histories::visit(
            &client,
            &table.id,
            &table.seats,
            View::Full,
            numbers,
            |hand| Ok(hand.write_phhs_entry(&mut body)?),
        )
        .await?;
    }
    Ok(phh::download(
        body,
        &format!("{}.phhs", run_id.as_str()),
        &headers,
    ))
}

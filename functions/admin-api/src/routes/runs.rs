//! `/v1/admin/simulations/runs/{id}`: one run, its logs, and its hands as hand histories.

use super::simulations::RunView;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use simrunner::domain::RunId;
use simrunner::store::hand_histories::{self, View};
use simrunner::store::{self, recording};
use utoipa::{IntoParams, ToSchema};
use web::extract::QueryParams;
use web::json::Json;
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

/// One of a run's tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunTableView {
    /// `tbl_…`: its watch page is `/watch/{id}`.
    pub id: String,
    /// Its place in the run, from 1.
    pub position: i16,
    pub name: Option<String>,
    /// `open` or `ended`.
    pub status: String,
    pub hands_played: i64,
}

/// A run with the tables it opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunView,
    /// Every table it opened, in position order (a run plays its config's `tables`; none
    /// before it opens them).
    pub tables: Vec<RunTableView>,
}

fn parse_id(id: &str) -> Result<RunId, ApiError> {
    RunId::parse(id).ok_or_else(|| ApiError::not_found("run", id))
}

/// One run, with its tables.
#[utoipa::path(get, path = "/v1/admin/simulations/runs/{id}", tag = "simulations",
    params(("id" = String, Path, description = "run_…")),
    security(("bearer" = [])),
    responses((status = 200, body = RunDetail), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    let run_id = parse_id(&id)?;
    let client = state.db().await?;
    let run = store::get_run(&client, &run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run", &id))?;
    let tables = store::run_tables(&client, &run_id).await?;
    Ok(Json(RunDetail {
        run: run.into(),
        tables: tables
            .into_iter()
            .map(|t| RunTableView {
                id: t.id,
                position: t.position,
                name: t.name,
                status: t.status,
                hands_played: t.hands_played,
            })
            .collect(),
    }))
}

/// Which of a run's tables and hands a `.phhs` download holds.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunHands {
    /// A multi-table run's table, by position (default 1, the first).
    #[param(minimum = 1, maximum = 50)]
    pub table: Option<i16>,
    /// The first hand (default 1).
    #[param(minimum = 1)]
    pub from: Option<i64>,
    /// The last hand (default: the last finished one); not before `from`.
    #[param(minimum = 1)]
    pub to: Option<i64>,
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

/// A run's finished hands at one of its tables as one `.phhs` file (Poker Hand History, one
/// TOML table per hand named by its number) with every seat's hole cards. `table` picks a
/// multi-table run's table (default the first); `from` and `to` cut it to a range of hands;
/// a run that never opened that table has none.
#[utoipa::path(get, path = "/v1/admin/simulations/runs/{id}/hands.phhs", tag = "simulations",
    params(("id" = String, Path, description = "run_…"), RunHands),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "A `.phhs` download"),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_run_hand_histories(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<RunHands>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let run_id = parse_id(&id)?;
    let numbers = HandRange {
        from: query.from,
        to: query.to,
    }
    .numbers()?;
    let position = query.table.unwrap_or(1);
    if !(1..=50).contains(&position) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("table is a table's position in the run, 1 to 50 (got {position})"),
        ));
    }
    let client = state.db().await?;
    let table = hand_histories::run_table(&client, run_id.as_str(), position)
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

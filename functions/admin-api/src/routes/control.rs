//! Starting and stopping runs: `POST /v1/admin/simulations/{id}/start`, `…/{id}/stop` and
//! `POST /v1/admin/simulations/emergency-stop`. Start goes through the same dispatch path as
//! the scheduler, with trigger `manual`.

use super::simulations::RunView;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use simrunner::dispatch::{self, Started, Trigger};
use simrunner::domain::SimulationId;
use utoipa::ToSchema;

fn parse_id(id: &str) -> Result<SimulationId, ApiError> {
    SimulationId::parse(id).ok_or_else(|| ApiError::not_found("simulation", id))
}

/// Starts a run now (a paused config becomes active). 409 `simulation_running` while one of
/// its runs is active or the concurrency limit is reached.
#[utoipa::path(post, path = "/v1/admin/simulations/{id}/start", tag = "simulations",
    params(("id" = String, Path, description = "sim_…")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Queued and launched", body = RunView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`simulation_running`", body = ErrorBody),
        (status = 502, description = "`launch_failed`: the run was closed failed", body = ErrorBody),
        (status = 503, description = "`launcher_unavailable`", body = ErrorBody),
    ))]
pub async fn start_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let config = parse_id(&id)?;
    let launcher = state.runs.launcher.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::LauncherUnavailable,
            "no launcher is configured here (SIMRUNNER_LAUNCHER), so runs cannot start",
        )
    })?;
    let started = dispatch::start_run(
        &state.pool,
        launcher,
        &config,
        Trigger::Manual,
        Utc::now(),
        &state.runs.policy,
    )
    .await?;
    match started {
        Started::Launched(run) => Ok((StatusCode::CREATED, Json((*run).into()))),
        Started::LaunchFailed(run, reason) => Err(ApiError::new(
            ErrorCode::LaunchFailed,
            format!(
                "run {} could not be launched and was closed failed: {reason}",
                run.id
            ),
        )),
        Started::NotFound => Err(ApiError::not_found("simulation", &id)),
        // A manual start skips only for an active run or a full concurrency limit.
        Started::Skipped { message, .. } => {
            Err(ApiError::new(ErrorCode::SimulationRunning, message))
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StopResult {
    /// The run asked to stop, if one was active; it finishes its hand and closes cancelled.
    pub stopping_run: Option<String>,
    /// Always `paused` afterwards.
    pub status: &'static str,
}

/// Asks the active run to stop and pauses the config.
#[utoipa::path(post, path = "/v1/admin/simulations/{id}/stop", tag = "simulations",
    params(("id" = String, Path, description = "sim_…")),
    security(("bearer" = [])),
    responses((status = 200, body = StopResult), (status = 404, body = ErrorBody)))]
pub async fn stop_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StopResult>, ApiError> {
    let config = parse_id(&id)?;
    let mut client = state.db().await?;
    match dispatch::stop_simulation(&mut client, &config, Utc::now()).await? {
        None => Err(ApiError::not_found("simulation", &id)),
        Some(run) => {
            tracing::info!(simulation = %config, run = ?run, "stop requested");
            Ok(Json(StopResult {
                stopping_run: run.map(|r| r.to_string()),
                status: "paused",
            }))
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyStopResult {
    /// Every run that was active: each finishes its hand and closes cancelled.
    pub stopping_runs: Vec<String>,
    /// How many periodic configs were paused.
    pub paused_simulations: u64,
}

/// Stops every active run and pauses every periodic config.
#[utoipa::path(post, path = "/v1/admin/simulations/emergency-stop", tag = "simulations",
    security(("bearer" = [])),
    responses((status = 200, body = EmergencyStopResult)))]
pub async fn emergency_stop(
    State(state): State<AppState>,
) -> Result<Json<EmergencyStopResult>, ApiError> {
    let mut client = state.db().await?;
    let (runs, paused) = dispatch::emergency_stop(&mut client, Utc::now()).await?;
    tracing::warn!(runs = runs.len(), paused, "emergency stop");
    Ok(Json(EmergencyStopResult {
        stopping_runs: runs.iter().map(ToString::to_string).collect(),
        paused_simulations: paused,
    }))
}

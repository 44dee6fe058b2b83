//! Starting and stopping runs: `POST /v1/admin/simulations/{id}/start`, `…/{id}/stop` and
//! `POST /v1/admin/simulations/emergency-stop`. Start goes through the same dispatch path as
//! the scheduler, with trigger `manual`.

use super::simulations::RunView;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use simrunner::dispatch::{self, SkipReason, Started, Trigger};
use simrunner::domain::{Provider, SimulationId};
use simrunner::schedule::{ScheduleSpec, Scheduler};
use simrunner::store;
use utoipa::ToSchema;
use web::json::Json;

fn parse_id(id: &str) -> Result<SimulationId, ApiError> {
    SimulationId::parse(id).ok_or_else(|| ApiError::not_found("simulation", id))
}

/// Starts a run now (a paused config becomes active). 409 `simulation_running` while one of
/// its runs is active or the concurrency limit is reached; 422 `missing_api_key` when an LLM
/// seat's provider has no stored key.
#[utoipa::path(post, path = "/v1/admin/simulations/{id}/start", tag = "simulations",
    params(("id" = String, Path, description = "sim_…")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Queued and launched", body = RunView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`simulation_running`", body = ErrorBody),
        (status = 422, description = "`missing_api_key`: the message names the providers", body = ErrorBody),
        (status = 502, description = "`launch_failed`: the run was closed failed; `scheduler_failed`", body = ErrorBody),
        (status = 503, description = "`launcher_unavailable`, `scheduler_unavailable`", body = ErrorBody),
    ))]
pub async fn start_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let config = parse_id(&id)?;
    launcher(&state)?;
    // Starting resumes a paused config: its schedule is enabled first. Should the start
    // then be refused, an enabled schedule on a paused config only records `paused` skips
    // (and reconcile disables it); the other order could leave an active config unscheduled.
    let record = store::get_simulation(&state.db().await?, &config)
        .await?
        .ok_or_else(|| ApiError::not_found("simulation", &id))?;
    if !record.missing_keys.is_empty() {
        return Err(missing_api_key(&record.missing_keys));
    }
    if let Some(schedule) = ScheduleSpec::of(&record.spec)
        && !schedule.enabled
    {
        let enabled = ScheduleSpec {
            enabled: true,
            ..schedule
        };
        state.runs.scheduler.sync(&config, Some(enabled)).await?;
    }
    let run = launch(&state, &config).await?;
    Ok((StatusCode::CREATED, Json((*run).into())))
}

fn launcher(state: &AppState) -> Result<&simrunner::launch::Launcher, ApiError> {
    state.runs.launcher.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::LauncherUnavailable,
            "no launcher is configured here (SIMRUNNER_LAUNCHER), so runs cannot start",
        )
    })
}

/// Starts a run of `config` now (the code path every start takes) and answers what the API
/// says about it: the run, or why none started.
pub(crate) async fn launch(
    state: &AppState,
    config: &SimulationId,
) -> Result<Box<simrunner::store::RunRecord>, ApiError> {
    let started = dispatch::start_run(
        &state.pool,
        launcher(state)?,
        config,
        Trigger::Manual,
        Utc::now(),
        &state.runs.policy,
    )
    .await?;
    match started {
        Started::Launched(run) => Ok(run),
        Started::LaunchFailed(run, reason) => Err(ApiError::new(
            ErrorCode::LaunchFailed,
            format!(
                "run {} could not be launched and was closed failed: {reason}",
                run.id
            ),
        )),
        Started::NotFound => Err(ApiError::not_found("simulation", config.as_str())),
        // A key deleted since the check above.
        Started::Skipped {
            reason: SkipReason::MissingApiKey,
            message,
            ..
        } => Err(ApiError::new(ErrorCode::MissingApiKey, message)),
        // Otherwise a manual start skips only for an active run or a full concurrency limit.
        Started::Skipped { message, .. } => {
            Err(ApiError::new(ErrorCode::SimulationRunning, message))
        }
    }
}

fn missing_api_key(providers: &[Provider]) -> ApiError {
    let names: Vec<&str> = providers.iter().map(|p| p.as_str()).collect();
    ApiError::new(
        ErrorCode::MissingApiKey,
        format!(
            "no API key is stored for {}, which this simulation's LLM seats need; add one with \
             POST /v1/admin/api-keys",
            names.join(", ")
        ),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StopResult {
    /// The run asked to stop, if one was active; it finishes its hand and closes cancelled.
    pub stopping_run: Option<String>,
    /// Always `paused` afterwards.
    pub status: &'static str,
    /// Set when the config is paused but its schedule could not be disabled; its triggers
    /// are then skipped as `paused` until reconcile disables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_error: Option<String>,
}

/// Disables the schedules of configs that were just paused. Best effort, after the pause
/// committed: stopping must work when the scheduler does not, and a paused config's
/// schedule can only cause `paused` skips until reconcile disables it.
async fn disable_schedules(state: &AppState, configs: &[SimulationId]) -> Vec<String> {
    if matches!(state.runs.scheduler, Scheduler::Local) {
        // The local ticker reads the configs themselves: nothing to disable.
        return Vec::new();
    }
    let client = match state.db().await {
        Ok(client) => client,
        Err(_) => {
            return vec![
                "the database is unavailable; reconcile will disable the schedules".into(),
            ];
        }
    };
    let mut errors = Vec::new();
    for config in configs {
        let synced = async {
            let record = store::get_simulation(&client, config)
                .await
                .map_err(|e| e.to_string())?;
            match record.and_then(|r| ScheduleSpec::of(&r.spec)) {
                Some(schedule) => state
                    .runs
                    .scheduler
                    .sync(config, Some(schedule))
                    .await
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            }
        };
        if let Err(error) = synced.await {
            tracing::warn!(simulation = %config, %error, "disabling a paused config's schedule");
            errors.push(format!("{config}: {error}"));
        }
    }
    errors
}

/// Asks the active run to stop and pauses the config (and disables its schedule).
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
    let Some(run) = dispatch::stop_simulation(&mut client, &config, Utc::now()).await? else {
        return Err(ApiError::not_found("simulation", &id));
    };
    drop(client);
    tracing::info!(simulation = %config, run = ?run, "stop requested");
    let schedule_error = disable_schedules(&state, std::slice::from_ref(&config))
        .await
        .pop();
    Ok(Json(StopResult {
        stopping_run: run.map(|r| r.to_string()),
        status: "paused",
        schedule_error,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyStopResult {
    /// Every run that was active: each finishes its hand and closes cancelled.
    pub stopping_runs: Vec<String>,
    /// How many periodic configs were paused.
    pub paused_simulations: u64,
    /// Schedules that could not be disabled (their configs are paused all the same).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule_errors: Vec<String>,
}

/// Stops every active run and pauses every periodic config (and disables their schedules).
#[utoipa::path(post, path = "/v1/admin/simulations/emergency-stop", tag = "simulations",
    security(("bearer" = [])),
    responses((status = 200, body = EmergencyStopResult)))]
pub async fn emergency_stop(
    State(state): State<AppState>,
) -> Result<Json<EmergencyStopResult>, ApiError> {
    let mut client = state.db().await?;
    let (runs, paused) = dispatch::emergency_stop(&mut client, Utc::now()).await?;
    drop(client);
    tracing::warn!(runs = runs.len(), paused = paused.len(), "emergency stop");
    let schedule_errors = disable_schedules(&state, &paused).await;
    Ok(Json(EmergencyStopResult {
        stopping_runs: runs.iter().map(ToString::to_string).collect(),
        paused_simulations: paused.len() as u64,
        schedule_errors,
    }))
}

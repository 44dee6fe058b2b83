//! simrunner as a platform for another client (admin-create mode of the agent protocol):
//! `POST /v1/admin/tables` opens a table whose seats are all external, waiting for agents;
//! `…/{id}/start` deals its first hand with whoever took a seat; `…/{id}/stop` ends it after
//! the hand in play. Behind each hosted table is a one-off config (named after the table and
//! marked hosted) and its run, started at once; the run's runner plays the table as it plays
//! any table with external seats.

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::JsonBody;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use protocol::rest::{Blinds, CreateTable, CreatedTable, SeatInfo, TableControl, TableRules};
use simrunner::domain::{AgentSlotDraft, Limits, SimulationDraft};
use simrunner::secrets::random_hex;
use simrunner::store::recording::{self, NewTable};
use simrunner::store::seating::{self, InboxKind};
use simrunner::store::{self, StoreError};
use web::json::Json;

/// What a hosted table waits for its client's start, at most: the longest join timeout.
const WAIT_FOR_START_SECONDS: i64 = *Limits::JOIN_TIMEOUT_SECONDS.end();

/// The hosted table `id`, or `404 not_found`.
async fn hosted(
    client: &impl deadpool_postgres::GenericClient,
    id: &str,
) -> Result<seating::HostedTable, ApiError> {
    seating::hosted_table(client, id)
        .await?
        .ok_or_else(|| ApiError::not_found("hosted table", id))
}

/// Opens a table for a remote client: every seat external, waiting for its agents to join
/// (`POST /v1/tables/{id}/join`) and for `…/start`.
#[utoipa::path(post, path = "/v1/admin/tables", tag = "hosted-tables",
    request_body = CreateTable,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedTable),
        (status = 409, description = "`simulation_running`: the limit of active runs is reached", body = ErrorBody),
        (status = 502, description = "`launch_failed`", body = ErrorBody),
        (status = 503, description = "`launcher_unavailable`", body = ErrorBody),
    ))]
pub async fn create_table(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateTable>,
) -> Result<(StatusCode, Json<CreatedTable>), ApiError> {
    let rules = input.config;
    let seats = rules.max_seats.unwrap_or(9);
    if !(2..=9).contains(&seats) {
        return Err(ApiError::validation("config.maxSeats", "must be 2 to 9"));
    }
    if rules
        .min_players_to_start
        .is_some_and(|m| m < 2 || m > seats)
    {
        return Err(ApiError::validation(
            "config.minPlayersToStart",
            "must be 2 to maxSeats",
        ));
    }
    let table_id = format!("tbl_{}", random_hex(16));
    let spec = SimulationDraft {
        name: Some(format!("Hosted table {}", &table_id[4..12])),
        max_hands: Some(*Limits::MAX_HANDS.end()),
        max_run_minutes: Some(*Limits::MAX_RUN_MINUTES.end()),
        pace: Some("live".into()),
        agent_slots: Some(
            (0..seats)
                .map(|_| AgentSlotDraft {
                    agent_type: Some("external".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        small_blind: Some(rules.blinds.small),
        big_blind: Some(rules.blinds.big),
        initial_stack: Some(rules.initial_stack.unwrap_or(1000)),
        action_timeout_ms: Some(rules.action_timeout_ms.unwrap_or(30_000)),
        join_timeout_seconds: Some(WAIT_FOR_START_SECONDS),
        hosted_table: Some(table_id.clone()),
        ..Default::default()
    }
    .validate()?;
    let table = spec.table();
    let record = store::insert_simulation(&state.db().await?, &spec).await?;
    let run = match super::control::launch(&state, &record.id).await {
        Ok(run) => run,
        Err(error) => {
            // Nothing is left behind for a table that never opened.
            store::delete_simulation(&state.db().await?, &record.id).await?;
            return Err(error);
        }
    };
    // Opened here so the answer can name it; the runner adopts it (whichever comes first).
    let bucket_key = input
        .bucket_key
        .unwrap_or_else(|| record.bucket_key.clone());
    let seats_json = serde_json::Value::Array(
        (0..seats)
            .map(|seat| serde_json::json!({"seat": seat, "name": format!("open-seat-{seat}"), "type": "external", "model": null}))
            .collect(),
    );
    let mut client = state.db().await?;
    recording::open_table(
        &mut client,
        &NewTable {
            id: &table_id,
            run: &run.id,
            name: spec.name(),
            bucket_key: &bucket_key,
            small_blind: table.blinds.small,
            big_blind: table.blinds.big,
            initial_stack: table.initial_stack,
            action_timeout_ms: table.action_timeout_ms,
            seats: seats_json,
            waits_for_agents: true,
            position: 1,
        },
    )
    .await?;
    let open: Vec<(i16, Option<&str>)> = (0..seats as i16).map(|s| (s, None)).collect();
    seating::open_external_seats(&client, &table_id, &open).await?;
    tracing::info!(table = %table_id, run = %run.id, "opened a hosted table");
    Ok((
        StatusCode::CREATED,
        Json(CreatedTable {
            id: table_id,
            status: "waiting".into(),
            config: TableRules {
                blinds: Blinds {
                    small: table.blinds.small,
                    big: table.blinds.big,
                },
                max_seats: seats,
                initial_stack: table.initial_stack,
                action_timeout_ms: table.action_timeout_ms,
                min_players_to_start: rules.min_players_to_start.unwrap_or(2),
            },
            seats: (0..seats)
                .map(|seat| SeatInfo {
                    seat_id: seat,
                    agent_id: None,
                    agent_name: None,
                    stack: table.initial_stack,
                    is_active: false,
                })
                .collect(),
            created_at: Utc::now().to_rfc3339(),
        }),
    ))
}

/// Deals the hosted table's first hand with the agents that took a seat (at least two);
/// the seats nobody took are left out.
#[utoipa::path(post, path = "/v1/admin/tables/{id}/start", tag = "hosted-tables",
    params(("id" = String, Path, description = "tbl_…")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TableControl),
        (status = 404, description = "`not_found`: no hosted table with that id", body = ErrorBody),
        (status = 409, description = "`table_ended`: the table has ended", body = ErrorBody),
    ))]
pub async fn start_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TableControl>, ApiError> {
    let mut client = state.db().await?;
    let hosted = hosted(&client, &id).await?;
    if hosted.ended {
        return Err(ApiError::new(
            ErrorCode::TableEnded,
            format!("table {id} has ended; create another"),
        ));
    }
    if !hosted.started {
        seating::push_from_connection(
            &mut client,
            &id,
            0,
            InboxKind::Start,
            &serde_json::json!({}),
        )
        .await?;
    }
    Ok(Json(TableControl {
        success: true,
        status: "running".into(),
        message: if hosted.started {
            "the table is already running".into()
        } else {
            "the table deals its first hand with the agents seated now".into()
        },
    }))
}

/// Ends the hosted table after the hand in play (seats cashed out; the table's feed ends).
#[utoipa::path(post, path = "/v1/admin/tables/{id}/stop", tag = "hosted-tables",
    params(("id" = String, Path, description = "tbl_…")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TableControl),
        (status = 404, description = "`not_found`: no hosted table with that id", body = ErrorBody),
    ))]
pub async fn stop_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TableControl>, ApiError> {
    let mut client = state.db().await?;
    let hosted = hosted(&client, &id).await?;
    if hosted.ended {
        return Ok(Json(TableControl {
            success: true,
            status: "ended".into(),
            message: "the table had already ended".into(),
        }));
    }
    simrunner::dispatch::stop_simulation(&mut client, &hosted.config, Utc::now())
        .await
        .map_err(|e: StoreError| ApiError::from(e))?;
    tracing::info!(table = %id, "stop requested for a hosted table");
    Ok(Json(TableControl {
        success: true,
        status: "ended".into(),
        message: "the table ends after the hand in play".into(),
    }))
}

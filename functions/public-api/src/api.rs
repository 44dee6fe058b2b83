//! `/v1/public/*`: tables, their feed (JSON pages or Server-Sent Events) and finished hands.
//! No auth; read-only; hole cards only as shown at showdown. Responses carry `ETag` and
//! `Cache-Control` (a second for live data, a day for what can no longer change) so a CDN or
//! API Gateway's cache can absorb visitors.

use crate::PublicState;
use crate::view::{TableState, describe};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use simrunner::store::Cursor;
use simrunner::store::public::{self, FeedEvent, PublicHand, PublicTable};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};
use web::error::{ApiError, ErrorBody, ErrorCode};
use web::extract::QueryParams;
use web::phh::{self, HandRange};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_TABLES: i64 = 100;
pub const MAX_EVENTS: i64 = 500;

/// Live data may be a second old in a shared cache; what can no longer change, a day.
const LIVE_CACHE: &str = "public, max-age=1";
const FINAL_CACHE: &str = "public, max-age=86400";

/// JSON with a strong `ETag` from its bytes; `304` when the client already has it.
pub(crate) fn cached_json(
    body: &impl Serialize,
    cache: &'static str,
    request: &HeaderMap,
) -> Response {
    let bytes = serde_json::to_vec(body).expect("views serialise");
    cached(bytes, "application/json", cache, request)
}

/// A body of `content_type` with a strong `ETag` from its bytes; `304` when the client
/// already has it.
fn cached(
    bytes: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
    request: &HeaderMap,
) -> Response {
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
    let headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is header-safe"),
        ),
    ];
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        });
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        headers,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Blinds {
    pub small: i64,
    pub big: i64,
}

/// A seat as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatSummary {
    pub seat: usize,
    pub name: String,
    /// `random`, `tight`, `callstation`, `autonomous` or `protocol`.
    pub kind: String,
    /// `provider:model` for LLM seats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// After the last finished hand.
    pub stack: i64,
}

/// A table in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableSummary {
    pub id: String,
    /// The simulation's name (or the table's bucket key).
    pub name: String,
    /// `live` or `ended`.
    pub status: &'static str,
    pub blinds: Blinds,
    pub seats: Vec<SeatSummary>,
    pub hands_played: i64,
    /// The hand being played (live) or the last one.
    pub hand_number: i64,
    pub started_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

pub(crate) fn status_name(table: &PublicTable) -> &'static str {
    if table.status == "open" {
        "live"
    } else {
        "ended"
    }
}

impl From<&PublicTable> for TableSummary {
    fn from(table: &PublicTable) -> Self {
        let state = TableState::new(&table.seats, table.stacks.as_ref(), table.initial_stack);
        let live = table.status == "open";
        Self {
            id: table.id.clone(),
            name: table.name.clone(),
            status: status_name(table),
            blinds: Blinds {
                small: table.small_blind,
                big: table.big_blind,
            },
            seats: state
                .seats
                .into_iter()
                .map(|s| SeatSummary {
                    seat: s.seat,
                    name: s.name,
                    kind: s.kind,
                    model: s.model,
                    stack: s.stack,
                })
                .collect(),
            hands_played: table.hands_played,
            hand_number: table.hands_played + i64::from(live),
            started_at: table.started_at,
            last_event_at: table.last_event_at,
            ended_at: table.ended_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableList {
    pub items: Vec<TableSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many tables are live and ended in all.
    pub counts: TableCounts,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableCounts {
    pub live: i64,
    pub ended: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TableListParams {
    /// `live` or `ended`; both when absent.
    #[param(pattern = "^(live|ended)$")]
    pub status: Option<String>,
    /// Tables per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

fn limit_in(limit: Option<i64>, field: &str, max: i64) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT.min(max));
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("{field} must be from 1 to {max} (got {limit})"),
        ))
    }
}

fn cursor(text: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    text.map(|c| {
        Cursor::decode(c).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not one this API issued; start again without it",
            )
        })
    })
    .transpose()
}

/// Maps `live`/`ended` to the stored status.
pub(crate) fn stored_status(status: Option<&str>) -> Result<Option<&'static str>, ApiError> {
    match status {
        None => Ok(None),
        Some("live") => Ok(Some("open")),
        Some("ended") => Ok(Some("ended")),
        Some(other) => Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("status must be live or ended (got {other:?})"),
        )),
    }
}

/// Tables by latest activity, newest first.
#[utoipa::path(get, path = "/v1/public/tables", tag = "public",
    params(TableListParams),
    responses(
        (status = 200, body = TableList, description = "Cached for a second"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody, description = "`invalid_query`, `invalid_cursor`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn list_tables(
    State(state): State<PublicState>,
    QueryParams(params): QueryParams<TableListParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let status = stored_status(params.status.as_deref())?;
    let limit = limit_in(params.limit, "limit", MAX_TABLES)?;
    let after = cursor(params.cursor.as_deref())?;
    let client = state.db().await?;
    let page = public::list_tables(&client, status, limit, after.as_ref()).await?;
    let (live, ended) = public::count_tables(&client).await?;
    let list = TableList {
        items: page.items.iter().map(TableSummary::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
        counts: TableCounts { live, ended },
    };
    Ok(cached_json(&list, LIVE_CACHE, &headers))
}

/// A table with its current public state.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableDetail {
    #[serde(flatten)]
    pub table: TableSummary,
    pub state: TableState,
    /// The feed's last event: follow with `events?after=` or `stream?after=`.
    pub last_seq: i64,
    /// Where the current hand starts in the feed.
    pub hand_first_seq: Option<i64>,
}

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::not_found("table", id)
}

/// A table, its state folded from the feed's latest events.
pub(crate) async fn table_detail(
    state: &PublicState,
    id: &str,
) -> Result<(TableDetail, Vec<FeedEvent>), ApiError> {
    let client = state.db().await?;
    let table = public::get_table(&client, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let events = public::latest_events(&client, id, MAX_EVENTS).await?;
    let first = events.iter().rposition(|e| e.kind == "hand_started");
    let current = first.map(|i| events[i..].to_vec()).unwrap_or_default();
    let table_state = TableState::new(&table.seats, table.stacks.as_ref(), table.initial_stack)
        .from_events(&current);
    let detail = TableDetail {
        table: TableSummary::from(&table),
        state: table_state,
        last_seq: events.last().map(|e| e.seq).unwrap_or(table.last_seq),
        hand_first_seq: current.first().map(|e| e.seq),
    };
    Ok((detail, current))
}

/// A table and what is happening at it now.
#[utoipa::path(get, path = "/v1/public/tables/{id}", tag = "public",
    params(("id" = String, Path, description = "tbl_…")),
    responses(
        (status = 200, body = TableDetail, description = "Cached for a second while live, a day once ended"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn get_table(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (detail, _) = table_detail(&state, &id).await?;
    let cache = if detail.table.status == "ended" {
        FINAL_CACHE
    } else {
        LIVE_CACHE
    };
    Ok(cached_json(&detail, cache, &headers))
}

/// One feed event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub hand: Option<i64>,
    /// `table_opened`, `hand_started`, `blind_posted`, `action`, `street_dealt`,
    /// `uncalled_bet_returned`, `showdown`, `pot_awarded`, `hand_complete`, `hand_aborted`,
    /// `player_left` (an outside agent left, with the stack it took),
    /// `table_ended`.
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The event's values: each carries what it changes (stack, bet, pot after it; `to_act`
    /// when the turn moves), so a viewer needs no poker logic.
    #[schema(value_type = Object)]
    pub data: Value,
    /// The event in words, for an action log.
    pub text: Option<String>,
}

impl EventView {
    pub(crate) fn new(event: &FeedEvent, names: &[String]) -> Self {
        let name_of = |seat: usize| {
            names
                .get(seat)
                .cloned()
                .unwrap_or_else(|| format!("seat {seat}"))
        };
        Self {
            seq: event.seq,
            hand: event.hand_number,
            kind: event.kind.clone(),
            at: event.at,
            data: event.payload.clone(),
            text: describe(&event.kind, &event.payload, name_of),
        }
    }
}

pub(crate) fn seat_names(seats: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for seat in seats.as_array().into_iter().flatten() {
        let index = seat["seat"].as_u64().unwrap_or(0) as usize;
        if names.len() <= index {
            names.resize(index + 1, String::new());
        }
        names[index] = seat["name"].as_str().unwrap_or("?").to_owned();
    }
    names
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub table_id: String,
    /// `live` or `ended`.
    pub status: &'static str,
    pub events: Vec<EventView>,
    /// Pass as `after` for what follows.
    pub next_after: i64,
    /// More events are already there: ask again at once.
    pub has_more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// The last `seq` already seen (0 for the beginning).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Events per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The ordered public feed after a cursor. A watched table is answered from memory.
#[utoipa::path(get, path = "/v1/public/tables/{id}/events", tag = "public",
    params(("id" = String, Path, description = "tbl_…"), EventParams),
    responses(
        (status = 200, body = EventPage, description = "Cached for a second while live, a day once ended"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody, description = "`invalid_query`"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn list_events(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<EventParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let after = params.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "after must be 0 or more",
        ));
    }
    let limit = limit_in(params.limit, "limit", MAX_EVENTS)?;
    let table = {
        let client = state.db().await?;
        public::get_table(&client, &id)
            .await?
            .ok_or_else(|| not_found(&id))?
    };
    let names = seat_names(&table.seats);
    let feed = state.hub.feed(&id).await?;
    // One more than asked says whether there is more.
    let events: Vec<FeedEvent> = match feed.recent_after(after, limit as usize + 1) {
        Some(events) => events.iter().map(|e| (**e).clone()).collect(),
        None => {
            let client = state.db().await?;
            public::events_after(&client, &id, after, limit + 1).await?
        }
    };
    let has_more = events.len() as i64 > limit;
    let events: Vec<EventView> = events
        .iter()
        .take(limit as usize)
        .map(|e| EventView::new(e, &names))
        .collect();
    let ended = table.status == "ended" || feed.ended();
    let page = EventPage {
        table_id: id,
        status: if ended { "ended" } else { "live" },
        next_after: events.last().map(|e| e.seq).unwrap_or(after),
        has_more,
        events,
    };
    let cache = if ended { FINAL_CACHE } else { LIVE_CACHE };
    Ok(cached_json(&page, cache, &headers))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// The last `seq` already seen; the live edge when absent (`Last-Event-ID` wins).
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// How often a stream sends a comment so idle connections stay open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The feed as Server-Sent Events: `id: <seq>`, `event: <type>`, `data:` the event as in
/// `events`; a keep-alive comment every 15 s; `event: end` once the table has ended.
/// Reconnecting with `Last-Event-ID` resumes where the stream left off.
#[utoipa::path(get, path = "/v1/public/tables/{id}/stream", tag = "public",
    params(("id" = String, Path, description = "tbl_…"), StreamParams,
           ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, content_type = "text/event-stream", description = "Server-Sent Events"),
        (status = 400, body = ErrorBody, description = "`invalid_query`"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn stream_events(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let table = {
        let client = state.db().await?;
        public::get_table(&client, &id)
            .await?
            .ok_or_else(|| not_found(&id))?
    };
    let feed = state.hub.feed(&id).await?;
    let after = resume
        .or(params.after)
        .unwrap_or_else(|| feed.last_seq())
        .max(0);
    let names = seat_names(&table.seats);
    let (sender, receiver) = mpsc::channel(64);
    let mut live = feed.subscribe();
    tokio::spawn(async move {
        let mut sent = after;
        let send = |event: &FeedEvent, sent: &mut i64| {
            *sent = event.seq;
            let view = EventView::new(event, &names);
            Event::default()
                .id(event.seq.to_string())
                .event(event.kind.clone())
                .json_data(&view)
                .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
        };
        // What the watcher missed, from memory or the database, then the live feed.
        loop {
            let backlog: Vec<FeedEvent> = match feed.recent_after(sent, usize::MAX) {
                Some(events) => events.iter().map(|e| (**e).clone()).collect(),
                None => match state.db().await {
                    Ok(client) => public::events_after(&client, &feed.table_id, sent, MAX_EVENTS)
                        .await
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                },
            };
            for event in &backlog {
                if sender.send(Ok(send(event, &mut sent))).await.is_err() {
                    return;
                }
            }
            if backlog.is_empty() || sent >= feed.last_seq() {
                break;
            }
        }
        loop {
            if feed.ended() && sent >= feed.last_seq() {
                let _ = sender
                    .send(Ok(Event::default().event("end").data("{}")))
                    .await;
                return;
            }
            match live.recv().await {
                Ok(event) if event.seq > sent => {
                    if sender.send(Ok(send(&event, &mut sent))).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Too slow to keep up: catch up from memory (or the database).
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let missed = feed.recent_after(sent, usize::MAX).unwrap_or_default();
                    for event in missed {
                        if sender.send(Ok(send(&event, &mut sent))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let stream: ReceiverStream<Result<Event, Infallible>> = ReceiverStream::new(receiver);
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")),
    )
        .into_response())
}

/// A finished hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandView {
    /// `<table id>-<number>`
    pub id: String,
    pub table_id: String,
    pub number: i64,
    pub button: i16,
    pub blinds: Blinds,
    pub board: Vec<String>,
    /// `[{"pot", "amount", "eligible", "winners"}]`, main pot first.
    #[schema(value_type = Vec<Object>)]
    pub pots: Value,
    /// Seats that won a pot.
    pub winners: Vec<u64>,
    /// `[{"seat", "cards", "rank"}]`: only the cards shown at showdown.
    #[schema(value_type = Vec<Object>)]
    pub shown: Value,
    /// `[{"seat", "start_stack", "end_stack", "net"}]`
    #[schema(value_type = Vec<Object>)]
    pub seats: Value,
    /// Where the hand starts in the feed (`events?after=first_seq-1` replays it).
    pub first_seq: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

impl From<PublicHand> for HandView {
    fn from(hand: PublicHand) -> Self {
        let mut winners: Vec<u64> = hand
            .pots
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["winners"].as_array().cloned().unwrap_or_default())
            .filter_map(|w| w.as_u64())
            .collect();
        winners.sort_unstable();
        winners.dedup();
        Self {
            id: format!("{}-{}", hand.table_id, hand.number),
            table_id: hand.table_id,
            number: hand.number,
            button: hand.button,
            blinds: Blinds {
                small: hand.small_blind,
                big: hand.big_blind,
            },
            board: hand.board,
            pots: hand.pots,
            winners,
            shown: hand.shown,
            seats: hand.seats,
            first_seq: hand.first_seq,
            started_at: hand.started_at,
            completed_at: hand.completed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandList {
    pub items: Vec<HandView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HandListParams {
    /// Hands per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A table's finished hands, newest first.
#[utoipa::path(get, path = "/v1/public/tables/{id}/hands", tag = "public",
    params(("id" = String, Path, description = "tbl_…"), HandListParams),
    responses(
        (status = 200, body = HandList, description = "Cached for a second while live, a day once ended"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody, description = "`invalid_query`, `invalid_cursor`"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn list_hands(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<HandListParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let limit = limit_in(params.limit, "limit", MAX_TABLES)?;
    let before = match cursor(params.cursor.as_deref())? {
        Some(c) => Some(c.id.parse::<i64>().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not one this API issued",
            )
        })?),
        None => None,
    };
    let client = state.db().await?;
    let table = public::get_table(&client, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let page = public::list_hands(&client, &id, limit, before).await?;
    let list = HandList {
        next_cursor: page.next.map(|c| c.encode()),
        items: page.items.into_iter().map(HandView::from).collect(),
    };
    let cache = if table.status == "ended" {
        FINAL_CACHE
    } else {
        LIVE_CACHE
    };
    Ok(cached_json(&list, cache, &headers))
}

/// How `GET /v1/public/hands/{id}` answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HandFormat {
    /// The hand as JSON (`HandView`).
    #[default]
    Json,
    /// The hand as a PHH document (TOML text), hole cards only as shown at showdown.
    Phh,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HandParams {
    /// `json` (default) or `phh` (the Poker Hand History format, as PokerKit reads it).
    pub format: Option<HandFormat>,
}

/// `<table id>-<number>` split; 404 when it is not one.
fn hand_id(id: &str) -> Result<(&str, i64), ApiError> {
    let missing = || ApiError::not_found("hand", id);
    let (table_id, number) = id.rsplit_once('-').ok_or_else(missing)?;
    Ok((table_id, number.parse().map_err(|_| missing())?))
}

/// One finished hand: it never changes, so it is cached for a day. `?format=phh` answers
/// it as a PHH document.
#[utoipa::path(get, path = "/v1/public/hands/{id}", tag = "public",
    params(("id" = String, Path, description = "`<table id>-<number>`, e.g. tbl_…-12"), HandParams),
    responses(
        (status = 200, description = "The hand: JSON, or with `format=phh` a PHH document",
         content((HandView = "application/json"), (String = "text/plain"))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody, description = "`invalid_query`"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn get_hand(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<HandParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (table_id, number) = hand_id(&id)?;
    let client = state.db().await?;
    if let Some(HandFormat::Phh) = params.format {
        let table = public::get_table(&client, table_id)
            .await?
            .ok_or_else(|| ApiError::not_found("hand", &id))?;
        let mut body = String::new();
        let found = public::hand_histories(&client, &table, number..=number, |hand| {
            Ok(hand.write_phh(&mut body)?)
        })
        .await?;
        if found == 0 {
            return Err(ApiError::not_found("hand", &id));
        }
        return Ok(cached(
            body.into_bytes(),
            phh::CONTENT_TYPE,
            FINAL_CACHE,
            &headers,
        ));
    }
    let hand = public::get_hand(&client, table_id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("hand", &id))?;
    Ok(cached_json(&HandView::from(hand), FINAL_CACHE, &headers))
}

/// A table's finished hands as one `.phhs` file (Poker Hand History, one TOML table per
/// hand named by its number), hole cards only as shown at showdown. `from` and `to` cut it
/// to a range of hands.
#[utoipa::path(get, path = "/v1/public/tables/{id}/hands.phhs", tag = "public",
    params(("id" = String, Path, description = "tbl_…"), HandRange),
    responses(
        (status = 200, content_type = "text/plain", body = String,
         description = "A `.phhs` download; cached for a second while live, a day once ended"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody, description = "`invalid_query`"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 503, body = ErrorBody, description = "`database_unavailable`"),
    ))]
pub async fn table_hand_histories(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    QueryParams(range): QueryParams<HandRange>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let numbers = range.numbers()?;
    let client = state.db().await?;
    let table = public::get_table(&client, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let mut body = String::new();
    public::hand_histories(&client, &table, numbers, |hand| {
        Ok(hand.write_phhs_entry(&mut body)?)
    })
    .await?;
    let cache = if table.status == "ended" {
        FINAL_CACHE
    } else {
        LIVE_CACHE
    };
    let (bytes, gzip) = phh::encode(body, &headers);
    let mut response = cached(bytes, phh::CONTENT_TYPE, cache, &headers);
    phh::describe(&mut response, gzip, &format!("{}.phhs", table.id));
    Ok(response)
}

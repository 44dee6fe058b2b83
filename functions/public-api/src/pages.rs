//! The pages visitors see: `/tables` and `/watch/{table}`, rendered on the server (the first
//! paint needs no script) from compile-time-checked templates that escape everything; a
//! small script per page keeps them live.

use crate::api::{self, EventView, TableSummary, seat_names};
use crate::view::{SeatState, TableState};
use crate::{PublicState, Transport};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use simrunner::store::public;
use web::page::{Asset, Assets, COMMON_SCRIPT, Layout, STYLE, html};

pub static TABLES_SCRIPT: Asset = Asset {
    name: "tables.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/tables.js"),
};

pub static WATCH_SCRIPT: Asset = Asset {
    name: "watch.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/watch.js"),
};

/// The public pages' assets (the shared stylesheet and helpers, and their own scripts).
pub fn assets() -> Assets {
    Assets::new(&[&STYLE, &COMMON_SCRIPT, &TABLES_SCRIPT, &WATCH_SCRIPT])
}

/// `/` leads to the tables.
pub async fn home() -> Redirect {
    Redirect::to("/tables")
}

/// One row of the tables page.
struct TableRow {
    id: String,
    name: String,
    live: bool,
    blinds: String,
    players: Vec<String>,
    hand_number: i64,
    last_event_at: String,
}

impl From<TableSummary> for TableRow {
    fn from(t: TableSummary) -> Self {
        Self {
            id: t.id,
            name: t.name,
            live: t.status == "live",
            blinds: format!("{} / {}", t.blinds.small, t.blinds.big),
            players: t
                .seats
                .into_iter()
                .map(|s| match s.model {
                    Some(model) => format!("{} ({model}) · {}", s.name, s.stack),
                    None => format!("{} · {}", s.name, s.stack),
                })
                .collect(),
            hand_number: t.hand_number,
            last_event_at: t.last_event_at.to_rfc3339(),
        }
    }
}

#[derive(Template)]
#[template(path = "tables.html")]
struct TablesPage {
    layout: Layout,
    script: String,
    /// `live`, `ended`, or empty for all.
    filter: &'static str,
    live: i64,
    ended: i64,
    rows: Vec<TableRow>,
}

#[derive(Debug, Deserialize)]
pub struct TablesQuery {
    status: Option<String>,
}

/// The server answered with an error: a page that says so, with the status.
fn error_page(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

pub async fn tables(
    State(state): State<PublicState>,
    Query(query): Query<TablesQuery>,
) -> Response {
    let filter = match query.status.as_deref() {
        Some("live") => "live",
        Some("ended") => "ended",
        _ => "",
    };
    let page = async {
        let client = state.db().await?;
        let stored = api::stored_status((!filter.is_empty()).then_some(filter))?;
        let page = public::list_tables(&client, stored, api::MAX_TABLES, None).await?;
        let (live, ended) = public::count_tables(&client).await?;
        Ok::<_, web::error::ApiError>(TablesPage {
            layout: state.layout.clone(),
            script: state.assets.url(TABLES_SCRIPT.name).to_owned(),
            filter,
            live,
            ended,
            rows: page
                .items
                .iter()
                .map(|t| TableRow::from(TableSummary::from(t)))
                .collect(),
        })
    };
    match page.await {
        Ok(page) => html(page.render().expect("the tables page renders")),
        Err(error) => error.into_response(),
    }
}

/// A card as a page shows it.
struct CardFace {
    code: String,
    text: String,
    red: bool,
}

fn face(code: &str) -> CardFace {
    let mut chars = code.chars();
    let rank = match chars.next() {
        Some('T') => "10".to_owned(),
        Some(r) => r.to_string(),
        None => "?".to_owned(),
    };
    let suit = chars.next().unwrap_or('?');
    let symbol = match suit {
        's' => '♠',
        'h' => '♥',
        'd' => '♦',
        'c' => '♣',
        other => other,
    };
    CardFace {
        code: code.to_owned(),
        text: format!("{rank}{symbol}"),
        red: matches!(suit, 'h' | 'd'),
    }
}

/// A seat as the watch page shows it.
struct SeatView {
    seat: usize,
    classes: String,
    name: String,
    kind: String,
    stack: i64,
    bet: i64,
    button: bool,
    /// Shown cards; `None` with cards face down (in the hand), empty when not in it.
    shown: Option<Vec<CardFace>>,
    face_down: bool,
    tags: Vec<&'static str>,
    rank: Option<String>,
}

fn seat_view(state: &TableState, seat: &SeatState) -> SeatView {
    let mut classes = vec![format!("seat seat-{}", seat.seat)];
    if state.to_act == Some(seat.seat) {
        classes.push("to-act".into());
    }
    if seat.status == "folded" {
        classes.push("folded".into());
    }
    if seat.winner {
        classes.push("winner".into());
    }
    if seat.kind == "external" {
        classes.push("external".into());
    }
    let mut tags = Vec::new();
    if seat.status == "folded" {
        tags.push("folded");
    }
    if seat.status == "all_in" {
        tags.push("all-in");
    }
    if seat.status == "left" {
        tags.push("left");
    } else if seat.status == "waiting" && seat.stack == 0 {
        tags.push("out");
    }
    if state.small_blind_seat == Some(seat.seat) {
        tags.push("SB");
    }
    if state.big_blind_seat == Some(seat.seat) {
        tags.push("BB");
    }
    let in_hand = matches!(seat.status, "active" | "all_in");
    SeatView {
        seat: seat.seat,
        classes: classes.join(" "),
        name: seat.name.clone(),
        kind: seat
            .model
            .clone()
            .unwrap_or_else(|| crate::view::kind_label(&seat.kind).to_owned()),
        stack: seat.stack,
        bet: seat.bet,
        button: state.button == Some(seat.seat),
        shown: seat
            .cards
            .as_ref()
            .map(|c| c.iter().map(|c| face(c)).collect()),
        face_down: in_hand && seat.cards.is_none(),
        tags,
        rank: seat.rank.clone(),
    }
}

#[derive(Template)]
#[template(path = "watch.html")]
struct WatchPage {
    layout: Layout,
    script: String,
    id: String,
    name: String,
    live: bool,
    transport: &'static str,
    blinds: String,
    seat_count: usize,
    last_seq: i64,
    hand_first_seq: i64,
    hand: Option<i64>,
    street: &'static str,
    board: Vec<Option<CardFace>>,
    pot: i64,
    pots: Vec<String>,
    seats: Vec<SeatView>,
    log: Vec<String>,
    result: String,
}

#[derive(Debug, Deserialize)]
pub struct WatchQuery {
    /// `sse` or `poll`: overrides the server's choice (to try polling locally).
    transport: Option<String>,
}

pub async fn watch(
    State(state): State<PublicState>,
    Path(id): Path<String>,
    Query(query): Query<WatchQuery>,
) -> Response {
    let (detail, events) = match api::table_detail(&state, &id).await {
        Ok(found) => found,
        Err(error) if error.status() == StatusCode::NOT_FOUND => {
            return error_page(
                StatusCode::NOT_FOUND,
                "There is no such table. See /tables.",
            );
        }
        Err(error) => return error.into_response(),
    };
    let table_state = &detail.state;
    let names: Vec<String> = seat_names(&serde_json::Value::Array(
        table_state
            .seats
            .iter()
            .map(|s| serde_json::json!({"seat": s.seat, "name": s.name}))
            .collect(),
    ));
    let log: Vec<String> = events
        .iter()
        .filter_map(|e| EventView::new(e, &names).text)
        .collect();
    let winners: Vec<&str> = table_state
        .seats
        .iter()
        .filter(|s| s.winner)
        .map(|s| s.name.as_str())
        .collect();
    let result = if table_state.aborted {
        "This hand was cut short".to_owned()
    } else if winners.is_empty() {
        String::new()
    } else {
        format!("{} won", winners.join(" and "))
    };
    let page = WatchPage {
        layout: state.layout.clone(),
        script: state.assets.url(WATCH_SCRIPT.name).to_owned(),
        id: detail.table.id.clone(),
        name: detail.table.name.clone(),
        live: detail.table.status == "live",
        transport: match query.transport.as_deref() {
            Some("poll") => Transport::Poll.as_str(),
            Some("sse") => Transport::Sse.as_str(),
            _ => state.transport.as_str(),
        },
        blinds: format!(
            "{} / {}",
            detail.table.blinds.small, detail.table.blinds.big
        ),
        seat_count: table_state.seats.len().clamp(2, 9),
        last_seq: detail.last_seq,
        hand_first_seq: detail.hand_first_seq.unwrap_or(0),
        hand: table_state.hand,
        street: table_state.street,
        board: (0..5)
            .map(|i| table_state.board.get(i).map(|c| face(c)))
            .collect(),
        pot: table_state.pot,
        pots: table_state
            .pots
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let label = if i == 0 {
                    "Main pot".to_owned()
                } else {
                    format!("Side pot {i}")
                };
                format!("{label}: {}", p.amount)
            })
            .collect(),
        seats: table_state
            .seats
            .iter()
            .map(|s| seat_view(table_state, s))
            .collect(),
        log,
        result,
    };
    html(page.render().expect("the watch page renders"))
}

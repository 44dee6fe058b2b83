//! A fake MoltPoker-compatible platform on 127.0.0.1 for the runner's fault tests: the REST
//! routes of admin-create mode and a seat's WebSocket (envelope framing), dealing with this
//! engine and showing seats what `protocol::view` shows them. Its faults are chosen by
//! [`Scenario`]; everything it was asked is recorded for the tests to assert on.

#![allow(dead_code)] // each test binary uses a part of it

use axum::Json;
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use poker::{Action, Choice, FallbackReason, Hand, Legal, Table};
use protocol::messages::{Ack, ErrorPayload, FinalStack, TableStatus};
use protocol::view::{self, Moment, SeatFacts};
use protocol::{ClientMessage, ErrorCode, Framing, ServerMessage};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The admin credential the fake accepts.
pub const ADMIN: &str = "fake-platform-admin-credential-42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Plays by the protocol.
    Fair,
    /// Admin routes refuse the credential.
    RefuseCredential,
    /// Joining answers `TABLE_FULL`.
    Full,
    /// Joining answers `OUTDATED_CLIENT`.
    Outdated,
    /// Drops seat 0's connection after the 3rd action; answers the 1st action `STALE_SEQ`
    /// (and sends the state again under a new `seq`), the 5th `NOT_YOUR_TURN` (and plays
    /// the seat's fallback itself).
    Rough,
    /// Drops seat 0's connection after the 3rd action and forgets its session: the seat
    /// must join again.
    Expiring,
    /// Deals hand 2 and then says nothing more.
    Silent,
}

#[derive(Default)]
pub struct Record {
    pub registered: Vec<String>,
    pub joins: Vec<(String, u8)>,
    /// Connections opened, with the session token used.
    pub connections: Vec<String>,
    pub started: bool,
    pub stopped: bool,
    pub left: Vec<u8>,
    pub hands_completed: i64,
    /// Actions received, as `(seat, frame)`.
    pub actions: Vec<(u8, String)>,
    pub violations: Vec<String>,
}

struct TableSetup {
    seats: usize,
    blinds: (i64, i64),
    stack: i64,
    timeout: Duration,
}

struct Fake {
    scenario: Scenario,
    record: Mutex<Record>,
    /// api key → agent id
    agents: Mutex<HashMap<String, String>>,
    setup: Mutex<Option<TableSetup>>,
    /// session token → seat
    sessions: Mutex<HashMap<String, u8>>,
    /// Each seat's current connection.
    links: Mutex<HashMap<u8, mpsc::UnboundedSender<Message>>>,
    /// The last state each seat was sent (sent again on reconnect).
    last_state: Mutex<HashMap<u8, String>>,
    inbox: mpsc::UnboundedSender<(u8, String)>,
    inbox_rx: Mutex<Option<mpsc::UnboundedReceiver<(u8, String)>>>,
    /// Seats that left.
    gone: Mutex<Vec<u8>>,
    stop: tokio::sync::Notify,
}

pub struct FakePlatform {
    pub url: String,
    fake: Arc<Fake>,
}

impl FakePlatform {
    pub fn start(scenario: Scenario) -> Self {
        let (inbox, inbox_rx) = mpsc::unbounded_channel();
        let fake = Arc::new(Fake {
            scenario,
            record: Mutex::default(),
            agents: Mutex::default(),
            setup: Mutex::default(),
            sessions: Mutex::default(),
            links: Mutex::default(),
            last_state: Mutex::default(),
            inbox,
            inbox_rx: Mutex::new(Some(inbox_rx)),
            gone: Mutex::default(),
            stop: tokio::sync::Notify::new(),
        });
        let app = Router::new()
            .route("/v1/agents", post(register))
            .route("/v1/tables", get(list))
            .route("/v1/admin/tables", post(create))
            .route("/v1/admin/tables/{id}/{control}", post(control))
            .route("/v1/tables/{id}/join", post(join))
            .route("/v1/tables/{id}/leave", post(leave))
            .route("/v1/ws", get(connect))
            .with_state(fake.clone());
        Self {
            url: format!("http://{}", crate::fake_provider::serve(app)),
            fake,
        }
    }

    pub fn record<T>(&self, read: impl FnOnce(&Record) -> T) -> T {
        read(&self.fake.record.lock().unwrap())
    }
}

fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code.as_str(), "message": message}})),
    )
        .into_response()
}

fn host(headers: &HeaderMap) -> &str {
    headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

fn admin(fake: &Fake, headers: &HeaderMap) -> Option<Response> {
    (fake.scenario == Scenario::RefuseCredential || bearer(headers) != ADMIN).then(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "bad credential",
        )
    })
}

async fn register(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    let mut agents = fake.agents.lock().unwrap();
    let id = format!("agt_fake{}", agents.len());
    let key = format!("fake-key-{}", agents.len());
    agents.insert(key.clone(), id.clone());
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    fake.record.lock().unwrap().registered.push(name);
    Json(
        json!({"agent_id": id, "api_key": key, "protocol_version": "0.1",
                "skill_doc_url": "http://127.0.0.1/skill.md"}),
    )
    .into_response()
}

async fn list() -> Response {
    Json(json!({"tables": [], "hasMore": false, "protocol_version": "0.1"})).into_response()
}

async fn create(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = admin(&fake, &headers) {
        return refused;
    }
    let config = &body["config"];
    let setup = TableSetup {
        seats: config["maxSeats"].as_u64().unwrap_or(2) as usize,
        blinds: (
            config["blinds"]["small"].as_i64().unwrap_or(1),
            config["blinds"]["big"].as_i64().unwrap_or(2),
        ),
        stack: config["initialStack"].as_i64().unwrap_or(1000),
        timeout: Duration::from_millis(config["actionTimeoutMs"].as_u64().unwrap_or(1000)),
    };
    let rules = json!({"blinds": {"small": setup.blinds.0, "big": setup.blinds.1},
        "maxSeats": setup.seats, "initialStack": setup.stack,
        "actionTimeoutMs": setup.timeout.as_millis() as u64, "minPlayersToStart": setup.seats});
    *fake.setup.lock().unwrap() = Some(setup);
    // A new table: nobody is connected or gone yet.
    fake.links.lock().unwrap().clear();
    fake.last_state.lock().unwrap().clear();
    fake.gone.lock().unwrap().clear();
    (
        StatusCode::CREATED,
        Json(
            json!({"id": "tbl_fake", "status": "waiting", "config": rules, "seats": [],
                    "created_at": "2026-12-05T00:00:00Z"}),
        ),
    )
        .into_response()
}

async fn join(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = bearer(&headers);
    let Some(agent) = fake.agents.lock().unwrap().get(&key).cloned() else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "unknown agent",
        );
    };
    match fake.scenario {
        Scenario::Full => return refuse(StatusCode::CONFLICT, ErrorCode::TableFull, "full"),
        Scenario::Outdated => {
            return refuse(
                StatusCode::BAD_REQUEST,
                ErrorCode::OutdatedClient,
                "too old",
            );
        }
        _ => {}
    }
    if body["client_protocol_version"] != "0.1" {
        fake.record
            .lock()
            .unwrap()
            .violations
            .push(format!("join without the version: {body}"));
    }
    let seat = body["preferred_seat"].as_u64().unwrap_or(0) as u8;
    let token = format!("session-{seat}-{}", fake.sessions.lock().unwrap().len());
    fake.sessions.lock().unwrap().insert(token.clone(), seat);
    fake.record.lock().unwrap().joins.push((agent, seat));
    Json(
        json!({"table_id": "tbl_fake", "seat_id": seat, "session_token": token,
        "ws_url": format!("ws://{}/v1/ws", host(&headers)), "protocol_version": "0.1",
        "min_supported_protocol_version": "0.1", "skill_doc_url": "http://127.0.0.1/skill.md",
        "action_timeout_ms": 1000}),
    )
    .into_response()
}

async fn leave(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let key = bearer(&headers);
    let agent = fake.agents.lock().unwrap().get(&key).cloned();
    let seat = fake
        .record
        .lock()
        .unwrap()
        .joins
        .iter()
        .rev()
        .find(|(a, _)| Some(a) == agent.as_ref())
        .map(|(_, s)| *s);
    match seat {
        Some(seat) => {
            fake.record.lock().unwrap().left.push(seat);
            fake.gone.lock().unwrap().push(seat);
            Json(json!({"success": true, "message": "left"})).into_response()
        }
        None => refuse(StatusCode::CONFLICT, ErrorCode::NotSeated, "not seated"),
    }
}

/// `start` deals the table; `stop` ends it after the hand in play.
async fn control(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path((_id, control)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = admin(&fake, &headers) {
        return refused;
    }
    let status = if control == "start" {
        fake.record.lock().unwrap().started = true;
        let inbox = fake.inbox_rx.lock().unwrap().take();
        if let Some(inbox) = inbox {
            tokio::spawn(deal(fake.clone(), inbox));
        }
        "running"
    } else {
        fake.record.lock().unwrap().stopped = true;
        fake.stop.notify_one();
        "ended"
    };
    Json(json!({"success": true, "status": status, "message": control})).into_response()
}

async fn connect(
    State(fake): State<Arc<Fake>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let token = query.get("token").cloned().unwrap_or_default();
    let Some(seat) = fake.sessions.lock().unwrap().get(&token).copied() else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::SessionExpired,
            "no such session",
        );
    };
    fake.record.lock().unwrap().connections.push(token);
    upgrade.on_upgrade(move |socket| serve_seat(fake, seat, socket))
}

async fn serve_seat(fake: Arc<Fake>, seat: u8, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    if let Some(state) = fake.last_state.lock().unwrap().get(&seat) {
        let _ = tx.send(Message::Text(state.clone().into()));
    }
    fake.links.lock().unwrap().insert(seat, tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Message::Close(_)) | None => break,
                Some(message) => if socket.send(message).await.is_err() { break },
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => { let _ = fake.inbox.send((seat, text.to_string())); }
                Some(Ok(_)) => {}
                _ => break,
            },
        }
    }
}

fn send(fake: &Fake, seat: u8, message: &ServerMessage) {
    let text = message.encode(Framing::Envelope, Some("tbl_fake"), 0);
    if let ServerMessage::GameState(_) = message {
        fake.last_state.lock().unwrap().insert(seat, text.clone());
    }
    if let Some(link) = fake.links.lock().unwrap().get(&seat) {
        let _ = link.send(Message::Text(text.into()));
    }
}

fn error(fake: &Fake, seat: u8, code: ErrorCode, message: &str) {
    send(
        fake,
        seat,
        &ServerMessage::Error(ErrorPayload::new(code, message)),
    );
}

/// Deals until the table stops, everyone left or one seat holds every chip.
async fn deal(fake: Arc<Fake>, mut inbox: mpsc::UnboundedReceiver<(u8, String)>) {
    let (seats, blinds, stack, timeout) = {
        let setup = fake.setup.lock().unwrap();
        let setup = setup.as_ref().unwrap();
        (setup.seats, setup.blinds, setup.stack, setup.timeout)
    };
    let facts: Vec<SeatFacts> = (0..seats)
        .map(|seat| SeatFacts {
            agent_id: format!("agt_fake{seat}"),
            name: None,
            present: true,
        })
        .collect();
    // Wait for every seat's connection.
    while fake.links.lock().unwrap().len() < seats {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut table = Table::new(seats, stack, blinds.0, blinds.1, 7);
    let mut seq = 0;
    let mut number = 0;
    let mut actions = 0;
    let mut events = Vec::new();
    let reason = loop {
        if fake.gone.lock().unwrap().len() >= seats {
            break "every seat left";
        }
        let Some((_, mut hand)) = table.deal(std::mem::take(&mut events)) else {
            break "one seat holds every chip";
        };
        number += 1;
        let mut told = 0;
        let mut silent = false;
        loop {
            seq += 1;
            let token = format!("turn-{seq}");
            for dealt in view::streets_dealt(&hand, number, told) {
                for seat in 0..seats as u8 {
                    send(&fake, seat, &ServerMessage::StreetDealt(dealt.clone()));
                }
            }
            told = hand.events().len();
            publish(&fake, &facts, &hand, number, seq, &token);
            if fake.scenario == Scenario::Silent && number == 2 {
                silent = true;
                break;
            }
            let (Some(to_act), Some(legal)) = (hand.to_act(), hand.legal()) else {
                break;
            };
            let action = loop {
                let received = tokio::time::timeout(timeout, inbox.recv()).await;
                let Ok(Some((seat, frame))) = received else {
                    break fallback(&legal);
                };
                fake.record
                    .lock()
                    .unwrap()
                    .actions
                    .push((seat, frame.clone()));
                let Ok(ClientMessage::Action {
                    action,
                    expected_seq,
                }) = ClientMessage::parse(&frame)
                else {
                    continue;
                };
                actions += 1;
                if seat as usize != to_act || action.turn_token != token {
                    error(&fake, seat, ErrorCode::NotYourTurn, "not your turn");
                    continue;
                }
                if expected_seq != Some(seq) {
                    fake.record
                        .lock()
                        .unwrap()
                        .violations
                        .push(format!("expected_seq {expected_seq:?} for seq {seq}"));
                }
                if matches!(fake.scenario, Scenario::Rough | Scenario::Expiring) && actions == 3 {
                    // The connection drops before the action is read.
                    fake.links.lock().unwrap().remove(&seat);
                    if fake.scenario == Scenario::Expiring {
                        fake.sessions.lock().unwrap().retain(|_, s| *s != seat);
                    }
                    continue;
                }
                if fake.scenario == Scenario::Rough && actions == 1 {
                    error(&fake, seat, ErrorCode::StaleSeq, "the state moved on");
                    seq += 1;
                    let token = format!("turn-{seq}");
                    publish(&fake, &facts, &hand, number, seq, &token);
                    // The same turn under the new token.
                    let again = loop {
                        let Ok(Some((seat, frame))) =
                            tokio::time::timeout(timeout, inbox.recv()).await
                        else {
                            break None;
                        };
                        if let Ok(ClientMessage::Action { action, .. }) =
                            ClientMessage::parse(&frame)
                            && seat as usize == to_act
                            && action.turn_token == token
                        {
                            break action.to_engine().ok();
                        }
                    };
                    break again
                        .filter(|a| legal.allows(*a))
                        .unwrap_or(fallback(&legal));
                }
                if fake.scenario == Scenario::Rough && actions == 5 {
                    error(&fake, seat, ErrorCode::NotYourTurn, "too late");
                    break fallback(&legal);
                }
                match action.to_engine() {
                    Ok(a) if legal.allows(a) => {
                        send(
                            &fake,
                            seat,
                            &ServerMessage::Ack(Ack {
                                turn_token: token.clone(),
                                seq: seq + 1,
                                success: true,
                            }),
                        );
                        break a;
                    }
                    _ => error(&fake, seat, ErrorCode::InvalidAction, "not allowed"),
                }
            };
            hand.apply(action).unwrap();
        }
        if silent {
            fake.stop.notified().await;
            break "stopped";
        }
        for seat in 0..seats {
            let done = view::hand_complete(&facts, &hand, number, seat);
            send(&fake, seat as u8, &ServerMessage::HandComplete(done));
        }
        fake.record.lock().unwrap().hands_completed += 1;
        table.settle(&hand);
        events = hand.into_events();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = fake.stop.notified() => break "stopped",
        }
        for seat in fake.gone.lock().unwrap().iter() {
            table.leave(*seat as usize);
        }
    };
    let finals = table
        .stacks()
        .iter()
        .enumerate()
        .map(|(seat, stack)| FinalStack {
            seat_id: seat as u8,
            agent_id: format!("agt_fake{seat}"),
            stack: *stack,
        })
        .collect();
    let ended = ServerMessage::TableStatus(TableStatus {
        status: "ended".into(),
        seat_id: None,
        agent_id: None,
        min_players_to_start: None,
        current_players: None,
        reason: Some(reason.into()),
        final_stacks: Some(finals),
    });
    for seat in 0..seats as u8 {
        send(&fake, seat, &ended);
    }
    // Ready for the next table.
    *fake.inbox_rx.lock().unwrap() = Some(inbox);
}

/// What a seat that does not answer plays: check, or fold.
fn fallback(legal: &Legal) -> Action {
    Choice::Fallback(FallbackReason::Timeout).resolve(legal).0
}

fn publish(fake: &Fake, facts: &[SeatFacts], hand: &Hand, number: i64, seq: i64, token: &str) {
    for seat in 0..facts.len() {
        let state = view::game_state(
            "tbl_fake",
            facts,
            Moment::Hand { hand, number },
            seq,
            seat,
            Some(token),
        );
        send(fake, seat as u8, &ServerMessage::GameState(state));
    }
}

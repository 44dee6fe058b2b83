//! Outside agents at this runner's table: seats taken over the agent protocol.
//!
//! The runner never holds an agent's connection. The agents surface (the local gateway, or
//! the WebSocket function in AWS) writes what agents do into the table's inbox in PostgreSQL
//! (see `simrunner::store::seating`); a pump task here consumes it, and everything the agents
//! are sent goes out through an [`AgentLink`], in order, from one sender task.
//!
//! [`ExternalSeats`] keeps what the protocol needs between those two: each seat's agent and
//! live connection, the state each seat was last shown, the current turn (its token, `seq`
//! and legal actions), and the tokens already acted on. The runner's hand loop drives it:
//! [`ExternalSeats::publish`] after every change of the hand (which issues the next turn
//! token), [`ExternalAgent`] (the seat's [`Agent`]) to wait for the action, and
//! [`ExternalSeats::settle_turn`] once the engine took an action, which acknowledges it.
//! An action is acknowledged only once it has been applied, and a repeated `turn_token` gets
//! the same `ack` again and acts once.

pub mod link;

use chrono::Utc;
use deadpool_postgres::Pool;
use link::{AgentLink, Outgoing};
use poker::{Action, Agent, Choice, FallbackReason, Hand, Legal, Reply, Turn};
use protocol::messages::{
    Ack, ErrorPayload, FinalStack, GameState, PlayerJoined, PlayerLeft, TableStatus, Welcome,
};
use protocol::view::{Moment, SeatFacts};
use protocol::{ClientMessage, ErrorCode, Framing, ServerMessage};
use serde_json::{Value, json};
use simrunner::db::Listener;
use simrunner::store::seating::{self, InboxEntry, InboxKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// How often the inbox is read when no notification arrives (a lost `NOTIFY`, a dropped
/// listening connection): the longest an agent's message can wait.
const INBOX_POLL: Duration = Duration::from_millis(500);

/// One seat, as the protocol side knows it.
#[derive(Debug, Clone, Default)]
struct Seat {
    external: bool,
    /// `(agent id, name)` once taken (or the built-in player's made-up id and name).
    agent: Option<(String, String)>,
    connection: Option<(String, Framing)>,
    /// Left or revoked: plays check-or-fold to the end of the hand, then is cashed out.
    left: bool,
    /// Reported to the runner's hand loop (so each departure is handled once).
    departure_taken: bool,
    /// The last `game_state` this seat was sent (sent again on reconnect).
    state: Option<GameState>,
}

#[derive(Debug, Clone)]
struct TurnState {
    seat: usize,
    token: String,
    seq: i64,
    legal: Legal,
    /// The valid action received for this turn, waiting to be applied.
    received: Option<(Action, String)>,
}

/// What the hub queues for the sender task.
#[derive(Debug)]
enum Queued {
    Send(Outgoing),
    /// Answered once everything queued before it was handed to the gateway.
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Ended,
}

struct Hub {
    table_id: String,
    action_timeout_ms: i64,
    seats: Vec<Seat>,
    seq: i64,
    phase: Phase,
    turn: Option<TurnState>,
    /// Turn tokens acted on, with the `seq` their `ack` carries.
    accepted: HashMap<String, i64>,
    skill_doc_url: String,
    outbox: mpsc::UnboundedSender<Queued>,
    /// Where joins are reported while the table waits.
    joins: Option<mpsc::UnboundedSender<usize>>,
    /// A hosted table's client asked it to start.
    start_requested: bool,
}

impl Hub {
    fn send(&self, connection: &(String, Framing), message: &ServerMessage) {
        self.send_as(connection, message, false);
    }

    /// `fresh`: the connection was just announced (see [`Outgoing::Text`]).
    fn send_as(&self, connection: &(String, Framing), message: &ServerMessage, fresh: bool) {
        let text = message.encode(
            connection.1,
            Some(&self.table_id),
            Utc::now().timestamp_millis(),
        );
        self.queue(Outgoing::Text {
            connection: connection.0.clone(),
            text,
            fresh,
        });
    }

    fn queue(&self, outgoing: Outgoing) {
        let _ = self.outbox.send(Queued::Send(outgoing));
    }

    fn send_to_seat(&self, seat: usize, message: &ServerMessage) {
        if let Some(connection) = &self.seats[seat].connection {
            self.send(connection, message);
        }
    }

    fn broadcast(&self, message: &ServerMessage) {
        for seat in 0..self.seats.len() {
            self.send_to_seat(seat, message);
        }
    }

    fn error(&self, connection: &(String, Framing), code: ErrorCode, message: impl Into<String>) {
        let mut payload = ErrorPayload::new(code, message);
        if matches!(code, ErrorCode::StaleSeq | ErrorCode::SessionExpired) {
            payload.skill_doc_url = Some(self.skill_doc_url.clone());
        }
        self.send(connection, &ServerMessage::Error(payload));
    }

    fn facts(&self) -> Vec<SeatFacts> {
        self.seats
            .iter()
            .enumerate()
            .map(|(i, seat)| SeatFacts {
                agent_id: seat
                    .agent
                    .as_ref()
                    .map(|(id, _)| id.clone())
                    .unwrap_or_else(|| format!("open-seat-{i}")),
                name: seat.agent.as_ref().map(|(_, name)| name.clone()),
                present: !seat.left,
            })
            .collect()
    }

    fn taken(&self) -> u8 {
        self.seats.iter().filter(|s| s.agent.is_some()).count() as u8
    }

    fn waiting_status(&self, seat: usize) -> ServerMessage {
        ServerMessage::TableStatus(TableStatus {
            status: if self.phase == Phase::Waiting {
                "waiting"
            } else {
                "running"
            }
            .into(),
            seat_id: Some(seat as u8),
            agent_id: self.seats[seat].agent.as_ref().map(|(id, _)| id.clone()),
            min_players_to_start: Some(self.seats.len() as u8),
            current_players: Some(self.taken()),
            reason: None,
            final_stacks: None,
        })
    }

    /// A connection opened on a seat's session: it replaces an older one (which is told and
    /// closed), and gets `welcome` and where the table is.
    fn connected(&mut self, seat: usize, connection: (String, Framing)) {
        if let Some(old) = self.seats[seat].connection.take()
            && old.0 != connection.0
        {
            self.error(
                &old,
                ErrorCode::SessionExpired,
                "another connection took over this session",
            );
            self.queue(Outgoing::Close { connection: old.0 });
        }
        let agent_id = self.seats[seat]
            .agent
            .as_ref()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        self.send_as(
            &connection,
            &ServerMessage::Welcome(Welcome {
                protocol_version: protocol::PROTOCOL_VERSION.into(),
                min_supported_protocol_version: protocol::MIN_SUPPORTED_PROTOCOL_VERSION.into(),
                skill_doc_url: self.skill_doc_url.clone(),
                seat_id: seat as u8,
                agent_id,
                action_timeout_ms: self.action_timeout_ms,
            }),
            true,
        );
        match (self.phase, &self.seats[seat].state) {
            (Phase::Running, Some(state)) => {
                self.send_as(&connection, &ServerMessage::GameState(state.clone()), true)
            }
            (Phase::Ended, _) => {
                self.send_as(&connection, &ended_status(None, None), true);
                self.queue(Outgoing::Close {
                    connection: connection.0.clone(),
                });
                return;
            }
            _ => self.send_as(&connection, &self.waiting_status(seat), true),
        }
        self.seats[seat].connection = Some(connection);
    }

    /// An action frame from a seat's connection.
    fn action(&mut self, seat: usize, connection: &(String, Framing), frame: &str) -> bool {
        let (action, expected_seq) = match ClientMessage::parse(frame) {
            Ok(ClientMessage::Action {
                action,
                expected_seq,
            }) => (action, expected_seq),
            Ok(ClientMessage::Ping { .. }) => return false,
            Err(error) => {
                self.error(connection, error.code, error.message);
                return false;
            }
        };
        if let Some(&seq) = self.accepted.get(&action.turn_token) {
            // A repeat of an action already taken: the same ack, and nothing else.
            self.send(
                connection,
                &ServerMessage::Ack(Ack {
                    turn_token: action.turn_token,
                    seq,
                    success: true,
                }),
            );
            return false;
        }
        let Some(turn) = self.turn.as_mut().filter(|t| t.seat == seat) else {
            let message = match self.phase {
                Phase::Waiting => "the table has not started yet",
                Phase::Ended => "the table has ended",
                Phase::Running => "it is not your turn",
            };
            self.error(connection, ErrorCode::NotYourTurn, message);
            return false;
        };
        if let Some(expected) = expected_seq
            && expected != turn.seq
        {
            let message = format!(
                "expected_seq {expected} is not the current seq {}: wait for the next game_state",
                turn.seq
            );
            self.error(connection, ErrorCode::StaleSeq, message);
            return false;
        }
        if action.turn_token != turn.token {
            self.error(
                connection,
                ErrorCode::InvalidAction,
                "turn_token is not your current turn's: use the one in your latest game_state",
            );
            return false;
        }
        if turn.received.is_some() {
            // Already taken for this turn, about to be applied: its ack follows.
            return false;
        }
        let engine_action = match action.to_engine() {
            Ok(a) if turn.legal.allows(a) => a,
            Ok(a) => {
                let message = format!("{a:?} is not allowed now; {}", describe(&turn.legal));
                self.error(connection, ErrorCode::InvalidAction, message);
                return false;
            }
            Err(message) => {
                self.error(connection, ErrorCode::InvalidAction, message);
                return false;
            }
        };
        turn.received = Some((engine_action, action.turn_token));
        true
    }
}

fn describe(legal: &Legal) -> String {
    let mut options = Vec::new();
    if legal.to_call > 0 {
        options.push("fold".to_owned());
        options.push(format!("call ({})", legal.to_call));
    } else {
        options.push("check".to_owned());
    }
    if let Some((min, max)) = legal.raise {
        options.push(format!("raiseTo {min}..={max}"));
    }
    format!("allowed: {}", options.join(", "))
}

fn ended_status(reason: Option<&str>, final_stacks: Option<Vec<FinalStack>>) -> ServerMessage {
    ServerMessage::TableStatus(TableStatus {
        status: "ended".into(),
        seat_id: None,
        agent_id: None,
        min_players_to_start: None,
        current_players: None,
        reason: reason.map(str::to_owned),
        final_stacks,
    })
}

/// A table's outside seats. Dropping it stops its tasks.
pub struct ExternalSeats {
    hub: Arc<Mutex<Hub>>,
    wake: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    joins: Option<mpsc::UnboundedReceiver<usize>>,
}

impl Drop for ExternalSeats {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn lock(hub: &Mutex<Hub>) -> MutexGuard<'_, Hub> {
    hub.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The table's seats for [`ExternalSeats::open`]: each seat's built-in player (`Some(name)`)
/// or `None` for an external seat.
pub struct Lineup<'a> {
    pub table_id: &'a str,
    pub action_timeout_ms: i64,
    pub builtin: Vec<Option<String>>,
    pub skill_doc_url: String,
}

impl ExternalSeats {
    /// Starts listening to the table's inbox and sending to its agents.
    pub async fn open(
        pool: Pool,
        database_url: &str,
        link: AgentLink,
        lineup: Lineup<'_>,
    ) -> Result<Self, String> {
        let listener = Listener::connect(database_url, &[lineup.table_id])
            .await
            .map_err(|e| e.to_string())?;
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let (joins_tx, joins) = mpsc::unbounded_channel();
        let seats = lineup
            .builtin
            .iter()
            .map(|builtin| Seat {
                external: builtin.is_none(),
                agent: builtin
                    .as_ref()
                    .map(|name| (format!("builtin:{name}"), name.clone())),
                ..Seat::default()
            })
            .collect();
        let hub = Arc::new(Mutex::new(Hub {
            table_id: lineup.table_id.to_owned(),
            action_timeout_ms: lineup.action_timeout_ms,
            seats,
            seq: 0,
            phase: Phase::Waiting,
            turn: None,
            accepted: HashMap::new(),
            skill_doc_url: lineup.skill_doc_url,
            outbox,
            joins: Some(joins_tx),
            start_requested: false,
        }));
        let wake = Arc::new(Notify::new());
        let sender = tokio::spawn(send_forever(link, outgoing));
        let pump = tokio::spawn(pump_forever(
            pool,
            lineup.table_id.to_owned(),
            listener,
            hub.clone(),
            wake.clone(),
        ));
        Ok(Self {
            hub,
            wake,
            tasks: vec![sender, pump],
            joins: Some(joins),
        })
    }

    /// The next seat taken or connected while the table waits (`None` once nothing more can
    /// come).
    pub async fn next_join(&mut self) -> Option<usize> {
        self.joins.as_mut()?.recv().await
    }

    /// External seats not yet ready to play: open, or taken by an agent that has not
    /// connected yet (a table that started before its agents connect would time them out).
    pub fn unready_seats(&self) -> Vec<usize> {
        let hub = lock(&self.hub);
        (0..hub.seats.len())
            .filter(|&s| {
                let seat = &hub.seats[s];
                seat.external && (seat.agent.is_none() || seat.connection.is_none())
            })
            .collect()
    }

    /// The table starts with this line-up: external seats nobody took are now played by the
    /// built-in players named here. Tells every connected agent.
    pub fn start(&mut self, filled: &[(usize, String)]) {
        self.joins = None;
        let mut hub = lock(&self.hub);
        hub.joins = None;
        for (seat, name) in filled {
            hub.seats[*seat].external = false;
            hub.seats[*seat].agent = Some((format!("builtin:{name}"), name.clone()));
        }
        hub.phase = Phase::Running;
        for seat in 0..hub.seats.len() {
            let status = hub.waiting_status(seat);
            hub.send_to_seat(seat, &status);
        }
    }

    /// A hosted table's client asked it to start.
    pub fn start_requested(&self) -> bool {
        lock(&self.hub).start_requested
    }

    /// A seat nobody took sits the table out (a hosted table plays without it).
    pub fn sit_out(&self, seat: usize) {
        let mut hub = lock(&self.hub);
        hub.seats[seat].left = true;
        hub.seats[seat].departure_taken = true;
    }

    /// Records who took a seat (from the database's final word at start).
    pub fn seat_taken(&self, seat: usize, agent_id: &str, name: &str) {
        let mut hub = lock(&self.hub);
        hub.seats[seat].agent = Some((agent_id.to_owned(), name.to_owned()));
    }

    pub fn is_external(&self, seat: usize) -> bool {
        lock(&self.hub).seats[seat].external
    }

    /// The seat's agent for the hand loop.
    pub fn agent(&self, seat: usize) -> ExternalAgent {
        ExternalAgent {
            seat,
            hub: self.hub.clone(),
            wake: self.wake.clone(),
            log: Vec::new(),
        }
    }

    /// After every change of the table: each outside seat is sent what it may see, with the
    /// next turn's token for the seat to act. `streets` are the streets just dealt.
    pub fn publish(&self, moment: Moment<'_>, streets: &[protocol::messages::StreetDealt]) {
        let mut hub = lock(&self.hub);
        hub.seq += 1;
        let seq = hub.seq;
        let facts = hub.facts();
        let (to_act, legal) = match moment {
            Moment::Hand { hand, .. } => (hand.to_act(), hand.legal()),
            Moment::Between { .. } => (None, None),
        };
        hub.turn = match (to_act, legal) {
            (Some(seat), Some(legal)) if hub.seats[seat].external => Some(TurnState {
                seat,
                token: simrunner::secrets::random_hex(12),
                seq,
                legal,
                received: None,
            }),
            _ => None,
        };
        let token = hub.turn.as_ref().map(|t| t.token.clone());
        for message in streets {
            hub.broadcast(&ServerMessage::StreetDealt(message.clone()));
        }
        for seat in 0..hub.seats.len() {
            if !hub.seats[seat].external {
                continue;
            }
            let state = protocol::view::game_state(
                &hub.table_id,
                &facts,
                moment,
                seq,
                seat,
                token.as_deref(),
            );
            hub.send_to_seat(seat, &ServerMessage::GameState(state.clone()));
            hub.seats[seat].state = Some(state);
        }
    }

    /// The engine took `action` for `seat` (the agent's, or a fallback): the agent's action
    /// is acknowledged; one that came too late is told so.
    pub fn settle_turn(&self, seat: usize, fell_back: Option<FallbackReason>) {
        let mut hub = lock(&self.hub);
        let Some(turn) = hub.turn.take().filter(|t| t.seat == seat) else {
            return;
        };
        if let Some((_, token)) = turn.received {
            match fell_back {
                None => {
                    let ack_seq = turn.seq + 1;
                    hub.accepted.insert(token.clone(), ack_seq);
                    hub.send_to_seat(
                        seat,
                        &ServerMessage::Ack(Ack {
                            turn_token: token,
                            seq: ack_seq,
                            success: true,
                        }),
                    );
                }
                Some(reason) => {
                    if let Some(connection) = hub.seats[seat].connection.clone() {
                        hub.error(
                            &connection,
                            ErrorCode::NotYourTurn,
                            format!("too late: the turn ended ({})", reason.name()),
                        );
                    }
                }
            }
        }
    }

    /// The hand is over: each outside seat learns the results it may see.
    pub fn hand_complete(&self, hand: &Hand, number: i64) {
        let hub = lock(&self.hub);
        let facts = hub.facts();
        for seat in 0..hub.seats.len() {
            if hub.seats[seat].external {
                let done = protocol::view::hand_complete(&facts, hand, number, seat);
                hub.send_to_seat(seat, &ServerMessage::HandComplete(done));
            }
        }
    }

    /// Seats whose agents left or were revoked since the last call.
    pub fn take_departures(&self) -> Vec<usize> {
        let mut hub = lock(&self.hub);
        let mut out = Vec::new();
        for (i, seat) in hub.seats.iter_mut().enumerate() {
            if seat.left && !seat.departure_taken {
                seat.departure_taken = true;
                out.push(i);
            }
        }
        out
    }

    /// A departed seat was cashed out: the others are told it left.
    pub fn seat_left(&self, seat: usize) {
        let hub = lock(&self.hub);
        let agent_id = hub.seats[seat]
            .agent
            .as_ref()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        hub.broadcast(&ServerMessage::PlayerLeft(PlayerLeft {
            seat_id: seat as u8,
            agent_id,
        }));
    }

    /// The agents at this seat (external seats only), for counters and results.
    pub fn agent_id(&self, seat: usize) -> Option<String> {
        let hub = lock(&self.hub);
        hub.seats[seat]
            .agent
            .as_ref()
            .filter(|_| hub.seats[seat].external)
            .map(|(id, _)| id.clone())
    }

    /// The table ended: every agent is told why and with what, then disconnected. Waits
    /// (at most a few seconds) until everything queued was handed to the gateway.
    pub async fn end(self, reason: &str, stacks: &[i64]) {
        let flushed = {
            let mut hub = lock(&self.hub);
            hub.phase = Phase::Ended;
            hub.turn = None;
            let facts = hub.facts();
            let finals: Vec<FinalStack> = stacks
                .iter()
                .enumerate()
                .map(|(seat, &stack)| FinalStack {
                    seat_id: seat as u8,
                    agent_id: facts[seat].agent_id.clone(),
                    stack,
                })
                .collect();
            hub.broadcast(&ended_status(Some(reason), Some(finals)));
            let connections: Vec<String> = hub
                .seats
                .iter_mut()
                .filter_map(|s| s.connection.take().map(|c| c.0))
                .collect();
            for connection in connections {
                hub.queue(Outgoing::Close { connection });
            }
            let (done, flushed) = tokio::sync::oneshot::channel();
            let _ = hub.outbox.send(Queued::Flush(done));
            flushed
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), flushed).await;
    }
}

/// An outside seat's agent: waits for the action the pump accepted for this seat's turn.
pub struct ExternalAgent {
    seat: usize,
    hub: Arc<Mutex<Hub>>,
    wake: Arc<Notify>,
    log: Vec<Value>,
}

impl ExternalAgent {
    /// The action received for this seat's current turn, or why there will be none.
    fn poll_turn(&self) -> Option<Choice> {
        let hub = lock(&self.hub);
        if hub.seats[self.seat].left {
            return Some(Choice::Fallback(FallbackReason::Left));
        }
        hub.turn
            .as_ref()
            .filter(|t| t.seat == self.seat)
            .and_then(|t| t.received.as_ref())
            .map(|(action, _)| Choice::Act(*action))
    }
}

impl Agent for ExternalAgent {
    fn act<'a>(&'a mut self, turn: &'a Turn<'a>) -> Reply<'a> {
        if let Some(choice) = self.poll_turn() {
            return Reply::Now(choice);
        }
        let started = std::time::Instant::now();
        let hand_number = turn.hand_number;
        Reply::Later(Box::pin(async move {
            loop {
                let notified = self.wake.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(choice) = self.poll_turn() {
                    if let Choice::Act(action) = choice {
                        self.log.push(json!({
                            "event": "action", "hand": hand_number, "seat": self.seat,
                            "action": crate::llm::action_json(action),
                            "latency_ms": started.elapsed().as_millis() as u64,
                        }));
                    }
                    return choice;
                }
                notified.await;
            }
        }))
    }

    fn drain_log(&mut self, into: &mut Vec<Value>) {
        into.append(&mut self.log);
    }
}

/// Sends what the hub queues, in order, batching whatever is waiting.
async fn send_forever(link: AgentLink, mut queued: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = queued.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take().or_else(|| queued.try_recv().ok()) {
            match item {
                Queued::Send(outgoing) => batch.push(outgoing),
                Queued::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
            let _ = link.deliver(&batch).await;
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Reads the table's inbox whenever notified, and at least every [`INBOX_POLL`].
async fn pump_forever(
    pool: Pool,
    table_id: String,
    mut listener: Listener,
    hub: Arc<Mutex<Hub>>,
    wake: Arc<Notify>,
) {
    let mut listening = true;
    loop {
        if listening {
            tokio::select! {
                received = listener.recv() => {
                    if received.is_none() {
                        tracing::warn!(table = %table_id, "lost the inbox notifications; polling");
                        listening = false;
                    }
                    listener.drain();
                }
                _ = tokio::time::sleep(INBOX_POLL) => {}
            }
        } else {
            tokio::time::sleep(INBOX_POLL).await;
        }
        let entries = async {
            let mut client = pool.get().await?;
            seating::consume_inbox(&mut client, &table_id).await
        };
        match entries.await {
            Ok(entries) => {
                if handle_entries(&hub, entries) {
                    wake.notify_waiters();
                }
            }
            Err(error) => tracing::warn!(table = %table_id, %error, "reading the agents' inbox"),
        }
    }
}

/// Applies inbox entries to the hub; `true` when a waiting turn may now have its answer.
fn handle_entries(hub: &Mutex<Hub>, entries: Vec<InboxEntry>) -> bool {
    let mut hub = lock(hub);
    let mut wake = false;
    for entry in entries {
        let seat = entry.seat;
        if seat >= hub.seats.len() || !hub.seats[seat].external {
            continue;
        }
        let text = |key: &str| entry.payload[key].as_str().unwrap_or_default().to_owned();
        match entry.kind {
            InboxKind::Joined => {
                let (agent_id, name) = (text("agent_id"), text("name"));
                hub.seats[seat].agent = Some((agent_id.clone(), name.clone()));
                hub.seats[seat].left = false;
                if let Some(joins) = &hub.joins {
                    let _ = joins.send(seat);
                }
                let joined = ServerMessage::PlayerJoined(PlayerJoined {
                    seat_id: seat as u8,
                    agent_id,
                    agent_name: name,
                    stack: 0,
                });
                for other in (0..hub.seats.len()).filter(|&s| s != seat) {
                    hub.send_to_seat(other, &joined);
                }
            }
            InboxKind::Connected => {
                let framing = Framing::parse(&text("framing")).unwrap_or(Framing::Envelope);
                if let Some(url) = entry.payload["skill_doc_url"].as_str() {
                    hub.skill_doc_url = url.to_owned();
                }
                hub.connected(seat, (text("connection"), framing));
                if let Some(joins) = &hub.joins {
                    let _ = joins.send(seat);
                }
            }
            InboxKind::Disconnected => {
                let connection = text("connection");
                if hub.seats[seat]
                    .connection
                    .as_ref()
                    .is_some_and(|c| c.0 == connection)
                {
                    hub.seats[seat].connection = None;
                }
            }
            InboxKind::Action => {
                let connection = (
                    text("connection"),
                    Framing::parse(&text("framing")).unwrap_or(Framing::Envelope),
                );
                wake |= hub.action(seat, &connection, &text("frame"));
            }
            InboxKind::Start => {
                hub.start_requested = true;
                if let Some(joins) = &hub.joins {
                    let _ = joins.send(seat);
                }
            }
            InboxKind::Left | InboxKind::Revoked => {
                if hub.phase == Phase::Waiting {
                    // Before the first hand the seat simply opens again.
                    hub.seats[seat].agent = None;
                } else {
                    hub.seats[seat].left = true;
                    wake = true;
                }
                if let Some(connection) = hub.seats[seat].connection.take() {
                    if entry.kind == InboxKind::Revoked {
                        hub.error(
                            &connection,
                            ErrorCode::Unauthorized,
                            "this agent was revoked",
                        );
                    } else {
                        hub.error(&connection, ErrorCode::SessionExpired, "you left the table");
                    }
                    hub.queue(Outgoing::Close {
                        connection: connection.0,
                    });
                }
            }
        }
    }
    wake
}

#[cfg(test)]
mod tests {
    use super::*;
    use poker::{Card, HandSetup, MAX_SEATS};

    fn hub(seats: usize) -> (Mutex<Hub>, mpsc::UnboundedReceiver<Queued>) {
        let (outbox, out) = mpsc::unbounded_channel();
        (
            Mutex::new(Hub {
                table_id: "tbl_t".into(),
                action_timeout_ms: 1000,
                seats: (0..seats)
                    .map(|i| Seat {
                        external: true,
                        agent: Some((format!("agt_{i}"), format!("a{i}"))),
                        connection: Some((format!("c{i}"), Framing::Agent)),
                        ..Seat::default()
                    })
                    .collect(),
                seq: 0,
                phase: Phase::Running,
                turn: None,
                accepted: HashMap::new(),
                skill_doc_url: "http://x/skill.md".into(),
                outbox,
                joins: None,
                start_requested: false,
            }),
            out,
        )
    }

    fn sent(out: &mut mpsc::UnboundedReceiver<Queued>) -> Vec<Outgoing> {
        let mut all = Vec::new();
        while let Ok(Queued::Send(outgoing)) = out.try_recv() {
            all.push(outgoing);
        }
        all
    }

    fn texts(out: &mut mpsc::UnboundedReceiver<Queued>) -> Vec<Value> {
        sent(out)
            .into_iter()
            .map(|o| match o {
                Outgoing::Text { text, .. } => serde_json::from_str(&text).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn action(seat: usize, token: &str, kind: &str, seq: Option<i64>) -> InboxEntry {
        let mut frame = json!({"type": "action", "action": {"turn_token": token, "kind": kind}});
        if let Some(seq) = seq {
            frame["expected_seq"] = json!(seq);
        }
        InboxEntry {
            id: 1,
            seat,
            kind: InboxKind::Action,
            payload: json!({"connection": format!("c{seat}"), "framing": "agent", "frame": frame.to_string()}),
        }
    }

    fn start_turn(hub: &Mutex<Hub>, seat: usize) -> String {
        let mut hub = lock(hub);
        hub.seq = 5;
        hub.turn = Some(TurnState {
            seat,
            token: "tok".into(),
            seq: 5,
            legal: Legal {
                to_call: 10,
                raise: Some((20, 100)),
            },
            received: None,
        });
        "tok".into()
    }

    #[test]
    fn actions_are_checked_in_the_protocol_order_and_only_a_valid_one_is_taken() {
        let (hub, mut out) = hub(3);
        let token = start_turn(&hub, 1);
        assert!(!handle_entries(&hub, vec![action(0, &token, "call", None)]));
        assert!(!handle_entries(
            &hub,
            vec![action(1, &token, "call", Some(4))]
        ));
        assert!(!handle_entries(
            &hub,
            vec![action(1, "other", "call", Some(5))]
        ));
        assert!(!handle_entries(
            &hub,
            vec![action(1, &token, "check", Some(5))]
        ));
        let codes: Vec<_> = texts(&mut out).iter().map(|m| m["code"].clone()).collect();
        assert_eq!(
            codes,
            [
                "NOT_YOUR_TURN",
                "STALE_SEQ",
                "INVALID_ACTION",
                "INVALID_ACTION"
            ]
        );
        assert!(handle_entries(
            &hub,
            vec![action(1, &token, "call", Some(5))]
        ));
        assert_eq!(
            lock(&hub).turn.as_ref().unwrap().received,
            Some((Action::Call, token.clone()))
        );
        // The same action again before it is applied: nothing more is sent or taken.
        assert!(!handle_entries(
            &hub,
            vec![action(1, &token, "call", Some(5))]
        ));
        assert!(texts(&mut out).is_empty());
    }

    #[test]
    fn an_applied_action_is_acked_once_and_a_repeat_gets_the_same_ack() {
        let (hub, mut out) = hub(2);
        let token = start_turn(&hub, 0);
        handle_entries(&hub, vec![action(0, &token, "raiseTo", None)]);
        let refused = texts(&mut out);
        assert!(refused[0]["message"].as_str().unwrap().contains("amount"));
        let mut raise = action(0, &token, "raiseTo", None);
        raise.payload["frame"] = json!(
            json!({"type": "action", "action": {"turn_token": token, "kind": "raiseTo", "amount": 40}})
                .to_string()
        );
        assert!(handle_entries(&hub, vec![raise.clone()]));
        let seats = ExternalSeats {
            hub: Arc::new(hub),
            wake: Arc::new(Notify::new()),
            tasks: Vec::new(),
            joins: None,
        };
        seats.settle_turn(0, None);
        let ack = texts(&mut out);
        assert_eq!(ack, [json!({"type": "ack", "turn_token": "tok", "seq": 6})]);
        handle_entries(&seats.hub, vec![raise]);
        assert_eq!(
            texts(&mut out),
            [json!({"type": "ack", "turn_token": "tok", "seq": 6})],
            "a repeated turn_token is acknowledged again and acts once"
        );
        assert!(lock(&seats.hub).turn.is_none());
    }

    #[test]
    fn a_new_connection_takes_the_session_over_and_gets_welcome_and_the_state() {
        let (hub, mut out) = hub(2);
        {
            let mut h = lock(&hub);
            h.seats[1].state = Some(protocol::view::game_state(
                "tbl_t",
                &h.facts(),
                Moment::Between {
                    stacks: &[100, 100],
                    dealer: 0,
                    hands: 0,
                    ended: false,
                },
                3,
                1,
                None,
            ));
        }
        handle_entries(
            &hub,
            vec![InboxEntry {
                id: 2,
                seat: 1,
                kind: InboxKind::Connected,
                payload: json!({"connection": "new", "framing": "envelope"}),
            }],
        );
        let sent = sent(&mut out);
        assert!(
            matches!(&sent[0], Outgoing::Text { connection, text, .. } if connection == "c1" && text.contains("SESSION_EXPIRED"))
        );
        assert_eq!(
            sent[1],
            Outgoing::Close {
                connection: "c1".into()
            }
        );
        let kinds: Vec<String> = sent[2..]
            .iter()
            .map(|m| match m {
                Outgoing::Text {
                    connection, text, ..
                } => {
                    assert_eq!(connection, "new");
                    serde_json::from_str::<Value>(text).unwrap()["type"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["welcome", "game_state"]);
    }

    #[test]
    fn the_seat_to_act_gets_a_token_and_a_departed_seat_plays_the_fallback() {
        let (hub, mut out) = hub(2);
        let seats = ExternalSeats {
            hub: Arc::new(hub),
            wake: Arc::new(Notify::new()),
            tasks: Vec::new(),
            joins: None,
        };
        let deck = Card::deck();
        let mut stacks = [0; MAX_SEATS];
        stacks[..2].fill(100);
        let hand = Hand::start(&HandSetup {
            stacks,
            button: 0,
            small_blind: 1,
            big_blind: 2,
            holes: std::array::from_fn(|i| [deck[2 * i], deck[2 * i + 1]]),
            board: [deck[40], deck[41], deck[42], deck[43], deck[44]],
        })
        .unwrap();
        seats.publish(
            Moment::Hand {
                hand: &hand,
                number: 1,
            },
            &[],
        );
        let states = texts(&mut out);
        assert_eq!(states.len(), 2);
        let to_act = hand.to_act().unwrap();
        for state in &states {
            let mine =
                state["turn"] == json!(to_act) && state["players"][to_act]["cards"].is_array();
            assert_eq!(state["turn_token"].is_string(), mine);
        }
        let agent = seats.agent(to_act);
        assert_eq!(agent.poll_turn(), None);
        handle_entries(
            &seats.hub,
            vec![InboxEntry {
                id: 3,
                seat: to_act,
                kind: InboxKind::Left,
                payload: json!({}),
            }],
        );
        assert_eq!(
            agent.poll_turn(),
            Some(Choice::Fallback(FallbackReason::Left))
        );
        assert_eq!(seats.take_departures(), [to_act]);
        assert!(seats.take_departures().is_empty(), "each departure once");
    }
}

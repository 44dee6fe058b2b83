//! A run's table at a remote MoltPoker-compatible platform, in admin-create mode (seed
//! F9–F13): the run creates the table there, gives each of its seats an identity on that
//! platform (registered once, kept sealed for later runs), joins and connects every seat,
//! starts the table, plays each turn over the seat's WebSocket, and at the end has the seats
//! leave and stops the table.
//!
//! Every seat is the run's, so [`protocol::follow::Follower`] mirrors the platform's hand in
//! this engine from the states the seats receive; the hand loop drives [`RemoteTable`]
//! through the same [`TableHost`] port as a built-in table.
//!
//! Each seat's connection lives in its own task ([`seat::run`]), which reconnects with the
//! session token and then joins again when a connection drops. Everything the tasks receive
//! comes here through one channel; waits are bounded, so a silent platform ends the run with
//! `platform_silent` instead of hanging it.

mod seat;

use crate::host::{HostFault, NewHand, TableHost, TurnDue};
use crate::record::Recorder;
use crate::run::{Runner, with_retry};
use chrono::Utc;
use poker::{Action, Hand};
use protocol::client::ClientAction;
use protocol::follow::Follower;
use protocol::messages::HandComplete;
use protocol::rest::{Blinds, CreateTable, NewTableRules};
use protocol::{ClientMessage, ErrorCode, ServerMessage};
use remote::{Platform, PlatformError};
use serde_json::{Value, json};
use simrunner::domain::PlatformId;
use simrunner::settings::Secret;
use simrunner::store::platforms::{self as store, PlatformIdentity};
use simrunner::store::{RevealError, StoreError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long past the action timeout a hand may go without a word from the platform.
const SILENCE_IN_HAND: Duration = Duration::from_secs(5);
/// How long the table may go without a word between hands (a platform pauses between
/// hands; the reference one 1.5 s).
const SILENCE_BETWEEN_HANDS: Duration = Duration::from_secs(30);
/// How long a new hand waits for every seat's own state (its hole cards).
const HOLES_WAIT: Duration = Duration::from_secs(1);
/// How long closing waits for the platform to say the table ended.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// What a seat's task reports.
#[derive(Debug)]
pub(crate) enum SeatEvent {
    Message {
        seat: usize,
        message: Box<ServerMessage>,
        at: Instant,
    },
    /// The connection dropped; a new one is being opened.
    Dropped { seat: usize },
    /// A new connection is up (its session's state follows).
    Reconnected { seat: usize },
    /// The connection dropped and could not be restored.
    Lost { seat: usize, reason: String },
}

/// One of the run's seats at the platform.
struct SeatLink {
    key: Secret<String>,
    out: mpsc::UnboundedSender<ClientMessage>,
}

/// The turn token the platform gave a seat.
#[derive(Debug, Clone)]
struct Token {
    seq: i64,
    token: String,
    received: Instant,
}

/// The action sent for a turn, until the platform moves on.
struct Sent {
    seat: usize,
    message: ClientMessage,
    /// A check-or-fold was already sent in place of a refused action.
    retried: bool,
    notes: Vec<Value>,
}

/// A table at a platform, all of whose seats are the run's.
pub(crate) struct RemoteTable {
    platform: Platform,
    /// The platform's id of the table.
    table: String,
    seats: Vec<SeatLink>,
    events: mpsc::UnboundedReceiver<SeatEvent>,
    /// Messages of a hand after the one being played, kept until it is recorded.
    backlog: VecDeque<SeatEvent>,
    follower: Follower,
    /// The platform's number of the hand being played.
    open: Option<i64>,
    /// The newest hand begun.
    last_number: i64,
    turns: Vec<Option<Token>>,
    /// The newest `(hand, seq)` each seat's own connection brought.
    seen: Vec<(i64, i64)>,
    /// Seats whose connection is down (being reopened).
    down: Vec<bool>,
    sent: Option<Sent>,
    action_timeout: Duration,
    /// The first `hand_complete` of the hand being played.
    completed: Option<HandComplete>,
    /// The platform ended the table: why, and the stacks it ended with.
    ended: Option<(String, Vec<i64>)>,
    stacks: Vec<i64>,
    closing: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Per decision, from the seat's state arriving to its action sent: simrunner's own
    /// time on a turn (the agent's included), beyond the network.
    overheads: Vec<Duration>,
    watch_url: String,
}

impl Drop for RemoteTable {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The run's error for a platform call that failed.
fn fault(what: &str, error: &PlatformError) -> HostFault {
    let code = match error {
        PlatformError::Unreachable(_) => "platform_unreachable",
        PlatformError::Malformed(_) => "platform_malformed",
        refused if refused.is_auth() => "platform_credential_refused",
        refused => match refused.code().and_then(ErrorCode::parse) {
            Some(ErrorCode::TableFull) => "platform_table_full",
            Some(ErrorCode::OutdatedClient) => "platform_version_refused",
            _ => "platform_refused",
        },
    };
    HostFault::new(code, format!("{what}: {error}"))
}

fn store_fault(error: StoreError) -> HostFault {
    HostFault::new("database_error", error.to_string())
}

impl RemoteTable {
    /// Creates the table at the platform, seats every seat there and starts it. A table
    /// created but not started is stopped again before the error is returned.
    pub async fn open(
        runner: &Runner,
        cx: &crate::run::Context,
        platform_id: &PlatformId,
        recorder: &mut Recorder,
    ) -> Result<Self, HostFault> {
        let Some(keyring) = runner.settings.keyring.as_ref() else {
            return Err(HostFault::new(
                "missing_key_encryption_key",
                "the config plays at a platform but the runner has no \
                 SIMRUNNER_KEY_ENCRYPTION_KEY to open its credential with",
            ));
        };
        let revealed = with_retry("reading the platform", || async {
            let client = runner.pool.get().await?;
            match store::reveal_platform(&client, keyring, platform_id).await {
                Err(RevealError::Store(e)) => Err(e),
                other => Ok(other),
            }
        })
        .await
        .map_err(store_fault)?;
        let (record, credential) = match revealed {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Err(HostFault::new(
                    "platform_deleted",
                    format!("platform {platform_id} no longer exists"),
                ));
            }
            Err(e) => {
                return Err(HostFault::new(
                    "platform_credential_unreadable",
                    e.to_string(),
                ));
            }
        };
        let http = remote::http_client().map_err(|e| HostFault::new("platform_unreachable", e))?;
        let platform = Platform::new(http, &record.base_url, credential);
        let spec = &cx.spec;
        let rules = spec.table();
        let count = cx.seats.len();

        let mut identities = Vec::with_capacity(count);
        for info in &cx.seats {
            identities
                .push(identity(runner, cx, &platform, platform_id, info.seat, &info.name).await?);
        }
        let created = platform
            .create_table(&CreateTable {
                config: NewTableRules {
                    blinds: Blinds {
                        small: rules.blinds.small,
                        big: rules.blinds.big,
                    },
                    max_seats: Some(count as u8),
                    initial_stack: Some(rules.initial_stack),
                    action_timeout_ms: Some(rules.action_timeout_ms),
                    min_players_to_start: Some(count as u8),
                    seed: None,
                },
                bucket_key: Some(cx.bucket_key.clone()),
            })
            .await
            .map_err(|e| fault("creating the table", &e))?;
        let table = created.id;
        let watch_url = platform.watch_url(&table);
        let linked = with_retry("linking the platform's table", || async {
            let client = runner.pool.get().await?;
            store::set_remote_table(&client, &cx.run, &table, &watch_url).await
        })
        .await;
        recorder.log(
            "simulation-summary",
            json!({"event": "platform_table_created", "at": Utc::now(), "platform": record.name,
                   "platform_id": platform_id.as_str(), "table_id": table, "watch_url": watch_url}),
        );
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut remote = Self {
            platform,
            table,
            seats: Vec::with_capacity(count),
            events,
            backlog: VecDeque::new(),
            follower: Follower::new(rules.blinds.small, rules.blinds.big),
            open: None,
            last_number: 0,
            turns: vec![None; count],
            seen: vec![(0, 0); count],
            down: vec![false; count],
            sent: None,
            action_timeout: Duration::from_millis(rules.action_timeout_ms as u64),
            completed: None,
            ended: None,
            stacks: vec![rules.initial_stack; count],
            closing: Arc::new(AtomicBool::new(false)),
            tasks: Vec::new(),
            overheads: Vec::new(),
            watch_url: watch_url.clone(),
        };
        if let Err(e) = linked {
            remote.close().await;
            return Err(store_fault(e));
        }
        let seated = remote
            .seat_all(runner, cx, platform_id, identities, events_tx)
            .await;
        let started = match seated {
            Ok(()) => remote
                .platform
                .start_table(&remote.table)
                .await
                .map_err(|e| fault("starting the table", &e)),
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            remote.close().await;
            return Err(e);
        }
        recorder.log(
            "simulation-summary",
            json!({"event": "platform_table_started", "at": Utc::now(), "table_id": remote.table}),
        );
        Ok(remote)
    }

    /// Joins every seat (its identity again if the platform forgot it) and connects it.
    async fn seat_all(
        &mut self,
        runner: &Runner,
        cx: &crate::run::Context,
        platform_id: &PlatformId,
        identities: Vec<PlatformIdentity>,
        events: mpsc::UnboundedSender<SeatEvent>,
    ) -> Result<(), HostFault> {
        for (seat, mut identity) in identities.into_iter().enumerate() {
            let mut joined = self
                .platform
                .join(&identity.key, &self.table, seat as u8)
                .await;
            if let Err(e) = &joined
                && e.is_auth()
            {
                // The platform no longer knows this seat's agent: a new one, kept instead.
                let name = &cx.seats[seat].name;
                identity =
                    identity_for(runner, cx, &self.platform, platform_id, seat, name).await?;
                joined = self
                    .platform
                    .join(&identity.key, &self.table, seat as u8)
                    .await;
            }
            let joined =
                joined.map_err(|e| fault(&format!("seat {seat} joining the table"), &e))?;
            if joined.seat_id as usize != seat {
                return Err(HostFault::new(
                    "platform_refused",
                    format!(
                        "seat {seat} was given seat {} at the platform",
                        joined.seat_id
                    ),
                ));
            }
            let connection = remote::SeatConnection::connect(&joined.ws_url, &joined.session_token)
                .await
                .map_err(|e| {
                    HostFault::new(
                        "platform_unreachable",
                        format!("seat {seat} connecting to the game: {e}"),
                    )
                })?;
            let (out, outgoing) = mpsc::unbounded_channel();
            self.tasks.push(tokio::spawn(seat::run(
                seat::SeatTask {
                    seat,
                    platform: self.platform.clone(),
                    key: identity.key.clone(),
                    table: self.table.clone(),
                    session: (joined.ws_url, joined.session_token),
                    outgoing,
                    events: events.clone(),
                    closing: self.closing.clone(),
                },
                connection,
            )));
            self.seats.push(SeatLink {
                key: identity.key,
                out,
            });
        }
        Ok(())
    }

    /// The next event, or a fault once `limit` passes without one.
    async fn receive(&mut self, limit: Duration, when: &str) -> Result<SeatEvent, HostFault> {
        match tokio::time::timeout(limit, self.events.recv()).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(HostFault::new(
                "platform_connection_lost",
                "every connection to the platform ended",
            )),
            Err(_) => Err(HostFault::new(
                "platform_silent",
                format!("the platform sent nothing for {} s {when}", limit.as_secs()),
            )),
        }
    }

    fn in_hand_limit(&self) -> Duration {
        self.action_timeout + SILENCE_IN_HAND
    }

    /// Takes in what a seat's task reported.
    fn take(&mut self, event: SeatEvent) -> Result<(), HostFault> {
        let (seat, message, at) = match event {
            SeatEvent::Message { seat, message, at } => (seat, message, at),
            SeatEvent::Lost { seat, reason } => {
                return Err(HostFault::new(
                    "platform_connection_lost",
                    format!(
                        "seat {seat}'s connection to the platform could not be restored: {reason}"
                    ),
                ));
            }
            SeatEvent::Dropped { seat } => {
                self.down[seat] = true;
                return Ok(());
            }
            SeatEvent::Reconnected { seat } => {
                self.down[seat] = false;
                return Ok(());
            }
        };
        let hand = match &*message {
            ServerMessage::GameState(state) => {
                self.seen[seat] = self.seen[seat].max((state.hand_number, state.seq));
                Some(state.hand_number)
            }
            ServerMessage::StreetDealt(dealt) => Some(dealt.hand_number),
            ServerMessage::HandComplete(done) => Some(done.hand_number),
            _ => None,
        };
        if let (Some(hand), Some(open)) = (hand, self.open)
            && hand > open
        {
            self.backlog
                .push_back(SeatEvent::Message { seat, message, at });
            return Ok(());
        }
        let out_of_sync =
            |e: protocol::follow::OutOfSync| HostFault::new("platform_out_of_sync", e.0);
        match *message {
            ServerMessage::GameState(state) => {
                self.follower.observe(&state).map_err(out_of_sync)?;
                if let Some(token) = state.turn_token {
                    self.turns[seat] = Some(Token {
                        seq: state.seq,
                        token,
                        received: at,
                    });
                }
            }
            ServerMessage::StreetDealt(dealt) => {
                self.follower.street(&dealt).map_err(out_of_sync)?;
            }
            ServerMessage::HandComplete(done) => {
                self.follower.complete(&done).map_err(out_of_sync)?;
                if self.open == Some(done.hand_number) && self.completed.is_none() {
                    self.completed = Some(done);
                }
            }
            ServerMessage::TableStatus(status) if status.status == "ended" => {
                let stacks = status
                    .final_stacks
                    .map(|finals| {
                        let mut stacks = self.stacks.clone();
                        for last in finals {
                            if let Some(stack) = stacks.get_mut(last.seat_id as usize) {
                                *stack = last.stack;
                            }
                        }
                        stacks
                    })
                    .unwrap_or_else(|| self.stacks.clone());
                let reason = status.reason.unwrap_or_else(|| "no reason given".into());
                self.ended.get_or_insert((reason, stacks));
            }
            ServerMessage::Error(error) => {
                if let Some(sent) = self.sent.as_mut().filter(|s| s.seat == seat) {
                    sent.notes.push(json!({
                        "event": "platform_refused", "code": error.code, "message": error.message,
                    }));
                    if error.code == ErrorCode::InvalidAction.as_str() && !sent.retried {
                        // The platform's rules refuse what ours allowed: check or fold
                        // rather than wait out the timeout.
                        sent.retried = true;
                        if let ClientMessage::Action {
                            action,
                            expected_seq,
                        } = &sent.message
                        {
                            let safe = match self.follower.hand().and_then(Hand::legal) {
                                Some(legal) if legal.can_check() => Action::Check,
                                _ => Action::Fold,
                            };
                            let again = ClientMessage::Action {
                                action: ClientAction::from_engine(&action.turn_token, safe),
                                expected_seq: *expected_seq,
                            };
                            let _ = self.seats[seat].out.send(again);
                        }
                    }
                } else {
                    tracing::warn!(seat, code = %error.code, message = %error.message, "the platform sent an error");
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Every seat leaves, then the table is stopped; waits (briefly) for the platform to
    /// end it. Returns what did not work.
    async fn shut(&mut self) -> Vec<String> {
        self.closing.store(true, Ordering::SeqCst);
        let mut warnings = Vec::new();
        if self.ended.is_none() {
            for (seat, link) in self.seats.iter().enumerate() {
                if let Err(e) = self.platform.leave(&link.key, &self.table).await {
                    warnings.push(format!("seat {seat} leaving the platform's table: {e}"));
                }
            }
        }
        if let Err(e) = self.platform.stop_table(&self.table).await {
            warnings.push(format!("stopping the platform's table: {e}"));
        }
        let until = Instant::now() + CLOSE_WAIT;
        while self.ended.is_none() && !self.seats.is_empty() {
            let left = until.saturating_duration_since(Instant::now());
            match self.receive(left, "while the table ends").await {
                Ok(event) => {
                    // Only the end matters now.
                    let _ = self.take(event);
                }
                Err(_) => break,
            }
        }
        for task in self.tasks.drain(..) {
            task.abort();
        }
        warnings
    }
}

/// The identity `seat` has at the platform: kept from an earlier run, or registered now.
async fn identity(
    runner: &Runner,
    cx: &crate::run::Context,
    platform: &Platform,
    platform_id: &PlatformId,
    seat: usize,
    name: &str,
) -> Result<PlatformIdentity, HostFault> {
    let keyring = runner.settings.keyring.as_ref().expect("checked by open");
    let kept = with_retry("reading a seat's identity", || async {
        let client = runner.pool.get().await?;
        match store::reveal_identity(&client, keyring, platform_id, &cx.config_id, seat as i16)
            .await
        {
            Err(RevealError::Store(e)) => Err(e),
            other => Ok(other),
        }
    })
    .await
    .map_err(store_fault)?;
    match kept {
        Ok(Some(identity)) => Ok(identity),
        // Unreadable (sealed under a key since lost): a new identity replaces it.
        Ok(None) | Err(_) => identity_for(runner, cx, platform, platform_id, seat, name).await,
    }
}

/// Registers a new agent for `seat` at the platform and keeps its key, sealed.
async fn identity_for(
    runner: &Runner,
    cx: &crate::run::Context,
    platform: &Platform,
    platform_id: &PlatformId,
    seat: usize,
    name: &str,
) -> Result<PlatformIdentity, HostFault> {
    let keyring = runner.settings.keyring.as_ref().expect("checked by open");
    forget_identity(runner, cx, platform_id, seat).await?;
    let registered = platform
        .register_agent(name)
        .await
        .map_err(|e| fault(&format!("registering seat {seat}'s agent"), &e))?;
    let identity = PlatformIdentity {
        agent_id: registered.agent_id,
        key: Secret::new(registered.api_key),
    };
    with_retry("keeping a seat's identity", || async {
        let client = runner.pool.get().await?;
        store::save_identity(
            &client,
            keyring,
            platform_id,
            &cx.config_id,
            seat as i16,
            &identity,
        )
        .await
    })
    .await
    .map_err(store_fault)?;
    Ok(identity)
}

async fn forget_identity(
    runner: &Runner,
    cx: &crate::run::Context,
    platform_id: &PlatformId,
    seat: usize,
) -> Result<(), HostFault> {
    with_retry("forgetting a seat's identity", || async {
        let client = runner.pool.get().await?;
        store::forget_identity(&client, platform_id, &cx.config_id, seat as i16).await
    })
    .await
    .map_err(store_fault)
}

impl TableHost for RemoteTable {
    const PAUSES_BETWEEN_HANDS: bool = false;

    async fn next_hand(&mut self) -> Result<Option<NewHand>, HostFault> {
        self.open = None;
        self.completed = None;
        self.sent = None;
        self.turns.iter_mut().for_each(|t| *t = None);
        for event in std::mem::take(&mut self.backlog) {
            self.take(event)?;
        }
        while self.follower.number().is_none_or(|n| n <= self.last_number) {
            if let Some((reason, stacks)) = &self.ended {
                self.stacks.clone_from(stacks);
                if self.players_left() >= 2 {
                    return Err(HostFault::new(
                        "platform_ended_table",
                        format!("the platform ended the table: {reason}"),
                    ));
                }
                return Ok(None);
            }
            let event = self
                .receive(self.action_timeout + SILENCE_BETWEEN_HANDS, "between hands")
                .await?;
            self.take(event)?;
        }
        let until = Instant::now() + HOLES_WAIT;
        while !self.follower.holes_known() {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) => self.take(event)?,
                _ => break,
            }
        }
        let number = self.follower.number().expect("a hand began");
        self.open = Some(number);
        self.last_number = number;
        let stacks = self.follower.start_stacks();
        Ok(Some(NewHand {
            deck_id: format!("{}#{number}", self.table),
            start_stacks: stacks[..self.seats.len()].to_vec(),
        }))
    }

    fn hand(&self) -> &Hand {
        self.follower.hand().expect("a hand began")
    }

    async fn next_turn(&mut self) -> Result<Option<TurnDue>, HostFault> {
        loop {
            if let Some((reason, _)) = &self.ended {
                return Err(HostFault::new(
                    "platform_ended_table",
                    format!("the platform ended the table mid-hand: {reason}"),
                ));
            }
            let hand = self.hand();
            if hand.is_finished() {
                if self.follower.settled() {
                    return Ok(None);
                }
            } else if let Some(seat) = hand.to_act()
                && self.follower.caught_up()
                && let Some(token) = &self.turns[seat]
                && Some(token.seq) == self.follower.seq()
            {
                let margin = (self.action_timeout / 10)
                    .clamp(Duration::from_millis(100), Duration::from_secs(1));
                return Ok(Some(TurnDue {
                    deadline: Some(token.received + self.action_timeout.saturating_sub(margin)),
                }));
            }
            let event = self.receive(self.in_hand_limit(), "mid-hand").await?;
            self.take(event)?;
        }
    }

    async fn act(&mut self, action: Action) -> Result<Vec<Value>, HostFault> {
        let seat = self.hand().to_act().expect("a seat is to act");
        let token = self.turns[seat].take().expect("next_turn saw its token");
        let message = ClientMessage::Action {
            action: ClientAction::from_engine(&token.token, action),
            expected_seq: Some(token.seq),
        };
        let _ = self.seats[seat].out.send(message.clone());
        self.overheads.push(token.received.elapsed());
        self.sent = Some(Sent {
            seat,
            message,
            retried: false,
            notes: Vec::new(),
        });
        // Until the seat's own connection brings a newer state: what the platform answered
        // the action (ack or error) comes before it. While that connection is down, the
        // other seats' states say when the platform moved on.
        let number = self.follower.number().unwrap_or_default();
        while self.seen[seat] <= (number, token.seq)
            && !(self.down[seat] && self.follower.seq() > Some(token.seq))
        {
            if self.ended.is_some() {
                break;
            }
            let event = self
                .receive(self.in_hand_limit(), "after an action")
                .await?;
            if let SeatEvent::Reconnected { seat: again } = &event
                && *again == seat
                && let Some(sent) = &self.sent
            {
                // Sent on the connection that dropped, perhaps never read: the same turn
                // token again is acted on once.
                let _ = self.seats[seat].out.send(sent.message.clone());
            }
            self.take(event)?;
        }
        Ok(self.sent.take().map(|s| s.notes).unwrap_or_default())
    }

    fn settle(&mut self) -> Vec<String> {
        let hand = self.follower.hand().expect("a hand began");
        for (seat, stack) in self.stacks.iter_mut().enumerate() {
            if hand.is_dealt(seat) {
                *stack = hand.stack(seat);
            }
        }
        match &self.completed {
            Some(done) => self.follower.differences(done),
            None => Vec::new(),
        }
    }

    fn stacks(&self) -> Vec<i64> {
        self.stacks.clone()
    }

    fn cash_out(&mut self, _seat: usize) -> i64 {
        // Every seat is the run's: none departs mid-run.
        0
    }

    async fn close(&mut self) -> Vec<String> {
        self.shut().await
    }

    fn report(&self) -> Option<Value> {
        let mut sorted = self.overheads.clone();
        sorted.sort_unstable();
        let ms = |p: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
                .map(|d| (d.as_secs_f64() * 1e5).round() / 100.0)
        };
        Some(json!({
            "table_id": self.table, "watch_url": self.watch_url, "decisions": sorted.len(),
            "decision_overhead_ms": {"p50": ms(0.5), "p99": ms(0.99), "max": ms(1.0)},
        }))
    }
}

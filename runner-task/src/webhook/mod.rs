//! Webhook seats: a seat played by an outside agent that is asked over HTTPS, one signed
//! POST per decision (Battlesnake-style), instead of holding a WebSocket.
//!
//! The body is the seat's `game_state` as agents see it (`format=agent`), with `table_id`,
//! `seat`, `deadline` (unix ms) and `timeout_ms`; it is signed the Standard Webhooks way
//! ([`sign`]). The answer is `{kind: fold|check|call|raiseTo, amount?}`, as in the agent
//! protocol. Whatever cannot be played — a refused destination ([`guard`]), no connection, no
//! answer by the deadline, a non-2xx status (a redirect included: none is followed), an
//! answer over 64 KiB (cut off as it streams in), garbage or an illegal action — becomes the
//! fallback (check, else fold) with its reason, a `webhook_error` in the seat's log and a
//! warning on the run ([`WebhookWarnings`]). The signing secret goes only into the HMAC.

pub mod guard;

use crate::llm::action_json;
use crate::llm::client::tls_config;
use crate::run::with_retry;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use poker::{Action, Agent, Choice, FallbackReason, Reply, Turn};
use protocol::view::{Moment, SeatFacts, legal_actions};
use protocol::{ActionKind, ClientAction};
use serde_json::{Value, json};
use simrunner::domain::{AgentSlot, WebhookId, WebhookPolicy, WebhookUrl};
use simrunner::secrets::Keyring;
use simrunner::settings::Secret;
use simrunner::store::RevealError;
use simrunner::store::webhooks::{RevealedWebhook, reveal_webhook};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most of an answer that is read: the rest is never read.
pub const MAX_ANSWER_BYTES: usize = protocol::MAX_FRAME_BYTES;

/// The most of an unplayable answer kept in its log entry.
const LOG_ANSWER_BYTES: usize = 1024;

/// Why a webhook's answer could not be played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The destination is not one a webhook may reach: nothing was sent.
    DestinationRefused,
    /// No connection (refused, reset, TLS failure).
    Unreachable,
    Timeout,
    /// Not a 2xx (redirects are not followed).
    HttpStatus,
    /// Over [`MAX_ANSWER_BYTES`].
    TooLarge,
    /// Not `{kind, amount?}`.
    Malformed,
    /// An action the seat may not take now.
    Illegal,
}

impl FailureKind {
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::DestinationRefused => "destination_refused",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Timeout => "timeout",
            FailureKind::HttpStatus => "http_status",
            FailureKind::TooLarge => "too_large",
            FailureKind::Malformed => "malformed",
            FailureKind::Illegal => "illegal",
        }
    }

    /// The reason the seat's fallback is logged with.
    pub fn fallback(self) -> FallbackReason {
        match self {
            FailureKind::DestinationRefused => FallbackReason::DestinationRefused,
            FailureKind::Unreachable | FailureKind::HttpStatus => FallbackReason::ProviderError,
            FailureKind::Timeout => FallbackReason::Timeout,
            FailureKind::TooLarge | FailureKind::Malformed => FallbackReason::Malformed,
            FailureKind::Illegal => FallbackReason::Illegal,
        }
    }
}

#[derive(Debug)]
struct Failure {
    kind: FailureKind,
    status: Option<u16>,
    message: String,
    /// The start of an unplayable answer, for the log.
    answer: Option<String>,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
            answer: None,
        }
    }
}

/// What a webhook seat is sent for one decision: its `game_state` as agents see it
/// (`format=agent`: its own hole cards only, `actions` and `turn_token` because it is its
/// turn), plus `table_id`, `seat`, `deadline` (unix ms) and `timeout_ms`. The `turn_token`
/// is the message id (the `webhook-id` header).
pub fn request_body(
    turn: &Turn<'_>,
    table_id: &str,
    seq: i64,
    message_id: &str,
    now: DateTime<Utc>,
    left: Duration,
) -> Value {
    let seats: Vec<SeatFacts> = turn
        .names
        .iter()
        .map(|name| SeatFacts {
            agent_id: name.clone(),
            name: Some(name.clone()),
            present: true,
        })
        .collect();
    let moment = Moment::Hand {
        hand: turn.hand,
        number: turn.hand_number,
    };
    let seat = turn.decision.seat;
    let state = protocol::view::game_state(table_id, &seats, moment, seq, seat, Some(message_id));
    let mut body = state.to_agent_json();
    let deadline = now + chrono::Duration::from_std(left).unwrap_or_default();
    body["table_id"] = json!(table_id);
    body["seat"] = json!(seat);
    body["deadline"] = json!(deadline.timestamp_millis());
    body["timeout_ms"] = json!(left.as_millis() as u64);
    body
}

/// Reads an answer: a JSON object `{kind, amount?}` (other fields are ignored); `raiseTo`
/// needs `amount`, the seat's total bet on the street after it.
pub fn parse_answer(bytes: &[u8]) -> Result<Action, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("the answer must be a JSON object {kind, amount?}")?;
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("the answer needs a string kind: fold, check, call or raiseTo")?;
    let kind = ActionKind::parse(kind)
        .ok_or_else(|| format!("kind must be fold, check, call or raiseTo (got {kind:?})"))?;
    let amount = match object.get("amount") {
        None | Some(Value::Null) => None,
        Some(amount) => Some(
            amount
                .as_i64()
                .filter(|a| *a > 0)
                .ok_or("amount must be a positive integer")?,
        ),
    };
    ClientAction {
        turn_token: String::new(),
        kind,
        amount,
    }
    .to_engine()
}

/// The legal actions in words, for the log: `fold, call 10, raiseTo 20 to 1000`.
fn legal_in_words(turn: &Turn<'_>) -> String {
    legal_actions(&turn.decision.legal)
        .iter()
        .map(|a| match (a.min_amount, a.max_amount) {
            (Some(min), Some(max)) if min != max => format!("{} {min} to {max}", a.kind),
            (Some(amount), _) => format!("{} {amount}", a.kind),
            _ => a.kind.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The start of an answer as text, for the log.
fn answer_text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(LOG_ANSWER_BYTES)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if shown.len() < bytes.len() {
        text.push('…');
    }
    text
}

/// A failed request as a failure: a refused destination, no time, or no connection. The
/// message leaves the URL out.
fn transport_failure(error: reqwest::Error) -> Failure {
    if let Some(refused) = guard::refusal(&error) {
        return Failure::new(FailureKind::DestinationRefused, refused.0.clone());
    }
    let kind = if error.is_timeout() {
        FailureKind::Timeout
    } else {
        FailureKind::Unreachable
    };
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::new(kind, message)
}

/// Sends the request and reads a 2xx answer of at most [`MAX_ANSWER_BYTES`], chunk by chunk.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Failure> {
    let mut response = request.send().await.map_err(transport_failure)?;
    let status = response.status();
    let refuse = |message: String| Failure {
        status: Some(status.as_u16()),
        ..Failure::new(FailureKind::HttpStatus, message)
    };
    if status.is_redirection() {
        return Err(refuse(format!(
            "answered {status}, a redirect; webhooks follow none"
        )));
    }
    if !status.is_success() {
        return Err(refuse(format!(
            "answered {status}; expected a 2xx with {{kind, amount?}}"
        )));
    }
    let too_large = || Failure {
        status: Some(status.as_u16()),
        ..Failure::new(
            FailureKind::TooLarge,
            format!("the answer is over {MAX_ANSWER_BYTES} bytes; the rest was not read"),
        )
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_failure)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status.as_u16(), body))
}

/// One endpoint, opened for this run.
struct Endpoint {
    id: WebhookId,
    /// Its URL with the guarded client, or why this runner may not call it (checked with the
    /// runner's own policy: an endpoint made where loopback was allowed is refused here
    /// unless it is allowed here too).
    target: Result<(WebhookUrl, reqwest::Client), String>,
    /// The HMAC key inside the `whsec_` secret.
    key: Secret<Vec<u8>>,
}

impl Endpoint {
    fn open(
        id: &WebhookId,
        revealed: RevealedWebhook,
        policy: WebhookPolicy,
        tls: &rustls::ClientConfig,
    ) -> Result<Self, (&'static str, String)> {
        let key = simrunner::signing::signing_key(revealed.secret.expose()).map_err(|why| {
            (
                "webhook_unreadable",
                format!("webhook endpoint {id}: {why}"),
            )
        })?;
        let target = match WebhookUrl::parse(&revealed.url, policy) {
            Ok(url) => {
                let client = guard::endpoint_client(&url, policy, tls.clone())
                    .map_err(|e| ("webhook_unavailable", e))?;
                Ok((url, client))
            }
            Err(why) => Err(format!("the endpoint's URL {why}")),
        };
        Ok(Self {
            id: id.clone(),
            target,
            key: Secret::new(key),
        })
    }
}

/// One warning per seat and kind of failure: how often, and the first message.
#[derive(Debug)]
struct Warning {
    seat: usize,
    webhook_id: String,
    kind: FailureKind,
    count: u64,
    message: String,
}

/// What went wrong with the run's webhook seats, shared by their agents; the runner writes it
/// to the run's results (`webhook_warnings`).
#[derive(Debug, Clone, Default)]
pub struct WebhookWarnings(Arc<Mutex<Vec<Warning>>>);

impl WebhookWarnings {
    fn record(&self, seat: usize, webhook: &WebhookId, failure: &Failure) {
        let mut warnings = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = warnings
            .iter_mut()
            .find(|w| w.seat == seat && w.kind == failure.kind)
        {
            known.count += 1;
            return;
        }
        tracing::warn!(
            seat, webhook = %webhook, kind = failure.kind.name(), message = %failure.message,
            "a webhook seat played the fallback"
        );
        warnings.push(Warning {
            seat,
            webhook_id: webhook.to_string(),
            kind: failure.kind,
            count: 1,
            message: failure.message.clone(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// `[{seat, webhook_id, code, count, message}]`, in the order they first happened.
    pub fn to_json(&self) -> Value {
        let warnings = self.0.lock().unwrap_or_else(|p| p.into_inner());
        warnings
            .iter()
            .map(|w| {
                json!({
                    "seat": w.seat, "webhook_id": w.webhook_id, "code": w.kind.name(),
                    "count": w.count,
                    "message": format!(
                        "seat {}'s webhook {}: {} ({} time{}); the seat checked or folded",
                        w.seat, w.webhook_id, w.message, w.count,
                        if w.count == 1 { "" } else { "s" }
                    ),
                })
            })
            .collect()
    }
}

/// The run's webhook seats: their agents until the runner seats them, and their warnings.
pub struct WebhookSeats {
    agents: Vec<Option<WebhookAgent>>,
    pub warnings: WebhookWarnings,
}

impl WebhookSeats {
    /// Opens the endpoint of every webhook seat in `slots` (each endpoint once): its secret
    /// with the keyring, its URL checked with `policy`. An endpoint that is gone or cannot be
    /// opened fails the run before it starts; a URL this runner may not call does not (its
    /// seat falls back at every turn, with a warning).
    pub async fn open(
        pool: &Pool,
        keyring: Option<&Keyring>,
        policy: WebhookPolicy,
        table_id: &str,
        slots: &[AgentSlot],
    ) -> Result<Self, (&'static str, String)> {
        let warnings = WebhookWarnings::default();
        let mut agents: Vec<Option<WebhookAgent>> = slots.iter().map(|_| None).collect();
        let mut opened: HashMap<WebhookId, Arc<Endpoint>> = HashMap::new();
        let mut tls = None;
        for (seat, id) in slots
            .iter()
            .enumerate()
            .filter_map(|(seat, slot)| slot.webhook_id().map(|id| (seat, id)))
        {
            let Some(keyring) = keyring else {
                return Err((
                    "missing_key_encryption_key",
                    "the config has webhook seats but the runner has no \
                     SIMRUNNER_KEY_ENCRYPTION_KEY to open their signing secrets with"
                        .into(),
                ));
            };
            let endpoint = match opened.get(id) {
                Some(endpoint) => endpoint.clone(),
                None => {
                    let revealed = with_retry("reading webhook endpoints", || async {
                        let client = pool.get().await?;
                        match reveal_webhook(&client, keyring, id).await {
                            Err(RevealError::Store(e)) => Err(e),
                            other => Ok(other),
                        }
                    })
                    .await
                    .map_err(|e| ("database_error", e.to_string()))?
                    .map_err(|e| ("webhook_unreadable", e.to_string()))?
                    .ok_or_else(|| {
                        (
                            "missing_webhook",
                            format!(
                                "seat {seat} calls webhook endpoint {id}, which no longer \
                                 exists; name another endpoint, then start again"
                            ),
                        )
                    })?;
                    if tls.is_none() {
                        tls = Some(tls_config().map_err(|e| ("webhook_unavailable", e))?);
                    }
                    let tls = tls.as_ref().expect("just made");
                    let endpoint = Arc::new(Endpoint::open(id, revealed, policy, tls)?);
                    opened.insert(id.clone(), endpoint.clone());
                    endpoint
                }
            };
            agents[seat] = Some(WebhookAgent {
                seat,
                table_id: table_id.to_owned(),
                endpoint,
                sent: 0,
                warnings: warnings.clone(),
                log: Vec::new(),
            });
        }
        Ok(Self { agents, warnings })
    }

    /// The agent of webhook seat `seat` (once).
    pub fn take(&mut self, seat: usize) -> Option<WebhookAgent> {
        self.agents.get_mut(seat).and_then(Option::take)
    }
}

/// A seat played by a webhook.
pub struct WebhookAgent {
    seat: usize,
    table_id: String,
    endpoint: Arc<Endpoint>,
    /// Requests sent so far: the `seq` of the next `game_state`.
    sent: i64,
    warnings: WebhookWarnings,
    log: Vec<Value>,
}

impl WebhookAgent {
    async fn decide(&mut self, turn: &Turn<'_>) -> Choice {
        self.sent += 1;
        let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        let started = Instant::now();
        let answered = self.ask(turn, &message_id).await;
        let mut entry = json!({
            "hand": turn.hand_number, "seat": self.seat, "webhook_id": self.endpoint.id.as_str(),
            "message_id": message_id, "latency_ms": started.elapsed().as_millis() as u64,
        });
        match answered {
            Ok((status, action)) => {
                entry["event"] = json!("webhook_answer");
                entry["status"] = json!(status);
                entry["action"] = action_json(action);
                self.log.push(entry);
                Choice::Act(action)
            }
            Err(failure) => {
                entry["event"] = json!("webhook_error");
                entry["kind"] = json!(failure.kind.name());
                entry["status"] = json!(failure.status);
                entry["message"] = json!(failure.message);
                if let Some(answer) = &failure.answer {
                    entry["answer"] = json!(answer);
                }
                self.warnings.record(self.seat, &self.endpoint.id, &failure);
                self.log.push(entry);
                Choice::Fallback(failure.kind.fallback())
            }
        }
    }

    /// One signed request and its answer as a legal action, all by the turn's deadline.
    async fn ask(&self, turn: &Turn<'_>, message_id: &str) -> Result<(u16, Action), Failure> {
        let (url, client) = self
            .endpoint
            .target
            .as_ref()
            .map_err(|why| Failure::new(FailureKind::DestinationRefused, why.clone()))?;
        let left = turn.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::new(
                FailureKind::Timeout,
                "no time left before the deadline",
            ));
        }
        let now = Utc::now();
        let body = request_body(turn, &self.table_id, self.sent, message_id, now, left).to_string();
        let signature = simrunner::signing::signature(
            self.endpoint.key.expose(),
            message_id,
            now.timestamp(),
            body.as_bytes(),
        );
        // Bounded below, as a whole (resolving, connecting, sending, reading), by the deadline.
        let request = client
            .post(url.url().clone())
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", now.timestamp().to_string())
            .header("webhook-signature", signature)
            .body(body);
        let (status, bytes) = tokio::time::timeout_at(turn.deadline.into(), send(request))
            .await
            .map_err(|_| {
                Failure::new(
                    FailureKind::Timeout,
                    format!("no answer within {} ms", left.as_millis()),
                )
            })??;
        let unplayable = |kind, message: String| Failure {
            status: Some(status),
            answer: Some(answer_text(&bytes)),
            ..Failure::new(kind, message)
        };
        let action = parse_answer(&bytes).map_err(|why| unplayable(FailureKind::Malformed, why))?;
        if !turn.decision.legal.allows(action) {
            return Err(unplayable(
                FailureKind::Illegal,
                format!(
                    "{} is not legal now; the seat may {}",
                    action_json(action),
                    legal_in_words(turn)
                ),
            ));
        }
        Ok((status, action))
    }
}

impl Agent for WebhookAgent {
    fn act<'a>(&'a mut self, turn: &'a Turn<'a>) -> Reply<'a> {
        Reply::Later(Box::pin(self.decide(turn)))
    }

    fn drain_log(&mut self, into: &mut Vec<Value>) {
        into.append(&mut self.log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poker::{Decision, Table, TableMemory};

    #[test]
    fn answers_are_read_strictly_as_the_protocol_reads_actions() {
        assert_eq!(parse_answer(br#"{"kind":"fold"}"#), Ok(Action::Fold));
        assert_eq!(
            parse_answer(br#"{"kind":"call","reason":"pot odds"}"#),
            Ok(Action::Call)
        );
        assert_eq!(
            parse_answer(br#"{"kind":"raiseTo","amount":40}"#),
            Ok(Action::RaiseTo(40))
        );
        for (garbage, says) in [
            (&b"<html>hello</html>"[..], "not JSON"),
            (b"[\"call\"]", "JSON object"),
            (b"{\"action\":\"call\"}", "string kind"),
            (b"{\"kind\":\"allin\"}", "\"allin\""),
            (b"{\"kind\":\"raiseTo\"}", "needs an amount"),
            (b"{\"kind\":\"raiseTo\",\"amount\":-5}", "positive integer"),
            (
                b"{\"kind\":\"raiseTo\",\"amount\":\"40\"}",
                "positive integer",
            ),
        ] {
            let problem = parse_answer(garbage).unwrap_err();
            assert!(problem.contains(says), "{problem}");
        }
    }

    #[test]
    fn the_body_is_the_seats_game_state_with_its_deadline() {
        let mut table = Table::new(3, 1_000, 5, 10, 7);
        let (_, hand) = table.deal(Vec::new()).unwrap();
        let names: Vec<String> = (0..3).map(|s| format!("sim-seat-{s}")).collect();
        let memory = TableMemory::default();
        let turn = Turn {
            decision: Decision::of(&hand).unwrap(),
            hand: &hand,
            hand_number: 4,
            names: &names,
            memory: &memory,
            deadline: Instant::now() + Duration::from_secs(2),
        };
        let now = Utc::now();
        let body = request_body(
            &turn,
            "tbl_x",
            9,
            "msg_1",
            now,
            Duration::from_millis(1_500),
        );
        let seat = turn.decision.seat;
        assert_eq!(body["type"], "game_state");
        assert_eq!(body["table_id"], "tbl_x");
        assert_eq!(body["seat"], seat);
        assert_eq!(body["hand"], 4);
        assert_eq!(body["seq"], 9);
        assert_eq!(body["turn"], seat);
        assert_eq!(body["turn_token"], "msg_1");
        assert_eq!(body["timeout_ms"], 1_500);
        assert_eq!(
            body["deadline"],
            now.timestamp_millis() + 1_500,
            "unix milliseconds"
        );
        let kinds: Vec<&str> = body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["fold", "call", "raiseTo"]);
        // Its own cards, nobody else's.
        for player in body["players"].as_array().unwrap() {
            assert_eq!(
                player.get("cards").is_some(),
                player["seat"] == seat,
                "{player}"
            );
        }
    }
}

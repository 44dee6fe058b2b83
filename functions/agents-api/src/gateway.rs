//! The agents' WebSocket, `GET /v1/ws?token=…&format=agent`, where this process holds the
//! connections (the local stack; in AWS an API Gateway WebSocket API holds them and a
//! function applies the same [`frame`] rules).
//!
//! A connection is checked against its session, then announced to the table's runner
//! through the inbox (`connected`); frames are checked here (size, JSON, type, rate) and
//! actions go to the inbox for the runner to judge; pings are answered here. What runners
//! send comes back through `NOTIFY simrunner_gateway` (see [`Gateway::start`]).

use crate::AgentsState;
use crate::limits::FrameLimit;
use crate::routes::base_url;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use deadpool_postgres::Pool;
use protocol::messages::{ErrorPayload, Pong};
use protocol::{ClientMessage, ErrorCode, Framing, ServerMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use simrunner::db::{GATEWAY_CHANNEL, Listener};
use simrunner::settings::Secret;
use simrunner::store::seating::{self, InboxKind, Session};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// What to do with one text frame from an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An action: to the table's inbox, for its runner.
    Forward,
    /// Answered here (a `pong`, or an error).
    Reply(Box<ServerMessage>),
}

/// The rules every gateway applies to a frame before a runner sees it.
pub fn frame(text: &str) -> Frame {
    if text.len() > protocol::MAX_FRAME_BYTES {
        return Frame::Reply(Box::new(ServerMessage::Error(ErrorPayload::new(
            ErrorCode::ValidationError,
            format!("frames are at most {} bytes", protocol::MAX_FRAME_BYTES),
        ))));
    }
    match ClientMessage::parse(text) {
        Ok(ClientMessage::Action { .. }) => Frame::Forward,
        Ok(ClientMessage::Ping { timestamp }) => {
            Frame::Reply(Box::new(ServerMessage::Pong(Pong { timestamp })))
        }
        Err(error) => Frame::Reply(Box::new(ServerMessage::Error(ErrorPayload::new(
            error.code,
            error.message,
        )))),
    }
}

/// After this many frames over the rate limit, the connection is closed.
const FLOOD_CLOSE_AFTER: u32 = 200;

enum Out {
    Text(String),
    Close,
}

/// The connections this process holds, by connection id.
pub struct Gateway {
    connections: Mutex<HashMap<String, mpsc::UnboundedSender<Out>>>,
    frames_per_second: u32,
    /// The task delivering runners' notifications, until [`Gateway::stop`].
    delivery: OnceLock<AbortHandle>,
}

impl Gateway {
    /// Starts delivering what runners send (listening on [`GATEWAY_CHANNEL`], reconnecting
    /// after a lost connection).
    pub fn start(database_url: Secret<String>, frames_per_second: u32) -> Arc<Self> {
        let gateway = Arc::new(Self {
            connections: Mutex::new(HashMap::new()),
            frames_per_second,
            delivery: OnceLock::new(),
        });
        let delivering = gateway.clone();
        let delivery = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match Listener::connect(database_url.expose(), &[GATEWAY_CHANNEL]).await {
                    Ok(mut listener) => {
                        backoff = Duration::from_millis(100);
                        while let Some(payload) = listener.recv().await {
                            delivering.deliver(&payload);
                        }
                        tracing::warn!("the agents gateway lost its notifications; reconnecting");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the agents gateway cannot listen; retrying");
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        let _ = gateway.delivery.set(delivery.abort_handle());
        gateway
    }

    /// Stops listening, before the database goes away at shutdown (its closing connection
    /// is then not a lost one to warn about and reconnect).
    pub fn stop(&self) {
        if let Some(delivery) = self.delivery.get() {
            delivery.abort();
        }
    }

    /// Connections held now.
    pub fn connections(&self) -> usize {
        self.connections.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn deliver(&self, payload: &str) {
        let Ok(message) = serde_json::from_str::<Value>(payload) else {
            return;
        };
        let Some(connection) = message["c"].as_str() else {
            return;
        };
        let out = match message["t"].as_str() {
            Some(text) => Out::Text(text.to_owned()),
            None => Out::Close,
        };
        if let Ok(connections) = self.connections.lock()
            && let Some(sender) = connections.get(connection)
        {
            let _ = sender.send(out);
        }
    }

    fn register(&self, id: &str) -> mpsc::UnboundedReceiver<Out> {
        let (sender, receiver) = mpsc::unbounded_channel();
        if let Ok(mut connections) = self.connections.lock() {
            connections.insert(id.to_owned(), sender);
        }
        receiver
    }

    fn forget(&self, id: &str) {
        if let Ok(mut connections) = self.connections.lock() {
            connections.remove(id);
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    token: Option<String>,
    format: Option<String>,
}

/// `GET /v1/ws?token=<session_token>&format=agent`: the game connection. A missing, unknown
/// or expired token is answered on the socket (`UNAUTHORIZED` or `SESSION_EXPIRED`), then
/// the socket is closed, as the reference platform does.
pub async fn connect(
    State(state): State<AgentsState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let framing = Framing::from_query(query.format.as_deref());
    let skill_doc_url = format!("{}/skill.md", base_url(&state, &headers));
    upgrade
        .max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            serve(state, socket, query.token, framing, skill_doc_url).await
        })
}

fn encode(message: &ServerMessage, framing: Framing, table: Option<&str>) -> Utf8Bytes {
    message
        .encode(framing, table, Utc::now().timestamp_millis())
        .into()
}

fn error(code: ErrorCode, message: &str, skill_doc_url: &str) -> ServerMessage {
    let mut payload = ErrorPayload::new(code, message);
    payload.skill_doc_url = Some(skill_doc_url.to_owned());
    payload.min_supported_protocol_version = Some(protocol::MIN_SUPPORTED_PROTOCOL_VERSION.into());
    ServerMessage::Error(payload)
}

/// Closes from this side the way WebSockets should: the close frame, then whatever the
/// agent still sends is read (and dropped) until its own close, for at most two seconds.
/// Dropping a socket with unread frames would reset the TCP connection, and the agent could
/// lose what was sent just before (the error that explains the close).
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let closed = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
    if closed.is_err() {
        return;
    }
    let drained = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drained).await;
}

async fn refuse(mut socket: WebSocket, message: ServerMessage, framing: Framing, reason: &str) {
    let _ = socket
        .send(Message::Text(encode(&message, framing, None)))
        .await;
    close(&mut socket, 1008, reason).await;
}

async fn session_of(
    pool: &Pool,
    token: &str,
) -> Result<Option<Session>, simrunner::store::StoreError> {
    let client = pool.get().await?;
    seating::find_session(&client, token).await
}

async fn push(pool: &Pool, session: &Session, kind: InboxKind, payload: Value) -> bool {
    let pushed = async {
        let mut client = pool.get().await?;
        seating::push_from_connection(&mut client, &session.table_id, session.seat, kind, &payload)
            .await
    };
    match pushed.await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, table = %session.table_id, "writing to a table's inbox");
            false
        }
    }
}

async fn serve(
    state: AgentsState,
    mut socket: WebSocket,
    token: Option<String>,
    framing: Framing,
    skill_doc_url: String,
) {
    let Some(gateway) = state.gateway.clone() else {
        return;
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        let message = error(
            ErrorCode::Unauthorized,
            "add ?token=<session_token> from your join",
            &skill_doc_url,
        );
        return refuse(socket, message, framing, "no session token").await;
    };
    let session = match session_of(&state.pool, &token).await {
        Ok(Some(session)) if !session.expired => session,
        Ok(Some(_)) => {
            let message = error(
                ErrorCode::SessionExpired,
                "this session is over (you left, were revoked, or the table ended); join again",
                &skill_doc_url,
            );
            return refuse(socket, message, framing, "session expired").await;
        }
        Ok(None) => {
            let message = error(
                ErrorCode::Unauthorized,
                "unknown session token",
                &skill_doc_url,
            );
            return refuse(socket, message, framing, "unknown session").await;
        }
        Err(_) => {
            let message = error(
                ErrorCode::InternalError,
                "the server cannot check sessions right now; try again",
                &skill_doc_url,
            );
            return refuse(socket, message, framing, "try again").await;
        }
    };
    let id = format!("lc_{}", simrunner::secrets::random_hex(12));
    let mut outgoing = gateway.register(&id);
    let connected =
        json!({"connection": id, "framing": framing.as_str(), "skill_doc_url": skill_doc_url});
    if !push(&state.pool, &session, InboxKind::Connected, connected).await {
        gateway.forget(&id);
        let message = error(
            ErrorCode::InternalError,
            "the table cannot be reached right now; try again",
            &skill_doc_url,
        );
        return refuse(socket, message, framing, "try again").await;
    }
    let limit = FrameLimit::new(gateway.frames_per_second);
    let mut flooded = 0u32;
    let table = session.table_id.clone();
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(Out::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => {
                    close(&mut socket, 1000, "the session is over").await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if !limit.allow() {
                        flooded += 1;
                        if flooded >= FLOOD_CLOSE_AFTER {
                            close(&mut socket, 1008, "too many frames").await;
                            break;
                        }
                        // One error per second's worth of dropped frames, not one per frame.
                        if flooded % gateway.frames_per_second.max(1) == 1 {
                            let message = ServerMessage::Error(ErrorPayload::new(
                                ErrorCode::RateLimitExceeded,
                                "too many frames; frames over the limit are dropped",
                            ));
                            let _ = socket.send(Message::Text(encode(&message, framing, Some(&table)))).await;
                        }
                        continue;
                    }
                    match frame(text.as_str()) {
                        Frame::Forward => {
                            let action = json!({"connection": id, "framing": framing.as_str(), "frame": text.as_str()});
                            if !push(&state.pool, &session, InboxKind::Action, action).await {
                                let message = ServerMessage::Error(ErrorPayload::new(
                                    ErrorCode::InternalError,
                                    "the action could not be delivered; send it again",
                                ));
                                let _ = socket.send(Message::Text(encode(&message, framing, Some(&table)))).await;
                            }
                        }
                        Frame::Reply(message) => {
                            if socket.send(Message::Text(encode(&message, framing, Some(&table)))).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let message = ServerMessage::Error(ErrorPayload::new(
                        ErrorCode::ValidationError,
                        "send JSON text frames, not binary ones",
                    ));
                    let _ = socket.send(Message::Text(encode(&message, framing, Some(&table)))).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(error)) => {
                    // Oversized frames end here: tungstenite refuses them before we see them.
                    tracing::debug!(%error, "an agent connection failed");
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: 1009,
                        reason: "frame too large or malformed".into(),
                    }))).await;
                    break;
                }
            },
        }
    }
    gateway.forget(&id);
    push(
        &state.pool,
        &session,
        InboxKind::Disconnected,
        json!({"connection": id}),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_forwarded_answered_or_refused_by_the_protocol_rules() {
        assert_eq!(
            frame(r#"{"type":"action","action":{"turn_token":"t","kind":"check"}}"#),
            Frame::Forward
        );
        assert_eq!(
            frame(r#"{"type":"ping","payload":{"timestamp":5}}"#),
            Frame::Reply(Box::new(ServerMessage::Pong(Pong { timestamp: Some(5) })))
        );
        for bad in ["{", r#"{"type":"dance"}"#, &"x".repeat(70_000)] {
            let Frame::Reply(reply) = frame(bad) else {
                panic!("{bad:.20}");
            };
            let ServerMessage::Error(e) = *reply else {
                panic!("{bad:.20}");
            };
            assert_eq!(e.code, "VALIDATION_ERROR");
        }
    }
}

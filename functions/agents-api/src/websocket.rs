//! The agents' WebSocket where an API Gateway WebSocket API holds the connections (AWS).
//! API Gateway calls a function on `$connect`, on each frame (`$default`) and on
//! `$disconnect`; [`handle`] does for each what the local gateway does for a socket it holds
//! ([`crate::gateway`]): checks the session, remembers which seat the connection plays (in
//! `agent_connections`, since nothing lives between invocations), applies the frame rules,
//! and writes to the table's inbox. The runner answers through the API Gateway management API.
//!
//! One difference from the local gateway: a `$connect` with a missing, unknown or expired
//! token is refused at the handshake (`401`/`403`), because API Gateway sends nothing on a
//! connection before `$connect` has answered.

use crate::gateway::{Frame, frame};
use chrono::Utc;
use deadpool_postgres::Pool;
use protocol::messages::ErrorPayload;
use protocol::{ErrorCode, Framing, ServerMessage};
use serde_json::json;
use simrunner::store::StoreError;
use simrunner::store::seating::{self, InboxKind};

/// What API Gateway reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Connect {
        connection: String,
        token: Option<String>,
        format: Option<String>,
        skill_doc_url: String,
    },
    Message {
        connection: String,
        body: String,
    },
    Disconnect {
        connection: String,
    },
}

/// What to answer API Gateway, and a frame to post back to the connection, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub reply: Option<String>,
}

impl Outcome {
    fn status(status: u16) -> Self {
        Self {
            status,
            reply: None,
        }
    }
}

fn reply(message: &ServerMessage, framing: Framing, table: Option<&str>) -> Outcome {
    Outcome {
        status: 200,
        reply: Some(message.encode(framing, table, Utc::now().timestamp_millis())),
    }
}

pub async fn handle(pool: &Pool, event: Event) -> Result<Outcome, StoreError> {
    let mut client = pool.get().await?;
    match event {
        Event::Connect {
            connection,
            token,
            format,
            skill_doc_url,
        } => {
            let framing = Framing::from_query(format.as_deref());
            let Some(token) = token.filter(|t| !t.is_empty()) else {
                return Ok(Outcome::status(401));
            };
            let session = match seating::find_session(&client, &token).await? {
                None => return Ok(Outcome::status(401)),
                Some(session) if session.expired => return Ok(Outcome::status(403)),
                Some(session) => session,
            };
            seating::hold_connection(&client, &connection, &session, framing.as_str()).await?;
            let connected = json!({"connection": connection, "framing": framing.as_str(),
                                   "skill_doc_url": skill_doc_url});
            seating::push_from_connection(
                &mut client,
                &session.table_id,
                session.seat,
                InboxKind::Connected,
                &connected,
            )
            .await?;
            Ok(Outcome::status(200))
        }
        Event::Message { connection, body } => {
            let Some(held) = seating::held_connection(&client, &connection).await? else {
                let error = ServerMessage::Error(ErrorPayload::new(
                    ErrorCode::SessionExpired,
                    "this connection has no session; join again",
                ));
                return Ok(reply(&error, Framing::Envelope, None));
            };
            let framing = Framing::parse(&held.framing).unwrap_or(Framing::Envelope);
            match frame(&body) {
                Frame::Forward => {
                    let action = json!({"connection": connection, "framing": framing.as_str(),
                                        "frame": body});
                    seating::push_from_connection(
                        &mut client,
                        &held.table_id,
                        held.seat,
                        InboxKind::Action,
                        &action,
                    )
                    .await?;
                    Ok(Outcome::status(200))
                }
                Frame::Reply(message) => Ok(reply(&message, framing, Some(&held.table_id))),
            }
        }
        Event::Disconnect { connection } => {
            if let Some(held) = seating::release_connection(&client, &connection).await? {
                seating::push_from_connection(
                    &mut client,
                    &held.table_id,
                    held.seat,
                    InboxKind::Disconnected,
                    &json!({"connection": connection}),
                )
                .await?;
            }
            Ok(Outcome::status(200))
        }
    }
}

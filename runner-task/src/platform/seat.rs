//! One seat's game connection to the platform, in its own task: what arrives goes to the
//! table's channel, what the table sends goes out in order. A connection that drops is
//! opened again with the session token (a few tries, backing off), then by joining the
//! table again; only when both fail is the seat reported lost.

use super::SeatEvent;
use protocol::{ClientMessage, ServerMessage};
use remote::{Platform, SeatConnection};
use simrunner::settings::Secret;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// The waits before each try to reconnect with the session token.
const RECONNECT_BACKOFF: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1_000),
];

pub(super) struct SeatTask {
    pub seat: usize,
    pub platform: Platform,
    pub key: Secret<String>,
    pub table: String,
    /// `(ws_url, session_token)` of the seat's current session.
    pub session: (String, String),
    pub outgoing: mpsc::UnboundedReceiver<ClientMessage>,
    pub events: mpsc::UnboundedSender<SeatEvent>,
    /// The table is closing: a dropped connection stays closed.
    pub closing: Arc<AtomicBool>,
}

/// Runs the seat's connection until the table ends, the table closes or the seat is lost.
pub(super) async fn run(mut task: SeatTask, mut connection: SeatConnection) {
    let seat = task.seat;
    loop {
        let ended = pump(seat, &mut connection, &mut task.outgoing, &task.events).await;
        connection.close().await;
        if ended || task.closing.load(Ordering::SeqCst) {
            return;
        }
        tracing::warn!(seat, "the platform connection dropped; reconnecting");
        if task.events.send(SeatEvent::Dropped { seat }).is_err() {
            return;
        }
        match reconnect(&mut task).await {
            Ok(again) => {
                connection = again;
                if task.events.send(SeatEvent::Reconnected { seat }).is_err() {
                    return;
                }
            }
            Err(reason) => {
                let _ = task.events.send(SeatEvent::Lost { seat, reason });
                return;
            }
        }
    }
}

/// Moves messages both ways until the connection ends: `true` when the table ended (or
/// nobody listens any more), `false` when the connection dropped.
async fn pump(
    seat: usize,
    connection: &mut SeatConnection,
    outgoing: &mut mpsc::UnboundedReceiver<ClientMessage>,
    events: &mpsc::UnboundedSender<SeatEvent>,
) -> bool {
    loop {
        tokio::select! {
            received = connection.next() => match received {
                Ok(Some((message, at))) => {
                    let ended = matches!(&message, ServerMessage::TableStatus(s) if s.status == "ended");
                    let event = SeatEvent::Message { seat, message: Box::new(message), at };
                    if events.send(event).is_err() || ended {
                        return true;
                    }
                }
                Ok(None) => return false,
                Err(error) => {
                    tracing::warn!(seat, %error, "the platform connection failed");
                    return false;
                }
            },
            message = outgoing.recv() => match message {
                Some(message) => {
                    if let Err(error) = connection.send(&message).await {
                        tracing::warn!(seat, %error, "sending to the platform failed");
                        return false;
                    }
                }
                None => return true,
            },
        }
    }
}

/// A new connection: the session again, or failing that a new join.
async fn reconnect(task: &mut SeatTask) -> Result<SeatConnection, String> {
    let mut last_error = String::new();
    for wait in RECONNECT_BACKOFF {
        tokio::time::sleep(wait).await;
        if task.closing.load(Ordering::SeqCst) {
            return Err("the table is closing".into());
        }
        match SeatConnection::connect(&task.session.0, &task.session.1).await {
            Ok(connection) => return Ok(connection),
            Err(error) => last_error = error.to_string(),
        }
    }
    tracing::warn!(seat = task.seat, %last_error, "the session is gone; joining again");
    let joined = task
        .platform
        .join(&task.key, &task.table, task.seat as u8)
        .await
        .map_err(|e| format!("reconnecting failed ({last_error}), and joining again: {e}"))?;
    task.session = (joined.ws_url, joined.session_token);
    SeatConnection::connect(&task.session.0, &task.session.1)
        .await
        .map_err(|e| format!("joining again worked but connecting failed: {e}"))
}

//! A seat's game connection to a platform: `GET {ws_url}?token=…` in the SDK's envelope
//! framing (the fuller payloads), messages decoded by `protocol`.

use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{ClientMessage, ServerMessage};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the connection failed: {0}")]
    Io(String),
}

pub struct SeatConnection {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl SeatConnection {
    /// Connects with the session token of a join (TLS for `wss:`, as for HTTPS).
    pub async fn connect(ws_url: &str, session_token: &str) -> Result<Self, ConnectionError> {
        let separator = if ws_url.contains('?') { '&' } else { '?' };
        let url = format!("{ws_url}{separator}token={session_token}");
        let tls = crate::tls_config().map_err(ConnectionError::Connect)?;
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(1 << 20);
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            true,
            Some(Connector::Rustls(Arc::new(tls))),
        )
        .await
        .map_err(|e| ConnectionError::Connect(e.to_string()))?;
        Ok(Self { socket })
    }

    /// The next message the protocol knows, with when its frame arrived (before it was
    /// read); `None` once the platform closed the connection. Frames it cannot read are
    /// skipped (and logged): a newer platform may send more.
    pub async fn next(&mut self) -> Result<Option<(ServerMessage, Instant)>, ConnectionError> {
        loop {
            let Some(frame) = self.socket.next().await else {
                return Ok(None);
            };
            let at = Instant::now();
            match frame.map_err(|e| ConnectionError::Io(e.to_string()))? {
                Message::Text(text) => match ServerMessage::decode(text.as_str()) {
                    Ok(message) => return Ok(Some((message, at))),
                    Err(reason) => tracing::debug!(%reason, "skipped a platform message"),
                },
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
    }

    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), ConnectionError> {
        self.socket
            .send(Message::Text(message.to_json().into()))
            .await
            .map_err(|e| ConnectionError::Io(e.to_string()))
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

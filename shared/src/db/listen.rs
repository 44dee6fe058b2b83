//! `LISTEN` on a dedicated connection: PostgreSQL notifications as a channel. The runner
//! listens on its table's channel for its agents' inbox; the local agents gateway listens on
//! [`GATEWAY_CHANNEL`] for what runners send to connections.

use super::PoolError;
use std::str::FromStr;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

/// Where runners post messages for agent connections held by the local gateway.
pub const GATEWAY_CHANNEL: &str = "simrunner_gateway";

/// Notifications (their payloads) on the listened channels. `recv` answers `None` once the
/// connection is gone: reconnect, and catch up from the tables the notifications point to.
pub struct Listener {
    // Kept so the connection stays open.
    _client: tokio_postgres::Client,
    notifications: mpsc::UnboundedReceiver<String>,
}

impl Listener {
    /// Connects to `url` (TLS as its `sslmode` says) and listens on `channels`.
    pub async fn connect(url: &str, channels: &[&str]) -> Result<Self, ListenError> {
        let (url, verification) = super::tls::split_url(url);
        let tls = super::tls::connector(&verification)
            .map_err(|e| ListenError::Setup(PoolError::Tls(e)))?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| ListenError::Setup(PoolError::BadUrl(e.to_string())))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        config.application_name("simrunner-listen");
        let (client, mut connection) = config.connect(tls).await?;
        let (sender, notifications) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if sender.send(n.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::warn!(%error, "the LISTEN connection failed");
                        return;
                    }
                    None => return,
                }
            }
        });
        for channel in channels {
            // Channel names are ours (table ids, constants): quoted as identifiers anyway.
            client
                .batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', "")))
                .await?;
        }
        Ok(Self {
            _client: client,
            notifications,
        })
    }

    /// The next notification's payload; `None` once the connection is gone.
    pub async fn recv(&mut self) -> Option<String> {
        self.notifications.recv().await
    }

    /// Every payload already received, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let mut payloads = Vec::new();
        while let Ok(payload) = self.notifications.try_recv() {
            payloads.push(payload);
        }
        payloads
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Setup(PoolError),
    #[error("could not listen for notifications: {0}")]
    Database(#[from] tokio_postgres::Error),
}

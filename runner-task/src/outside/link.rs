//! The runner's way to its agents' connections, which it never holds itself (runner tasks
//! take no inbound connections): a gateway holds them, and the runner sends text to a
//! connection id or closes it.
//!
//! - `notify` (the local stack): `pg_notify('simrunner_gateway', …)`; the local gateway
//!   listens and writes to its sockets.
//! - `apigateway` (AWS, feature `aws`): the API Gateway management API
//!   (`POST`/`DELETE @connections/{id}`) of the WebSocket API that holds them.

use deadpool_postgres::Pool;
use serde_json::json;

/// One thing to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text {
        connection: String,
        text: String,
        /// Sent right after the connection was announced: API Gateway may not have finished
        /// the handshake yet (it answers `Gone` until then), so it is tried again briefly.
        fresh: bool,
    },
    Close {
        connection: String,
    },
}

/// PostgreSQL refuses notification payloads of 8,000 bytes or more.
pub const MAX_NOTIFY_BYTES: usize = 7_999;

/// What a delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    /// Connections that were gone (their agents reconnect and get the current state).
    pub gone: usize,
    /// Anything else that failed; logged.
    pub failed: usize,
}

#[derive(Clone)]
pub enum AgentLink {
    Notify(Pool),
    #[cfg(feature = "aws")]
    ApiGateway(aws_sdk_apigatewaymanagement::Client),
}

impl AgentLink {
    /// The management API of the WebSocket API at `endpoint` (`https://…/stage`).
    #[cfg(feature = "aws")]
    pub fn api_gateway(config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(endpoint)
            .build();
        AgentLink::ApiGateway(aws_sdk_apigatewaymanagement::Client::from_conf(config))
    }

    /// Sends everything in order. A connection that is gone is not an error (its agent will
    /// reconnect and be sent the current state); failures are logged, never fatal to a table.
    pub async fn deliver(&self, batch: &[Outgoing]) -> Delivered {
        match self {
            AgentLink::Notify(pool) => notify(pool, batch).await,
            #[cfg(feature = "aws")]
            AgentLink::ApiGateway(client) => {
                let mut delivered = Delivered::default();
                for out in batch {
                    match post(client, out).await {
                        Ok(()) => delivered.sent += 1,
                        Err(aws_sdk_apigatewaymanagement::Error::GoneException(_)) => {
                            delivered.gone += 1
                        }
                        Err(error) => {
                            delivered.failed += 1;
                            tracing::warn!(%error, "posting to an agent connection failed");
                        }
                    }
                }
                delivered
            }
        }
    }
}

async fn notify(pool: &Pool, batch: &[Outgoing]) -> Delivered {
    let mut delivered = Delivered::default();
    let payloads: Vec<String> = batch
        .iter()
        .map(|out| match out {
            Outgoing::Text {
                connection, text, ..
            } => json!({"c": connection, "t": text}).to_string(),
            Outgoing::Close { connection } => json!({"c": connection, "close": true}).to_string(),
        })
        .filter(|payload| {
            let fits = payload.len() <= MAX_NOTIFY_BYTES;
            if !fits {
                delivered.failed += 1;
                tracing::error!(
                    bytes = payload.len(),
                    "a message too large for the local gateway was dropped"
                );
            }
            fits
        })
        .collect();
    let sent = async {
        let client = pool.get().await?;
        simrunner::store::seating::notify_gateway(&client, &payloads).await
    };
    match sent.await {
        Ok(()) => delivered.sent += payloads.len(),
        Err(error) => {
            delivered.failed += payloads.len();
            tracing::warn!(%error, messages = batch.len(), "could not reach the agents gateway");
        }
    }
    delivered
}

#[cfg(feature = "aws")]
async fn post(
    client: &aws_sdk_apigatewaymanagement::Client,
    out: &Outgoing,
) -> Result<(), aws_sdk_apigatewaymanagement::Error> {
    use aws_sdk_apigatewaymanagement::Error;
    use aws_sdk_apigatewaymanagement::primitives::Blob;
    match out {
        Outgoing::Text {
            connection,
            text,
            fresh,
        } => {
            let mut wait = std::time::Duration::from_millis(50);
            let mut tries = if *fresh { 6 } else { 1 };
            loop {
                let posted = client
                    .post_to_connection()
                    .connection_id(connection)
                    .data(Blob::new(text.as_bytes()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(Error::from);
                tries -= 1;
                match posted {
                    Err(Error::GoneException(_)) if tries > 0 => {
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                    other => return other,
                }
            }
        }
        Outgoing::Close { connection } => client
            .delete_connection()
            .connection_id(connection)
            .send()
            .await
            .map(|_| ())
            .map_err(Error::from),
    }
}

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
    Text { connection: String, text: String },
    Close { connection: String },
}

/// PostgreSQL refuses notification payloads of 8,000 bytes or more.
pub const MAX_NOTIFY_BYTES: usize = 7_999;

#[derive(Clone)]
pub enum AgentLink {
    Notify(Pool),
    #[cfg(feature = "aws")]
    ApiGateway(aws_sdk_apigatewaymanagement::Client),
}

impl AgentLink {
    /// Sends everything in order. A connection that is gone is not an error (its agent will
    /// reconnect and be sent the current state); failures are logged, never fatal to a table.
    pub async fn deliver(&self, batch: &[Outgoing]) {
        match self {
            AgentLink::Notify(pool) => {
                let payloads: Vec<String> = batch
                    .iter()
                    .map(|out| match out {
                        Outgoing::Text { connection, text } => {
                            json!({"c": connection, "t": text}).to_string()
                        }
                        Outgoing::Close { connection } => {
                            json!({"c": connection, "close": true}).to_string()
                        }
                    })
                    .filter(|payload| {
                        let fits = payload.len() <= MAX_NOTIFY_BYTES;
                        if !fits {
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
                if let Err(error) = sent.await {
                    tracing::warn!(%error, messages = batch.len(), "could not reach the agents gateway");
                }
            }
            #[cfg(feature = "aws")]
            AgentLink::ApiGateway(client) => {
                for out in batch {
                    let result = match out {
                        Outgoing::Text { connection, text } => client
                            .post_to_connection()
                            .connection_id(connection)
                            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(
                                text.as_bytes(),
                            ))
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| aws_sdk_apigatewaymanagement::Error::from(e)),
                        Outgoing::Close { connection } => client
                            .delete_connection()
                            .connection_id(connection)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| aws_sdk_apigatewaymanagement::Error::from(e)),
                    };
                    match result {
                        Ok(()) | Err(aws_sdk_apigatewaymanagement::Error::GoneException(_)) => {}
                        Err(error) => {
                            tracing::warn!(%error, "posting to an agent connection failed")
                        }
                    }
                }
            }
        }
    }
}

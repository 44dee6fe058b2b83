//! simrunner as a client of a MoltPoker-compatible platform (the agent protocol 0.1, its
//! REST routes and a seat's WebSocket): what a run played at a remote platform, and the admin
//! API's connection check, use. Message types and their parsing come from `protocol`, the
//! same crate the server side uses, so the two cannot drift.

mod connection;
mod tls;

pub use connection::{ConnectionError, SeatConnection};
pub use tls::{http_client, tls_config};

use protocol::rest::{
    AgentRegistered, CreateTable, CreatedTable, JoinTable, Joined, Left, RegisterAgent,
    TableControl, TableInfo, TableList,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use simrunner::settings::Secret;
use std::time::Duration;

/// How long one REST call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a platform call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// No answer: the platform cannot be reached (or took too long).
    #[error("the platform cannot be reached: {0}")]
    Unreachable(String),
    /// An answer refusing the call, with the protocol's code when it gave one.
    #[error("the platform refused: {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// An answer that is not what the protocol says.
    #[error("the platform answered something unexpected: {0}")]
    Malformed(String),
}

impl PlatformError {
    /// The protocol error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            PlatformError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The credential was refused (401/403).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            PlatformError::Refused {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// A platform reached with its admin credential.
#[derive(Clone)]
pub struct Platform {
    http: reqwest::Client,
    base_url: String,
    credential: Secret<String>,
}

/// What a connection check found, in the order it was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `GET /v1/tables` answered.
    pub reachable: Result<(), String>,
    /// The protocol version its table list says.
    pub protocol_version: Option<String>,
    /// The admin credential was accepted by an admin route (`Ok(false)`: refused).
    pub credential_accepted: Result<bool, String>,
}

impl Platform {
    pub fn new(http: reqwest::Client, base_url: &str, credential: Secret<String>) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credential,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The platform's watch page of a table.
    pub fn watch_url(&self, table: &str) -> String {
        format!("{}/watch/{table}", self.base_url)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, PlatformError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .timeout(CALL_TIMEOUT);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            let body = serde_json::to_vec(body)
                .map_err(|e| PlatformError::Malformed(format!("encoding the request: {e}")))?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PlatformError::Unreachable(describe(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| PlatformError::Unreachable(describe(&e)))?;
        if !status.is_success() {
            return Err(refusal(status, &text));
        }
        serde_json::from_str(&text).map_err(|e| PlatformError::Malformed(format!("{path}: {e}")))
    }

    fn admin(&self) -> Option<&str> {
        Some(self.credential.expose())
    }

    /// Reachable? Which protocol version? Is the admin credential accepted? Each answered
    /// on its own, so an operator sees what works. The credential is tried on stopping a
    /// table that cannot exist: `404` means it was accepted, `401`/`403` refused.
    pub async fn check(&self) -> Check {
        let listed: Result<TableList, PlatformError> = self
            .call(
                reqwest::Method::GET,
                "/v1/tables?limit=1",
                None,
                None::<&()>,
            )
            .await;
        let (reachable, protocol_version) = match listed {
            Ok(list) => (Ok(()), Some(list.protocol_version)),
            Err(PlatformError::Unreachable(e)) => (Err(e), None),
            Err(other) => (Ok(()), Some(format!("unknown ({other})"))),
        };
        if reachable.is_err() {
            return Check {
                reachable,
                protocol_version,
                credential_accepted: Err("not tried: the platform cannot be reached".into()),
            };
        }
        let probe: Result<TableControl, PlatformError> = self
            .call(
                reqwest::Method::POST,
                "/v1/admin/tables/tbl_simrunner_connection_check/stop",
                self.admin(),
                None::<&()>,
            )
            .await;
        let credential_accepted = match probe {
            Err(PlatformError::Refused { status: 404, .. }) | Ok(_) => Ok(true),
            Err(error) if error.is_auth() => Ok(false),
            Err(other) => Err(other.to_string()),
        };
        Check {
            reachable,
            protocol_version,
            credential_accepted,
        }
    }

    pub async fn register_agent(&self, name: &str) -> Result<AgentRegistered, PlatformError> {
        let body = RegisterAgent {
            name: Some(name.to_owned()),
            metadata: Some(serde_json::json!({"client": "simrunner"})),
        };
        self.call(reqwest::Method::POST, "/v1/agents", None, Some(&body))
            .await
    }

    pub async fn create_table(&self, table: &CreateTable) -> Result<CreatedTable, PlatformError> {
        self.call(
            reqwest::Method::POST,
            "/v1/admin/tables",
            self.admin(),
            Some(table),
        )
        .await
    }

    pub async fn start_table(&self, table: &str) -> Result<TableControl, PlatformError> {
        let path = format!("/v1/admin/tables/{table}/start");
        self.call(reqwest::Method::POST, &path, self.admin(), None::<&()>)
            .await
    }

    pub async fn stop_table(&self, table: &str) -> Result<TableControl, PlatformError> {
        let path = format!("/v1/admin/tables/{table}/stop");
        self.call(reqwest::Method::POST, &path, self.admin(), None::<&()>)
            .await
    }

    pub async fn table(&self, table: &str) -> Result<TableInfo, PlatformError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/tables/{table}"),
            None,
            None::<&()>,
        )
        .await
    }

    /// Joins `table` as the agent holding `key`, at `preferred_seat` if open.
    pub async fn join(
        &self,
        key: &Secret<String>,
        table: &str,
        preferred_seat: u8,
    ) -> Result<Joined, PlatformError> {
        let body = JoinTable {
            client_protocol_version: Some(protocol::PROTOCOL_VERSION.into()),
            preferred_seat: Some(preferred_seat),
        };
        let path = format!("/v1/tables/{table}/join");
        self.call(
            reqwest::Method::POST,
            &path,
            Some(key.expose()),
            Some(&body),
        )
        .await
    }

    pub async fn leave(&self, key: &Secret<String>, table: &str) -> Result<Left, PlatformError> {
        let path = format!("/v1/tables/{table}/leave");
        self.call(
            reqwest::Method::POST,
            &path,
            Some(key.expose()),
            None::<&()>,
        )
        .await
    }
}

/// A refusal from its status and body (`{"error": {code, message}}` when the platform
/// follows the protocol).
fn refusal(status: StatusCode, text: &str) -> PlatformError {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = &body["error"];
    PlatformError::Refused {
        status: status.as_u16(),
        code: error["code"].as_str().unwrap_or("").to_owned(),
        message: error["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned()),
    }
}

/// reqwest's error with its causes (the URL is the platform's, which is no secret; keys
/// travel in headers).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

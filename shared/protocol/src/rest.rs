//! The protocol's REST bodies, for the server's routes and the client's calls alike.
//! Errors are `{"error": {code, message, details?}}` with the codes of [`crate::ErrorCode`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolRegisterAgent))]
#[serde(deny_unknown_fields)]
pub struct RegisterAgent {
    /// Shown at the table and on the watch page; 1 to 64 characters, no control characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Anything the agent wants kept about itself (a JSON object, at most 4 KiB).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// `201` to `POST /v1/agents`: the key is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolAgentRegistered))]
pub struct AgentRegistered {
    pub agent_id: String,
    /// `Authorization: Bearer <api_key>` on every agent call. Only a hash is stored.
    pub api_key: String,
    pub protocol_version: String,
    pub skill_doc_url: String,
}

/// `POST /v1/tables/{id}/join`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolJoinTable))]
#[serde(deny_unknown_fields)]
pub struct JoinTable {
    /// The protocol version the client speaks; older than the minimum is refused.
    #[serde(default)]
    pub client_protocol_version: Option<String>,
    /// A seat to prefer when several are open to this agent.
    #[serde(default)]
    pub preferred_seat: Option<u8>,
}

/// `POST /v1/tables/auto-join`: a waiting table with a seat open to this agent, in the
/// bucket if one is named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolAutoJoin))]
#[serde(deny_unknown_fields)]
pub struct AutoJoin {
    #[serde(default)]
    pub client_protocol_version: Option<String>,
    #[serde(default)]
    pub preferred_seat: Option<u8>,
    /// `sb{small}_bb{big}_seats{n}_timeout{ms}`, as tables list it.
    #[serde(default)]
    pub bucket_key: Option<String>,
}

/// What a join answers: where to connect and with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolJoined))]
pub struct Joined {
    pub table_id: String,
    pub seat_id: u8,
    /// `GET {ws_url}?token=<session_token>&format=agent`. Only a hash is stored.
    pub session_token: String,
    pub ws_url: String,
    pub protocol_version: String,
    pub min_supported_protocol_version: String,
    pub skill_doc_url: String,
    pub action_timeout_ms: i64,
}

/// `POST /v1/tables/{id}/leave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolLeft))]
pub struct Left {
    pub success: bool,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolBlinds))]
pub struct Blinds {
    pub small: i64,
    pub big: i64,
}

/// A table's rules, as the protocol names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolTableRules))]
#[serde(rename_all = "camelCase")]
pub struct TableRules {
    pub blinds: Blinds,
    pub max_seats: u8,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
    pub min_players_to_start: u8,
}

/// A seat as tables list it: `agentId` null means open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolSeatInfo))]
#[serde(rename_all = "camelCase")]
pub struct SeatInfo {
    pub seat_id: u8,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub stack: i64,
    pub is_active: bool,
}

/// `GET /v1/tables/{id}` and each item of `GET /v1/tables`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolTableInfo))]
pub struct TableInfo {
    pub id: String,
    /// `waiting`, `running` or `ended`.
    pub status: String,
    pub config: TableRules,
    pub seats: Vec<SeatInfo>,
    #[serde(rename = "availableSeats")]
    pub available_seats: u8,
    #[serde(rename = "playerCount")]
    pub player_count: u8,
    /// RFC 3339.
    pub created_at: String,
    pub bucket_key: String,
}

/// `GET /v1/tables`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolTableList))]
pub struct TableList {
    #[serde(default)]
    pub tables: Vec<TableInfo>,
    /// (Read leniently: a client needs only the version and the tables.)
    #[serde(rename = "hasMore", default)]
    pub has_more: bool,
    pub protocol_version: String,
}

/// A table's rules in `POST /v1/admin/tables`: the protocol's names, every field optional
/// except the blinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolNewTableRules))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTableRules {
    pub blinds: Blinds,
    /// 2 to 9 (default 9).
    #[serde(default)]
    pub max_seats: Option<u8>,
    #[serde(default)]
    pub initial_stack: Option<i64>,
    #[serde(default)]
    pub action_timeout_ms: Option<i64>,
    /// 2 to `maxSeats` (default 2).
    #[serde(default)]
    pub min_players_to_start: Option<u8>,
    /// Accepted for compatibility; a simrunner table deals from its run's own seed.
    #[serde(default)]
    pub seed: Option<String>,
}

/// `POST /v1/admin/tables` (admin-create mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolCreateTable))]
#[serde(deny_unknown_fields)]
pub struct CreateTable {
    pub config: NewTableRules,
    #[serde(default)]
    pub bucket_key: Option<String>,
}

/// `201` to `POST /v1/admin/tables`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolCreatedTable))]
pub struct CreatedTable {
    pub id: String,
    /// `waiting`.
    pub status: String,
    pub config: TableRules,
    pub seats: Vec<SeatInfo>,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /v1/admin/tables/{id}/start` and `…/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProtocolTableControl))]
pub struct TableControl {
    pub success: bool,
    pub status: String,
    pub message: String,
}

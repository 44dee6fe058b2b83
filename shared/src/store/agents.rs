//! Outside agents: registration (the API key is returned once; only its hash is stored),
//! authentication by key, the admin's list, and revocation, which ends the agent's sessions
//! at once (each of its open tables' runners is told through the inbox).

use super::seating::{InboxKind, push_inbox};
use super::{Cursor, Page, PageRequest, StoreError, execute, get, query, query_opt};
use crate::domain::{AgentId, NewAgent};
use crate::secrets::{random_token, token_hash};
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::json;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

/// Agent API keys start with this, so a leaked one is recognisable.
pub const AGENT_KEY_PREFIX: &str = "agk_";

/// Who created an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creator {
    /// `POST /v1/agents`.
    SelfRegistered,
    /// The admin API (the only way in when registration is closed).
    Admin,
}

impl Creator {
    fn as_str(self) -> &'static str {
        match self {
            Creator::SelfRegistered => "self",
            Creator::Admin => "admin",
        }
    }
}

/// An agent as the admin sees it: never its key.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub tables_played: i32,
    pub timeouts: i64,
}

const COLUMNS: &str =
    "id, name, created_by, created_at, last_seen_at, revoked_at, tables_played, timeouts";

fn from_row(row: &Row) -> Result<AgentRecord, StoreError> {
    let id: String = get(row, "id")?;
    Ok(AgentRecord {
        id: AgentId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not an agent id")))?,
        name: get(row, "name")?,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        revoked_at: get(row, "revoked_at")?,
        tables_played: get(row, "tables_played")?,
        timeouts: get(row, "timeouts")?,
    })
}

/// Stores a new agent and returns it with its API key (shown once, never stored).
pub async fn register_agent(
    client: &impl GenericClient,
    agent: &NewAgent,
    creator: Creator,
) -> Result<(AgentRecord, Secret<String>), StoreError> {
    let id = AgentId::generate();
    let key = random_token(AGENT_KEY_PREFIX);
    // Unnamed agents get a name from their id, so tables always have something to show.
    let name = agent
        .name
        .clone()
        .unwrap_or_else(|| format!("agent-{}", &id.as_str()[4..12]));
    let row = query_opt(
        client,
        &format!(
            "INSERT INTO agents (id, name, metadata, key_hash, created_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ),
        &[
            &id.as_str(),
            &name,
            &agent.metadata.as_ref().map(Json),
            &token_hash(&key).as_slice(),
            &creator.as_str(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("INSERT … RETURNING returned nothing".into()))?;
    Ok((from_row(&row)?, Secret::new(key)))
}

/// The agent holding this key, unless revoked; marks it seen.
pub async fn authenticate_agent(
    client: &impl GenericClient,
    api_key: &str,
) -> Result<Option<AgentRecord>, StoreError> {
    if !api_key.starts_with(AGENT_KEY_PREFIX) {
        return Ok(None);
    }
    query_opt(
        client,
        &format!(
            "UPDATE agents SET last_seen_at = now()
              WHERE key_hash = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ),
        &[&token_hash(api_key).as_slice()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Newest first.
pub async fn list_agents(
    client: &impl GenericClient,
    page: &PageRequest,
) -> Result<Page<AgentRecord>, StoreError> {
    let (after_at, after_id) = page
        .after
        .as_ref()
        .map(|c| (Some(c.created_at), Some(c.id.as_str())))
        .unwrap_or_default();
    let rows = query(
        client,
        &format!(
            "SELECT {COLUMNS} FROM agents
              WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2))
              ORDER BY created_at DESC, id DESC LIMIT $3"
        ),
        &[&after_at, &after_id, &(page.limit + 1)],
    )
    .await?;
    let records = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(records, page.limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.to_string(),
    }))
}

pub async fn get_agent(
    client: &impl GenericClient,
    id: &AgentId,
) -> Result<Option<AgentRecord>, StoreError> {
    query_opt(
        client,
        &format!("SELECT {COLUMNS} FROM agents WHERE id = $1"),
        &[&id.as_str()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Of these agent ids, the ones that name no agent, or a revoked one.
pub async fn unknown_agents(
    client: &impl GenericClient,
    ids: &[&str],
) -> Result<Vec<String>, StoreError> {
    let rows = query(
        client,
        "SELECT wanted.id FROM unnest($1::text[]) AS wanted(id)
          WHERE NOT EXISTS (SELECT 1 FROM agents a
                             WHERE a.id = wanted.id AND a.revoked_at IS NULL)",
        &[&ids],
    )
    .await?;
    rows.iter().map(|r| get(r, "id")).collect()
}

/// Revokes the agent (once: a second revoke changes nothing) and ends its sessions: each
/// seat it holds at a table still being played is left, and that table's runner is told.
/// Run it in a transaction. `None` when there is no such agent.
pub async fn revoke_agent(
    tx: &impl GenericClient,
    id: &AgentId,
) -> Result<Option<AgentRecord>, StoreError> {
    let Some(row) = query_opt(
        tx,
        &format!(
            "UPDATE agents SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
             RETURNING {COLUMNS}"
        ),
        &[&id.as_str()],
    )
    .await?
    else {
        return Ok(None);
    };
    let seats = query(
        tx,
        "UPDATE table_seats s SET left_at = now()
           FROM tables t
          WHERE t.id = s.table_id AND t.status = 'open'
            AND s.agent_id = $1 AND s.left_at IS NULL
         RETURNING s.table_id, s.seat",
        &[&id.as_str()],
    )
    .await?;
    for seat in &seats {
        let table: String = get(seat, "table_id")?;
        let number: i16 = get(seat, "seat")?;
        push_inbox(
            tx,
            &table,
            number,
            InboxKind::Revoked,
            &json!({"agent_id": id.as_str()}),
        )
        .await?;
    }
    from_row(&row).map(Some)
}

/// One more table played (counted when its first hand is dealt).
pub async fn count_tables_played(
    client: &impl GenericClient,
    agents: &[&str],
) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE agents SET tables_played = tables_played + 1 WHERE id = ANY($1)",
        &[&agents],
    )
    .await?;
    Ok(())
}

/// One more decision the agent let time out.
pub async fn count_timeout(client: &impl GenericClient, agent: &str) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE agents SET timeouts = timeouts + 1 WHERE id = $1",
        &[&agent],
    )
    .await?;
    Ok(())
}

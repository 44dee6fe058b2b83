//! Where outside agents sit: the tables they can see and join, their seats and sessions,
//! and the inbox through which the agents surface tells a table's runner what its agents did
//! (joined, connected, acted, disconnected, left, were revoked).
//!
//! The inbox is a queue per table: writers insert a row and `NOTIFY` the channel named by
//! the table id in the same transaction; the runner `LISTEN`s there and consumes rows by
//! deleting them (so rows committed out of id order are never skipped), polling as a backstop.

use super::{StoreError, execute, get, query, query_opt};
use crate::secrets::{random_token, token_hash};
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{Value, json};
use tokio_postgres::types::Json;

/// Session tokens start with this.
pub const SESSION_PREFIX: &str = "ses_";

/// What an inbox row says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// A seat was taken: `{agent_id, name}`.
    Joined,
    /// A connection opened on the seat's session: `{connection, framing}`.
    Connected,
    /// That connection closed: `{connection}`.
    Disconnected,
    /// A parsed action frame: `{connection, action: {turn_token, kind, amount?}, expected_seq?}`.
    Action,
    /// The agent left: `{agent_id}`.
    Left,
    /// The agent was revoked: `{agent_id}`.
    Revoked,
    /// A hosted table's client asked it to start (`POST /v1/admin/tables/{id}/start`).
    Start,
}

impl InboxKind {
    pub const ALL: [InboxKind; 7] = [
        InboxKind::Joined,
        InboxKind::Connected,
        InboxKind::Disconnected,
        InboxKind::Action,
        InboxKind::Left,
        InboxKind::Revoked,
        InboxKind::Start,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Joined => "joined",
            InboxKind::Connected => "connected",
            InboxKind::Disconnected => "disconnected",
            InboxKind::Action => "action",
            InboxKind::Left => "left",
            InboxKind::Revoked => "revoked",
            InboxKind::Start => "start",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Adds a row to the table's inbox and wakes its runner (at commit). Nothing is added for a
/// table that has ended: its runner is gone.
pub async fn push_inbox(
    client: &impl GenericClient,
    table_id: &str,
    seat: i16,
    kind: InboxKind,
    payload: &Value,
) -> Result<(), StoreError> {
    query(
        client,
        "WITH pushed AS (
             INSERT INTO agent_inbox (table_id, seat, kind, payload)
             SELECT $1, $2, $3, $4 FROM tables WHERE id = $1 AND status = 'open'
             RETURNING id)
         SELECT pg_notify($1, id::text) FROM pushed",
        &[&table_id, &seat, &kind.as_str(), &Json(payload)],
    )
    .await?;
    Ok(())
}

/// Adds what a connection did (connected, an action, disconnected) to the table's inbox
/// without waiting for the disk: inbox rows live for milliseconds, and if the database
/// crashes the table's runner goes with it (an agent's action then times out and falls back,
/// as any late action does). Waiting for each commit's WAL flush would add a disk write to
/// every action's round trip.
pub async fn push_from_connection(
    client: &mut impl GenericClient,
    table_id: &str,
    seat: i16,
    kind: InboxKind,
    payload: &Value,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    push_inbox(&tx, table_id, seat, kind, payload).await?;
    tx.commit().await?;
    Ok(())
}

/// One inbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    pub id: i64,
    pub seat: usize,
    pub kind: InboxKind,
    pub payload: Value,
}

/// Takes every row waiting in the table's inbox, oldest first (without waiting for the
/// disk, like [`push_from_connection`]).
pub async fn consume_inbox(
    client: &mut impl GenericClient,
    table_id: &str,
) -> Result<Vec<InboxEntry>, StoreError> {
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    let rows = query(
        &tx,
        "DELETE FROM agent_inbox WHERE table_id = $1 RETURNING id, seat, kind, payload",
        &[&table_id],
    )
    .await?;
    tx.commit().await?;
    let mut entries = rows
        .iter()
        .map(|row| {
            let kind: String = get(row, "kind")?;
            let Json(payload): Json<Value> = get(row, "payload")?;
            Ok(InboxEntry {
                id: get(row, "id")?,
                seat: get::<i16>(row, "seat")? as usize,
                kind: InboxKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("inbox kind {kind:?}")))?,
                payload,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    entries.sort_by_key(|e| e.id);
    Ok(entries)
}

/// Opens a table's external seats (the runner, right after opening the table; the admin API
/// for a hosted table): each seat, and the one agent it is kept for, if any. Seats already
/// open stay as they are.
pub async fn open_external_seats(
    client: &impl GenericClient,
    table_id: &str,
    seats: &[(i16, Option<&str>)],
) -> Result<(), StoreError> {
    let numbers: Vec<i16> = seats.iter().map(|(s, _)| *s).collect();
    let reserved: Vec<Option<&str>> = seats.iter().map(|(_, r)| *r).collect();
    execute(
        client,
        "INSERT INTO table_seats (table_id, seat, reserved_for)
         SELECT $1, seat, reserved FROM unnest($2::smallint[], $3::text[]) AS s(seat, reserved)
         ON CONFLICT (table_id, seat) DO NOTHING",
        &[&table_id, &numbers, &reserved],
    )
    .await?;
    Ok(())
}

/// A taken external seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenSeat {
    pub seat: usize,
    pub agent_id: String,
    pub name: String,
}

/// Starts the table (no more joins) and returns who took which external seat; the seats
/// nobody took are removed. `seats` becomes the table's public line-up.
pub async fn start_table(
    client: &mut impl GenericClient,
    table_id: &str,
) -> Result<Vec<TakenSeat>, StoreError> {
    let tx = client.transaction().await?;
    // The row lock orders this after any join in progress; later joins see started_at.
    execute(
        &tx,
        "UPDATE tables SET started_at = now() WHERE id = $1 AND started_at IS NULL",
        &[&table_id],
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM table_seats WHERE table_id = $1 AND agent_id IS NULL",
        &[&table_id],
    )
    .await?;
    let rows = query(
        &tx,
        "SELECT s.seat, s.agent_id, a.name FROM table_seats s JOIN agents a ON a.id = s.agent_id
          WHERE s.table_id = $1 AND s.left_at IS NULL ORDER BY s.seat",
        &[&table_id],
    )
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            Ok(TakenSeat {
                seat: get::<i16>(row, "seat")? as usize,
                agent_id: get(row, "agent_id")?,
                name: get(row, "name")?,
            })
        })
        .collect()
}

/// The table's public line-up, once its seats are known.
pub async fn set_table_seats(
    client: &impl GenericClient,
    table_id: &str,
    seats: &Value,
) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE tables SET seats = $2 WHERE id = $1",
        &[&table_id, &seats],
    )
    .await?;
    Ok(())
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    TableNotFound,
    TableEnded,
    /// No seat is open to this agent (all taken, kept for others, or the table started).
    TableFull,
    AlreadySeated,
}

/// A seat taken, with the session's token (returned once; only its hash is stored).
#[derive(Debug)]
pub struct Seated {
    pub table_id: String,
    pub seat: u8,
    pub session_token: Secret<String>,
    pub action_timeout_ms: i64,
}

/// Takes a seat at the table for the agent. Run it in a transaction.
pub async fn join_table(
    tx: &impl GenericClient,
    table_id: &str,
    agent_id: &str,
    agent_name: &str,
    preferred_seat: Option<u8>,
) -> Result<Result<Seated, JoinRefusal>, StoreError> {
    let Some(table) = query_opt(
        tx,
        "SELECT status, started_at, action_timeout_ms FROM tables WHERE id = $1 FOR UPDATE",
        &[&table_id],
    )
    .await?
    else {
        return Ok(Err(JoinRefusal::TableNotFound));
    };
    if get::<String>(&table, "status")? == "ended" {
        return Ok(Err(JoinRefusal::TableEnded));
    }
    if get::<Option<DateTime<Utc>>>(&table, "started_at")?.is_some() {
        return Ok(Err(JoinRefusal::TableFull));
    }
    let seated = query_opt(
        tx,
        "SELECT 1 FROM table_seats WHERE table_id = $1 AND agent_id = $2",
        &[&table_id, &agent_id],
    )
    .await?;
    if seated.is_some() {
        return Ok(Err(JoinRefusal::AlreadySeated));
    }
    let preferred = preferred_seat.map(i16::from);
    let Some(seat) = query_opt(
        tx,
        "SELECT seat FROM table_seats
          WHERE table_id = $1 AND agent_id IS NULL
            AND (reserved_for IS NULL OR reserved_for = $2)
          ORDER BY reserved_for IS NOT DISTINCT FROM $2 DESC,
                   seat IS NOT DISTINCT FROM $3 DESC, seat
          LIMIT 1",
        &[&table_id, &agent_id, &preferred],
    )
    .await?
    else {
        return Ok(Err(JoinRefusal::TableFull));
    };
    let seat: i16 = get(&seat, "seat")?;
    let token = random_token(SESSION_PREFIX);
    execute(
        tx,
        "UPDATE table_seats SET agent_id = $3, session_hash = $4, joined_at = now()
          WHERE table_id = $1 AND seat = $2",
        &[&table_id, &seat, &agent_id, &token_hash(&token).as_slice()],
    )
    .await?;
    push_inbox(
        tx,
        table_id,
        seat,
        InboxKind::Joined,
        &json!({"agent_id": agent_id, "name": agent_name}),
    )
    .await?;
    Ok(Ok(Seated {
        table_id: table_id.to_owned(),
        seat: seat as u8,
        session_token: Secret::new(token),
        action_timeout_ms: get(&table, "action_timeout_ms")?,
    }))
}

/// Takes a seat at the oldest waiting table with one open to the agent (in the bucket, if
/// named). Run it in a transaction. `TableNotFound` when there is none.
pub async fn auto_join(
    tx: &impl GenericClient,
    agent_id: &str,
    agent_name: &str,
    bucket_key: Option<&str>,
    preferred_seat: Option<u8>,
) -> Result<Result<Seated, JoinRefusal>, StoreError> {
    let candidate = query_opt(
        tx,
        "SELECT t.id FROM tables t
          WHERE t.status = 'open' AND t.started_at IS NULL
            AND ($2::text IS NULL OR t.bucket_key = $2)
            AND EXISTS (SELECT 1 FROM table_seats s
                         WHERE s.table_id = t.id AND s.agent_id IS NULL
                           AND (s.reserved_for IS NULL OR s.reserved_for = $1))
            AND NOT EXISTS (SELECT 1 FROM table_seats s
                             WHERE s.table_id = t.id AND s.agent_id = $1)
          ORDER BY t.created_at, t.id
          LIMIT 1 FOR UPDATE OF t SKIP LOCKED",
        &[&agent_id, &bucket_key],
    )
    .await?;
    match candidate {
        Some(row) => {
            let table: String = get(&row, "id")?;
            join_table(tx, &table, agent_id, agent_name, preferred_seat).await
        }
        None => Ok(Err(JoinRefusal::TableNotFound)),
    }
}

/// What a leave did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// Before the first hand: the seat is open again.
    Unseated,
    /// The table is being played: the seat leaves (between hands, or forfeiting this one).
    Left,
    NotSeated,
    TableNotFound,
}

/// The agent leaves its seat at the table. Run it in a transaction.
pub async fn leave_table(
    tx: &impl GenericClient,
    table_id: &str,
    agent_id: &str,
) -> Result<LeaveOutcome, StoreError> {
    let Some(table) = query_opt(
        tx,
        "SELECT status, started_at FROM tables WHERE id = $1 FOR UPDATE",
        &[&table_id],
    )
    .await?
    else {
        return Ok(LeaveOutcome::TableNotFound);
    };
    let waiting = get::<Option<DateTime<Utc>>>(&table, "started_at")?.is_none();
    let ended = get::<String>(&table, "status")? == "ended";
    let sql = if waiting {
        "UPDATE table_seats SET agent_id = NULL, session_hash = NULL, joined_at = NULL
          WHERE table_id = $1 AND agent_id = $2 AND left_at IS NULL RETURNING seat"
    } else {
        "UPDATE table_seats SET left_at = now()
          WHERE table_id = $1 AND agent_id = $2 AND left_at IS NULL RETURNING seat"
    };
    let Some(seat) = query_opt(tx, sql, &[&table_id, &agent_id]).await? else {
        return Ok(LeaveOutcome::NotSeated);
    };
    if !ended {
        push_inbox(
            tx,
            table_id,
            get(&seat, "seat")?,
            InboxKind::Left,
            &json!({"agent_id": agent_id}),
        )
        .await?;
    }
    Ok(if waiting {
        LeaveOutcome::Unseated
    } else {
        LeaveOutcome::Left
    })
}

/// A session, found by its token.
#[derive(Debug, Clone)]
pub struct Session {
    pub table_id: String,
    pub seat: i16,
    pub agent_id: String,
    /// Over: the agent left, was revoked, or the table ended. Join again.
    pub expired: bool,
}

pub async fn find_session(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<Session>, StoreError> {
    if !token.starts_with(SESSION_PREFIX) {
        return Ok(None);
    }
    let row = query_opt(
        client,
        "SELECT s.table_id, s.seat, s.agent_id,
                (s.left_at IS NOT NULL OR a.revoked_at IS NOT NULL OR t.status = 'ended')
                    AS expired
           FROM table_seats s
           JOIN agents a ON a.id = s.agent_id
           JOIN tables t ON t.id = s.table_id
          WHERE s.session_hash = $1",
        &[&token_hash(token).as_slice()],
    )
    .await?;
    row.map(|row| {
        Ok(Session {
            table_id: get(&row, "table_id")?,
            seat: get(&row, "seat")?,
            agent_id: get(&row, "agent_id")?,
            expired: get(&row, "expired")?,
        })
    })
    .transpose()
}

/// A table as agents list it.
#[derive(Debug, Clone)]
pub struct AgentTableRecord {
    pub id: String,
    pub ended: bool,
    pub started: bool,
    pub bucket_key: String,
    pub small_blind: i64,
    pub big_blind: i64,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
    /// The line-up as the runner wrote it: `[{seat, name, type, …}]`.
    pub seats: Value,
    /// `[{seat, stack}]` after the last finished hand, if any.
    pub stacks: Option<Value>,
    /// `[{seat, agent_id, name, left, reserved_for}]` of the external seats.
    pub external: Value,
    pub created_at: DateTime<Utc>,
}

const TABLE_COLUMNS: &str =
    "t.id, t.status = 'ended' AS ended, t.started_at IS NOT NULL AS started,
    t.bucket_key, t.small_blind, t.big_blind, t.initial_stack, t.action_timeout_ms, t.seats,
    t.stacks, t.created_at,
    (SELECT COALESCE(json_agg(json_build_object('seat', s.seat, 'agent_id', s.agent_id,
                                                'name', a.name, 'left', s.left_at IS NOT NULL,
                                                'reserved_for', s.reserved_for)
                              ORDER BY s.seat), '[]'::json)
       FROM table_seats s LEFT JOIN agents a ON a.id = s.agent_id
      WHERE s.table_id = t.id) AS external";

fn table_from_row(row: &tokio_postgres::Row) -> Result<AgentTableRecord, StoreError> {
    let Json(external): Json<Value> = get(row, "external")?;
    Ok(AgentTableRecord {
        id: get(row, "id")?,
        ended: get(row, "ended")?,
        started: get(row, "started")?,
        bucket_key: get(row, "bucket_key")?,
        small_blind: get(row, "small_blind")?,
        big_blind: get(row, "big_blind")?,
        initial_stack: get(row, "initial_stack")?,
        action_timeout_ms: get(row, "action_timeout_ms")?,
        seats: get(row, "seats")?,
        stacks: get(row, "stacks")?,
        external,
        created_at: get(row, "created_at")?,
    })
}

/// What `GET /v1/tables?status=` filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentTableStatus {
    Waiting,
    Running,
    Ended,
}

/// Tables newest first; `limit + 1` are read so the caller can tell whether more follow.
pub async fn list_agent_tables(
    client: &impl GenericClient,
    status: Option<AgentTableStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AgentTableRecord>, StoreError> {
    let status = status.map(|s| match s {
        AgentTableStatus::Waiting => "waiting",
        AgentTableStatus::Running => "running",
        AgentTableStatus::Ended => "ended",
    });
    let rows = query(
        client,
        &format!(
            "SELECT {TABLE_COLUMNS} FROM tables t
              WHERE CASE $1::text
                      WHEN 'waiting' THEN t.status = 'open' AND t.started_at IS NULL
                      WHEN 'running' THEN t.status = 'open' AND t.started_at IS NOT NULL
                      WHEN 'ended' THEN t.status = 'ended'
                      ELSE true END
              ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3"
        ),
        &[&status, &(limit + 1), &offset],
    )
    .await?;
    rows.iter().map(table_from_row).collect()
}

pub async fn get_agent_table(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<AgentTableRecord>, StoreError> {
    query_opt(
        client,
        &format!("SELECT {TABLE_COLUMNS} FROM tables t WHERE t.id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(table_from_row)
    .transpose()
}

/// Posts payloads to the local agents gateway, in order (see
/// [`crate::db::GATEWAY_CHANNEL`]). Each payload must stay under PostgreSQL's 8,000 bytes.
pub async fn notify_gateway(
    client: &impl GenericClient,
    payloads: &[String],
) -> Result<(), StoreError> {
    query(
        client,
        "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS q(p, n) ORDER BY n",
        &[&crate::db::GATEWAY_CHANNEL, &payloads],
    )
    .await?;
    Ok(())
}

/// A connection an API Gateway WebSocket API holds, and the seat it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldConnection {
    pub table_id: String,
    pub seat: i16,
    pub framing: String,
}

fn held_from_row(row: &tokio_postgres::Row) -> Result<HeldConnection, StoreError> {
    Ok(HeldConnection {
        table_id: get(row, "table_id")?,
        seat: get(row, "seat")?,
        framing: get(row, "framing")?,
    })
}

/// Remembers which seat a gateway-held connection plays (at `$connect`).
pub async fn hold_connection(
    client: &impl GenericClient,
    connection_id: &str,
    session: &Session,
    framing: &str,
) -> Result<(), StoreError> {
    execute(
        client,
        "INSERT INTO agent_connections (connection_id, table_id, seat, framing)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (connection_id) DO UPDATE
            SET table_id = $2, seat = $3, framing = $4, connected_at = now()",
        &[&connection_id, &session.table_id, &session.seat, &framing],
    )
    .await?;
    Ok(())
}

/// The seat a gateway-held connection plays.
pub async fn held_connection(
    client: &impl GenericClient,
    connection_id: &str,
) -> Result<Option<HeldConnection>, StoreError> {
    let row = query_opt(
        client,
        "SELECT table_id, seat, framing FROM agent_connections WHERE connection_id = $1",
        &[&connection_id],
    )
    .await?;
    row.as_ref().map(held_from_row).transpose()
}

/// Forgets a gateway-held connection (at `$disconnect`), returning what it played.
pub async fn release_connection(
    client: &impl GenericClient,
    connection_id: &str,
) -> Result<Option<HeldConnection>, StoreError> {
    let row = query_opt(
        client,
        "DELETE FROM agent_connections WHERE connection_id = $1
         RETURNING table_id, seat, framing",
        &[&connection_id],
    )
    .await?;
    row.as_ref().map(held_from_row).transpose()
}

/// A table hosted for a remote client (`POST /v1/admin/tables`), as its controls see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedTable {
    pub config: crate::domain::SimulationId,
    /// Its first hand was dealt.
    pub started: bool,
    pub ended: bool,
}

/// The hosted table `table_id`, if there is one.
pub async fn hosted_table(
    client: &impl GenericClient,
    table_id: &str,
) -> Result<Option<HostedTable>, StoreError> {
    let row = query_opt(
        client,
        "SELECT c.id, t.started_at IS NOT NULL AS started,
                COALESCE(t.status = 'ended', false) AS ended
           FROM simulation_configs c LEFT JOIN tables t ON t.id = c.hosted_table_id
          WHERE c.hosted_table_id = $1",
        &[&table_id],
    )
    .await?;
    row.map(|row| {
        let id: String = get(&row, "id")?;
        Ok(HostedTable {
            config: crate::domain::SimulationId::parse(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a config id")))?,
            started: get(&row, "started")?,
            ended: get(&row, "ended")?,
        })
    })
    .transpose()
}

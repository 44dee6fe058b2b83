//! What the public may read: tables, their event feed and finished hands. Every query here
//! reads only the `public_*` views (migration 0006), which are all the read-only
//! `simrunner_public` role may read, so this code works unchanged on that role's login and a
//! bug here cannot reach admin data.

use super::hand_histories::View;
use super::{Cursor, Page, StoreError, get, query, query_opt};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;

/// A table as the public sees it.
#[derive(Debug, Clone)]
pub struct PublicTable {
    pub id: String,
    pub name: String,
    pub bucket_key: String,
    /// `open` (being played) or `ended`.
    pub status: String,
    pub small_blind: i64,
    pub big_blind: i64,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
    /// `[{"seat", "name", "type", "model"}]`
    pub seats: Value,
    /// `[{"seat", "stack"}]` after the last finished hand; `None` before the first.
    pub stacks: Option<Value>,
    pub hands_played: i64,
    pub last_seq: i64,
    pub started_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

const TABLE_COLUMNS: &str = "id, name, bucket_key, status, small_blind, big_blind, \
    initial_stack, action_timeout_ms, seats, stacks, hands_played, last_seq, started_at, \
    last_event_at, ended_at";

fn table_from_row(row: &Row) -> Result<PublicTable, StoreError> {
    Ok(PublicTable {
        id: get(row, "id")?,
        name: get(row, "name")?,
        bucket_key: get(row, "bucket_key")?,
        status: get(row, "status")?,
        small_blind: get(row, "small_blind")?,
        big_blind: get(row, "big_blind")?,
        initial_stack: get(row, "initial_stack")?,
        action_timeout_ms: get(row, "action_timeout_ms")?,
        seats: get(row, "seats")?,
        stacks: get(row, "stacks")?,
        hands_played: get(row, "hands_played")?,
        last_seq: get(row, "last_seq")?,
        started_at: get(row, "started_at")?,
        last_event_at: get(row, "last_event_at")?,
        ended_at: get(row, "ended_at")?,
    })
}

/// Tables by latest activity, newest first; `status` `open` or `ended`, or both.
pub async fn list_tables(
    client: &impl GenericClient,
    status: Option<&str>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Page<PublicTable>, StoreError> {
    let (after_at, after_id) = after
        .map(|c| (Some(c.created_at), Some(c.id.as_str())))
        .unwrap_or_default();
    let rows = query(
        client,
        &format!(
            "SELECT {TABLE_COLUMNS} FROM public_tables
              WHERE ($1::text IS NULL OR status = $1)
                AND ($2::timestamptz IS NULL OR (last_event_at, id) < ($2, $3))
              ORDER BY last_event_at DESC, id DESC LIMIT $4"
        ),
        &[&status, &after_at, &after_id, &(limit + 1)],
    )
    .await?;
    let tables = rows
        .iter()
        .map(table_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(tables, limit, |t| Cursor {
        created_at: t.last_event_at,
        id: t.id.clone(),
    }))
}

/// How many tables are open and how many ended.
pub async fn count_tables(client: &impl GenericClient) -> Result<(i64, i64), StoreError> {
    let row = query_opt(
        client,
        "SELECT count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'ended')
           FROM public_tables",
        &[],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("count returned no row".into()))?;
    Ok((row.get(0), row.get(1)))
}

pub async fn get_table(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<PublicTable>, StoreError> {
    query_opt(
        client,
        &format!("SELECT {TABLE_COLUMNS} FROM public_tables WHERE id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(table_from_row)
    .transpose()
}

/// One event of a table's public feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    pub seq: i64,
    pub hand_number: Option<i64>,
    pub kind: String,
    pub payload: Value,
    pub at: DateTime<Utc>,
}

fn event_from_row(row: &Row) -> Result<FeedEvent, StoreError> {
    let payload: String = get(row, "payload")?;
    Ok(FeedEvent {
        seq: get(row, "seq")?,
        hand_number: get(row, "hand_number")?,
        kind: get(row, "kind")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
        at: get(row, "created_at")?,
    })
}

/// Up to `limit` events after `after`, in order.
pub async fn events_after(
    client: &impl GenericClient,
    table_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    let rows = query(
        client,
        "SELECT seq, hand_number, kind, payload::text AS payload, created_at
           FROM public_table_events WHERE table_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        &[&table_id, &after, &limit],
    )
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// The last `limit` events, in order: enough for the current hand.
pub async fn latest_events(
    client: &impl GenericClient,
    table_id: &str,
    limit: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    let rows = query(
        client,
        "SELECT * FROM (
             SELECT seq, hand_number, kind, payload::text AS payload, created_at
               FROM public_table_events WHERE table_id = $1 ORDER BY seq DESC LIMIT $2) e
          ORDER BY seq",
        &[&table_id, &limit],
    )
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// A finished hand with the cards shown at showdown only.
#[derive(Debug, Clone)]
pub struct PublicHand {
    pub table_id: String,
    pub number: i64,
    pub button: i16,
    pub small_blind: i64,
    pub big_blind: i64,
    pub board: Vec<String>,
    /// `[{"amount", "eligible", "winners"}]`, main pot first.
    pub pots: Value,
    /// `[{"seat", "cards", "rank"}]` of the seats that showed down.
    pub shown: Value,
    /// `[{"seat", "start_stack", "end_stack", "net"}]`
    pub seats: Value,
    /// Where the hand starts in the feed (`None` for hands recorded before it was kept).
    pub first_seq: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

const HAND_COLUMNS: &str = "table_id, number, button, small_blind, big_blind, board, \
    pots::text AS pots, shown::text AS shown, seats::text AS seats, first_seq, started_at, \
    completed_at";

fn json_column(row: &Row, name: &str) -> Result<Value, StoreError> {
    let text: String = get(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

fn hand_from_row(row: &Row) -> Result<PublicHand, StoreError> {
    Ok(PublicHand {
        table_id: get(row, "table_id")?,
        number: get(row, "number")?,
        button: get(row, "button")?,
        small_blind: get(row, "small_blind")?,
        big_blind: get(row, "big_blind")?,
        board: get(row, "board")?,
        pots: json_column(row, "pots")?,
        shown: json_column(row, "shown")?,
        seats: json_column(row, "seats")?,
        first_seq: get(row, "first_seq")?,
        started_at: get(row, "started_at")?,
        completed_at: get(row, "completed_at")?,
    })
}

/// A table's finished hands, newest first, keyset-paged on the hand number (carried in the
/// cursor's id).
pub async fn list_hands(
    client: &impl GenericClient,
    table_id: &str,
    limit: i64,
    before_number: Option<i64>,
) -> Result<Page<PublicHand>, StoreError> {
    let rows = query(
        client,
        &format!(
            "SELECT {HAND_COLUMNS} FROM public_hands
              WHERE table_id = $1 AND ($2::int8 IS NULL OR number < $2)
              ORDER BY number DESC LIMIT $3"
        ),
        &[&table_id, &before_number, &(limit + 1)],
    )
    .await?;
    let hands = rows
        .iter()
        .map(hand_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(hands, limit, |h| Cursor {
        created_at: h.completed_at,
        id: h.number.to_string(),
    }))
}

pub async fn get_hand(
    client: &impl GenericClient,
    table_id: &str,
    number: i64,
) -> Result<Option<PublicHand>, StoreError> {
    query_opt(
        client,
        &format!("SELECT {HAND_COLUMNS} FROM public_hands WHERE table_id = $1 AND number = $2"),
        &[&table_id, &number],
    )
    .await?
    .as_ref()
    .map(hand_from_row)
    .transpose()
}

/// Calls `each` with the finished hands of `table` numbered within `numbers` as hand
/// histories that show only the cards shown at showdown (read from the `public_*` views);
/// returns how many there were.
pub async fn hand_histories(
    client: &impl GenericClient,
    table: &PublicTable,
    numbers: std::ops::RangeInclusive<i64>,
    each: impl FnMut(&poker::phh::HandHistory) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    super::hand_histories::visit(client, &table.id, &table.seats, View::Public, numbers, each).await
}

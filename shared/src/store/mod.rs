//! The Postgres store. Functions take any [`GenericClient`] (a pooled connection or a
//! transaction), use cached prepared statements, and return domain records.

pub mod agents;
mod api_keys;
pub mod hand_histories;
pub mod health;
pub mod models;
mod page;
pub mod platforms;
pub mod public;
pub mod recording;
mod runs;
pub mod seating;
mod simulations;
pub mod webhooks;

pub use api_keys::{
    ApiKeyRecord, ResealReport, RevealError, delete_api_key, insert_api_key, list_api_keys,
    reseal_api_keys, reveal_api_key, reveal_newest_api_key,
};
pub use page::{Cursor, Page, PageRequest};
pub use runs::{RunRecord, RunTable, get_run, list_runs, run_tables};
pub use simulations::{
    Activity, SimulationRecord, Skip, SkipEntry, UpdateOutcome, activity, delete_simulation,
    get_simulation, insert_simulation, list_simulations, list_skips, periodic_schedules,
    update_simulation,
};

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::row::RowIndex;
use tokio_postgres::types::ToSql;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, is overloaded or is shutting down: retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database refused: a bug, logged in full and answered with a 500.
    #[error("database error: {}", describe(.0))]
    Database(#[source] tokio_postgres::Error),
    /// A stored row no longer parses into a domain value.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// The server's own message and SQLSTATE when there is one (tokio-postgres's `Display` only
/// says "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            StoreError::Unavailable(error.to_string())
        } else {
            StoreError::Database(error)
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

async fn query_opt(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// The database's current snapshot, `pg_current_snapshot()` as text: the transactions that
/// had committed, and those still running, when it was taken. Transaction ids are never
/// given out twice and a commit is never undone, so the same text later means nothing
/// committed (or started writing) in between, anywhere in the database: a query would read
/// the same rows. Any write moves it, a run's heartbeat as much as a saved config. The
/// server's start time is part of it: a database restored from a backup or failed over to a
/// replica (which may hand out ids again) never matches a snapshot seen before.
pub async fn snapshot(client: &impl GenericClient) -> Result<String, StoreError> {
    let row = query_opt(
        client,
        "SELECT pg_current_snapshot()::text || ' ' || pg_postmaster_start_time()::text",
        &[],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("pg_current_snapshot() returned no row".into()))?;
    get(&row, 0)
}

/// Reads a text column that must parse into a domain enum.
fn parse_column<T>(
    row: &Row,
    column: impl RowIndex + std::fmt::Display,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = row
        .try_get(&column)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{column} = {text:?}")))
}

/// Reads a column by name, or by position: the queries read many rows of many columns use
/// positions (see [`position`]), because a name is compared with every column before it.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: impl RowIndex + std::fmt::Display,
) -> Result<T, StoreError> {
    row.try_get(&column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Where `name` is in `names`, worked out when the program is built (a name that is not
/// there fails the build): a query's column position from the list its SQL is made of.
const fn position(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such column")
}

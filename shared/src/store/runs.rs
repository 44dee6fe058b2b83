use super::{Cursor, Page, PageRequest, StoreError, get, parse_column, query};
use crate::domain::{RunId, RunStatus, RunTrigger, SimulationId};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use std::sync::LazyLock;
use tokio_postgres::Row;

/// One run of a config, as the admin API shows it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: RunId,
    pub config_id: SimulationId,
    pub status: RunStatus,
    pub trigger: RunTrigger,
    pub hands_played: i64,
    pub table_id: Option<String>,
    pub results: Option<serde_json::Value>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub stop_requested_at: Option<DateTime<Utc>>,
    /// LLM seats' tokens and estimated cost, kept current while the run plays.
    pub llm_usage: Option<serde_json::Value>,
    /// Why it counts as degraded (`[{code, seat?, message}]`), once it ended; `None`: it does not.
    pub degraded_reasons: Option<serde_json::Value>,
    /// Waiting, with its table open, to take over from a closing one (handover).
    pub standby: bool,
    /// Decisions of its LLM and outside seats, and how many fell back.
    pub decisions: i64,
    pub fallbacks: i64,
    /// A run played at a platform: that platform's watch page of the table.
    pub remote_watch_url: Option<String>,
}

const COLUMNS: [&str; 20] = [
    "id",
    "config_id",
    "status",
    "trigger",
    "hands_played",
    "table_id",
    "results",
    "error_code",
    "error_message",
    "created_at",
    "started_at",
    "completed_at",
    "heartbeat_at",
    "stop_requested_at",
    "llm_usage",
    "degraded_reasons",
    "standby",
    "decisions",
    "fallbacks",
    "remote_watch_url",
];

/// `alias.id AS {prefix}id, …`: lets a run ride along in another query's rows.
pub(super) fn select_list(alias: &str, prefix: Prefix) -> String {
    COLUMNS
        .iter()
        .map(|c| format!("{alias}.{c} AS {}{c}", prefix.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run columns under a name prefix: `Plain` as selected from `simulation_runs`, `Latest`
/// as they ride along (prefixed `run_`) in the configs query.
#[derive(Clone, Copy)]
pub(super) enum Prefix {
    Plain,
    Latest,
}

impl Prefix {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Prefix::Plain => "",
            Prefix::Latest => "run_",
        }
    }
}

/// Reads a run from its columns, which start at position `first` (in [`COLUMNS`] order);
/// `None` when they are NULL (a LEFT JOIN that found no run).
pub(super) fn from_row(row: &Row, first: usize) -> Result<Option<RunRecord>, StoreError> {
    let at = |name: usize| first + name;
    let [
        id,
        config_id,
        status,
        trigger,
        hands_played,
        table_id,
        results,
        error_code,
        error_message,
        created_at,
        started_at,
        completed_at,
        heartbeat_at,
        stop_requested_at,
        llm_usage,
        degraded_reasons,
        standby,
        decisions,
        fallbacks,
        remote_watch_url,
    ] = std::array::from_fn::<usize, 20, _>(at);
    let Some(id) = get::<Option<String>>(row, id)? else {
        return Ok(None);
    };
    let parse_id =
        |text: &str, what: &str| StoreError::Corrupt(format!("{what} {text:?} is not a valid id"));
    let config_id: String = get(row, config_id)?;
    Ok(Some(RunRecord {
        id: RunId::parse(&id).ok_or_else(|| parse_id(&id, "run id"))?,
        config_id: SimulationId::parse(&config_id)
            .ok_or_else(|| parse_id(&config_id, "config id"))?,
        status: parse_column(row, status, RunStatus::parse)?,
        trigger: parse_column(row, trigger, RunTrigger::parse)?,
        hands_played: get(row, hands_played)?,
        table_id: get(row, table_id)?,
        results: get(row, results)?,
        error_code: get(row, error_code)?,
        error_message: get(row, error_message)?,
        created_at: get(row, created_at)?,
        started_at: get(row, started_at)?,
        completed_at: get(row, completed_at)?,
        heartbeat_at: get(row, heartbeat_at)?,
        stop_requested_at: get(row, stop_requested_at)?,
        llm_usage: get(row, llm_usage)?,
        degraded_reasons: get(row, degraded_reasons)?,
        standby: get(row, standby)?,
        decisions: get(row, decisions)?,
        fallbacks: get(row, fallbacks)?,
        remote_watch_url: get(row, remote_watch_url)?,
    }))
}

static LIST_RUNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM simulation_runs r
         WHERE r.config_id = $1
           AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3))
         ORDER BY r.created_at DESC, r.id DESC
         LIMIT $4",
        select_list("r", Prefix::Plain)
    )
});

/// A config's runs, newest first.
pub async fn list_runs(
    client: &impl GenericClient,
    config_id: &SimulationId,
    page: &PageRequest,
) -> Result<Page<RunRecord>, StoreError> {
    let (after_at, after_id) = page
        .after
        .as_ref()
        .map(|c| (Some(c.created_at), Some(c.id.as_str())))
        .unwrap_or_default();
    let rows = query(
        client,
        &LIST_RUNS,
        &[&config_id.as_str(), &after_at, &after_id, &(page.limit + 1)],
    )
    .await?;
    let runs = rows
        .iter()
        .filter_map(|row| from_row(row, 0).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(runs, page.limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.to_string(),
    }))
}

static GET_RUN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM simulation_runs r WHERE r.id = $1",
        select_list("r", Prefix::Plain)
    )
});

/// One run by id.
pub async fn get_run(
    client: &impl GenericClient,
    id: &RunId,
) -> Result<Option<RunRecord>, StoreError> {
    match super::query_opt(client, &GET_RUN, &[&id.as_str()]).await? {
        Some(row) => from_row(&row, 0),
        None => Ok(None),
    }
}

/// One table a run opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTable {
    pub id: String,
    /// Its place in the run, from 1.
    pub position: i16,
    pub name: Option<String>,
    /// `open` or `ended`.
    pub status: String,
    pub hands_played: i64,
}

/// The tables a run opened, in position order (none before it opens them).
pub async fn run_tables(
    client: &impl GenericClient,
    id: &RunId,
) -> Result<Vec<RunTable>, StoreError> {
    let rows = query(
        client,
        "SELECT id, position, name, status, hands_played FROM tables
          WHERE run_id = $1 ORDER BY position, created_at",
        &[&id.as_str()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunTable {
                id: get(row, "id")?,
                position: get(row, "position")?,
                name: get(row, "name")?,
                status: get(row, "status")?,
                hands_played: get(row, "hands_played")?,
            })
        })
        .collect()
}

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
}

const COLUMNS: [&str; 14] = [
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
];

/// `alias.id AS {prefix}id, …`: lets a run ride along in another query's rows.
pub(super) fn select_list(alias: &str, prefix: &str) -> String {
    COLUMNS
        .iter()
        .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a run from columns named `{prefix}id`, …; `None` when the run columns are NULL
/// (a LEFT JOIN that found no run).
pub(super) fn from_row(row: &Row, prefix: &str) -> Result<Option<RunRecord>, StoreError> {
    let col = |c: &str| format!("{prefix}{c}");
    let Some(id) = get::<Option<String>>(row, &col("id"))? else {
        return Ok(None);
    };
    let parse_id =
        |text: &str, what: &str| StoreError::Corrupt(format!("{what} {text:?} is not a valid id"));
    let config_id: String = get(row, &col("config_id"))?;
    Ok(Some(RunRecord {
        id: RunId::parse(&id).ok_or_else(|| parse_id(&id, "run id"))?,
        config_id: SimulationId::parse(&config_id)
            .ok_or_else(|| parse_id(&config_id, "config id"))?,
        status: parse_column(row, &col("status"), RunStatus::parse)?,
        trigger: parse_column(row, &col("trigger"), RunTrigger::parse)?,
        hands_played: get(row, &col("hands_played"))?,
        table_id: get(row, &col("table_id"))?,
        results: get(row, &col("results"))?,
        error_code: get(row, &col("error_code"))?,
        error_message: get(row, &col("error_message"))?,
        created_at: get(row, &col("created_at"))?,
        started_at: get(row, &col("started_at"))?,
        completed_at: get(row, &col("completed_at"))?,
        heartbeat_at: get(row, &col("heartbeat_at"))?,
        stop_requested_at: get(row, &col("stop_requested_at"))?,
    }))
}

static LIST_RUNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM simulation_runs r
         WHERE r.config_id = $1
           AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3))
         ORDER BY r.created_at DESC, r.id DESC
         LIMIT $4",
        select_list("r", "")
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
        .filter_map(|row| from_row(row, "").transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(runs, page.limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.to_string(),
    }))
}

use super::runs::{self, RunRecord};
use super::{Cursor, Page, PageRequest, StoreError, execute, get, query, query_opt};
use crate::domain::{
    AgentSlotDraft, Provider, Schedule, SimulationDraft, SimulationId, SimulationSpec,
    ValidationErrors, WindowDraft,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

/// A stored config with what the admin list shows beside it.
#[derive(Debug, Clone)]
pub struct SimulationRecord {
    pub id: SimulationId,
    pub spec: SimulationSpec,
    pub bucket_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A queued or running run exists.
    pub is_running: bool,
    pub latest_run: Option<RunRecord>,
    pub last_skip: Option<Skip>,
    /// Providers its LLM seats need and no stored key is for: runs cannot start.
    pub missing_keys: Vec<Provider>,
    /// Why simrunner paused it itself (auto-pause), while paused.
    pub pause_reason: Option<String>,
    /// Always-on: since when no table has been live in its windows (an alert went out).
    pub coverage_lost_at: Option<DateTime<Utc>>,
}

/// Why the scheduler's last trigger of a config started nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: String,
    pub at: DateTime<Utc>,
    pub count: i64,
}

/// How daily windows are stored in the `windows` JSONB column.
#[derive(Serialize, Deserialize)]
struct StoredWindow {
    start: String,
    end: String,
}

/// How agent slots are stored in the `agent_slots` JSONB column.
#[derive(Serialize, Deserialize)]
struct StoredSlot {
    #[serde(rename = "type")]
    agent_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_id: Option<String>,
}

/// The config columns the configs query selects, in order; rows are read by position
/// (`col!`), then `is_running`, `key_providers` and the latest run's columns follow.
const CONFIG_COLUMNS: [&str; 38] = [
    "id",
    "name",
    "status",
    "schedule_type",
    "interval_minutes",
    "cooldown_minutes",
    "max_hands",
    "max_run_minutes",
    "pace",
    "agent_count",
    "agent_slots",
    "small_blind",
    "big_blind",
    "initial_stack",
    "action_timeout_ms",
    "max_llm_cost_cents",
    "join_timeout_seconds",
    "fill_empty_seats_with",
    "platform_id",
    "hosted_table_id",
    "bucket_key",
    "last_skip_reason",
    "last_skip_at",
    "skip_count",
    "created_at",
    "updated_at",
    "cron_expression",
    "time_zone",
    "starts_at",
    "ends_at",
    "max_runs",
    "live_tables",
    "windows",
    "handover",
    "auto_pause_after",
    "pause_reason",
    "coverage_lost_at",
    "tables",
];

/// A config column's position in the configs query.
macro_rules! col {
    ($name:ident) => {
        const { super::position(&CONFIG_COLUMNS, stringify!($name)) }
    };
}

/// Where the columns after the config's are.
const IS_RUNNING: usize = CONFIG_COLUMNS.len();
const KEY_PROVIDERS: usize = CONFIG_COLUMNS.len() + 1;
const LATEST_RUN: usize = CONFIG_COLUMNS.len() + 2;

/// One query for configs with their latest run and whether any run is active: no N+1.
static SELECT_RECORDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {},
                EXISTS (SELECT 1 FROM simulation_runs a
                        WHERE a.config_id = c.id AND a.status IN ('queued', 'running')) AS is_running,
                ARRAY(SELECT DISTINCT provider FROM provider_api_keys) AS key_providers,
                latest.*
         FROM simulation_configs c
         LEFT JOIN LATERAL (
             SELECT {} FROM simulation_runs r
             WHERE r.config_id = c.id
             ORDER BY r.created_at DESC, r.id DESC
             LIMIT 1) latest ON true",
        CONFIG_COLUMNS.map(|c| format!("c.{c}")).join(", "),
        runs::select_list("r", runs::Prefix::Latest)
    )
});

static LIST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE ($1::timestamptz IS NULL OR (c.created_at, c.id) < ($1, $2))
         ORDER BY c.created_at DESC, c.id DESC LIMIT $3",
        *SELECT_RECORDS
    )
});

static GET: LazyLock<String> = LazyLock::new(|| format!("{} WHERE c.id = $1", *SELECT_RECORDS));

static PERIODIC: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE c.status = 'active' AND c.schedule_type = 'periodic'",
        *SELECT_RECORDS
    )
});

/// Every active periodic config's schedule: what a local scheduler triggers.
pub async fn periodic_schedules(
    client: &impl GenericClient,
) -> Result<Vec<(SimulationId, Schedule)>, StoreError> {
    let rows = query(client, &PERIODIC, &[]).await?;
    rows.iter()
        .map(|row| from_row(row).map(|r| (r.id, r.spec.schedule().clone())))
        .collect()
}

fn from_row(row: &Row) -> Result<SimulationRecord, StoreError> {
    let id: String = get(row, col!(id))?;
    let Json(slots): Json<Vec<StoredSlot>> = get(row, col!(agent_slots))?;
    let draft = SimulationDraft {
        name: Some(get(row, col!(name))?),
        status: Some(get(row, col!(status))?),
        schedule_type: Some(get(row, col!(schedule_type))?),
        interval_minutes: get(row, col!(interval_minutes))?,
        cooldown_minutes: Some(get(row, col!(cooldown_minutes))?),
        max_hands: Some(get(row, col!(max_hands))?),
        tables: Some(i64::from(get::<i16>(row, col!(tables))?)),
        max_run_minutes: Some(get(row, col!(max_run_minutes))?),
        pace: Some(get(row, col!(pace))?),
        agent_count: Some(get(row, col!(agent_count))?),
        agent_slots: Some(
            slots
                .into_iter()
                .map(|s| AgentSlotDraft {
                    agent_type: Some(s.agent_type),
                    model: s.model,
                    agent_id: s.agent_id,
                    webhook_id: s.webhook_id,
                })
                .collect(),
        ),
        small_blind: Some(get(row, col!(small_blind))?),
        big_blind: Some(get(row, col!(big_blind))?),
        initial_stack: Some(get(row, col!(initial_stack))?),
        action_timeout_ms: Some(get(row, col!(action_timeout_ms))?),
        max_llm_cost_usd: get::<Option<i64>>(row, col!(max_llm_cost_cents))?
            .map(|cents| cents as f64 / 100.0),
        join_timeout_seconds: get::<Option<i32>>(row, col!(join_timeout_seconds))?.map(i64::from),
        fill_empty_seats_with: get(row, col!(fill_empty_seats_with))?,
        cron_expression: get(row, col!(cron_expression))?,
        time_zone: get(row, col!(time_zone))?,
        starts_at: get::<Option<DateTime<Utc>>>(row, col!(starts_at))?
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ends_at: get::<Option<DateTime<Utc>>>(row, col!(ends_at))?
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        max_runs: get::<Option<i32>>(row, col!(max_runs))?.map(i64::from),
        live_tables: get::<Option<i32>>(row, col!(live_tables))?.map(i64::from),
        windows: get::<Option<Json<Vec<StoredWindow>>>>(row, col!(windows))?.map(
            |Json(windows)| {
                windows
                    .into_iter()
                    .map(|w| WindowDraft {
                        start: Some(w.start),
                        end: Some(w.end),
                    })
                    .collect()
            },
        ),
        // Stored as false for every other kind of schedule, where it must not appear.
        handover: get::<Option<i32>>(row, col!(live_tables))?
            .map(|_| get(row, col!(handover)))
            .transpose()?,
        auto_pause_after: get::<Option<i32>>(row, col!(auto_pause_after))?.map(i64::from),
        host: get(row, col!(platform_id))?,
        hosted_table: get(row, col!(hosted_table_id))?,
    };
    let spec = draft
        .validate()
        .map_err(|e| StoreError::Corrupt(format!("{id}: {e}")))?;
    let last_skip = match (
        get::<Option<String>>(row, col!(last_skip_reason))?,
        get::<Option<DateTime<Utc>>>(row, col!(last_skip_at))?,
    ) {
        (Some(reason), Some(at)) => Some(Skip {
            reason,
            at,
            count: get(row, col!(skip_count))?,
        }),
        _ => None,
    };
    let key_providers: Vec<String> = get(row, KEY_PROVIDERS)?;
    let missing_keys = spec
        .llm_providers()
        .into_iter()
        .filter(|p| !key_providers.iter().any(|k| k == p.as_str()))
        .collect();
    Ok(SimulationRecord {
        id: SimulationId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a config id")))?,
        spec,
        bucket_key: get(row, col!(bucket_key))?,
        created_at: get(row, col!(created_at))?,
        updated_at: get(row, col!(updated_at))?,
        is_running: get(row, IS_RUNNING)?,
        latest_run: runs::from_row(row, LATEST_RUN)?,
        last_skip,
        missing_keys,
        pause_reason: get(row, col!(pause_reason))?,
        coverage_lost_at: get(row, col!(coverage_lost_at))?,
    })
}

fn slots_json(spec: &SimulationSpec) -> serde_json::Value {
    let slots: Vec<StoredSlot> = spec
        .agent_slots()
        .iter()
        .map(|s| StoredSlot {
            agent_type: s.agent_type().as_str().to_owned(),
            model: s.model().map(|m| m.to_text()),
            agent_id: s.agent_id().map(|a| a.to_string()),
            webhook_id: s.webhook_id().map(|w| w.to_string()),
        })
        .collect();
    serde_json::to_value(slots).expect("agent slots serialise")
}

/// A spec as its columns, owned, in the order `$1…$30` of the insert and update statements.
struct Columns {
    id: String,
    name: String,
    status: &'static str,
    schedule_type: &'static str,
    interval_minutes: Option<i64>,
    cooldown_minutes: i64,
    max_hands: i64,
    max_run_minutes: i64,
    pace: &'static str,
    agent_count: i64,
    agent_slots: serde_json::Value,
    small_blind: i64,
    big_blind: i64,
    initial_stack: i64,
    action_timeout_ms: i64,
    max_llm_cost_cents: Option<i64>,
    join_timeout_seconds: Option<i32>,
    fill_empty_seats_with: Option<&'static str>,
    cron_expression: Option<String>,
    time_zone: Option<&'static str>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    max_runs: Option<i32>,
    live_tables: Option<i32>,
    windows: Option<serde_json::Value>,
    handover: bool,
    auto_pause_after: Option<i32>,
    platform_id: Option<String>,
    hosted_table_id: Option<String>,
    tables: i16,
}

impl Columns {
    fn of(id: &SimulationId, spec: &SimulationSpec) -> Self {
        let table = spec.table();
        let seating = spec.external_seating();
        let schedule = spec.schedule();
        let calendar = schedule.calendar();
        let always_on = schedule.always_on();
        Self {
            id: id.to_string(),
            name: spec.name().to_owned(),
            status: spec.status().as_str(),
            schedule_type: schedule.kind().as_str(),
            interval_minutes: schedule.interval_minutes(),
            cooldown_minutes: spec.cooldown_minutes(),
            max_hands: spec.max_hands(),
            max_run_minutes: spec.max_run_minutes(),
            pace: spec.pace().as_str(),
            agent_count: spec.agent_count(),
            agent_slots: slots_json(spec),
            small_blind: table.blinds.small,
            big_blind: table.blinds.big,
            initial_stack: table.initial_stack,
            action_timeout_ms: table.action_timeout_ms,
            max_llm_cost_cents: spec.max_llm_cost_cents(),
            join_timeout_seconds: seating.map(|s| s.join_timeout_seconds as i32),
            fill_empty_seats_with: seating.and_then(|s| s.fill_with).map(|t| t.as_str()),
            cron_expression: calendar.map(|c| c.cron.fields().to_owned()),
            time_zone: schedule.time_zone().map(|tz| tz.name()),
            starts_at: calendar.and_then(|c| c.starts_at),
            ends_at: calendar.and_then(|c| c.ends_at),
            max_runs: calendar.and_then(|c| c.max_runs).map(|n| n as i32),
            live_tables: always_on.map(|a| a.live_tables as i32),
            windows: always_on.filter(|a| !a.windows.is_empty()).map(|a| {
                let stored: Vec<StoredWindow> = a
                    .windows
                    .iter()
                    .map(|w| StoredWindow {
                        start: w.start_text(),
                        end: w.end_text(),
                    })
                    .collect();
                serde_json::to_value(stored).expect("windows serialise")
            }),
            handover: always_on.is_some_and(|a| a.handover),
            auto_pause_after: spec.auto_pause_after().map(|n| n as i32),
            platform_id: spec.host().platform().map(|p| p.as_str().to_owned()),
            hosted_table_id: spec.hosted_table().map(str::to_owned),
            tables: spec.tables() as i16,
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 30] {
        [
            &self.id,
            &self.name,
            &self.status,
            &self.schedule_type,
            &self.interval_minutes,
            &self.cooldown_minutes,
            &self.max_hands,
            &self.max_run_minutes,
            &self.pace,
            &self.agent_count,
            &self.agent_slots,
            &self.small_blind,
            &self.big_blind,
            &self.initial_stack,
            &self.action_timeout_ms,
            &self.max_llm_cost_cents,
            &self.join_timeout_seconds,
            &self.fill_empty_seats_with,
            &self.cron_expression,
            &self.time_zone,
            &self.starts_at,
            &self.ends_at,
            &self.max_runs,
            &self.live_tables,
            &self.windows,
            &self.handover,
            &self.auto_pause_after,
            &self.platform_id,
            &self.hosted_table_id,
            &self.tables,
        ]
    }
}

/// Stores a new config and returns it as the API shows it.
pub async fn insert_simulation(
    client: &impl GenericClient,
    spec: &SimulationSpec,
) -> Result<SimulationRecord, StoreError> {
    let id = SimulationId::generate();
    let columns = Columns::of(&id, spec);
    execute(
        client,
        "INSERT INTO simulation_configs (id, name, status, schedule_type, interval_minutes,
             cooldown_minutes, max_hands, max_run_minutes, pace, agent_count, agent_slots,
             small_blind, big_blind, initial_stack, action_timeout_ms, max_llm_cost_cents,
             join_timeout_seconds, fill_empty_seats_with, cron_expression, time_zone, starts_at,
             ends_at, max_runs, live_tables, windows, handover, auto_pause_after, platform_id,
             hosted_table_id, tables)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)",
        &columns.params(),
    )
    .await?;
    get_simulation(client, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{id} vanished after insert")))
}

/// Newest first.
pub async fn list_simulations(
    client: &impl GenericClient,
    page: &PageRequest,
) -> Result<Page<SimulationRecord>, StoreError> {
    let (after_at, after_id) = page
        .after
        .as_ref()
        .map(|c| (Some(c.created_at), Some(c.id.as_str())))
        .unwrap_or_default();
    let rows = query(client, &LIST, &[&after_at, &after_id, &(page.limit + 1)]).await?;
    let records = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(records, page.limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.to_string(),
    }))
}

pub async fn get_simulation(
    client: &impl GenericClient,
    id: &SimulationId,
) -> Result<Option<SimulationRecord>, StoreError> {
    query_opt(client, &GET, &[&id.as_str()])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// One trigger that started nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipEntry {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub message: String,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A config's newest skips, newest first.
pub async fn list_skips(
    client: &impl GenericClient,
    id: &SimulationId,
    limit: i64,
) -> Result<Vec<SkipEntry>, StoreError> {
    let rows = query(
        client,
        "SELECT at, reason, message, scheduled_at FROM simulation_skips
          WHERE config_id = $1 ORDER BY at DESC LIMIT $2",
        &[&id.as_str(), &limit],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| SkipEntry {
            at: r.get(0),
            reason: r.get(1),
            message: r.get(2),
            scheduled_at: r.get(3),
        })
        .collect())
}

/// What [`update_simulation`] did.
#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(Box<SimulationRecord>),
    Invalid(ValidationErrors),
    NotFound,
}

/// Reads the config under a row lock, lets `edit` derive the new spec from the stored one,
/// and writes it back. Run it in a transaction (`tx`), which the caller commits once what
/// must agree with the config (its schedule) has been updated: concurrent edits cannot
/// interleave, and an invalid edit writes nothing.
pub async fn update_simulation(
    tx: &impl GenericClient,
    id: &SimulationId,
    edit: impl FnOnce(&SimulationSpec) -> Result<SimulationSpec, ValidationErrors>,
) -> Result<UpdateOutcome, StoreError> {
    let locked = query_opt(
        tx,
        "SELECT id FROM simulation_configs WHERE id = $1 FOR UPDATE",
        &[&id.as_str()],
    )
    .await?;
    if locked.is_none() {
        return Ok(UpdateOutcome::NotFound);
    }
    let current = get_simulation(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{id} vanished under a row lock")))?;
    let spec = match edit(&current.spec) {
        Ok(spec) => spec,
        Err(errors) => return Ok(UpdateOutcome::Invalid(errors)),
    };
    let columns = Columns::of(id, &spec);
    execute(
        tx,
        "UPDATE simulation_configs SET name = $2, status = $3, schedule_type = $4,
             interval_minutes = $5, cooldown_minutes = $6, max_hands = $7, max_run_minutes = $8,
             pace = $9, agent_count = $10, agent_slots = $11, small_blind = $12, big_blind = $13,
             initial_stack = $14, action_timeout_ms = $15, max_llm_cost_cents = $16,
             join_timeout_seconds = $17, fill_empty_seats_with = $18, cron_expression = $19,
             time_zone = $20, starts_at = $21, ends_at = $22, max_runs = $23, live_tables = $24,
             windows = $25, handover = $26, auto_pause_after = $27, platform_id = $28,
             hosted_table_id = $29, tables = $30,
             -- Resuming clears why simrunner paused it.
             pause_reason = CASE WHEN $3 = 'active' THEN NULL ELSE pause_reason END,
             updated_at = now()
         WHERE id = $1",
        &columns.params(),
    )
    .await?;
    let updated = get_simulation(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{id} vanished under a row lock")))?;
    Ok(UpdateOutcome::Updated(Box::new(updated)))
}

/// Deletes a config and, by cascade, its runs. `false` when there was no such config.
pub async fn delete_simulation(
    client: &impl GenericClient,
    id: &SimulationId,
) -> Result<bool, StoreError> {
    Ok(execute(
        client,
        "DELETE FROM simulation_configs WHERE id = $1",
        &[&id.as_str()],
    )
    .await?
        > 0)
}

/// What an emergency stop would touch: active runs, and periodic configs whose schedules
/// are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activity {
    pub active_runs: i64,
    pub active_schedules: i64,
}

pub async fn activity(client: &impl GenericClient) -> Result<Activity, StoreError> {
    let rows = query(
        client,
        "SELECT (SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running'))
                  AS active_runs,
                (SELECT count(*) FROM simulation_configs
                  WHERE schedule_type IN ('periodic', 'always_on') AND status = 'active')
                  AS active_schedules",
        &[],
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("no activity row".into()))?;
    Ok(Activity {
        active_runs: get(row, "active_runs")?,
        active_schedules: get(row, "active_schedules")?,
    })
}

use super::runs::{self, RunRecord};
use super::{Cursor, Page, PageRequest, StoreError, execute, get, query, query_opt};
use crate::domain::{
    AgentSlotDraft, Provider, SimulationDraft, SimulationId, SimulationSpec, ValidationErrors,
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
}

/// Why the scheduler's last trigger of a config started nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: String,
    pub at: DateTime<Utc>,
    pub count: i64,
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

const CONFIG_COLUMNS: &str = "c.id, c.name, c.status, c.schedule_type, c.interval_minutes, \
    c.cooldown_minutes, c.max_hands, c.max_run_minutes, c.pace, c.agent_count, c.agent_slots, \
    c.small_blind, c.big_blind, c.initial_stack, c.action_timeout_ms, c.max_llm_cost_cents, \
    c.join_timeout_seconds, c.fill_empty_seats_with, c.platform_id, c.hosted_table_id, c.bucket_key, c.last_skip_reason, c.last_skip_at, c.skip_count, c.created_at, c.updated_at";

/// One query for configs with their latest run and whether any run is active: no N+1.
static SELECT_RECORDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {CONFIG_COLUMNS},
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

fn from_row(row: &Row) -> Result<SimulationRecord, StoreError> {
    let id: String = get(row, "id")?;
    let Json(slots): Json<Vec<StoredSlot>> = get(row, "agent_slots")?;
    let draft = SimulationDraft {
        name: Some(get(row, "name")?),
        status: Some(get(row, "status")?),
        schedule_type: Some(get(row, "schedule_type")?),
        interval_minutes: get(row, "interval_minutes")?,
        cooldown_minutes: Some(get(row, "cooldown_minutes")?),
        max_hands: Some(get(row, "max_hands")?),
        max_run_minutes: Some(get(row, "max_run_minutes")?),
        pace: Some(get(row, "pace")?),
        agent_count: Some(get(row, "agent_count")?),
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
        small_blind: Some(get(row, "small_blind")?),
        big_blind: Some(get(row, "big_blind")?),
        initial_stack: Some(get(row, "initial_stack")?),
        action_timeout_ms: Some(get(row, "action_timeout_ms")?),
        max_llm_cost_usd: get::<Option<i64>>(row, "max_llm_cost_cents")?
            .map(|cents| cents as f64 / 100.0),
        join_timeout_seconds: get::<Option<i32>>(row, "join_timeout_seconds")?.map(i64::from),
        fill_empty_seats_with: get(row, "fill_empty_seats_with")?,
        host: get(row, "platform_id")?,
        hosted_table: get(row, "hosted_table_id")?,
    };
    let spec = draft
        .validate()
        .map_err(|e| StoreError::Corrupt(format!("{id}: {e}")))?;
    let last_skip = match (
        get::<Option<String>>(row, "last_skip_reason")?,
        get::<Option<DateTime<Utc>>>(row, "last_skip_at")?,
    ) {
        (Some(reason), Some(at)) => Some(Skip {
            reason,
            at,
            count: get(row, "skip_count")?,
        }),
        _ => None,
    };
    let key_providers: Vec<String> = get(row, "key_providers")?;
    let missing_keys = spec
        .llm_providers()
        .into_iter()
        .filter(|p| !key_providers.iter().any(|k| k == p.as_str()))
        .collect();
    Ok(SimulationRecord {
        id: SimulationId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a config id")))?,
        spec,
        bucket_key: get(row, "bucket_key")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        is_running: get(row, "is_running")?,
        latest_run: runs::from_row(row, runs::Prefix::Latest)?,
        last_skip,
        missing_keys,
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

/// The spec's columns in the order `$2…$20` of the insert and update statements.
macro_rules! spec_params {
    ($id:expr, $spec:expr, $slots:expr, $table:expr, $interval:expr, $seating:expr) => {
        [
            $id as &(dyn tokio_postgres::types::ToSql + Sync),
            &$spec.name(),
            &$spec.status().as_str(),
            &$spec.schedule().kind().as_str(),
            $interval,
            &$spec.cooldown_minutes(),
            &$spec.max_hands(),
            &$spec.max_run_minutes(),
            &$spec.pace().as_str(),
            &$spec.agent_count(),
            $slots,
            &$table.blinds.small,
            &$table.blinds.big,
            &$table.initial_stack,
            &$table.action_timeout_ms,
            &$spec.max_llm_cost_cents(),
            &$seating.0,
            &$seating.1,
            &$spec.host().platform().map(|p| p.as_str()),
            &$spec.hosted_table(),
        ]
    };
}

/// `join_timeout_seconds` and `fill_empty_seats_with` as stored.
fn seating_columns(spec: &SimulationSpec) -> (Option<i32>, Option<&'static str>) {
    let seating = spec.external_seating();
    (
        seating.map(|s| s.join_timeout_seconds as i32),
        seating.and_then(|s| s.fill_with).map(|t| t.as_str()),
    )
}

/// Stores a new config and returns it as the API shows it.
pub async fn insert_simulation(
    client: &impl GenericClient,
    spec: &SimulationSpec,
) -> Result<SimulationRecord, StoreError> {
    let id = SimulationId::generate();
    let (slots, table, interval) = (
        slots_json(spec),
        spec.table(),
        spec.schedule().interval_minutes(),
    );
    execute(
        client,
        "INSERT INTO simulation_configs (id, name, status, schedule_type, interval_minutes,
             cooldown_minutes, max_hands, max_run_minutes, pace, agent_count, agent_slots,
             small_blind, big_blind, initial_stack, action_timeout_ms, max_llm_cost_cents,
             join_timeout_seconds, fill_empty_seats_with, platform_id, hosted_table_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20)",
        &spec_params!(
            &id.as_str(),
            spec,
            &slots,
            table,
            &interval,
            seating_columns(spec)
        ),
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
    let (slots, table, interval) = (
        slots_json(&spec),
        spec.table(),
        spec.schedule().interval_minutes(),
    );
    execute(
        tx,
        "UPDATE simulation_configs SET name = $2, status = $3, schedule_type = $4,
             interval_minutes = $5, cooldown_minutes = $6, max_hands = $7, max_run_minutes = $8,
             pace = $9, agent_count = $10, agent_slots = $11, small_blind = $12, big_blind = $13,
             initial_stack = $14, action_timeout_ms = $15, max_llm_cost_cents = $16,
             join_timeout_seconds = $17, fill_empty_seats_with = $18, platform_id = $19,
             hosted_table_id = $20, updated_at = now()
         WHERE id = $1",
        &spec_params!(
            &id.as_str(),
            spec,
            &slots,
            table,
            &interval,
            seating_columns(&spec)
        ),
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
                  WHERE schedule_type = 'periodic' AND status = 'active') AS active_schedules",
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

//! `/v1/admin/simulations`: simulation configs and their run history.

use super::{PageParams, page_request};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::DateTime;
use chrono::Utc;
use serde::{Deserialize, Deserializer, Serialize};
use simrunner::dispatch;
use simrunner::domain::{
    AgentId, AgentSlot, AgentSlotDraft, AgentType, Provider, ScheduleKind, SimulationDraft,
    SimulationId, WebhookId, WindowDraft, check_capacity,
};
use simrunner::schedule::ScheduleSpec;
use simrunner::store::{self, RunRecord, SimulationRecord, StoreError, UpdateOutcome};
use utoipa::{IntoParams, ToSchema};
use web::json::Json;

// ---- input ---------------------------------------------------------------------------------

/// One seat: a built-in bot (`random`, `tight`, `callstation`), an LLM agent (`autonomous`,
/// `protocol`) with `model` = `provider:model`, an outside agent over the agent protocol
/// (`external`, optionally kept for the registered agent `agent_id`), or an outside agent
/// asked over HTTPS (`webhook`, calling the endpoint `webhook_id`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSlotInput {
    #[serde(rename = "type")]
    #[schema(schema_with = crate::contract::agent_type_schema, required = true, example = "random")]
    pub agent_type: Option<String>,
    /// `provider:model` for LLM agents; absent for bots.
    #[schema(
        example = "anthropic:claude-sonnet-4",
        pattern = r"^(openai|anthropic|google):[^\s]{1,200}$",
        max_length = 210
    )]
    pub model: Option<String>,
    /// `external` seats only: the one registered agent (`agt_…`) this seat is kept for;
    /// absent: any registered agent may take it.
    #[schema(pattern = "^agt_[0-9a-f]{32}$")]
    pub agent_id: Option<String>,
    /// `webhook` seats: the endpoint (`whk_…`) the seat calls for each decision.
    #[schema(pattern = "^whk_[0-9a-f]{32}$")]
    pub webhook_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlindsInput {
    /// 1 to 1,000,000,000.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub small: Option<i64>,
    /// At least the small blind, at most 1,000,000,000.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub big: Option<i64>,
}

/// The table: blinds, starting stack and how long an agent may think.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TableConfigInput {
    pub blinds: Option<BlindsInput>,
    /// At least two big blinds, at most 1,000,000,000.
    #[schema(minimum = 2, maximum = 1000000000)]
    pub initial_stack: Option<i64>,
    /// 1,000 to 120,000.
    #[schema(minimum = 1000, maximum = 120000)]
    pub action_timeout_ms: Option<i64>,
}

/// A daily window, `HH:MM` to `HH:MM` in the config's `time_zone`; an end before the start
/// runs past midnight, `24:00` is the end of the day.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[schema(
        example = "08:00",
        pattern = "^([01][0-9]|2[0-4]):[0-5][0-9]$",
        required = true,
        nullable = false
    )]
    pub start: Option<String>,
    #[schema(
        example = "23:00",
        pattern = "^([01][0-9]|2[0-4]):[0-5][0-9]$",
        required = true,
        nullable = false
    )]
    pub end: Option<String>,
}

fn window_drafts(windows: Vec<WindowInput>) -> Vec<WindowDraft> {
    windows
        .into_iter()
        .map(|w| WindowDraft {
            start: w.start,
            end: w.end,
        })
        .collect()
}

/// A new config. It starts `paused`: start it, or resume it with PATCH `status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSimulation {
    /// 1 to 100 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        required = true,
        nullable = false
    )]
    pub name: Option<String>,
    #[schema(schema_with = crate::contract::schedule_type_schema)]
    pub schedule_type: Option<String>,
    /// Periodic only: 1 to 1,440.
    #[schema(minimum = 1, maximum = 1440)]
    pub interval_minutes: Option<i64>,
    /// Minimum wait between a run's end and the next start: 0 to 1,440 (default 5).
    #[schema(minimum = 0, maximum = 1440)]
    pub cooldown_minutes: Option<i64>,
    /// 1 to 10,000 (default 20).
    #[schema(minimum = 1, maximum = 10000)]
    pub max_hands: Option<i64>,
    /// Identical tables each run plays at once, in one runner task: 1 to 50 (default 1).
    /// Each has its own table, feed and watch page, and plays `max_hands`. Only 1 with a
    /// platform host or external seats.
    #[schema(minimum = 1, maximum = 50)]
    pub tables: Option<i64>,
    /// Safety timeout: 1 to 720 (default 10).
    #[schema(minimum = 1, maximum = 720)]
    pub max_run_minutes: Option<i64>,
    #[schema(schema_with = crate::contract::pace_schema)]
    pub pace: Option<String>,
    /// 2 to 9; defaults to the number of slots and must equal it.
    #[schema(minimum = 2, maximum = 9)]
    pub agent_count: Option<i64>,
    /// One per seat, 2 to 9.
    #[schema(min_items = 2, max_items = 9, required = true, nullable = false)]
    pub agent_slots: Option<Vec<AgentSlotInput>>,
    /// Required, with every field, on create.
    #[schema(required = true, nullable = false)]
    pub table_config: Option<TableConfigInput>,
    /// The most a run's LLM seats may spend, estimated in US dollars: 0.01 to 10,000, at
    /// most two decimals; absent or null for no limit. Once reached, LLM seats check or fold
    /// for the rest of the run.
    #[schema(minimum = 0.01, maximum = 10000)]
    pub max_llm_cost_usd: Option<f64>,
    /// Configs with `external` seats only: how long a run waits for its agents to take
    /// their seats, 5 to 600 seconds (default 60).
    #[schema(minimum = 5, maximum = 600)]
    pub join_timeout_seconds: Option<i64>,
    /// Configs with `external` seats only: the bot (`random`, `tight` or `callstation`) that
    /// takes the seats nobody took in time; absent or null: the run fails, naming them.
    #[schema(schema_with = crate::contract::bot_type_schema)]
    pub fill_empty_seats_with: Option<String>,
    /// Periodic only, instead of `interval_minutes`: an EventBridge Scheduler cron expression,
    /// six fields (`minutes hours day-of-month month day-of-week year`, one day field `?`),
    /// with or without `cron(…)`, in `time_zone`.
    #[schema(example = "cron(0 8 ? * MON-FRI *)", min_length = 11, max_length = 256)]
    pub cron_expression: Option<String>,
    /// The IANA time zone of the cron expression or the daily windows (default `UTC`).
    #[schema(example = "Europe/Berlin", min_length = 1, max_length = 64)]
    pub time_zone: Option<String>,
    /// Cron schedules: no run before this (RFC 3339).
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// Cron schedules: no run after this (RFC 3339, after `starts_at`).
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Cron schedules: scheduled runs in all, 1 to 100,000.
    #[schema(minimum = 1, maximum = 100000)]
    pub max_runs: Option<i64>,
    /// Always-on only: tables kept playing, 1 to 9 (default 1); at most
    /// `SIMRUNNER_MAX_CONCURRENT_RUNS` (one less with `handover`).
    #[schema(minimum = 1, maximum = 9)]
    pub live_tables: Option<i64>,
    /// Always-on only: when tables are kept live (absent: all day), at most 8.
    #[schema(max_items = 8)]
    pub windows: Option<Vec<WindowInput>>,
    /// Always-on only: the next table opens before the current one closes (cooldown 0).
    pub handover: Option<bool>,
    /// Pause the config after this many failed or degraded runs in a row, 1 to 100; absent or
    /// null: never.
    #[schema(minimum = 1, maximum = 100)]
    pub auto_pause_after: Option<i64>,
    /// Where its tables are played: `builtin` (simrunner's engine, the default) or a
    /// platform's id (`plt_…`, see /v1/admin/platforms): the run creates a table there and
    /// every seat joins it as an outside agent. External seats are refused at a platform.
    #[schema(pattern = "^(builtin|plt_[0-9a-f]{32})$", example = "builtin")]
    pub host: Option<String>,
}

/// Absent leaves a field as it is; for `interval_minutes` and `max_llm_cost_usd`, `null`
/// clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSimulation {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(schema_with = crate::contract::status_schema)]
    pub status: Option<String>,
    #[schema(schema_with = crate::contract::schedule_type_schema)]
    pub schedule_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1440)]
    pub interval_minutes: Option<Option<i64>>,
    #[schema(minimum = 0, maximum = 1440)]
    pub cooldown_minutes: Option<i64>,
    #[schema(minimum = 1, maximum = 10000)]
    pub max_hands: Option<i64>,
    #[schema(minimum = 1, maximum = 50)]
    pub tables: Option<i64>,
    #[schema(minimum = 1, maximum = 720)]
    pub max_run_minutes: Option<i64>,
    #[schema(schema_with = crate::contract::pace_schema)]
    pub pace: Option<String>,
    #[schema(minimum = 2, maximum = 9)]
    pub agent_count: Option<i64>,
    #[schema(min_items = 2, max_items = 9)]
    pub agent_slots: Option<Vec<AgentSlotInput>>,
    pub table_config: Option<TableConfigInput>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = 0.01, maximum = 10000)]
    pub max_llm_cost_usd: Option<Option<f64>>,
    /// `null` clears it (back to the default of 60 while external seats remain).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 5, maximum = 600)]
    pub join_timeout_seconds: Option<Option<i64>>,
    /// `null`: runs fail when seats stay empty.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::contract::bot_type_schema)]
    pub fill_empty_seats_with: Option<Option<String>>,
    /// `null` clears it (back to an interval).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 11, max_length = 256)]
    pub cron_expression: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100000)]
    pub max_runs: Option<Option<i64>>,
    #[schema(minimum = 1, maximum = 9)]
    pub live_tables: Option<i64>,
    /// `null` or `[]`: all day.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<WindowInput>>, max_items = 8)]
    pub windows: Option<Option<Vec<WindowInput>>>,
    pub handover: Option<bool>,
    /// `null`: never pause automatically.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub auto_pause_after: Option<Option<i64>>,
    /// `builtin` or a platform's id.
    #[schema(pattern = "^(builtin|plt_[0-9a-f]{32})$")]
    pub host: Option<String>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn slot_drafts(slots: Vec<AgentSlotInput>) -> Vec<AgentSlotDraft> {
    slots
        .into_iter()
        .map(|s| AgentSlotDraft {
            agent_type: s.agent_type,
            model: s.model,
            agent_id: s.agent_id,
            webhook_id: s.webhook_id,
        })
        .collect()
}

impl TableConfigInput {
    fn apply(self, draft: &mut SimulationDraft) {
        if let Some(blinds) = self.blinds {
            draft.small_blind = blinds.small.or(draft.small_blind);
            draft.big_blind = blinds.big.or(draft.big_blind);
        }
        draft.initial_stack = self.initial_stack.or(draft.initial_stack);
        draft.action_timeout_ms = self.action_timeout_ms.or(draft.action_timeout_ms);
    }
}

impl From<CreateSimulation> for SimulationDraft {
    fn from(input: CreateSimulation) -> Self {
        let mut draft = SimulationDraft {
            name: input.name,
            status: None,
            schedule_type: input.schedule_type,
            interval_minutes: input.interval_minutes,
            cooldown_minutes: input.cooldown_minutes,
            max_hands: input.max_hands,
            tables: input.tables,
            max_run_minutes: input.max_run_minutes,
            pace: input.pace,
            agent_count: input.agent_count,
            agent_slots: input.agent_slots.map(slot_drafts),
            max_llm_cost_usd: input.max_llm_cost_usd,
            join_timeout_seconds: input.join_timeout_seconds,
            fill_empty_seats_with: input.fill_empty_seats_with,
            cron_expression: input.cron_expression,
            time_zone: input.time_zone,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            max_runs: input.max_runs,
            live_tables: input.live_tables,
            windows: input.windows.map(window_drafts),
            handover: input.handover,
            auto_pause_after: input.auto_pause_after,
            host: input.host,
            ..Default::default()
        };
        if let Some(table) = input.table_config {
            table.apply(&mut draft);
        }
        draft
    }
}

impl UpdateSimulation {
    /// Lays the changes over the stored config's draft. Fields of another kind of schedule
    /// than the one the config ends up with are dropped unless this change gives them (then
    /// validation names them); an interval and a cron expression replace each other.
    fn apply(self, mut draft: SimulationDraft) -> SimulationDraft {
        draft.name = self.name.or(draft.name);
        draft.status = self.status.or(draft.status);
        draft.schedule_type = self.schedule_type.or(draft.schedule_type);
        let kind = draft.schedule_type.as_deref().and_then(ScheduleKind::parse);
        let periodic = kind == Some(ScheduleKind::Periodic);
        let always_on = kind == Some(ScheduleKind::AlwaysOn);
        // Whether the config ends up on a calendar (a cron expression) rather than an interval.
        let calendar = match (&self.cron_expression, &self.interval_minutes) {
            (Some(cron), _) => cron.is_some(),
            (None, Some(Some(_))) => false,
            (None, _) => draft.cron_expression.is_some(),
        };
        let keep = |given: bool, belongs: bool| given || belongs;
        fn over<T>(given: Option<Option<T>>, stored: Option<T>, keep: bool) -> Option<T> {
            match given {
                Some(value) => value,
                None if keep => stored,
                None => None,
            }
        }
        draft.interval_minutes = over(
            self.interval_minutes,
            draft.interval_minutes,
            periodic && !calendar,
        );
        draft.cron_expression = over(
            self.cron_expression,
            draft.cron_expression,
            periodic && calendar,
        );
        draft.starts_at = over(self.starts_at, draft.starts_at, periodic && calendar);
        draft.ends_at = over(self.ends_at, draft.ends_at, periodic && calendar);
        draft.max_runs = over(self.max_runs, draft.max_runs, periodic && calendar);
        draft.time_zone = over(
            self.time_zone,
            draft.time_zone,
            (periodic && calendar) || always_on,
        );
        draft.live_tables = if keep(self.live_tables.is_some(), always_on) {
            self.live_tables.or(draft.live_tables)
        } else {
            None
        };
        draft.handover = if keep(self.handover.is_some(), always_on) {
            self.handover.or(draft.handover)
        } else {
            None
        };
        draft.windows = over(
            self.windows
                .map(|w| w.map(window_drafts).filter(|w| !w.is_empty())),
            draft.windows,
            always_on,
        );
        if let Some(limit) = self.auto_pause_after {
            draft.auto_pause_after = limit;
        }
        draft.cooldown_minutes = self.cooldown_minutes.or(draft.cooldown_minutes);
        draft.max_hands = self.max_hands.or(draft.max_hands);
        draft.tables = self.tables.or(draft.tables);
        draft.max_run_minutes = self.max_run_minutes.or(draft.max_run_minutes);
        draft.pace = self.pace.or(draft.pace);
        if let Some(limit) = self.max_llm_cost_usd {
            draft.max_llm_cost_usd = limit;
        }
        if let Some(timeout) = self.join_timeout_seconds {
            draft.join_timeout_seconds = timeout;
        }
        if let Some(fill) = self.fill_empty_seats_with {
            draft.fill_empty_seats_with = fill;
        }
        draft.host = self.host.or(draft.host);
        if let Some(slots) = self.agent_slots {
            // Seating rules belong to external seats: new slots without any drop the old ones.
            if !slots
                .iter()
                .any(|s| s.agent_type.as_deref() == Some("external"))
            {
                draft.join_timeout_seconds = None;
                draft.fill_empty_seats_with = None;
            }
            draft.agent_slots = Some(slot_drafts(slots));
            // New slots bring their own count unless one is given alongside.
            draft.agent_count = self.agent_count;
        } else if self.agent_count.is_some() {
            draft.agent_count = self.agent_count;
        }
        if let Some(table) = self.table_config {
            table.apply(&mut draft);
        }
        draft
    }
}

// ---- output --------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSlotView {
    #[serde(rename = "type")]
    pub agent_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlindsView {
    pub small: i64,
    pub big: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableConfigView {
    pub blinds: BlindsView,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
}

/// Why a run ended badly.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunErrorView {
    /// e.g. `safety_timeout`, `runner_lost`, `start_timeout`, `launch_failed`.
    pub code: String,
    pub message: Option<String>,
}

/// One run of a config.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    pub config_id: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    /// `manual`, `schedule` or `always_on`.
    pub trigger: &'static str,
    pub hands_played: i64,
    pub table_id: Option<String>,
    /// Per-agent results once the run has completed.
    #[schema(value_type = Option<Object>)]
    pub results: Option<serde_json::Value>,
    pub error: Option<RunErrorView>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub stop_requested_at: Option<DateTime<Utc>>,
    /// Runs with LLM seats: tokens and estimated cost per seat and in total, the budget, and
    /// warnings about providers that stopped answering; kept current while the run plays.
    #[schema(value_type = Option<Object>)]
    pub llm_usage: Option<serde_json::Value>,
    /// An always-on config's next table, waiting with its table open to take over from one
    /// about to close (handover).
    pub standby: bool,
    /// Its LLM or outside seats fell back (checked or folded) for reasons to fix: a refused
    /// key, no quota, an unknown model, the budget spent, too many timeouts.
    pub degraded: bool,
    /// Why, once it ended: `[{code, seat?, message}]`; empty when it is not degraded.
    pub degraded_reasons: Vec<DegradedReason>,
    /// Decisions of its LLM and outside seats, and how many fell back.
    pub decisions: i64,
    pub fallbacks: i64,
    /// A run played at a platform: that platform's watch page of its table.
    pub remote_watch_url: Option<String>,
}

/// Why a run counts as degraded.
#[derive(Debug, Serialize, ToSchema)]
pub struct DegradedReason {
    /// `auth`, `quota`, `model_not_found`, `budget_exhausted`, `destination_refused`,
    /// `timeouts` or `fallbacks`.
    pub code: String,
    pub seat: Option<i64>,
    /// The seat's table (by position) in a multi-table run.
    pub table: Option<i64>,
    pub message: String,
}

impl From<RunRecord> for RunView {
    fn from(run: RunRecord) -> Self {
        Self {
            id: run.id.to_string(),
            config_id: run.config_id.to_string(),
            status: run.status.as_str(),
            trigger: run.trigger.as_str(),
            hands_played: run.hands_played,
            table_id: run.table_id,
            results: run.results,
            error: run.error_code.map(|code| RunErrorView {
                code,
                message: run.error_message,
            }),
            created_at: run.created_at,
            started_at: run.started_at,
            completed_at: run.completed_at,
            heartbeat_at: run.heartbeat_at,
            stop_requested_at: run.stop_requested_at,
            llm_usage: run.llm_usage,
            standby: run.standby,
            degraded: run.degraded_reasons.is_some(),
            degraded_reasons: run
                .degraded_reasons
                .as_ref()
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .map(|r| DegradedReason {
                    code: r["code"].as_str().unwrap_or("degraded").to_owned(),
                    seat: r["seat"].as_i64(),
                    table: r["table"].as_i64(),
                    message: r["message"].as_str().unwrap_or_default().to_owned(),
                })
                .collect(),
            decisions: run.decisions,
            fallbacks: run.fallbacks,
            remote_watch_url: run.remote_watch_url,
        }
    }
}

/// The scheduler's last trigger that started nothing, and how many there have been.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkipView {
    /// `already_running`, `cooling_down`, `paused`, `duplicate`, `not_due`,
    /// `not_periodic` or `missing_api_key`.
    pub reason: String,
    pub at: DateTime<Utc>,
    pub count: i64,
}

/// A simulation config as stored, with its latest run.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationView {
    pub id: String,
    pub name: String,
    /// `active` or `paused`.
    pub status: &'static str,
    /// `one_off`, `periodic` or `always_on`.
    pub schedule_type: &'static str,
    pub interval_minutes: Option<i64>,
    /// Periodic on a calendar: the six fields of the EventBridge cron expression.
    pub cron_expression: Option<String>,
    /// The cron expression's or the windows' IANA time zone.
    pub time_zone: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_runs: Option<i64>,
    /// Always-on: tables kept playing.
    pub live_tables: Option<i64>,
    /// Always-on: the daily windows (empty: all day).
    pub windows: Vec<WindowView>,
    /// Always-on: the next table opens before the current one closes.
    pub handover: bool,
    /// Failed or degraded runs in a row that pause it; null: never.
    pub auto_pause_after: Option<i64>,
    /// Why simrunner paused it itself, while paused.
    pub pause_reason: Option<String>,
    /// Always-on: since when it has had no live table in its window (an alert went out).
    pub coverage_lost_at: Option<DateTime<Utc>>,
    pub cooldown_minutes: i64,
    /// Per table.
    pub max_hands: i64,
    /// Tables each run plays at once.
    pub tables: i64,
    pub max_run_minutes: i64,
    /// `live` or `fast`.
    pub pace: &'static str,
    pub agent_count: i64,
    pub agent_slots: Vec<AgentSlotView>,
    pub table_config: TableConfigView,
    /// The most a run's LLM seats may spend (estimated, US dollars); null: no limit.
    pub max_llm_cost_usd: Option<f64>,
    /// With `external` seats: how long a run waits for its agents (seconds); otherwise null.
    pub join_timeout_seconds: Option<i64>,
    /// With `external` seats: the bot that takes seats nobody took; null: the run fails.
    pub fill_empty_seats_with: Option<&'static str>,
    /// `builtin` or the platform's id (`plt_…`) its tables are played at.
    pub host: String,
    /// A table hosted for a remote client (`POST /v1/admin/tables`): its id.
    pub hosted_table: Option<String>,
    /// `sb{small}_bb{big}_seats{agent_count}_timeout{actionTimeoutMs}`
    #[schema(example = "sb5_bb10_seats4_timeout10000")]
    pub bucket_key: String,
    /// A run of this config is queued or running.
    pub is_running: bool,
    pub latest_run: Option<RunView>,
    pub last_skip: Option<SkipView>,
    /// Problems that keep it from running, e.g. `missing_api_key`.
    pub warnings: Vec<WarningView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    #[schema(example = "08:00")]
    pub start: String,
    #[schema(example = "23:00")]
    pub end: String,
}

/// Something an operator should fix.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningView {
    /// `missing_api_key`: an LLM seat's provider has no stored key, so runs cannot start.
    pub code: &'static str,
    pub message: String,
    /// The providers concerned.
    pub providers: Vec<&'static str>,
}

impl From<SimulationRecord> for SimulationView {
    fn from(record: SimulationRecord) -> Self {
        let spec = &record.spec;
        let table = spec.table();
        Self {
            id: record.id.to_string(),
            name: spec.name().to_owned(),
            status: spec.status().as_str(),
            schedule_type: spec.schedule().kind().as_str(),
            interval_minutes: spec.schedule().interval_minutes(),
            cron_expression: spec
                .schedule()
                .calendar()
                .map(|c| c.cron.fields().to_owned()),
            time_zone: spec.schedule().time_zone().map(|tz| tz.name().to_owned()),
            starts_at: spec.schedule().calendar().and_then(|c| c.starts_at),
            ends_at: spec.schedule().calendar().and_then(|c| c.ends_at),
            max_runs: spec.schedule().calendar().and_then(|c| c.max_runs),
            live_tables: spec.schedule().always_on().map(|a| a.live_tables),
            windows: spec
                .schedule()
                .always_on()
                .map(|a| {
                    a.windows
                        .iter()
                        .map(|w| WindowView {
                            start: w.start_text(),
                            end: w.end_text(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            handover: spec.schedule().always_on().is_some_and(|a| a.handover),
            auto_pause_after: spec.auto_pause_after(),
            pause_reason: record.pause_reason.clone(),
            coverage_lost_at: record.coverage_lost_at,
            cooldown_minutes: spec.cooldown_minutes(),
            max_hands: spec.max_hands(),
            tables: spec.tables(),
            max_run_minutes: spec.max_run_minutes(),
            pace: spec.pace().as_str(),
            agent_count: spec.agent_count(),
            agent_slots: spec
                .agent_slots()
                .iter()
                .map(|s| AgentSlotView {
                    agent_type: s.agent_type().as_str(),
                    model: s.model().map(|m| m.to_text()),
                    agent_id: s.agent_id().map(|a| a.to_string()),
                    webhook_id: s.webhook_id().map(|w| w.to_string()),
                })
                .collect(),
            table_config: TableConfigView {
                blinds: BlindsView {
                    small: table.blinds.small,
                    big: table.blinds.big,
                },
                initial_stack: table.initial_stack,
                action_timeout_ms: table.action_timeout_ms,
            },
            max_llm_cost_usd: spec.max_llm_cost_usd(),
            join_timeout_seconds: spec.external_seating().map(|e| e.join_timeout_seconds),
            fill_empty_seats_with: spec
                .external_seating()
                .and_then(|e| e.fill_with)
                .map(|t| t.as_str()),
            host: spec.host().to_text(),
            hosted_table: spec.hosted_table().map(str::to_owned),
            bucket_key: record.bucket_key,
            is_running: record.is_running,
            latest_run: record.latest_run.map(RunView::from),
            last_skip: record.last_skip.map(|s| SkipView {
                reason: s.reason,
                at: s.at,
                count: s.count,
            }),
            warnings: missing_key_warning(&record.missing_keys)
                .into_iter()
                .collect(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

fn missing_key_warning(providers: &[Provider]) -> Option<WarningView> {
    if providers.is_empty() {
        return None;
    }
    let names: Vec<&'static str> = providers.iter().map(|p| p.as_str()).collect();
    Some(WarningView {
        code: "missing_api_key",
        message: format!(
            "no API key is stored for {}: runs cannot start until one is added",
            names.join(", ")
        ),
        providers: names,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationList {
    pub items: Vec<SimulationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub items: Vec<RunView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationDetail {
    pub simulation: SimulationView,
    /// Newest first.
    pub runs: RunList,
    /// The newest triggers that started nothing (up to 20), newest first.
    pub skip_history: Vec<SkipEntryView>,
}

/// A trigger that started nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkipEntryView {
    pub at: DateTime<Utc>,
    /// As in `last_skip`, and `outside_calendar`, `max_runs_reached`, `auto_paused`.
    pub reason: String,
    pub message: String,
    /// The scheduled time the trigger was for.
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl From<simrunner::store::SkipEntry> for SkipEntryView {
    fn from(skip: simrunner::store::SkipEntry) -> Self {
        Self {
            at: skip.at,
            reason: skip.reason,
            message: skip.message,
            scheduled_at: skip.scheduled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTypeView {
    #[serde(rename = "type")]
    pub agent_type: &'static str,
    pub requires_model: bool,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTypeList {
    pub items: Vec<AgentTypeView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailParams {
    /// Runs per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub runs_limit: Option<i64>,
    /// `runs.next_cursor` from the previous page.
    pub runs_cursor: Option<String>,
}

// ---- handlers ------------------------------------------------------------------------------

/// The agents that seats are kept for must exist and not be revoked, and the webhook
/// endpoints that seats call must exist: a `422 unknown_reference` naming each seat's field
/// otherwise (checked in the config's transaction, before anything is written; the endpoints
/// found stay locked until it ends, so none is deleted in between).
async fn check_references(
    tx: &impl deadpool_postgres::GenericClient,
    spec: &simrunner::domain::SimulationSpec,
) -> Result<(), ApiError> {
    let mut errors = simrunner::domain::ValidationErrors::default();
    let agents = named(spec, |s| s.agent_id().map(AgentId::as_str));
    if !agents.is_empty() {
        let unknown = store::agents::unknown_agents(tx, &ids(&agents)).await?;
        note_unknown(&mut errors, &agents, &unknown, "agent_id", |id| {
            format!("no registered agent {id} (or it was revoked)")
        });
    }
    let endpoints = named(spec, |s| s.webhook_id().map(WebhookId::as_str));
    if !endpoints.is_empty() {
        let unknown = store::webhooks::unknown_webhooks(tx, &ids(&endpoints)).await?;
        note_unknown(&mut errors, &endpoints, &unknown, "webhook_id", |id| {
            format!("no webhook endpoint {id}; create it first (POST /v1/admin/webhooks)")
        });
    }
    if let Some(platform) = spec.host().platform() {
        let unknown = store::platforms::unknown_platforms(tx, &[platform.as_str()]).await?;
        if !unknown.is_empty() {
            errors.add(
                "host",
                format!("no platform {platform}; add it first (POST /v1/admin/platforms)"),
            );
        }
    }
    errors
        .into_result(|| ())
        .map_err(|errors| ApiError::from(errors).with_code(ErrorCode::UnknownReference))
}

/// `(seat, id)` of the seats that name something with `id`.
fn named<'s>(
    spec: &'s simrunner::domain::SimulationSpec,
    id: fn(&'s AgentSlot) -> Option<&'s str>,
) -> Vec<(usize, &'s str)> {
    let slots = spec.agent_slots().iter().enumerate();
    slots.filter_map(|(i, s)| id(s).map(|id| (i, id))).collect()
}

fn ids<'s>(named: &[(usize, &'s str)]) -> Vec<&'s str> {
    named.iter().map(|(_, id)| *id).collect()
}

/// An error at `agent_slots[i].{field}` for each seat whose id is `unknown`.
fn note_unknown(
    errors: &mut simrunner::domain::ValidationErrors,
    named: &[(usize, &str)],
    unknown: &[String],
    field: &str,
    message: impl Fn(&str) -> String,
) {
    for (i, id) in named
        .iter()
        .filter(|(_, id)| unknown.iter().any(|u| u == id))
    {
        errors.add(format!("agent_slots[{i}].{field}"), message(id));
    }
}

/// The skips a config's detail shows.
pub const SKIP_HISTORY: i64 = 20;

fn parse_id(id: &str) -> Result<SimulationId, ApiError> {
    SimulationId::parse(id).ok_or_else(|| ApiError::not_found("simulation", id))
}

/// Every config with its latest run, newest first.
#[utoipa::path(get, path = "/v1/admin/simulations", tag = "simulations",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SimulationList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn list_simulations(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let page = page_request(params.limit, params.cursor.as_deref(), "limit")?;
    let client = state.db().await?;
    // Kept while the database is unchanged (checked on every request): scripts and
    // dashboards polling the list cost one short query each while nothing changes.
    let key = format!(
        "simulations {} {}",
        page.limit,
        params.cursor.as_deref().unwrap_or_default()
    );
    let body = state
        .answers
        .get(&client, key, || async {
            let page = store::list_simulations(&client, &page).await?;
            web::json::body(&SimulationList {
                items: page.items.into_iter().map(SimulationView::from).collect(),
                next_cursor: page.next.map(|c| c.encode()),
            })
        })
        .await?;
    Ok(web::json::response(body))
}

/// Creates a config; it starts paused.
#[utoipa::path(post, path = "/v1/admin/simulations", tag = "simulations",
    request_body = CreateSimulation,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SimulationView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`unknown_reference`: a seat names an agent or webhook endpoint that does not exist; `details` names the field", body = ErrorBody),
    ))]
pub async fn create_simulation(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateSimulation>,
) -> Result<(StatusCode, Json<SimulationView>), ApiError> {
    let spec = SimulationDraft::from(input).validate()?;
    check_capacity(&spec, i64::from(state.runs.policy.max_concurrent_runs))?;
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    check_references(&tx, &spec).await?;
    let record = store::insert_simulation(&tx, &spec).await?;
    // A periodic config gets its (disabled) schedule before the config exists for anyone.
    if let Some(schedule) = ScheduleSpec::of(&record.spec) {
        state
            .runs
            .scheduler
            .sync(&record.id, Some(schedule))
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(simulation = %record.id, "created simulation config");
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// A config and its run history, newest first.
#[utoipa::path(get, path = "/v1/admin/simulations/{id}", tag = "simulations",
    params(("id" = String, Path, description = "sim_…"), DetailParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SimulationDetail),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<DetailParams>,
) -> Result<Json<SimulationDetail>, ApiError> {
    let id = parse_id(&id)?;
    let page = page_request(
        params.runs_limit,
        params.runs_cursor.as_deref(),
        "runs_limit",
    )?;
    let client = state.db().await?;
    let record = store::get_simulation(&client, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("simulation", id.as_str()))?;
    let runs = store::list_runs(&client, &id, &page).await?;
    let skips = store::list_skips(&client, &id, SKIP_HISTORY).await?;
    Ok(Json(SimulationDetail {
        simulation: record.into(),
        runs: RunList {
            items: runs.items.into_iter().map(RunView::from).collect(),
            next_cursor: runs.next.map(|c| c.encode()),
        },
        skip_history: skips.into_iter().map(SkipEntryView::from).collect(),
    }))
}

/// Changes some fields of a config, validated exactly like a new one.
#[utoipa::path(patch, path = "/v1/admin/simulations/{id}", tag = "simulations",
    params(("id" = String, Path, description = "sim_…")),
    request_body = UpdateSimulation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SimulationView),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`unknown_reference`: a seat names an agent or webhook endpoint that does not exist; `details` names the field", body = ErrorBody),
    ))]
pub async fn update_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<UpdateSimulation>,
) -> Result<Json<SimulationView>, ApiError> {
    let id = parse_id(&id)?;
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let mut schedule_before = None;
    let limit = i64::from(state.runs.policy.max_concurrent_runs);
    let outcome = store::update_simulation(&tx, &id, |current| {
        schedule_before = ScheduleSpec::of(current);
        let spec = input.apply(SimulationDraft::from(current)).validate()?;
        check_capacity(&spec, limit)?;
        Ok(spec)
    })
    .await?;
    match outcome {
        UpdateOutcome::Updated(record) => {
            check_references(&tx, &record.spec).await?;
            // Pausing, resuming, a new interval or a new schedule type: the schedule follows
            // before the change commits, so the two never disagree.
            let schedule = ScheduleSpec::of(&record.spec);
            if schedule != schedule_before {
                state.runs.scheduler.sync(&id, schedule).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            tracing::info!(simulation = %id, "updated simulation config");
            // An always-on config gets its tables now, not at the next tick.
            if record.spec.schedule().always_on().is_some()
                && record.spec.status() == simrunner::domain::ConfigStatus::Active
                && let Some(launcher) = &state.runs.launcher
                && let Err(error) =
                    dispatch::tick::keep_live(&state.pool, launcher, &id, Utc::now(), &state.runs)
                        .await
            {
                tracing::warn!(simulation = %id, %error, "starting an always-on config's tables");
            }
            let record = store::get_simulation(&state.db().await?, &id)
                .await?
                .map(Box::new)
                .unwrap_or(record);
            Ok(Json((*record).into()))
        }
        UpdateOutcome::Invalid(errors) => Err(errors.into()),
        UpdateOutcome::NotFound => Err(ApiError::not_found("simulation", id.as_str())),
    }
}

/// Deletes a config and its runs: its active run is asked to stop and its task stopped, and
/// its schedule is deleted first.
#[utoipa::path(delete, path = "/v1/admin/simulations/{id}", tag = "simulations",
    params(("id" = String, Path, description = "sim_…")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody),
        (status = 502, description = "`scheduler_failed`: nothing was deleted", body = ErrorBody),
        (status = 503, description = "`scheduler_unavailable`: nothing was deleted", body = ErrorBody),
    ))]
pub async fn delete_simulation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut client = state.db().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let tasks = dispatch::prepare_delete(&tx, &id, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("simulation", id.as_str()))?;
    state.runs.scheduler.sync(&id, None).await?;
    store::delete_simulation(&tx, &id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    // The run rows are gone, so a runner would stop at its next heartbeat anyway; stopping
    // the task ends it now.
    if let Some(launcher) = &state.runs.launcher {
        for task in &tasks {
            if let Err(error) = launcher.stop(task).await {
                tracing::warn!(simulation = %id, %task, %error, "stopping a deleted config's task");
            }
        }
    }
    tracing::info!(simulation = %id, stopped_tasks = tasks.len(), "deleted simulation config");
    Ok(StatusCode::NO_CONTENT)
}

/// The agent types a slot may hold.
#[utoipa::path(get, path = "/v1/admin/simulations/agent-types", tag = "simulations",
    security(("bearer" = [])),
    responses((status = 200, body = AgentTypeList)))]
pub async fn agent_types() -> Json<AgentTypeList> {
    Json(AgentTypeList {
        items: AgentType::ALL
            .into_iter()
            .map(|t| AgentTypeView {
                agent_type: t.as_str(),
                requires_model: t.requires_model(),
                description: t.description(),
            })
            .collect(),
    })
}

/// A schedule to preview: the schedule's fields of a config (as in a create), with its
/// cooldown and safety timeout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewSchedule {
    #[schema(schema_with = crate::contract::schedule_type_schema)]
    pub schedule_type: Option<String>,
    #[schema(minimum = 1, maximum = 1440)]
    pub interval_minutes: Option<i64>,
    #[schema(minimum = 0, maximum = 1440)]
    pub cooldown_minutes: Option<i64>,
    #[schema(minimum = 1, maximum = 720)]
    pub max_run_minutes: Option<i64>,
    #[schema(min_length = 11, max_length = 256)]
    pub cron_expression: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub time_zone: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[schema(minimum = 1, maximum = 100000)]
    pub max_runs: Option<i64>,
    #[schema(minimum = 1, maximum = 9)]
    pub live_tables: Option<i64>,
    #[schema(max_items = 8)]
    pub windows: Option<Vec<WindowInput>>,
    pub handover: Option<bool>,
}

/// What a schedule will do.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulePreviewView {
    /// The next (up to) 10 start times; for an always-on config, when its windows open (now,
    /// when inside one).
    pub starts: Vec<DateTime<Utc>>,
    /// What will not happen as one might expect: `cooldown_longer_than_interval`,
    /// `runs_longer_than_gap`, `end_date_passed`, `max_runs_reached`, `few_starts`,
    /// `not_started`, `window_closed`, `live_tables_above_limit`, `handover_needs_a_slot`,
    /// `gap_between_tables`, `one_off`.
    pub warnings: Vec<PreviewWarning>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewWarning {
    pub code: &'static str,
    pub message: String,
}

/// The next start times of a schedule and what will not happen, before saving it; fields are
/// checked as a create checks them.
#[utoipa::path(post, path = "/v1/admin/simulations/preview", tag = "simulations",
    request_body = PreviewSchedule,
    security(("bearer" = [])),
    responses((status = 200, body = SchedulePreviewView)))]
pub async fn preview_schedule(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<PreviewSchedule>,
) -> Result<Json<SchedulePreviewView>, ApiError> {
    let draft = SimulationDraft {
        schedule_type: input.schedule_type,
        interval_minutes: input.interval_minutes,
        cooldown_minutes: input.cooldown_minutes,
        max_run_minutes: input.max_run_minutes,
        cron_expression: input.cron_expression,
        time_zone: input.time_zone,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        max_runs: input.max_runs,
        live_tables: input.live_tables,
        windows: input.windows.map(window_drafts),
        handover: input.handover,
        ..Default::default()
    };
    let preview = draft.preview_schedule(
        Utc::now(),
        i64::from(state.runs.policy.max_concurrent_runs),
        0,
    )?;
    Ok(Json(SchedulePreviewView {
        starts: preview.starts,
        warnings: preview
            .warnings
            .into_iter()
            .map(|(code, message)| PreviewWarning { code, message })
            .collect(),
    }))
}

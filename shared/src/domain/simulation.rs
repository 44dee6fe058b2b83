use super::calendar::{CronExpr, DailyWindow, in_windows, parse_time_zone};
use super::{AgentId, PlatformId, Provider, ValidationErrors, WebhookId};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The largest chip amount a config may name; keeps every stack sum far inside `i64`.
pub const MAX_CHIPS: i64 = 1_000_000_000;

/// A kind of agent that can sit in a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentType {
    Random,
    Tight,
    Callstation,
    Autonomous,
    Protocol,
    /// An outside agent that takes the seat over the agent protocol (WebSocket).
    External,
    /// An outside agent asked by a signed HTTPS request per decision.
    Webhook,
}

impl AgentType {
    pub const ALL: [AgentType; 7] = [
        AgentType::Random,
        AgentType::Tight,
        AgentType::Callstation,
        AgentType::Autonomous,
        AgentType::Protocol,
        AgentType::External,
        AgentType::Webhook,
    ];

    /// The built-in bots: what empty external seats can be filled with.
    pub const BOTS: [AgentType; 3] = [AgentType::Random, AgentType::Tight, AgentType::Callstation];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentType::Random => "random",
            AgentType::Tight => "tight",
            AgentType::Callstation => "callstation",
            AgentType::Autonomous => "autonomous",
            AgentType::Protocol => "protocol",
            AgentType::External => "external",
            AgentType::Webhook => "webhook",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// LLM-driven agents need a `provider:model`; built-in bots take none.
    pub fn requires_model(self) -> bool {
        matches!(self, AgentType::Autonomous | AgentType::Protocol)
    }

    pub fn is_bot(self) -> bool {
        Self::BOTS.contains(&self)
    }

    /// Played by someone outside simulation's own code (a WebSocket agent or a webhook).
    pub fn is_outside(self) -> bool {
        matches!(self, AgentType::External | AgentType::Webhook)
    }

    pub fn description(self) -> &'static str {
        match self {
            AgentType::Random => "Built-in bot: picks uniformly among the legal actions.",
            AgentType::Tight => {
                "Built-in bot: plays strong starting hands only, then follows pot odds."
            }
            AgentType::Callstation => "Built-in bot: checks or calls, never raises or folds.",
            AgentType::Autonomous => {
                "LLM agent that reads the table and decides on its own (needs provider:model)."
            }
            AgentType::Protocol => {
                "LLM agent that follows the structured game protocol (needs provider:model)."
            }
            AgentType::External => {
                "Outside agent that joins over the agent protocol (WebSocket): any registered \
                 agent, or the one named by agent_id."
            }
            AgentType::Webhook => {
                "Outside agent asked by a signed HTTPS request for each decision (webhook_id)."
            }
        }
    }

    pub fn names() -> String {
        Self::ALL.map(AgentType::as_str).join(", ")
    }

    pub fn bot_names() -> String {
        Self::BOTS.map(AgentType::as_str).join(", ")
    }
}

/// `provider:model`, e.g. `anthropic:claude-sonnet-4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    provider: Provider,
    model: String,
}

pub const MODEL_MAX_CHARS: usize = 200;

impl ModelRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (provider, model) = text
            .split_once(':')
            .ok_or_else(|| format!("must be provider:model, e.g. openai:gpt-4o (got {text:?})"))?;
        let provider = Provider::parse(provider).ok_or_else(|| {
            format!(
                "unknown provider {provider:?} in {text:?}; use one of {}",
                Provider::names()
            )
        })?;
        if model.is_empty() || model.chars().count() > MODEL_MAX_CHARS {
            return Err(format!(
                "the model name after {:?} must be 1 to {MODEL_MAX_CHARS} characters",
                format!("{}:", provider.as_str())
            ));
        }
        if model.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the model name must not contain spaces".into());
        }
        Ok(Self {
            provider,
            model: model.to_owned(),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn to_text(&self) -> String {
        format!("{}:{}", self.provider.as_str(), self.model)
    }
}

/// One seat's agent. Only [`SimulationDraft::validate`] makes one, so the model is set
/// exactly for LLM agents, `agent_id` only for external seats and `webhook_id` exactly for
/// webhook seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSlot {
    agent_type: AgentType,
    model: Option<ModelRef>,
    agent_id: Option<AgentId>,
    webhook_id: Option<WebhookId>,
}

impl AgentSlot {
    pub fn agent_type(&self) -> AgentType {
        self.agent_type
    }

    pub fn model(&self) -> Option<&ModelRef> {
        self.model.as_ref()
    }

    /// An external seat kept for one registered agent; `None`: open to any.
    pub fn agent_id(&self) -> Option<&AgentId> {
        self.agent_id.as_ref()
    }

    /// The endpoint a webhook seat calls.
    pub fn webhook_id(&self) -> Option<&WebhookId> {
        self.webhook_id.as_ref()
    }
}

/// How a table with external seats fills: how long it waits for the agents, and what takes
/// the seats nobody took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalSeating {
    pub join_timeout_seconds: i64,
    /// `None`: the run fails, naming the empty seats.
    pub fill_with: Option<AgentType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blinds {
    pub small: i64,
    pub big: i64,
}

/// The table a run plays at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableConfig {
    pub blinds: Blinds,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    OneOff,
    Periodic,
    AlwaysOn,
}

impl ScheduleKind {
    pub const ALL: [ScheduleKind; 3] = [
        ScheduleKind::OneOff,
        ScheduleKind::Periodic,
        ScheduleKind::AlwaysOn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::OneOff => "one_off",
            ScheduleKind::Periodic => "periodic",
            ScheduleKind::AlwaysOn => "always_on",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A periodic config's calendar: a cron expression in a time zone, between optional start
/// and end times, for at most `max_runs` scheduled runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub cron: CronExpr,
    pub time_zone: Tz,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_runs: Option<i64>,
}

impl Calendar {
    /// The first scheduled time after `after` (inside the start and end), if any.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = match self.starts_at {
            Some(start) if start > after => start - chrono::Duration::seconds(1),
            _ => after,
        };
        self.cron
            .next_after(after, self.time_zone)
            .filter(|at| self.ends_at.is_none_or(|end| *at <= end))
    }
}

/// An always-on config: `live_tables` tables kept playing inside the daily windows (all day
/// without any), the next table opening before the current one closes with `handover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlwaysOn {
    pub live_tables: i64,
    pub windows: Vec<DailyWindow>,
    pub time_zone: Tz,
    pub handover: bool,
}

impl AlwaysOn {
    /// Whether tables should be live at `at`.
    pub fn in_window(&self, at: DateTime<Utc>) -> bool {
        in_windows(&self.windows, self.time_zone, at)
    }

    /// The lanes its active runs may hold: one per live table, twice that with handover.
    pub fn lanes(&self) -> i64 {
        self.live_tables * if self.handover { 2 } else { 1 }
    }
}

/// When a config runs: once when started, every `interval_minutes`, on a calendar, or always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    OneOff,
    Periodic { interval_minutes: i64 },
    Calendar(Box<Calendar>),
    AlwaysOn(AlwaysOn),
}

impl Schedule {
    pub fn kind(&self) -> ScheduleKind {
        match self {
            Schedule::OneOff => ScheduleKind::OneOff,
            Schedule::Periodic { .. } | Schedule::Calendar(_) => ScheduleKind::Periodic,
            Schedule::AlwaysOn(_) => ScheduleKind::AlwaysOn,
        }
    }

    pub fn interval_minutes(&self) -> Option<i64> {
        match self {
            Schedule::Periodic { interval_minutes } => Some(*interval_minutes),
            _ => None,
        }
    }

    pub fn calendar(&self) -> Option<&Calendar> {
        match self {
            Schedule::Calendar(calendar) => Some(calendar),
            _ => None,
        }
    }

    pub fn always_on(&self) -> Option<&AlwaysOn> {
        match self {
            Schedule::AlwaysOn(always_on) => Some(always_on),
            _ => None,
        }
    }

    /// The time zone of its calendar or windows.
    pub fn time_zone(&self) -> Option<Tz> {
        match self {
            Schedule::Calendar(c) => Some(c.time_zone),
            Schedule::AlwaysOn(a) => Some(a.time_zone),
            _ => None,
        }
    }

    /// A scheduled trigger's next time after the one at `previous`: one interval later, or
    /// the calendar's next; `None` for schedules without triggers.
    pub fn next_trigger_after(&self, previous: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Periodic { interval_minutes } => {
                Some(previous + chrono::Duration::minutes(*interval_minutes))
            }
            Schedule::Calendar(calendar) => calendar.next_after(previous),
            _ => None,
        }
    }
}

/// `live` paces play so people can watch; `fast` plays as fast as the CPU allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Live,
    Fast,
}

impl Pace {
    pub const ALL: [Pace; 2] = [Pace::Live, Pace::Fast];

    pub fn as_str(self) -> &'static str {
        match self {
            Pace::Live => "live",
            Pace::Fast => "fast",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// Whether the scheduler may start runs of a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigStatus {
    Active,
    Paused,
}

impl ConfigStatus {
    pub const ALL: [ConfigStatus; 2] = [ConfigStatus::Active, ConfigStatus::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            ConfigStatus::Active => "active",
            ConfigStatus::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The limits the issue and the seed set; the migrations repeat them as CHECK constraints.
pub struct Limits;

impl Limits {
    pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
    pub const AGENTS: std::ops::RangeInclusive<i64> = 2..=9;
    pub const ACTION_TIMEOUT_MS: std::ops::RangeInclusive<i64> = 1_000..=120_000;
    pub const MAX_HANDS: std::ops::RangeInclusive<i64> = 1..=10_000;
    pub const MAX_RUN_MINUTES: std::ops::RangeInclusive<i64> = 1..=720;
    pub const INTERVAL_MINUTES: std::ops::RangeInclusive<i64> = 1..=1_440;
    pub const COOLDOWN_MINUTES: std::ops::RangeInclusive<i64> = 0..=1_440;
    pub const DEFAULT_MAX_HANDS: i64 = 20;
    /// Identical tables one run plays at once (one runner task for all of them).
    pub const TABLES: std::ops::RangeInclusive<i64> = 1..=50;
    pub const DEFAULT_MAX_RUN_MINUTES: i64 = 10;
    pub const DEFAULT_COOLDOWN_MINUTES: i64 = 5;
    /// `max_llm_cost_usd`, in cents: one cent to ten thousand dollars.
    pub const MAX_LLM_COST_CENTS: std::ops::RangeInclusive<i64> = 1..=1_000_000;
    pub const JOIN_TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 5..=600;
    pub const DEFAULT_JOIN_TIMEOUT_SECONDS: i64 = 60;
    /// Always-on configs: tables kept live at once.
    pub const LIVE_TABLES: std::ops::RangeInclusive<i64> = 1..=9;
    /// Always-on configs: daily windows.
    pub const MAX_WINDOWS: usize = 8;
    /// Calendar schedules: scheduled runs in all.
    pub const MAX_RUNS: std::ops::RangeInclusive<i64> = 1..=100_000;
    /// Failed or degraded runs in a row that pause a config.
    pub const AUTO_PAUSE_AFTER: std::ops::RangeInclusive<i64> = 1..=100;
}

/// Where a config's tables are played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableHost {
    /// simrunner's own engine (the default).
    Builtin,
    /// A remote MoltPoker-compatible platform: the run creates a table there and its seats
    /// join it as outside agents.
    Platform(PlatformId),
}

impl TableHost {
    pub const BUILTIN: &'static str = "builtin";

    /// `builtin` or the platform's id.
    pub fn to_text(&self) -> String {
        match self {
            TableHost::Builtin => Self::BUILTIN.to_owned(),
            TableHost::Platform(id) => id.to_string(),
        }
    }

    pub fn platform(&self) -> Option<&PlatformId> {
        match self {
            TableHost::Builtin => None,
            TableHost::Platform(id) => Some(id),
        }
    }
}

/// A valid simulation config: only [`SimulationDraft::validate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationSpec {
    name: String,
    status: ConfigStatus,
    schedule: Schedule,
    cooldown_minutes: i64,
    max_hands: i64,
    /// Tables per run, each with this line-up and `max_hands`.
    tables: i64,
    max_run_minutes: i64,
    pace: Pace,
    agent_slots: Vec<AgentSlot>,
    table: TableConfig,
    /// The LLM seats' estimated spend a run may reach (`max_llm_cost_usd`), in cents.
    max_llm_cost_cents: Option<i64>,
    /// Set exactly when a seat is `external`.
    external_seating: Option<ExternalSeating>,
    /// Failed or degraded runs in a row after which the config pauses itself.
    auto_pause_after: Option<i64>,
    host: TableHost,
    /// Made by `POST /v1/admin/tables` for a remote client: the table's id. Every seat is
    /// external and the table starts when that client says so.
    hosted_table: Option<String>,
}

impl SimulationSpec {
    pub fn host(&self) -> &TableHost {
        &self.host
    }
    /// The table a hosted config plays at (see `hosted_table`).
    pub fn hosted_table(&self) -> Option<&str> {
        self.hosted_table.as_deref()
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn status(&self) -> ConfigStatus {
        self.status
    }
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    pub fn cooldown_minutes(&self) -> i64 {
        self.cooldown_minutes
    }
    pub fn max_hands(&self) -> i64 {
        self.max_hands
    }
    /// How many identical tables a run plays at once.
    pub fn tables(&self) -> i64 {
        self.tables
    }
    pub fn max_run_minutes(&self) -> i64 {
        self.max_run_minutes
    }
    pub fn pace(&self) -> Pace {
        self.pace
    }
    pub fn agent_slots(&self) -> &[AgentSlot] {
        &self.agent_slots
    }
    pub fn agent_count(&self) -> i64 {
        self.agent_slots.len() as i64
    }
    pub fn table(&self) -> TableConfig {
        self.table
    }
    pub fn max_llm_cost_cents(&self) -> Option<i64> {
        self.max_llm_cost_cents
    }
    /// How external seats are filled; `None` without external seats.
    pub fn external_seating(&self) -> Option<ExternalSeating> {
        self.external_seating
    }
    pub fn auto_pause_after(&self) -> Option<i64> {
        self.auto_pause_after
    }
    /// `max_llm_cost_usd` in dollars.
    pub fn max_llm_cost_usd(&self) -> Option<f64> {
        self.max_llm_cost_cents.map(|c| c as f64 / 100.0)
    }
    /// The providers this config's LLM seats need a key for, each once, in seat order.
    pub fn llm_providers(&self) -> Vec<Provider> {
        let mut providers = Vec::new();
        for provider in self
            .agent_slots
            .iter()
            .filter_map(|s| s.model().map(ModelRef::provider))
        {
            if !providers.contains(&provider) {
                providers.push(provider);
            }
        }
        providers
    }
}

/// One seat of a [`SimulationDraft`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSlotDraft {
    pub agent_type: Option<String>,
    pub model: Option<String>,
    pub agent_id: Option<String>,
    pub webhook_id: Option<String>,
}

/// One daily window of a [`SimulationDraft`]: `HH:MM` bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowDraft {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// Unvalidated input for a config, field by field. Absent fields take the documented
/// defaults; `status` absent means `paused` (new configs never start on their own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulationDraft {
    pub name: Option<String>,
    pub status: Option<String>,
    pub schedule_type: Option<String>,
    pub interval_minutes: Option<i64>,
    pub cooldown_minutes: Option<i64>,
    pub max_hands: Option<i64>,
    /// Tables per run, 1 to 50 (default 1).
    pub tables: Option<i64>,
    pub max_run_minutes: Option<i64>,
    pub pace: Option<String>,
    pub agent_count: Option<i64>,
    pub agent_slots: Option<Vec<AgentSlotDraft>>,
    pub small_blind: Option<i64>,
    pub big_blind: Option<i64>,
    pub initial_stack: Option<i64>,
    pub action_timeout_ms: Option<i64>,
    /// Dollars, at most two decimals; absent means no limit.
    pub max_llm_cost_usd: Option<f64>,
    /// External seats only: seconds to wait for the agents (default 60).
    pub join_timeout_seconds: Option<i64>,
    /// External seats only: a bot type for the seats nobody took; absent: the run fails.
    pub fill_empty_seats_with: Option<String>,
    /// Periodic configs: an EventBridge cron expression instead of an interval.
    pub cron_expression: Option<String>,
    /// The calendar's or the windows' IANA time zone (default UTC).
    pub time_zone: Option<String>,
    /// Calendar schedules: RFC 3339 times.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub max_runs: Option<i64>,
    /// Always-on configs.
    pub live_tables: Option<i64>,
    pub windows: Option<Vec<WindowDraft>>,
    pub handover: Option<bool>,
    pub auto_pause_after: Option<i64>,
    /// `builtin` (absent) or a platform's id (`plt_…`).
    pub host: Option<String>,
    /// The id of a table hosted for a remote client (set by `POST /v1/admin/tables` only).
    pub hosted_table: Option<String>,
}

impl From<&SimulationSpec> for SimulationDraft {
    fn from(spec: &SimulationSpec) -> Self {
        Self {
            name: Some(spec.name.clone()),
            status: Some(spec.status.as_str().into()),
            schedule_type: Some(spec.schedule.kind().as_str().into()),
            interval_minutes: spec.schedule.interval_minutes(),
            cron_expression: spec.schedule.calendar().map(|c| c.cron.fields().to_owned()),
            time_zone: spec.schedule.time_zone().map(|tz| tz.name().to_owned()),
            starts_at: spec
                .schedule
                .calendar()
                .and_then(|c| c.starts_at)
                .map(rfc3339),
            ends_at: spec
                .schedule
                .calendar()
                .and_then(|c| c.ends_at)
                .map(rfc3339),
            max_runs: spec.schedule.calendar().and_then(|c| c.max_runs),
            live_tables: spec.schedule.always_on().map(|a| a.live_tables),
            windows: spec.schedule.always_on().and_then(|a| {
                (!a.windows.is_empty()).then(|| {
                    a.windows
                        .iter()
                        .map(|w| WindowDraft {
                            start: Some(w.start_text()),
                            end: Some(w.end_text()),
                        })
                        .collect()
                })
            }),
            handover: spec.schedule.always_on().map(|a| a.handover),
            auto_pause_after: spec.auto_pause_after,
            cooldown_minutes: Some(spec.cooldown_minutes),
            max_hands: Some(spec.max_hands),
            tables: Some(spec.tables),
            max_run_minutes: Some(spec.max_run_minutes),
            pace: Some(spec.pace.as_str().into()),
            agent_count: Some(spec.agent_count()),
            agent_slots: Some(
                spec.agent_slots
                    .iter()
                    .map(|s| AgentSlotDraft {
                        agent_type: Some(s.agent_type.as_str().into()),
                        model: s.model.as_ref().map(ModelRef::to_text),
                        agent_id: s.agent_id.as_ref().map(|a| a.to_string()),
                        webhook_id: s.webhook_id.as_ref().map(|w| w.to_string()),
                    })
                    .collect(),
            ),
            small_blind: Some(spec.table.blinds.small),
            big_blind: Some(spec.table.blinds.big),
            initial_stack: Some(spec.table.initial_stack),
            action_timeout_ms: Some(spec.table.action_timeout_ms),
            max_llm_cost_usd: spec.max_llm_cost_usd(),
            join_timeout_seconds: spec.external_seating.map(|e| e.join_timeout_seconds),
            fill_empty_seats_with: spec
                .external_seating
                .and_then(|e| e.fill_with)
                .map(|t| t.as_str().into()),
            host: Some(spec.host.to_text()),
            hosted_table: spec.hosted_table.clone(),
        }
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_choice<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> T {
    match value {
        None => default,
        Some(v) => parse(v).unwrap_or_else(|| {
            errors.add(field, format!("must be one of {allowed} (got {v:?})"));
            default
        }),
    }
}

impl SimulationDraft {
    /// Checks every rule and reports every violation.
    pub fn validate(self) -> Result<SimulationSpec, ValidationErrors> {
        let mut errors = ValidationErrors::default();

        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let name_chars = name.chars().count();
        if self.name.is_none() {
            errors.add("name", "is required");
        } else if !Limits::NAME_CHARS.contains(&name_chars) {
            errors.add("name", "must be 1 to 100 characters after trimming spaces");
        } else if name.chars().any(char::is_control) {
            errors.add("name", "must not contain control characters");
        }

        let status = parse_choice(
            &mut errors,
            "status",
            self.status.as_deref(),
            ConfigStatus::Paused,
            ConfigStatus::parse,
            "active, paused",
        );
        let (schedule, cooldown_minutes) = self.schedule_and_cooldown(&mut errors);
        let auto_pause_after = self
            .auto_pause_after
            .map(|n| errors.int_in("auto_pause_after", Some(n), Limits::AUTO_PAUSE_AFTER, None));
        let max_hands = errors.int_in(
            "max_hands",
            self.max_hands,
            Limits::MAX_HANDS,
            Some(Limits::DEFAULT_MAX_HANDS),
        );
        let max_run_minutes = errors.int_in(
            "max_run_minutes",
            self.max_run_minutes,
            Limits::MAX_RUN_MINUTES,
            Some(Limits::DEFAULT_MAX_RUN_MINUTES),
        );
        let pace = parse_choice(
            &mut errors,
            "pace",
            self.pace.as_deref(),
            Pace::Live,
            Pace::parse,
            "live, fast",
        );

        let agent_slots = validate_slots(&mut errors, self.agent_count, self.agent_slots);
        let table = validate_table(
            &mut errors,
            self.small_blind,
            self.big_blind,
            self.initial_stack,
            self.action_timeout_ms,
        );

        let max_llm_cost_cents = self.max_llm_cost_usd.and_then(|dollars| {
            let cents = (dollars * 100.0).round();
            if !dollars.is_finite()
                || (cents - dollars * 100.0).abs() > 1e-6
                || !Limits::MAX_LLM_COST_CENTS.contains(&(cents as i64))
            {
                errors.add(
                    "max_llm_cost_usd",
                    "must be 0.01 to 10000 dollars with at most two decimals, or null for no limit",
                );
                return None;
            }
            Some(cents as i64)
        });

        let external_seating = validate_external_seating(
            &mut errors,
            agent_slots
                .iter()
                .any(|s| s.agent_type == AgentType::External),
            self.join_timeout_seconds,
            self.fill_empty_seats_with.as_deref(),
        );

        let host = validate_host(&mut errors, self.host.as_deref(), &agent_slots);
        if self.hosted_table.is_some()
            && agent_slots
                .iter()
                .any(|s| s.agent_type != AgentType::External)
        {
            errors.add("agent_slots", "a hosted table's seats are all external");
        }
        let tables = errors.int_in("tables", self.tables, Limits::TABLES, Some(1));
        if tables > 1 {
            let why = if self.hosted_table.is_some() {
                Some("a hosted table is one table")
            } else if host != TableHost::Builtin {
                Some("a run at a platform plays one table there; make one config per table")
            } else if external_seating.is_some() {
                Some(
                    "a run with external seats plays one table: outside agents choose their \
                     tables themselves",
                )
            } else {
                None
            };
            if let Some(why) = why {
                errors.add("tables", format!("must be 1 here: {why}"));
            }
        }

        errors.into_result(|| SimulationSpec {
            name,
            status,
            schedule,
            cooldown_minutes,
            max_hands,
            tables,
            max_run_minutes,
            pace,
            agent_slots,
            table,
            max_llm_cost_cents,
            external_seating,
            auto_pause_after,
            host,
            hosted_table: self.hosted_table,
        })
    }
}

/// What a schedule will do from a moment on: its next start times (for an always-on config,
/// when its windows open) and what will not happen as one might expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulePreview {
    pub starts: Vec<DateTime<Utc>>,
    /// `(code, message)`.
    pub warnings: Vec<(&'static str, String)>,
}

/// The start times a preview shows.
const PREVIEW_STARTS: usize = 10;

fn minutes(duration: chrono::Duration) -> i64 {
    duration.num_minutes()
}

impl SimulationDraft {
    /// The schedule (its kind and its own fields) and the cooldown, each checked, and checked
    /// against each other.
    fn schedule_and_cooldown(&self, errors: &mut ValidationErrors) -> (Schedule, i64) {
        let kind = parse_choice(
            errors,
            "schedule_type",
            self.schedule_type.as_deref(),
            ScheduleKind::OneOff,
            ScheduleKind::parse,
            "one_off, periodic, always_on",
        );
        let kind_is_known = self
            .schedule_type
            .as_deref()
            .is_none_or(|k| ScheduleKind::parse(k).is_some());
        // Fields cannot be judged against a schedule type that was not understood.
        let schedule = if kind_is_known {
            validate_schedule(errors, kind, self)
        } else {
            Schedule::OneOff
        };
        let cooldown = errors.int_in(
            "cooldown_minutes",
            self.cooldown_minutes,
            Limits::COOLDOWN_MINUTES,
            Some(Limits::DEFAULT_COOLDOWN_MINUTES),
        );
        if let Schedule::AlwaysOn(always_on) = &schedule
            && always_on.handover
            && cooldown > 0
        {
            errors.add(
                "cooldown_minutes",
                "with handover the next table opens before the current one closes, so no \
                 cooldown can apply: set it to 0",
            );
        }
        (schedule, cooldown)
    }

    /// Checks only the schedule's fields (with the cooldown and the safety timeout) and
    /// previews them at `now`: `scheduled_so_far` runs count against a calendar's `max_runs`.
    pub fn preview_schedule(
        &self,
        now: DateTime<Utc>,
        max_concurrent_runs: i64,
        scheduled_so_far: i64,
    ) -> Result<SchedulePreview, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let (schedule, cooldown) = self.schedule_and_cooldown(&mut errors);
        let longest = errors.int_in(
            "max_run_minutes",
            self.max_run_minutes,
            Limits::MAX_RUN_MINUTES,
            Some(Limits::DEFAULT_MAX_RUN_MINUTES),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut warnings = Vec::new();
        let mut starts = Vec::new();
        match &schedule {
            Schedule::OneOff => warnings.push((
                "one_off",
                "a one-off config runs only when started".to_owned(),
            )),
            Schedule::Periodic { interval_minutes } => {
                let step = interval_minutes * 60;
                let first = (now.timestamp() / step + 1) * step;
                starts.extend(
                    (0..PREVIEW_STARTS as i64)
                        .filter_map(|i| DateTime::from_timestamp(first + i * step, 0)),
                );
            }
            Schedule::Calendar(calendar) => {
                let left = calendar
                    .max_runs
                    .map_or(PREVIEW_STARTS as i64, |max| (max - scheduled_so_far).max(0));
                let mut at = now;
                while (starts.len() as i64) < left.min(PREVIEW_STARTS as i64) {
                    match calendar.next_after(at) {
                        Some(next) => {
                            starts.push(next);
                            at = next;
                        }
                        None => break,
                    }
                }
                if calendar.ends_at.is_some_and(|end| end <= now) {
                    warnings.push((
                        "end_date_passed",
                        format!(
                            "the end date ({}) has passed: no more runs",
                            rfc3339(calendar.ends_at.unwrap_or(now))
                        ),
                    ));
                } else if calendar.max_runs.is_some() && left == 0 {
                    warnings.push((
                        "max_runs_reached",
                        "the schedule has started all the runs it may (max_runs)".to_owned(),
                    ));
                } else if starts.len() < PREVIEW_STARTS {
                    warnings.push((
                        "few_starts",
                        format!(
                            "only {} more start{} before the schedule ends (ends_at or max_runs)",
                            starts.len(),
                            if starts.len() == 1 { "" } else { "s" }
                        ),
                    ));
                }
                if let Some(start) = calendar.starts_at.filter(|start| *start > now) {
                    warnings.push((
                        "not_started",
                        format!("nothing runs before the start date ({})", rfc3339(start)),
                    ));
                }
            }
            Schedule::AlwaysOn(always_on) => {
                let spans = crate::domain::calendar::window_spans(
                    &always_on.windows,
                    always_on.time_zone,
                    now,
                    now + chrono::Duration::days(14),
                );
                starts.extend(spans.iter().take(PREVIEW_STARTS).map(|span| span.0));
                if !always_on.in_window(now) {
                    let next = starts.first().map(|at| rfc3339(*at)).unwrap_or_default();
                    warnings.push((
                        "window_closed",
                        format!("outside its windows now: no table until {next}"),
                    ));
                }
                if always_on.live_tables > max_concurrent_runs {
                    warnings.push((
                        "live_tables_above_limit",
                        format!(
                            "{} live tables are more than the {max_concurrent_runs} active runs \
                             allowed (SIMRUNNER_MAX_CONCURRENT_RUNS)",
                            always_on.live_tables
                        ),
                    ));
                } else if always_on.handover && always_on.live_tables + 1 > max_concurrent_runs {
                    warnings.push((
                        "handover_needs_a_slot",
                        format!(
                            "handover needs a free run slot beside its tables; the limit is \
                             {max_concurrent_runs} (SIMRUNNER_MAX_CONCURRENT_RUNS)"
                        ),
                    ));
                }
                if !always_on.handover {
                    warnings.push((
                        "gap_between_tables",
                        format!(
                            "without handover each table's end leaves a gap: the cooldown \
                             ({cooldown} min) plus the next table's start"
                        ),
                    ));
                }
            }
        }
        if let Some(gap) = starts.windows(2).map(|w| w[1] - w[0]).min()
            && schedule.kind() == ScheduleKind::Periodic
        {
            if cooldown > 0 && cooldown >= minutes(gap) {
                warnings.push((
                    "cooldown_longer_than_interval",
                    format!(
                        "the cooldown ({cooldown} min) is not shorter than the {} min between \
                         starts: a start right after a run is skipped as cooling_down",
                        minutes(gap)
                    ),
                ));
            }
            if longest > minutes(gap) {
                warnings.push((
                    "runs_longer_than_gap",
                    format!(
                        "a run may last up to {longest} min (max_run_minutes), longer than the {} \
                         min between starts: a start while it plays is skipped as already_running",
                        minutes(gap)
                    ),
                ));
            }
        }
        Ok(SchedulePreview { starts, warnings })
    }
}

/// Refuses `field` when it is given: it belongs to another kind of schedule.
fn refuse_if_given<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: &Option<T>,
    belongs: &str,
) {
    if value.is_some() {
        errors.add(field, format!("applies only to {belongs}; leave it out"));
    }
}

fn time_zone(errors: &mut ValidationErrors, text: Option<&str>) -> Tz {
    match text {
        None => Tz::UTC,
        Some(text) => parse_time_zone(text).unwrap_or_else(|message| {
            errors.add("time_zone", message);
            Tz::UTC
        }),
    }
}

fn timestamp(
    errors: &mut ValidationErrors,
    field: &str,
    text: Option<&str>,
) -> Option<DateTime<Utc>> {
    let text = text?;
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            errors.add(
                field,
                format!("must be an RFC 3339 time such as 2025-06-01T08:00:00Z (got {text:?})"),
            );
            None
        }
    }
}

/// The schedule's own fields, each checked against the kind of schedule.
fn validate_schedule(
    errors: &mut ValidationErrors,
    kind: ScheduleKind,
    draft: &SimulationDraft,
) -> Schedule {
    const CALENDARS: &str = "periodic configs with a cron_expression";
    const ALWAYS_ON: &str = "always_on configs";
    if kind != ScheduleKind::AlwaysOn {
        refuse_if_given(errors, "live_tables", &draft.live_tables, ALWAYS_ON);
        refuse_if_given(errors, "windows", &draft.windows, ALWAYS_ON);
        refuse_if_given(errors, "handover", &draft.handover, ALWAYS_ON);
    }
    let calendar = kind == ScheduleKind::Periodic && draft.cron_expression.is_some();
    if !calendar {
        refuse_if_given(
            errors,
            "cron_expression",
            &draft.cron_expression,
            "periodic configs",
        );
        refuse_if_given(errors, "starts_at", &draft.starts_at, CALENDARS);
        refuse_if_given(errors, "ends_at", &draft.ends_at, CALENDARS);
        refuse_if_given(errors, "max_runs", &draft.max_runs, CALENDARS);
        if kind != ScheduleKind::AlwaysOn {
            refuse_if_given(
                errors,
                "time_zone",
                &draft.time_zone,
                "calendars and always_on windows",
            );
        }
    }
    match kind {
        ScheduleKind::OneOff => {
            refuse_if_given(
                errors,
                "interval_minutes",
                &draft.interval_minutes,
                "periodic configs",
            );
            Schedule::OneOff
        }
        ScheduleKind::Periodic if calendar => {
            if draft.interval_minutes.is_some() {
                errors.add(
                    "interval_minutes",
                    "give an interval or a cron_expression, not both",
                );
            }
            let tz = time_zone(errors, draft.time_zone.as_deref());
            let starts_at = timestamp(errors, "starts_at", draft.starts_at.as_deref());
            let ends_at = timestamp(errors, "ends_at", draft.ends_at.as_deref());
            if let (Some(start), Some(end)) = (starts_at, ends_at)
                && end <= start
            {
                errors.add("ends_at", format!("must be after starts_at ({start})"));
            }
            let max_runs = draft
                .max_runs
                .map(|n| errors.int_in("max_runs", Some(n), Limits::MAX_RUNS, None));
            let text = draft.cron_expression.as_deref().unwrap_or_default();
            let cron = match CronExpr::parse(text) {
                Ok(cron) => cron,
                Err(message) => {
                    errors.add("cron_expression", message);
                    return Schedule::OneOff;
                }
            };
            let calendar = Calendar {
                time_zone: tz,
                starts_at,
                ends_at,
                max_runs,
                cron,
            };
            // Judged without a clock, so a stored config stays valid as time passes.
            let from = starts_at.unwrap_or_else(|| calendar.cron.first_possible());
            if errors.is_empty()
                && calendar
                    .next_after(from - chrono::Duration::seconds(1))
                    .is_none()
            {
                errors.add(
                    "cron_expression",
                    "never fires between starts_at and ends_at (within eight years of its first \
                     possible time)",
                );
            }
            Schedule::Calendar(Box::new(calendar))
        }
        ScheduleKind::Periodic => Schedule::Periodic {
            interval_minutes: errors.int_in(
                "interval_minutes",
                draft.interval_minutes,
                Limits::INTERVAL_MINUTES,
                None,
            ),
        },
        ScheduleKind::AlwaysOn => {
            refuse_if_given(
                errors,
                "interval_minutes",
                &draft.interval_minutes,
                "periodic configs",
            );
            let live_tables = errors.int_in(
                "live_tables",
                draft.live_tables,
                Limits::LIVE_TABLES,
                Some(1),
            );
            let tz = time_zone(errors, draft.time_zone.as_deref());
            let drafts = draft.windows.as_deref().unwrap_or_default();
            if drafts.len() > Limits::MAX_WINDOWS {
                errors.add(
                    "windows",
                    format!(
                        "at most {} windows (got {})",
                        Limits::MAX_WINDOWS,
                        drafts.len()
                    ),
                );
            }
            let windows = drafts
                .iter()
                .enumerate()
                .filter_map(|(i, w)| {
                    let (Some(start), Some(end)) = (&w.start, &w.end) else {
                        errors.add(format!("windows[{i}]"), "needs a start and an end, HH:MM");
                        return None;
                    };
                    DailyWindow::parse(start, end)
                        .map_err(|(field, message)| {
                            errors.add(format!("windows[{i}].{field}"), message)
                        })
                        .ok()
                })
                .collect();
            Schedule::AlwaysOn(AlwaysOn {
                live_tables,
                windows,
                time_zone: tz,
                handover: draft.handover.unwrap_or(false),
            })
        }
    }
}

/// The rules that depend on where the config runs: an always-on config's tables (and, with
/// handover, a next table beside them) must fit under the concurrency limit
/// (`SIMRUNNER_MAX_CONCURRENT_RUNS`).
pub fn check_capacity(
    spec: &SimulationSpec,
    max_concurrent_runs: i64,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if let Some(always_on) = spec.schedule().always_on() {
        let needed = always_on.live_tables + i64::from(always_on.handover);
        if always_on.live_tables > max_concurrent_runs {
            errors.add(
                "live_tables",
                format!(
                    "is above the limit of {max_concurrent_runs} active runs \
                     (SIMRUNNER_MAX_CONCURRENT_RUNS)"
                ),
            );
        } else if needed > max_concurrent_runs {
            errors.add(
                "handover",
                format!(
                    "needs a free run slot beside the {} live table(s), but the limit is \
                     {max_concurrent_runs} active runs (SIMRUNNER_MAX_CONCURRENT_RUNS)",
                    always_on.live_tables
                ),
            );
        }
    }
    errors.into_result(|| ())
}

/// `builtin` or a platform id; at a platform every seat is one of ours, playing there as an
/// outside agent, so no seat can wait for outside agents of its own.
fn validate_host(
    errors: &mut ValidationErrors,
    host: Option<&str>,
    slots: &[AgentSlot],
) -> TableHost {
    let host = match host {
        None | Some(TableHost::BUILTIN) => return TableHost::Builtin,
        Some(text) => {
            match PlatformId::parse(text) {
                Some(id) => TableHost::Platform(id),
                None => {
                    errors.add(
                    "host",
                    format!("must be builtin or a platform's id, plt_ and 32 hex digits (got {text:?})"),
                );
                    return TableHost::Builtin;
                }
            }
        }
    };
    for (i, slot) in slots.iter().enumerate() {
        if slot.agent_type == AgentType::External {
            errors.add(
                format!("agent_slots[{i}].type"),
                "external seats wait for outside agents at simrunner's own tables; a table at \
                 a platform is played by this config's own seats",
            );
        }
    }
    host
}

fn validate_external_seating(
    errors: &mut ValidationErrors,
    has_external_seats: bool,
    join_timeout_seconds: Option<i64>,
    fill_with: Option<&str>,
) -> Option<ExternalSeating> {
    if !has_external_seats {
        if join_timeout_seconds.is_some() {
            errors.add(
                "join_timeout_seconds",
                "applies only to configs with external seats; leave it out",
            );
        }
        if fill_with.is_some() {
            errors.add(
                "fill_empty_seats_with",
                "applies only to configs with external seats; leave it out",
            );
        }
        return None;
    }
    let join_timeout_seconds = errors.int_in(
        "join_timeout_seconds",
        join_timeout_seconds,
        Limits::JOIN_TIMEOUT_SECONDS,
        Some(Limits::DEFAULT_JOIN_TIMEOUT_SECONDS),
    );
    let fill_with = fill_with.and_then(|text| match AgentType::parse(text) {
        Some(bot) if bot.is_bot() => Some(bot),
        _ => {
            errors.add(
                "fill_empty_seats_with",
                format!(
                    "must be a built-in bot ({}) or null to fail the run (got {text:?})",
                    AgentType::bot_names()
                ),
            );
            None
        }
    });
    Some(ExternalSeating {
        join_timeout_seconds,
        fill_with,
    })
}

fn validate_slots(
    errors: &mut ValidationErrors,
    agent_count: Option<i64>,
    slots: Option<Vec<AgentSlotDraft>>,
) -> Vec<AgentSlot> {
    let Some(slots) = slots else {
        errors.add("agent_slots", "is required: one {type, model?} per seat");
        return Vec::new();
    };
    let len = slots.len() as i64;
    match agent_count {
        Some(n) if !Limits::AGENTS.contains(&n) => {
            errors.add("agent_count", format!("must be from 2 to 9 (got {n})"))
        }
        Some(n) if n != len => errors.add(
            "agent_slots",
            format!("has {len} slots but agent_count is {n}; give one slot per agent"),
        ),
        _ if !Limits::AGENTS.contains(&len) => errors.add(
            "agent_slots",
            format!("must have 2 to 9 slots, one per agent (got {len})"),
        ),
        _ => {}
    }
    slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, slot)| validate_slot(errors, i, slot))
        .collect()
}

fn validate_slot(
    errors: &mut ValidationErrors,
    index: usize,
    slot: AgentSlotDraft,
) -> Option<AgentSlot> {
    let field = format!("agent_slots[{index}]");
    let agent_type = match slot.agent_type.as_deref() {
        None => {
            errors.add(
                format!("{field}.type"),
                format!("is required: one of {}", AgentType::names()),
            );
            return None;
        }
        Some("llm") => {
            errors.add(
                format!("{field}.type"),
                "the llm agent type is not supported; use autonomous or protocol for LLM-driven agents",
            );
            return None;
        }
        Some(t) => match AgentType::parse(t) {
            Some(t) => t,
            None => {
                errors.add(
                    format!("{field}.type"),
                    format!(
                        "unknown agent type {t:?}; use one of {}",
                        AgentType::names()
                    ),
                );
                return None;
            }
        },
    };
    let model = match (agent_type.requires_model(), slot.model.as_deref()) {
        (true, None) => {
            errors.add(
                format!("{field}.model"),
                format!(
                    "{} agents need a model as provider:model, e.g. openai:gpt-4o",
                    agent_type.as_str()
                ),
            );
            return None;
        }
        (true, Some(text)) => match ModelRef::parse(text) {
            Ok(model) => Some(model),
            Err(message) => {
                errors.add(format!("{field}.model"), message);
                return None;
            }
        },
        (false, Some(_)) => {
            errors.add(
                format!("{field}.model"),
                format!(
                    "{} seats take no model; only autonomous and protocol seats do",
                    agent_type.as_str()
                ),
            );
            return None;
        }
        (false, None) => None,
    };
    let agent_id = match (agent_type, slot.agent_id.as_deref()) {
        (_, None) => None,
        (AgentType::External, Some(text)) => match AgentId::parse(text) {
            Some(id) => Some(id),
            None => {
                errors.add(
                    format!("{field}.agent_id"),
                    format!(
                        "must be a registered agent's id, agt_ and 32 hex digits (got {text:?})"
                    ),
                );
                return None;
            }
        },
        (other, Some(_)) => {
            errors.add(
                format!("{field}.agent_id"),
                format!("only external seats name an agent, not {}", other.as_str()),
            );
            return None;
        }
    };
    let webhook_id = match (agent_type, slot.webhook_id.as_deref()) {
        (AgentType::Webhook, None) => {
            errors.add(
                format!("{field}.webhook_id"),
                "webhook seats name the endpoint they call: a webhook_id (whk_…)",
            );
            return None;
        }
        (AgentType::Webhook, Some(text)) => match WebhookId::parse(text) {
            Some(id) => Some(id),
            None => {
                errors.add(
                    format!("{field}.webhook_id"),
                    format!(
                        "must be a webhook endpoint's id, whk_ and 32 hex digits (got {text:?})"
                    ),
                );
                return None;
            }
        },
        (_, None) => None,
        (other, Some(_)) => {
            errors.add(
                format!("{field}.webhook_id"),
                format!(
                    "only webhook seats name an endpoint, not {}",
                    other.as_str()
                ),
            );
            return None;
        }
    };
    Some(AgentSlot {
        agent_type,
        model,
        agent_id,
        webhook_id,
    })
}

fn validate_table(
    errors: &mut ValidationErrors,
    small: Option<i64>,
    big: Option<i64>,
    stack: Option<i64>,
    timeout: Option<i64>,
) -> TableConfig {
    let small = errors.int_in("table_config.blinds.small", small, 1..=MAX_CHIPS, None);
    let big = match big {
        Some(b) if b < small => {
            errors.add(
                "table_config.blinds.big",
                format!("must be at least the small blind ({small}) (got {b})"),
            );
            b
        }
        other => errors.int_in("table_config.blinds.big", other, 1..=MAX_CHIPS, None),
    };
    let initial_stack = match stack {
        Some(s) if s < big.saturating_mul(2) => {
            errors.add(
                "table_config.initialStack",
                format!("must be at least two big blinds ({}) (got {s})", big * 2),
            );
            s
        }
        other => errors.int_in("table_config.initialStack", other, 2..=MAX_CHIPS, None),
    };
    let action_timeout_ms = errors.int_in(
        "table_config.actionTimeoutMs",
        timeout,
        Limits::ACTION_TIMEOUT_MS,
        None,
    );
    TableConfig {
        blinds: Blinds { small, big },
        initial_stack,
        action_timeout_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bots(types: &[&str]) -> Vec<AgentSlotDraft> {
        types
            .iter()
            .map(|t| AgentSlotDraft {
                agent_type: Some((*t).into()),
                model: None,
                ..Default::default()
            })
            .collect()
    }

    fn valid() -> SimulationDraft {
        SimulationDraft {
            name: Some("  Evening table ".into()),
            agent_slots: Some(bots(&["random", "tight", "callstation"])),
            small_blind: Some(5),
            big_blind: Some(10),
            initial_stack: Some(1000),
            action_timeout_ms: Some(10_000),
            ..Default::default()
        }
    }

    fn fields(draft: SimulationDraft) -> Vec<String> {
        draft
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn defaults_follow_the_specification() {
        let spec = valid().validate().unwrap();
        assert_eq!(spec.name(), "Evening table");
        assert_eq!(spec.status(), ConfigStatus::Paused);
        assert_eq!(*spec.schedule(), Schedule::OneOff);
        assert_eq!(spec.cooldown_minutes(), 5);
        assert_eq!(spec.max_hands(), 20);
        assert_eq!(spec.max_run_minutes(), 10);
        assert_eq!(spec.pace(), Pace::Live);
        assert_eq!(spec.agent_count(), 3);
    }

    #[test]
    fn a_run_plays_one_to_fifty_tables_of_simrunner_s_own_with_its_own_seats() {
        assert_eq!(valid().validate().unwrap().tables(), 1, "one by default");
        let mut draft = valid();
        draft.tables = Some(50);
        assert_eq!(draft.validate().unwrap().tables(), 50);
        for out_of_range in [0, 51, -3] {
            let mut draft = valid();
            draft.tables = Some(out_of_range);
            assert_eq!(fields(draft), ["tables"], "{out_of_range}");
        }
        // Outside agents pick their tables themselves; a platform's table is one table.
        let mut external = valid();
        external.tables = Some(2);
        external.agent_slots.as_mut().unwrap()[0] = AgentSlotDraft {
            agent_type: Some("external".into()),
            ..Default::default()
        };
        let errors = external.validate().unwrap_err();
        assert_eq!(errors.0[0].field, "tables");
        assert!(errors.0[0].message.contains("external seats"));
        let mut platform = valid();
        platform.tables = Some(3);
        platform.host = Some(format!("plt_{}", "a".repeat(32)));
        assert_eq!(fields(platform), ["tables"]);
    }

    #[test]
    fn a_spec_survives_the_round_trip_through_a_draft() {
        let mut draft = valid();
        draft.schedule_type = Some("periodic".into());
        draft.interval_minutes = Some(30);
        draft.tables = Some(12);
        draft.agent_slots.as_mut().unwrap()[0] = AgentSlotDraft {
            agent_type: Some("protocol".into()),
            model: Some("anthropic:claude-sonnet-4".into()),
            ..Default::default()
        };
        let spec = draft.validate().unwrap();
        assert_eq!(SimulationDraft::from(&spec).validate().unwrap(), spec);
    }

    #[test]
    fn llm_is_explicitly_unsupported_and_unknown_types_name_the_allowed_ones() {
        let mut draft = valid();
        draft.agent_slots = Some(bots(&["llm", "poker-god"]));
        let errors = draft.validate().unwrap_err();
        assert!(errors.0[0].message.contains("not supported"));
        assert!(
            errors.0[1]
                .message
                .contains("random, tight, callstation, autonomous, protocol")
        );
    }

    #[test]
    fn models_are_required_for_llm_agents_and_refused_for_bots() {
        let mut draft = valid();
        draft.agent_slots = Some(vec![
            AgentSlotDraft {
                agent_type: Some("autonomous".into()),
                model: None,
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("random".into()),
                model: Some("openai:gpt-4o".into()),
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("protocol".into()),
                model: Some("mistral:large".into()),
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("protocol".into()),
                model: Some("openai".into()),
                ..Default::default()
            },
        ]);
        assert_eq!(
            fields(draft),
            [
                "agent_slots[0].model",
                "agent_slots[1].model",
                "agent_slots[2].model",
                "agent_slots[3].model"
            ]
        );
    }

    #[test]
    fn agent_count_must_match_the_slots_and_stay_within_two_to_nine() {
        let mut draft = valid();
        draft.agent_count = Some(4);
        assert_eq!(fields(draft), ["agent_slots"]);
        let mut draft = valid();
        draft.agent_slots = Some(bots(&["random"]));
        assert_eq!(fields(draft), ["agent_slots"]);
        let mut draft = valid();
        draft.agent_slots = Some(bots(&["random"; 10]));
        draft.agent_count = Some(10);
        assert_eq!(fields(draft), ["agent_count"]);
    }

    #[test]
    fn table_rules_relate_blinds_and_stack() {
        let mut draft = valid();
        draft.small_blind = Some(0);
        draft.big_blind = Some(10);
        draft.initial_stack = Some(19);
        draft.action_timeout_ms = Some(999);
        assert_eq!(
            fields(draft),
            [
                "table_config.blinds.small",
                "table_config.initialStack",
                "table_config.actionTimeoutMs"
            ]
        );
        let mut draft = valid();
        draft.big_blind = Some(4);
        assert_eq!(fields(draft), ["table_config.blinds.big"]);
        let mut draft = valid();
        draft.initial_stack = Some(20);
        draft.action_timeout_ms = Some(120_000);
        assert!(draft.validate().is_ok(), "exactly two big blinds is enough");
    }

    #[test]
    fn schedules_need_an_interval_exactly_when_periodic() {
        let mut draft = valid();
        draft.schedule_type = Some("periodic".into());
        assert_eq!(fields(draft.clone()), ["interval_minutes"]);
        draft.interval_minutes = Some(1_441);
        assert_eq!(fields(draft), ["interval_minutes"]);
        let mut draft = valid();
        draft.interval_minutes = Some(10);
        assert_eq!(fields(draft), ["interval_minutes"]);
    }

    fn slot(agent_type: &str, agent_id: Option<&str>, webhook_id: Option<&str>) -> AgentSlotDraft {
        AgentSlotDraft {
            agent_type: Some(agent_type.into()),
            agent_id: agent_id.map(Into::into),
            webhook_id: webhook_id.map(Into::into),
            ..Default::default()
        }
    }

    const AGENT: &str = "agt_0123456789abcdef0123456789abcdef";
    const WEBHOOK: &str = "whk_0123456789abcdef0123456789abcdef";

    #[test]
    fn external_seats_may_name_an_agent_and_bring_their_seating_rules() {
        let mut draft = valid();
        draft.agent_slots = Some(vec![
            slot("external", None, None),
            slot("external", Some(AGENT), None),
            slot("tight", None, None),
        ]);
        let spec = draft.clone().validate().unwrap();
        assert_eq!(
            spec.external_seating(),
            Some(ExternalSeating {
                join_timeout_seconds: 60,
                fill_with: None
            })
        );
        assert_eq!(spec.agent_slots()[1].agent_id().unwrap().as_str(), AGENT);
        assert_eq!(SimulationDraft::from(&spec).validate().unwrap(), spec);

        draft.join_timeout_seconds = Some(30);
        draft.fill_empty_seats_with = Some("callstation".into());
        let spec = draft.clone().validate().unwrap();
        assert_eq!(
            spec.external_seating(),
            Some(ExternalSeating {
                join_timeout_seconds: 30,
                fill_with: Some(AgentType::Callstation)
            })
        );
        assert_eq!(SimulationDraft::from(&spec).validate().unwrap(), spec);

        draft.join_timeout_seconds = Some(4);
        draft.fill_empty_seats_with = Some("protocol".into());
        assert_eq!(
            fields(draft),
            ["join_timeout_seconds", "fill_empty_seats_with"]
        );
    }

    #[test]
    fn seating_rules_without_external_seats_and_misplaced_ids_are_refused() {
        let mut draft = valid();
        draft.join_timeout_seconds = Some(30);
        draft.fill_empty_seats_with = Some("tight".into());
        assert_eq!(
            fields(draft),
            ["join_timeout_seconds", "fill_empty_seats_with"]
        );
        let mut draft = valid();
        draft.agent_slots = Some(vec![
            slot("random", Some(AGENT), None),
            slot("external", None, Some(WEBHOOK)),
            slot("webhook", None, None),
            slot("webhook", None, Some("whk_nope")),
            slot("external", Some("agt_nope"), None),
            slot("webhook", None, Some(WEBHOOK)),
        ]);
        assert_eq!(
            fields(draft),
            [
                "agent_slots[0].agent_id",
                "agent_slots[1].webhook_id",
                "agent_slots[2].webhook_id",
                "agent_slots[3].webhook_id",
                "agent_slots[4].agent_id",
            ]
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        for (name, ok) in [
            ("   ", false),
            ("x", true),
            (&"é".repeat(100), true),
            (&"é".repeat(101), false),
            ("tab\there", false),
        ] {
            let mut draft = valid();
            draft.name = Some(name.to_string());
            assert_eq!(draft.validate().is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn an_llm_budget_is_whole_cents_within_limits_and_needs_keys_per_provider() {
        for (dollars, cents) in [
            (0.01, Some(1)),
            (2.5, Some(250)),
            (10_000.0, Some(1_000_000)),
        ] {
            let mut draft = valid();
            draft.max_llm_cost_usd = Some(dollars);
            assert_eq!(
                draft.validate().unwrap().max_llm_cost_cents(),
                cents,
                "{dollars}"
            );
        }
        for dollars in [0.0, -1.0, 0.005, 10_000.01, f64::NAN, f64::INFINITY] {
            let mut draft = valid();
            draft.max_llm_cost_usd = Some(dollars);
            let errors = draft.validate().unwrap_err();
            assert_eq!(errors.0[0].field, "max_llm_cost_usd", "{dollars}");
        }
        let mut draft = valid();
        draft.agent_slots = Some(vec![
            AgentSlotDraft {
                agent_type: Some("protocol".into()),
                model: Some("google:gemini-2.5-flash".into()),
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("random".into()),
                model: None,
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("autonomous".into()),
                model: Some("openai:gpt-4o".into()),
                ..Default::default()
            },
            AgentSlotDraft {
                agent_type: Some("protocol".into()),
                model: Some("google:gemini-2.5-pro".into()),
                ..Default::default()
            },
        ]);
        let spec = draft.validate().unwrap();
        assert_eq!(spec.llm_providers(), [Provider::Google, Provider::OpenAi]);
        assert_eq!(spec.max_llm_cost_usd(), None);
    }
}

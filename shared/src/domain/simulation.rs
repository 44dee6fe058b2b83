use super::{AgentId, PlatformId, Provider, ValidationErrors, WebhookId};

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
}

impl ScheduleKind {
    pub const ALL: [ScheduleKind; 2] = [ScheduleKind::OneOff, ScheduleKind::Periodic];

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::OneOff => "one_off",
            ScheduleKind::Periodic => "periodic",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// When a config runs: once when started, or every `interval_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    OneOff,
    Periodic { interval_minutes: i64 },
}

impl Schedule {
    pub fn kind(self) -> ScheduleKind {
        match self {
            Schedule::OneOff => ScheduleKind::OneOff,
            Schedule::Periodic { .. } => ScheduleKind::Periodic,
        }
    }

    pub fn interval_minutes(self) -> Option<i64> {
        match self {
            Schedule::OneOff => None,
            Schedule::Periodic { interval_minutes } => Some(interval_minutes),
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
    pub const DEFAULT_MAX_RUN_MINUTES: i64 = 10;
    pub const DEFAULT_COOLDOWN_MINUTES: i64 = 5;
    /// `max_llm_cost_usd`, in cents: one cent to ten thousand dollars.
    pub const MAX_LLM_COST_CENTS: std::ops::RangeInclusive<i64> = 1..=1_000_000;
    pub const JOIN_TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 5..=600;
    pub const DEFAULT_JOIN_TIMEOUT_SECONDS: i64 = 60;
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
    max_run_minutes: i64,
    pace: Pace,
    agent_slots: Vec<AgentSlot>,
    table: TableConfig,
    /// The LLM seats' estimated spend a run may reach (`max_llm_cost_usd`), in cents.
    max_llm_cost_cents: Option<i64>,
    /// Set exactly when a seat is `external`.
    external_seating: Option<ExternalSeating>,
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
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }
    pub fn cooldown_minutes(&self) -> i64 {
        self.cooldown_minutes
    }
    pub fn max_hands(&self) -> i64 {
        self.max_hands
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
            cooldown_minutes: Some(spec.cooldown_minutes),
            max_hands: Some(spec.max_hands),
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
        let kind = parse_choice(
            &mut errors,
            "schedule_type",
            self.schedule_type.as_deref(),
            ScheduleKind::OneOff,
            ScheduleKind::parse,
            "one_off, periodic",
        );
        let kind_is_known = self
            .schedule_type
            .as_deref()
            .is_none_or(|k| ScheduleKind::parse(k).is_some());
        let schedule = match (kind, self.interval_minutes) {
            // The interval cannot be judged against a schedule type that was not understood.
            _ if !kind_is_known => Schedule::OneOff,
            (ScheduleKind::OneOff, None) => Schedule::OneOff,
            (ScheduleKind::OneOff, Some(_)) => {
                errors.add(
                    "interval_minutes",
                    "must be absent or null for a one_off schedule",
                );
                Schedule::OneOff
            }
            (ScheduleKind::Periodic, interval) => Schedule::Periodic {
                interval_minutes: errors.int_in(
                    "interval_minutes",
                    interval,
                    Limits::INTERVAL_MINUTES,
                    None,
                ),
            },
        };
        let cooldown_minutes = errors.int_in(
            "cooldown_minutes",
            self.cooldown_minutes,
            Limits::COOLDOWN_MINUTES,
            Some(Limits::DEFAULT_COOLDOWN_MINUTES),
        );
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

        errors.into_result(|| SimulationSpec {
            name,
            status,
            schedule,
            cooldown_minutes,
            max_hands,
            max_run_minutes,
            pace,
            agent_slots,
            table,
            max_llm_cost_cents,
            external_seating,
            host,
            hosted_table: self.hosted_table,
        })
    }
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
        assert_eq!(spec.schedule(), Schedule::OneOff);
        assert_eq!(spec.cooldown_minutes(), 5);
        assert_eq!(spec.max_hands(), 20);
        assert_eq!(spec.max_run_minutes(), 10);
        assert_eq!(spec.pace(), Pace::Live);
        assert_eq!(spec.agent_count(), 3);
    }

    #[test]
    fn a_spec_survives_the_round_trip_through_a_draft() {
        let mut draft = valid();
        draft.schedule_type = Some("periodic".into());
        draft.interval_minutes = Some(30);
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

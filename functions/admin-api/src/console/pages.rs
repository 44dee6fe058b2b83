//! The console's pages. Each reads what it shows straight from the store, through the same
//! views the JSON API answers with, and renders a compile-time-checked template (which
//! escapes everything: names, labels, models and log text are shown as text).

use super::format;
use super::{Console, SignedIn};
use crate::error::ApiError;
use crate::routes::api_keys::ApiKeyView;
use crate::routes::platforms::PlatformView;
use crate::routes::simulations::SKIP_HISTORY;
use crate::routes::simulations::{RunView, SimulationView};
use crate::routes::webhooks::WebhookView;
use crate::routes::{MAX_PAGE_SIZE, page_request};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use simrunner::domain::{
    AgentType, Limits, MAX_CHIPS, Provider, RunId, ScheduleKind, SimulationDraft, SimulationId,
};
use simrunner::store;
use web::page::{Layout, html};

/// What the shared console frame (`console/frame.html`) needs.
pub struct Frame {
    script: String,
    who: String,
    csrf: String,
    /// The nav entry to highlight: `simulations`, `keys`, `agents`, `webhooks` or `platforms`.
    section: &'static str,
}

impl Frame {
    fn new(console: &Console, signed_in: SignedIn, section: &'static str) -> Self {
        Self {
            script: console.script.clone(),
            who: signed_in.who,
            csrf: signed_in.csrf,
            section,
        }
    }
}

/// A page, or the error that kept it from rendering (a page of its own, with the status).
fn respond<T: Template>(page: Result<T, ApiError>) -> Response {
    match page {
        Ok(page) => html(page.render().expect("console templates render")),
        Err(error) => (error.status(), format!("{}\n", error.message())).into_response(),
    }
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---- simulations list ----------------------------------------------------------------------

/// One row of the simulations list.
struct SimulationRow {
    id: String,
    name: String,
    status: &'static str,
    schedule: String,
    lineup: String,
    limits: String,
    running: bool,
    latest: Option<RunLine>,
    next_run: Option<String>,
    skip: Option<SkipLine>,
    warnings: Vec<String>,
    /// Why simrunner paused it itself.
    pause_reason: Option<String>,
    /// Always-on: since when it has had no live table (an alert went out).
    coverage_lost: Option<String>,
    /// The latest run was degraded.
    degraded: bool,
}

struct RunLine {
    status: &'static str,
    hands: i64,
    at: String,
}

struct SkipLine {
    reason: String,
    at: String,
    count: i64,
}

impl SimulationRow {
    fn new(view: SimulationView, now: DateTime<Utc>) -> Self {
        Self {
            schedule: format::schedule(&view),
            lineup: format::lineup(&view.agent_slots),
            limits: format::limits(&view),
            next_run: format::next_run(&view, now).map(iso),
            latest: view.latest_run.as_ref().map(|run| RunLine {
                status: run.status,
                hands: run.hands_played,
                at: iso(run.started_at.unwrap_or(run.created_at)),
            }),
            skip: view.last_skip.as_ref().map(|s| SkipLine {
                reason: format::reason(&s.reason),
                at: iso(s.at),
                count: s.count,
            }),
            warnings: view.warnings.iter().map(|w| w.message.clone()).collect(),
            pause_reason: view.pause_reason.clone(),
            coverage_lost: view.coverage_lost_at.map(iso),
            degraded: view.latest_run.as_ref().is_some_and(|r| r.degraded),
            running: view.is_running,
            status: view.status,
            name: view.name,
            id: view.id,
        }
    }
}

#[derive(Template)]
#[template(path = "console/simulations.html")]
struct SimulationsPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<SimulationRow>,
    next_cursor: Option<String>,
    active_runs: i64,
    active_schedules: i64,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// `/admin`: every config, newest first, with what it is doing.
pub async fn simulations(
    State(console): State<Console>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let page = async {
        let request = page_request(Some(MAX_PAGE_SIZE), query.cursor.as_deref(), "limit")?;
        let client = console.app.db().await?;
        let page = store::list_simulations(&client, &request).await?;
        let activity = store::activity(&client).await?;
        let now = Utc::now();
        Ok(SimulationsPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "simulations"),
            rows: page
                .items
                .into_iter()
                .map(|r| SimulationRow::new(r.into(), now))
                .collect(),
            next_cursor: page.next.map(|c| c.encode()),
            active_runs: activity.active_runs,
            active_schedules: activity.active_schedules,
        })
    };
    respond(page.await)
}

// ---- one simulation ------------------------------------------------------------------------

struct RunRow {
    id: String,
    status: &'static str,
    error: Option<String>,
    hands: i64,
    usage: Option<String>,
    warnings: Vec<String>,
    /// Why it counts as degraded; empty when it does not.
    degraded: Vec<String>,
    /// Waiting with its table open to take over from a closing one.
    standby: bool,
    table_id: Option<String>,
    /// The platform's watch page of a run played there.
    remote_watch_url: Option<String>,
    started: String,
    completed: Option<String>,
    duration: String,
}

impl From<RunView> for RunRow {
    fn from(run: RunView) -> Self {
        Self {
            status: run.status,
            error: run.error.as_ref().map(|e| match &e.message {
                Some(message) => format!("{}: {message}", e.code),
                None => e.code.clone(),
            }),
            hands: run.hands_played,
            usage: format::llm_usage(&run),
            warnings: format::run_warnings(&run),
            degraded: run
                .degraded_reasons
                .iter()
                .map(|r| format!("{}: {}", r.code, r.message))
                .collect(),
            standby: run.standby,
            started: iso(run.started_at.unwrap_or(run.created_at)),
            completed: run.completed_at.map(iso),
            duration: format::duration(&run),
            table_id: run.table_id,
            remote_watch_url: run.remote_watch_url,
            id: run.id,
        }
    }
}

/// A skipped trigger, as the skip history shows it.
struct SkipRow {
    at: String,
    reason: String,
    message: String,
    scheduled_at: Option<String>,
}

/// What a schedule will do: its next starts and its warnings.
pub struct PreviewPanel {
    starts: Vec<String>,
    warnings: Vec<String>,
    /// `starts` are when windows open (always-on), not run starts.
    windows: bool,
}

#[derive(Template)]
#[template(path = "console/simulation.html")]
struct SimulationPage {
    layout: Layout,
    frame: Frame,
    row: SimulationRow,
    periodic: bool,
    seats: Vec<(i64, String)>,
    runs: Vec<RunRow>,
    more_runs: Option<String>,
    skips: Vec<SkipRow>,
    preview: Option<PreviewPanel>,
    /// Why Start is disabled, when it is: the concurrency limit is reached.
    start_blocked: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    runs_cursor: Option<String>,
}

fn simulation_id(id: &str) -> Result<SimulationId, ApiError> {
    SimulationId::parse(id).ok_or_else(|| ApiError::not_found("simulation", id))
}

/// `/admin/simulations/{id}`: the config, its controls and its run history.
pub async fn simulation(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<RunsQuery>,
) -> Response {
    let page = async {
        let config = simulation_id(&id)?;
        let request = page_request(None, query.runs_cursor.as_deref(), "runs_limit")?;
        let client = console.app.db().await?;
        let record = store::get_simulation(&client, &config)
            .await?
            .ok_or_else(|| ApiError::not_found("simulation", &id))?;
        let runs = store::list_runs(&client, &config, &request).await?;
        let skips = store::list_skips(&client, &config, SKIP_HISTORY).await?;
        let activity = store::activity(&client).await?;
        let limit = i64::from(console.app.runs.policy.max_concurrent_runs);
        let now = Utc::now();
        let preview = SimulationDraft::from(&record.spec)
            .preview_schedule(
                now,
                limit,
                runs.items
                    .iter()
                    .filter(|r| r.trigger.as_str() == "schedule")
                    .count() as i64,
            )
            .ok()
            .filter(|_| record.spec.schedule().kind() != ScheduleKind::OneOff)
            .map(|p| PreviewPanel {
                windows: record.spec.schedule().always_on().is_some(),
                starts: p.starts.into_iter().map(iso).collect(),
                warnings: p.warnings.into_iter().map(|(_, message)| message).collect(),
            });
        let view = SimulationView::from(record);
        let start_blocked = (!view.is_running && activity.active_runs >= limit)
            .then(|| format!("the limit of {limit} active runs is reached"));
        Ok(SimulationPage {
            skips: skips
                .into_iter()
                .map(|s| SkipRow {
                    at: iso(s.at),
                    reason: format::reason(&s.reason),
                    message: s.message,
                    scheduled_at: s.scheduled_at.map(iso),
                })
                .collect(),
            preview,
            start_blocked,
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "simulations"),
            periodic: view.schedule_type == "periodic",
            seats: view
                .agent_slots
                .iter()
                .enumerate()
                .map(|(seat, slot)| {
                    let what = match &slot.model {
                        Some(model) => format!("{} · {model}", slot.agent_type),
                        None => slot.agent_type.to_owned(),
                    };
                    (seat as i64, what)
                })
                .collect(),
            row: SimulationRow::new(view, now),
            runs: runs
                .items
                .into_iter()
                .map(|r| RunRow::from(RunView::from(r)))
                .collect(),
            more_runs: runs.next.map(|c| c.encode()),
        })
    };
    respond(page.await)
}

// ---- create and edit -----------------------------------------------------------------------

/// A form field's current text.
struct Values {
    name: String,
    schedule_type: &'static str,
    interval_minutes: String,
    cron_expression: String,
    time_zone: String,
    starts_at: String,
    ends_at: String,
    max_runs: String,
    live_tables: String,
    /// `08:00-23:00, 22:00-02:00`
    windows: String,
    handover: bool,
    auto_pause_after: String,
    cooldown_minutes: String,
    max_hands: String,
    tables: String,
    max_run_minutes: String,
    pace: &'static str,
    small_blind: String,
    big_blind: String,
    initial_stack: String,
    action_timeout_ms: String,
    max_llm_cost_usd: String,
    slots: Vec<SlotValues>,
    join_timeout_seconds: String,
    fill_empty_seats_with: String,
    /// `builtin` or a platform's id.
    host: String,
}

/// One seat's fields.
struct SlotValues {
    agent_type: String,
    model: String,
    agent_id: String,
    webhook_id: String,
}

impl SlotValues {
    fn of(agent_type: &str) -> Self {
        Self {
            agent_type: agent_type.to_owned(),
            model: String::new(),
            agent_id: String::new(),
            webhook_id: String::new(),
        }
    }
}

impl Default for Values {
    /// What a new simulation starts from: the API's defaults and a small all-bot table.
    fn default() -> Self {
        Self {
            name: String::new(),
            schedule_type: "periodic",
            interval_minutes: "30".into(),
            cron_expression: String::new(),
            time_zone: String::new(),
            starts_at: String::new(),
            ends_at: String::new(),
            max_runs: String::new(),
            live_tables: "1".into(),
            windows: String::new(),
            handover: false,
            auto_pause_after: String::new(),
            cooldown_minutes: Limits::DEFAULT_COOLDOWN_MINUTES.to_string(),
            max_hands: Limits::DEFAULT_MAX_HANDS.to_string(),
            tables: "1".into(),
            max_run_minutes: Limits::DEFAULT_MAX_RUN_MINUTES.to_string(),
            pace: "live",
            small_blind: "5".into(),
            big_blind: "10".into(),
            initial_stack: "1000".into(),
            action_timeout_ms: "10000".into(),
            max_llm_cost_usd: String::new(),
            slots: ["tight", "callstation", "random", "tight"]
                .map(SlotValues::of)
                .into(),
            join_timeout_seconds: Limits::DEFAULT_JOIN_TIMEOUT_SECONDS.to_string(),
            fill_empty_seats_with: String::new(),
            host: "builtin".into(),
        }
    }
}

impl From<&SimulationView> for Values {
    fn from(view: &SimulationView) -> Self {
        let table = &view.table_config;
        Self {
            name: view.name.clone(),
            schedule_type: view.schedule_type,
            interval_minutes: view
                .interval_minutes
                .map(|m| m.to_string())
                .unwrap_or_else(|| "30".into()),
            cron_expression: view.cron_expression.clone().unwrap_or_default(),
            time_zone: view.time_zone.clone().unwrap_or_default(),
            starts_at: view.starts_at.map(iso).unwrap_or_default(),
            ends_at: view.ends_at.map(iso).unwrap_or_default(),
            max_runs: view.max_runs.map(|n| n.to_string()).unwrap_or_default(),
            live_tables: view.live_tables.unwrap_or(1).to_string(),
            windows: view
                .windows
                .iter()
                .map(|w| format!("{}-{}", w.start, w.end))
                .collect::<Vec<_>>()
                .join(", "),
            handover: view.handover,
            auto_pause_after: view
                .auto_pause_after
                .map(|n| n.to_string())
                .unwrap_or_default(),
            cooldown_minutes: view.cooldown_minutes.to_string(),
            max_hands: view.max_hands.to_string(),
            tables: view.tables.to_string(),
            max_run_minutes: view.max_run_minutes.to_string(),
            pace: view.pace,
            small_blind: table.blinds.small.to_string(),
            big_blind: table.blinds.big.to_string(),
            initial_stack: table.initial_stack.to_string(),
            action_timeout_ms: table.action_timeout_ms.to_string(),
            max_llm_cost_usd: view
                .max_llm_cost_usd
                .map(|c| format!("{c:.2}"))
                .unwrap_or_default(),
            slots: view
                .agent_slots
                .iter()
                .map(|s| SlotValues {
                    agent_type: s.agent_type.to_owned(),
                    model: s.model.clone().unwrap_or_default(),
                    agent_id: s.agent_id.clone().unwrap_or_default(),
                    webhook_id: s.webhook_id.clone().unwrap_or_default(),
                })
                .collect(),
            join_timeout_seconds: view
                .join_timeout_seconds
                .unwrap_or(Limits::DEFAULT_JOIN_TIMEOUT_SECONDS)
                .to_string(),
            fill_empty_seats_with: view.fill_empty_seats_with.unwrap_or_default().to_owned(),
            host: view.host.clone(),
        }
    }
}

struct AgentTypeOption {
    name: &'static str,
    requires_model: bool,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "console/form.html")]
struct FormPage {
    layout: Layout,
    frame: Frame,
    title: String,
    /// `POST` to create, `PATCH` to edit.
    method: &'static str,
    api_url: String,
    cancel_url: String,
    values: Values,
    agent_types: Vec<AgentTypeOption>,
    /// Providers with a stored key, comma-separated, for the missing-key warning.
    keyed_providers: String,
    max_chips: i64,
    /// Outside agents an external seat may be kept for: (id, name), not revoked.
    agents: Vec<(String, String)>,
    /// Endpoints a webhook seat may call: (id, label).
    webhooks: Vec<(String, String)>,
    /// What seats nobody took can be played by.
    bots: Vec<&'static str>,
    /// `provider:model` names offered in the model field (free text still allowed).
    known_models: Vec<String>,
    time_zones: &'static [&'static str],
    max_concurrent_runs: i32,
    /// Where a simulation may play besides simrunner's own tables: (id, name).
    platforms: Vec<(String, String)>,
}

impl FormPage {
    async fn new(
        console: &Console,
        signed_in: SignedIn,
        existing: Option<&SimulationView>,
    ) -> Result<Self, ApiError> {
        let client = console.app.db().await?;
        let keys = store::list_api_keys(&client).await?;
        let keyed: Vec<&str> = Provider::ALL
            .into_iter()
            .filter(|p| keys.iter().any(|k| k.provider == *p))
            .map(Provider::as_str)
            .collect();
        let request = simrunner::store::PageRequest {
            limit: 200,
            after: None,
        };
        let agents = simrunner::store::agents::list_agents(&client, &request)
            .await?
            .items
            .into_iter()
            .filter(|a| a.revoked_at.is_none())
            .map(|a| (a.id.to_string(), a.name))
            .collect();
        Ok(Self {
            layout: console.layout.clone(),
            frame: Frame::new(console, signed_in, "simulations"),
            title: match existing {
                Some(view) => format!("Edit {}", view.name),
                None => "New simulation".into(),
            },
            method: if existing.is_some() { "PATCH" } else { "POST" },
            api_url: match existing {
                Some(view) => format!("/v1/admin/simulations/{}", view.id),
                None => "/v1/admin/simulations".into(),
            },
            cancel_url: match existing {
                Some(view) => format!("/admin/simulations/{}", view.id),
                None => "/admin".into(),
            },
            values: existing.map(Values::from).unwrap_or_default(),
            agent_types: AgentType::ALL
                .into_iter()
                .map(|t| AgentTypeOption {
                    name: t.as_str(),
                    requires_model: t.requires_model(),
                    description: t.description(),
                })
                .collect(),
            keyed_providers: keyed.join(","),
            max_chips: MAX_CHIPS,
            agents,
            webhooks: simrunner::store::webhooks::list_webhooks(&client)
                .await?
                .into_iter()
                .map(|w| (w.id.to_string(), w.label))
                .collect(),
            bots: AgentType::BOTS.map(AgentType::as_str).into(),
            known_models: store::models::offered(&client).await?,
            time_zones: TIME_ZONES,
            max_concurrent_runs: console.app.runs.policy.max_concurrent_runs,
            platforms: store::platforms::list_platforms(&client)
                .await?
                .into_iter()
                .map(|p| (p.id.to_string(), p.name))
                .collect(),
        })
    }
}

/// Time zones the form suggests; any IANA name is accepted.
const TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
];

/// `/admin/simulations/new`
pub async fn new_simulation(State(console): State<Console>, signed_in: SignedIn) -> Response {
    respond(FormPage::new(&console, signed_in, None).await)
}

/// `/admin/simulations/{id}/edit`
pub async fn edit_simulation(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let page = async {
        let config = simulation_id(&id)?;
        let record = store::get_simulation(&console.app.db().await?, &config)
            .await?
            .ok_or_else(|| ApiError::not_found("simulation", &id))?;
        let view = SimulationView::from(record);
        FormPage::new(&console, signed_in, Some(&view)).await
    };
    respond(page.await)
}

// ---- a run and its logs --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/run.html")]
struct RunPage {
    layout: Layout,
    frame: Frame,
    run: RunRow,
    config_id: String,
    trigger: &'static str,
    live: bool,
    /// A multi-table run's tables (a one-table run shows its table in the page head).
    tables: Vec<store::RunTable>,
}

/// `/admin/runs/{id}`: a run and its log viewer (filled and followed by `console.js`).
pub async fn run(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let page = async {
        let run_id = RunId::parse(&id).ok_or_else(|| ApiError::not_found("run", &id))?;
        let client = console.app.db().await?;
        let run = store::get_run(&client, &run_id)
            .await?
            .ok_or_else(|| ApiError::not_found("run", &id))?;
        let mut tables = store::run_tables(&client, &run_id).await?;
        if tables.len() < 2 {
            tables.clear();
        }
        let view = RunView::from(run);
        Ok(RunPage {
            tables,
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "simulations"),
            config_id: view.config_id.clone(),
            trigger: view.trigger,
            live: matches!(view.status, "queued" | "running"),
            run: RunRow::from(view),
        })
    };
    respond(page.await)
}

// ---- outside agents ------------------------------------------------------------------------

struct AgentRow {
    id: String,
    name: String,
    created: String,
    created_by: String,
    last_seen: Option<String>,
    tables_played: i32,
    timeouts: i64,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console/agents.html")]
struct AgentsPage {
    layout: Layout,
    frame: Frame,
    agents: Vec<AgentRow>,
}

/// `/admin/agents`: outside agents (never their keys), creating one, revoking one.
pub async fn agents(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let page = async {
        let request = simrunner::store::PageRequest {
            limit: 200,
            after: None,
        };
        let agents =
            simrunner::store::agents::list_agents(&console.app.db().await?, &request).await?;
        Ok(AgentsPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "agents"),
            agents: agents
                .items
                .into_iter()
                .map(|a| AgentRow {
                    id: a.id.to_string(),
                    name: a.name,
                    created: iso(a.created_at),
                    created_by: a.created_by,
                    last_seen: a.last_seen_at.map(iso),
                    tables_played: a.tables_played,
                    timeouts: a.timeouts,
                    revoked: a.revoked_at.is_some(),
                })
                .collect(),
        })
    };
    respond(page.await)
}

// ---- health --------------------------------------------------------------------------------

/// The charts' width in their own units (they scale to the page).
const CHART_WIDTH: f64 = 480.0;

/// One config's line on the dashboard.
struct ConfigLine {
    id: String,
    name: String,
    kind: String,
    figures: FigureCells,
    /// A small coverage chart.
    bars: Vec<format::Bar>,
    /// Coverage below the target: the line is marked.
    below_target: bool,
}

/// One period's figures and charts.
struct PeriodPanel {
    name: &'static str,
    title: &'static str,
    figures: FigureCells,
    failure_bad: bool,
    coverage_bad: bool,
    coverage_bars: Vec<format::Bar>,
    run_bars: Vec<format::Bar>,
    configs: Vec<ConfigLine>,
}

struct AlertLine {
    kind: String,
    at: String,
    config: Option<String>,
    run: Option<String>,
    what: String,
    delivery: String,
}

#[derive(Template)]
#[template(path = "console/health.html")]
struct HealthPage {
    layout: Layout,
    frame: Frame,
    open_tables: i64,
    active_runs: i64,
    periods: Vec<PeriodPanel>,
    alerts: Vec<AlertLine>,
    chart_width: f64,
    chart_height: f64,
}

/// The seed's targets: coverage above 95 %, failure rate under 10 %.
const COVERAGE_TARGET: f64 = 0.95;
const FAILURE_TARGET: f64 = 0.10;

/// A period's figures, overall or of one config, as the dashboard writes them.
struct FigureCells {
    coverage: String,
    full_coverage: String,
    failure_rate: String,
    runs: i64,
    failed: i64,
    degraded: i64,
    hands: String,
    cost: String,
    fallbacks: String,
}

impl FigureCells {
    fn of(f: &store::health::Figures) -> Self {
        Self {
            coverage: format::percent(f.coverage),
            full_coverage: format::percent(f.full_coverage),
            failure_rate: format::percent(f.failure_rate()),
            runs: f.runs,
            failed: f.failed,
            degraded: f.degraded,
            hands: format::chips(f.hands),
            cost: format!("${:.2}", f.llm_cost_usd),
            fallbacks: f
                .fallbacks_per_100()
                .map_or("—".into(), |f| format!("{f:.1}")),
        }
    }
}

fn period_panel(
    name: &'static str,
    title: &'static str,
    health: &store::health::Health,
) -> PeriodPanel {
    let f = &health.overall;
    PeriodPanel {
        name,
        title,
        figures: FigureCells::of(f),
        failure_bad: f.failure_rate().is_some_and(|r| r > FAILURE_TARGET),
        coverage_bad: f.coverage.is_some_and(|c| c < COVERAGE_TARGET),
        coverage_bars: format::share_bars(
            &health
                .series
                .iter()
                .map(|b| (b.start, b.coverage))
                .collect::<Vec<_>>(),
            CHART_WIDTH,
            COVERAGE_TARGET,
        ),
        run_bars: format::run_bars(
            &health
                .series
                .iter()
                .map(|b| (b.start, b.runs, b.failed))
                .collect::<Vec<_>>(),
            CHART_WIDTH,
        ),
        configs: health
            .configs
            .iter()
            .map(|c| ConfigLine {
                id: c.id.clone(),
                name: c.name.clone(),
                kind: match (c.schedule_type.as_str(), c.live_tables) {
                    ("always_on", Some(n)) => format!("always on ×{n}"),
                    (other, _) => other.replace('_', "-"),
                },
                figures: FigureCells::of(&c.figures),
                bars: format::share_bars(
                    &c.series
                        .iter()
                        .map(|b| (b.start, b.coverage))
                        .collect::<Vec<_>>(),
                    CHART_WIDTH,
                    COVERAGE_TARGET,
                ),
                below_target: c.schedule_type == "always_on"
                    && c.figures.coverage.is_some_and(|v| v < COVERAGE_TARGET),
            })
            .collect(),
    }
}

/// `/admin/health`: coverage, failures, runs, hands, spend and fallbacks over 24 hours and 7
/// days, per config and overall, with charts drawn on the server (SVG), and the latest alerts.
pub async fn health(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let page = async {
        let now = Utc::now();
        let day = crate::routes::metrics::health_of(&console.app, "24h", now).await?;
        let week = crate::routes::metrics::health_of(&console.app, "7d", now).await?;
        let alerts = simrunner::alerts::recent(&console.app.db().await?, 20).await?;
        Ok(HealthPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "health"),
            open_tables: day.open_tables,
            active_runs: day.active_runs,
            periods: vec![
                period_panel("24h", "Last 24 hours", &day),
                period_panel("7d", "Last 7 days", &week),
            ],
            alerts: alerts
                .into_iter()
                .map(|a| AlertLine {
                    kind: format::reason(&a.kind),
                    at: iso(a.created_at),
                    what: a.payload["error_message"]
                        .as_str()
                        .or(a.payload["reason"].as_str())
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            a.payload["config_name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned()
                        }),
                    config: a.config_id,
                    run: a.run_id,
                    delivery: match (a.delivered_at, a.sent_to.is_empty(), &a.last_error) {
                        (Some(_), true, _) => "no destination configured".into(),
                        (Some(_), false, None) => format!("sent to {}", a.sent_to.join(", ")),
                        (_, _, Some(error)) => format!("not delivered: {error}"),
                        (None, _, None) => "pending".into(),
                    },
                })
                .collect(),
            chart_width: CHART_WIDTH,
            chart_height: format::CHART_HEIGHT,
        })
    };
    respond(page.await)
}

// ---- provider keys -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    layout: Layout,
    frame: Frame,
    keys: Vec<ApiKeyView>,
    providers: Vec<&'static str>,
    /// What the model field offers per provider.
    listings: Vec<ListingLine>,
}

struct ListingLine {
    provider: &'static str,
    count: usize,
    listed: usize,
    fetched: Option<String>,
    pending: bool,
    error: Option<String>,
    has_key: bool,
}

impl KeysPage {
    fn added(key: &ApiKeyView) -> String {
        iso(key.created_at)
    }

    fn refused(key: &ApiKeyView) -> Option<String> {
        key.auth_failed_at.map(iso)
    }

    fn worked(key: &ApiKeyView) -> Option<String> {
        key.last_worked_at.map(iso)
    }
}

/// `/admin/keys`: stored keys, masked; the full key never comes back to the browser.
pub async fn keys(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let page = async {
        let client = console.app.db().await?;
        let keys = store::list_api_keys(&client).await?;
        let listings = store::models::listings(&client).await?;
        Ok(KeysPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "keys"),
            keys: keys.into_iter().map(ApiKeyView::from).collect(),
            providers: Provider::ALL.into_iter().map(Provider::as_str).collect(),
            listings: listings
                .into_iter()
                .map(|l| ListingLine {
                    provider: l.provider.as_str(),
                    count: l.models.len(),
                    listed: l.listed,
                    pending: l
                        .refresh_requested_at
                        .is_some_and(|asked| l.fetched_at.is_none_or(|got| got < asked)),
                    fetched: l.fetched_at.map(iso),
                    error: l.last_error,
                    has_key: l.has_key,
                })
                .collect(),
        })
    };
    respond(page.await)
}

// ---- platforms -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/platforms.html")]
struct PlatformsPage {
    layout: Layout,
    frame: Frame,
    platforms: Vec<PlatformView>,
}

impl PlatformsPage {
    fn added(platform: &PlatformView) -> String {
        iso(platform.created_at)
    }
}

/// `/admin/platforms`: remote platforms with their credentials masked, each with a
/// connection check.
pub async fn platforms(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let page = async {
        let platforms = store::platforms::list_platforms(&console.app.db().await?).await?;
        Ok(PlatformsPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "platforms"),
            platforms: platforms.into_iter().map(PlatformView::from).collect(),
        })
    };
    respond(page.await)
}

// ---- webhook endpoints ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    frame: Frame,
    webhooks: Vec<WebhookView>,
    /// Endpoints on this machine may be created (the form says so).
    loopback: bool,
}

impl WebhooksPage {
    fn added(webhook: &WebhookView) -> String {
        iso(webhook.created_at)
    }
}

/// `/admin/webhooks`: endpoints with their secrets masked; a new endpoint's secret is shown
/// by the page's script from the API's answer, once.
pub async fn webhooks(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let page = async {
        let webhooks = store::webhooks::list_webhooks(&console.app.db().await?).await?;
        Ok(WebhooksPage {
            layout: console.layout.clone(),
            frame: Frame::new(&console, signed_in, "webhooks"),
            webhooks: webhooks.into_iter().map(WebhookView::from).collect(),
            loopback: console.app.webhooks.allow_loopback,
        })
    };
    respond(page.await)
}

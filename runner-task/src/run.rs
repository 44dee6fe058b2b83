//! Plays one run: claim it, open a table, play hands until the config's limit (or until one
//! seat holds every chip), record everything, close the run.
//!
//! While it plays, a heartbeat task refreshes the run row every few seconds and reads the
//! stop request. A stop request, SIGTERM or the safety timeout makes the current hand finish
//! at once (no more think time) and then ends the run: `cancelled`, or `failed` with
//! `safety_timeout`.

use crate::host::{Builtin, HostFault, TableHost};
use crate::llm::client::{ProviderClient, http_client};
use crate::llm::ledger::SharedLedger;
use crate::llm::{LlmAgent, Style, action_json};
use crate::outside::{ExternalSeats, Lineup};
use crate::platform::RemoteTable;
use crate::quality::SeatQuality;
use crate::record::{Recorder, SeatInfo, agent_results};
use crate::settings::RunnerSettings;
use crate::webhook::{WebhookSeats, WebhookWarnings};
use chrono::Utc;
use deadpool_postgres::Pool;
use poker::{
    Agent, CallStation, Choice, Decision, FallbackReason, Hand, RandomBot, Reply, Table,
    TableMemory, TightBot, Turn,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use simrunner::domain::{
    AgentType, ExternalSeating, Pace, Provider, RunId, RunStatus, SimulationId, SimulationSpec,
    TableHost as Host,
};
use simrunner::store::recording::{self, Claim, NewTable, RunEnd, TableProgress};
use simrunner::store::{self, RevealError, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How a run ended, for the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Cancelled,
    Failed {
        code: String,
        message: String,
    },
    /// The run was not queued: nothing was played.
    NotClaimed(String),
    /// There is no such run: a misconfigured launch.
    UnknownRun,
}

/// Why play stopped early.
#[derive(Debug, Default)]
pub struct Signals {
    stop_requested: AtomicBool,
    terminating: AtomicBool,
    lost: AtomicBool,
    wake: Notify,
}

impl Signals {
    /// SIGTERM (ECS StopTask) or Ctrl-C.
    pub fn terminate(&self) {
        self.terminating.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop_requested.load(Ordering::SeqCst)
            || self.terminating.load(Ordering::SeqCst)
            || self.lost.load(Ordering::SeqCst)
    }

    /// Sleeps unless or until a stop arrives.
    pub(crate) async fn pause(&self, duration: Duration) {
        if self.stopping() || duration.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = self.wake.notified() => {}
        }
    }

    /// Resolves once a stop has arrived.
    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the check, so a stop between the two is not missed.
            notified.as_mut().enable();
            if self.stopping() {
                return;
            }
            notified.await;
        }
    }
}

/// How long a database outage is ridden out before the run fails.
const OUTAGE_TOLERANCE: Duration = Duration::from_secs(15);

/// Runs `op` until it succeeds, retrying while the database is unavailable, for up to
/// [`OUTAGE_TOLERANCE`].
pub(crate) async fn with_retry<T, F, Fut>(what: &str, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match op().await {
            Err(StoreError::Unavailable(cause)) if started.elapsed() < OUTAGE_TOLERANCE => {
                tracing::warn!(%cause, what, "database unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// How long past its deadline an agent's answer is still awaited before the seat plays the
/// fallback: the agents bound their own calls by the deadline, this only catches strays.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// The seats' agents and what they are shown besides the hand.
struct Seats {
    agents: Vec<Box<dyn Agent>>,
    names: Vec<String>,
    streams: Vec<String>,
    /// Seats whose decisions are logged: LLM and outside agents.
    logged: Vec<bool>,
    /// LLM seats' entries in the run's ledger.
    ledger_slots: Vec<Option<usize>>,
    /// The table's outside agents, when it has external seats.
    outside: Option<ExternalSeats>,
    /// Chips of seats that left, taken off the table (their result).
    cashed_out: Vec<i64>,
    /// The run's LLM spending; `None` without LLM seats.
    ledger: Option<SharedLedger>,
    /// What the table has seen (public): LLM seats read it, so it is kept only for them.
    memory: TableMemory,
    /// What went wrong with webhook seats, for the run's results.
    webhook_warnings: WebhookWarnings,
    /// Decisions and fallbacks of the seats that decide on their own: is the run degraded?
    quality: SeatQuality,
}

/// Why the run's seats could not be set up: an error code and a message for the run row.
type SetupError = (&'static str, String);

/// Shows the outside agents the hand as it now stands (and the streets dealt since `told`).
fn publish(seats: &Seats, hand: &Hand, number: i64, told: &mut usize) {
    if let Some(outside) = &seats.outside {
        let streets = protocol::view::streets_dealt(hand, number, *told);
        *told = hand.events().len();
        outside.publish(protocol::view::Moment::Hand { hand, number }, &streets);
    }
}

/// The think time before a bot's action at live pace: 0.5 to 3 s, always under the timeout.
fn think_time(rng: &mut ChaCha8Rng, action_timeout: Duration) -> Duration {
    let cap = (action_timeout.as_millis() as u64)
        .saturating_sub(250)
        .max(100);
    Duration::from_millis(rng.random_range(500..=3_000).min(cap))
}

/// How fast a hand is played.
struct Pacing {
    live: bool,
    /// The run's safety deadline: past it, no more think time.
    deadline: Instant,
    /// The table's action timeout: how long an agent may take to answer.
    action_timeout: Duration,
}

/// The pause between hands at live pace.
const BETWEEN_HANDS: Duration = Duration::from_secs(2);

/// A bot's think time ends at least this long before the host's deadline.
const THINK_MARGIN: Duration = Duration::from_millis(250);

/// Batches at fast pace are written when they reach this many hands or this age.
const BATCH_HANDS: usize = 128;
const BATCH_AGE: Duration = Duration::from_millis(250);

/// A batch of a table's finished hands, events and log lines, owned, so that at fast pace it
/// is written while the table plays on. Each batch is one transaction (a hand is recorded
/// whole or not at all); a table has one batch on its way at a time, so they land in order.
struct BatchWrite {
    pool: Pool,
    run: RunId,
    table_id: String,
    /// The table's hands once this batch is in, and its stacks then.
    played: i64,
    stacks: Value,
    batch: recording::Batch,
    /// The run's hands recorded, at all its tables.
    hands_recorded: Arc<AtomicI64>,
}

impl BatchWrite {
    async fn run(self) -> Result<(), StoreError> {
        let progress = TableProgress {
            id: &self.table_id,
            hands_played: self.played,
            stacks: &self.stacks,
        };
        let hands = self.batch.hands.len() as i64;
        let run_total = self.hands_recorded.load(Ordering::SeqCst) + hands;
        let batch = &self.batch;
        with_retry("recording hands", || async {
            let mut client = self.pool.get().await?;
            recording::write_batch(&mut client, &self.run, Some(&progress), batch, run_total).await
        })
        .await?;
        self.hands_recorded.fetch_add(hands, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits for a batch on its way to the database.
async fn written(
    writing: tokio::task::JoinHandle<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    writing
        .await
        .unwrap_or_else(|e| Err(StoreError::Corrupt(format!("writing a batch stopped: {e}"))))
}

pub struct Runner {
    pub pool: Pool,
    pub settings: RunnerSettings,
    pub signals: Arc<Signals>,
}

/// The run being played, at one of its tables.
pub(crate) struct Context {
    pub run: RunId,
    pub config_id: SimulationId,
    pub spec: SimulationSpec,
    pub bucket_key: String,
    /// This table's deal seed (see [`table_seed`]).
    pub seed: i64,
    /// This table here (a hosted table's given id).
    pub table_id: String,
    pub seats: Vec<SeatInfo>,
    /// The table's place in a run of several tables, from 1; `None` when the run plays one.
    pub position: Option<usize>,
}

impl Context {
    /// What the table's log streams are named with first: `table-2/` in a multi-table run.
    fn stream_prefix(&self) -> String {
        self.position
            .map(|p| format!("table-{p}/"))
            .unwrap_or_default()
    }

    /// The name watchers see: the config's, numbered in a multi-table run.
    fn table_name(&self) -> String {
        match self.position {
            Some(p) => format!("{} #{p}", self.spec.name()),
            None => self.spec.name().to_owned(),
        }
    }
}

/// A table's deal seed: the run's own at its first table, mixed with the position at the
/// others (so a one-table run deals as it always did, and tables never deal alike).
fn table_seed(run_seed: i64, position: usize) -> i64 {
    if position == 1 {
        return run_seed;
    }
    (run_seed as u64 ^ (position as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(17) as i64
}

/// A table set up and open, before its first hand.
struct TableRun {
    cx: Context,
    seats: Seats,
    recorder: Recorder,
    remote: Option<RemoteTable>,
}

/// How one table of the run ended.
enum TableEnd {
    /// Played to its end and closed: what the run's end is made of.
    Closed(Box<Closed>),
    /// A write failed: the run fails with `database_error` (its other tables stop).
    WriteFailed(StoreError),
    /// The run is already over: a table that never started (recorded), or a run lost.
    Over(Result<Outcome, StoreError>),
}

/// A closed table's part of the run's end.
struct Closed {
    table_id: String,
    position: Option<usize>,
    played: i64,
    status: RunStatus,
    error: Option<(&'static str, String)>,
    /// Per seat: chips won and lost, hands won.
    agents: Value,
    quality: SeatQuality,
    webhook_warnings: Value,
    /// A table at a platform: what the platform said (`results.platform`).
    report: Option<Value>,
}

/// A table's state once it is open, handed to the hand loop.
struct Play<'a> {
    cx: &'a mut Context,
    seats: Seats,
    recorder: Recorder,
    started: Instant,
    /// Hands the run has recorded, at all its tables.
    hands_recorded: Arc<AtomicI64>,
}

impl Runner {
    /// Claims and plays the run. Errors are database failures that could not even be
    /// recorded on the run row.
    pub async fn execute(&self) -> Result<Outcome, StoreError> {
        let run = &self.settings.run_id;
        let seed = rand::rng().random::<i64>();
        let claim = with_retry("claiming the run", || async {
            let client = self.pool.get().await?;
            recording::claim_run(&client, run, &self.settings.runner_id, seed).await
        })
        .await?;
        let (config_id, seed) = match claim {
            Claim::Claimed { config_id, seed } => (config_id, seed),
            Claim::NotQueued(status) => {
                return Ok(Outcome::NotClaimed(format!(
                    "run {run} is {}, not queued; another runner has it or it is over",
                    status.as_str()
                )));
            }
            Claim::Unknown => return Ok(Outcome::UnknownRun),
        };
        tracing::info!(%run, config = %config_id, seed, "claimed run");

        let record = with_retry("loading the config", || async {
            let client = self.pool.get().await?;
            store::get_simulation(&client, &config_id).await
        })
        .await;
        let record = match record {
            Ok(Some(record)) => record,
            Ok(None) => {
                return self
                    .fail(
                        run,
                        0,
                        "config_deleted",
                        "the run's config was deleted".into(),
                        None,
                    )
                    .await;
            }
            Err(e) => {
                return self.fail_database(run, 0, e).await;
            }
        };
        let seats: Vec<SeatInfo> = record
            .spec
            .agent_slots()
            .iter()
            .enumerate()
            .map(|(seat, slot)| SeatInfo {
                seat,
                // An external seat is named by the agent that takes it.
                name: match slot.agent_type() {
                    AgentType::External => format!("open-seat-{seat}"),
                    other => format!("sim-{}-{seat}", other.as_str()),
                },
                agent_type: slot.agent_type().as_str(),
                model: slot.model().map(|m| m.to_text()),
                agent_id: None,
            })
            .collect();
        let count = record.spec.tables() as usize;
        let tables = (1..=count)
            .map(|position| Context {
                run: run.clone(),
                config_id: config_id.clone(),
                bucket_key: record.bucket_key.clone(),
                spec: record.spec.clone(),
                seed: table_seed(seed, position),
                // A hosted table already has its id (the one its client was given).
                table_id: match record.spec.hosted_table() {
                    Some(id) => id.to_owned(),
                    None => format!("tbl_{}", uuid::Uuid::now_v7().simple()),
                },
                seats: seats.clone(),
                position: (count > 1).then_some(position),
            })
            .collect();
        self.play(tables).await
    }

    async fn fail(
        &self,
        run: &RunId,
        hands: i64,
        code: &str,
        message: String,
        results: Option<&serde_json::Value>,
    ) -> Result<Outcome, StoreError> {
        tracing::error!(%run, code, %message, "run failed");
        let end = RunEnd {
            status: RunStatus::Failed,
            hands_played: hands,
            results,
            error_code: Some(code),
            error_message: Some(&message),
            llm_usage: None,
            quality: None,
        };
        with_retry("closing the run", || async {
            let client = self.pool.get().await?;
            recording::finish_run(&client, run, &end).await
        })
        .await?;
        Ok(Outcome::Failed {
            code: code.to_owned(),
            message,
        })
    }

    /// Closes the run `failed` with `database_error` after a write that could not be made.
    async fn fail_database(
        &self,
        run: &RunId,
        hands: i64,
        error: StoreError,
    ) -> Result<Outcome, StoreError> {
        self.fail(run, hands, "database_error", error.to_string(), None)
            .await
    }

    /// A client per provider the LLM seats use, with that provider's newest stored key.
    async fn provider_clients(
        &self,
        spec: &SimulationSpec,
    ) -> Result<HashMap<Provider, Arc<ProviderClient>>, SetupError> {
        let providers = spec.llm_providers();
        let mut clients = HashMap::new();
        if providers.is_empty() {
            return Ok(clients);
        }
        let Some(keyring) = &self.settings.keyring else {
            return Err((
                "missing_key_encryption_key",
                "the config has LLM seats but the runner has no SIMRUNNER_KEY_ENCRYPTION_KEY \
                 to open provider keys with"
                    .into(),
            ));
        };
        let http = http_client().map_err(|e| ("llm_unavailable", e))?;
        for provider in providers {
            let key = with_retry("reading provider keys", || async {
                let client = self.pool.get().await?;
                match store::reveal_newest_api_key(&client, keyring, provider).await {
                    Err(RevealError::Store(e)) => Err(e),
                    other => Ok(other),
                }
            })
            .await
            .map_err(|e| ("database_error", e.to_string()))?;
            let key = match key {
                Ok(Some(key)) => key,
                Ok(None) => {
                    return Err((
                        "missing_api_key",
                        format!(
                            "no {} API key is stored; add one, then start again",
                            provider.as_str()
                        ),
                    ));
                }
                Err(e) => return Err(("api_key_unreadable", e.to_string())),
            };
            let base_url = self.settings.base_urls.of(provider);
            clients.insert(
                provider,
                Arc::new(ProviderClient::new(http.clone(), provider, base_url, key)),
            );
        }
        Ok(clients)
    }

    /// Every seat's agent at one table: a bot, or an LLM agent on its provider's client
    /// (with its entry in the run's ledger).
    async fn seats(
        &self,
        cx: &Context,
        clients: &HashMap<Provider, Arc<ProviderClient>>,
        ledger: &Option<SharedLedger>,
    ) -> Result<Seats, SetupError> {
        let spec = &cx.spec;
        let mut webhooks = WebhookSeats::open(
            &self.pool,
            self.settings.keyring.as_ref(),
            self.settings.webhook_policy,
            &cx.table_id,
            spec.agent_slots(),
        )
        .await?;
        let mut agents: Vec<Box<dyn Agent>> = Vec::new();
        let mut ledger_slots = Vec::new();
        for (slot, info) in spec.agent_slots().iter().zip(&cx.seats) {
            let seed = cx.seed as u64 ^ (info.seat as u64 + 1) << 32;
            let style = match slot.agent_type() {
                AgentType::Random => {
                    agents.push(Box::new(RandomBot::new(seed)));
                    ledger_slots.push(None);
                    continue;
                }
                AgentType::Tight => {
                    agents.push(Box::new(TightBot));
                    ledger_slots.push(None);
                    continue;
                }
                AgentType::Callstation => {
                    agents.push(Box::new(CallStation));
                    ledger_slots.push(None);
                    continue;
                }
                AgentType::External => {
                    // Replaced once the seat is taken (or filled with a bot).
                    agents.push(Box::new(CallStation));
                    ledger_slots.push(None);
                    continue;
                }
                AgentType::Webhook => {
                    let Some(agent) = webhooks.take(info.seat) else {
                        return Err((
                            "invalid_config",
                            format!("seat {} names no webhook endpoint", info.seat),
                        ));
                    };
                    agents.push(Box::new(agent));
                    ledger_slots.push(None);
                    continue;
                }
                AgentType::Protocol => Style::Protocol,
                AgentType::Autonomous => Style::Autonomous,
            };
            let (Some(model), Some(ledger)) = (slot.model(), ledger) else {
                return Err(("invalid_config", format!("seat {} has no model", info.seat)));
            };
            let client = clients[&model.provider()].clone();
            let price = self.settings.prices.lookup(&model.to_text());
            let entry = ledger.lock().add_seat(
                cx.position,
                info.seat,
                model.provider().as_str(),
                model.model(),
                price,
            );
            agents.push(Box::new(LlmAgent::new(
                info.seat,
                entry,
                style,
                model.model(),
                client,
                ledger.clone(),
            )));
            ledger_slots.push(Some(entry));
        }
        Ok(Seats {
            agents,
            names: cx.seats.iter().map(|s| s.name.clone()).collect(),
            streams: cx.seats.iter().map(SeatInfo::stream).collect(),
            logged: spec
                .agent_slots()
                .iter()
                .map(|s| s.model().is_some() || s.agent_type().is_outside())
                .collect(),
            ledger_slots,
            outside: None,
            cashed_out: vec![0; cx.seats.len()],
            ledger: ledger.clone(),
            memory: TableMemory::default(),
            webhook_warnings: webhooks.warnings,
            quality: SeatQuality::default(),
        })
    }

    /// Sets up and opens every table of the run, waits for its turn (handover), plays the
    /// tables at once (each table's decisions in order, the tables side by side: a slow seat
    /// at one never holds up another), and closes the run.
    async fn play(&self, tables: Vec<Context>) -> Result<Outcome, StoreError> {
        let run = tables[0].run.clone();
        let spec = tables[0].spec.clone();
        let clients = match self.provider_clients(&spec).await {
            Ok(clients) => clients,
            Err((code, message)) => return self.fail(&run, 0, code, message, None).await,
        };
        let ledger = (!clients.is_empty()).then(|| SharedLedger::new(spec.max_llm_cost_usd()));

        // Retention first, so this run's logs are never the ones rotated away.
        let rotated = with_retry("rotating logs", || async {
            let client = self.pool.get().await?;
            recording::rotate_logs(&client, self.settings.log_retention).await
        })
        .await;
        if let Ok(count) = rotated
            && count > 0
        {
            tracing::info!(count, "deleted the logs of older runs");
        }
        // A multi-table run has a summary of its own; each table logs under `table-N/`.
        let mut summary = (tables.len() > 1).then(|| {
            let mut summary = Recorder::new(Vec::new(), (0, 0), String::new());
            summary.log(
                "simulation-summary",
                json!({
                    "event": "simulation_start", "run_id": run.as_str(), "at": Utc::now(),
                    "seed": tables[0].seed, "name": spec.name(), "pace": spec.pace().as_str(),
                    "max_hands_per_table": spec.max_hands(),
                    "max_run_minutes": spec.max_run_minutes(),
                    "tables": tables.iter().map(|t| &t.table_id).collect::<Vec<_>>(),
                }),
            );
            summary
        });
        let mut opened = Vec::with_capacity(tables.len());
        for cx in tables {
            match self.open_table(cx, &clients, &ledger).await {
                Ok(table) => opened.push(table),
                // Tables opened already are ended by the reaper with the run.
                Err(ended) => return ended,
            }
        }
        if let Some(summary) = &mut summary
            && let Err(e) = self.write_logs(&run, summary).await
        {
            tracing::warn!(error = %e, "writing the run's summary");
        }

        let hands_recorded = Arc::new(AtomicI64::new(0));
        let heartbeat = self.spawn_heartbeat(hands_recorded.clone(), ledger.clone());
        // An always-on config's next table waits here, visible, for one to close.
        let database_url = self.settings.database_url.expose();
        let waited = crate::handover::wait_for_turn(&self.pool, database_url, &run, &self.signals);
        if let Err(e) = waited.await {
            heartbeat.abort();
            for table in opened {
                if let Some(mut remote) = table.remote {
                    remote.close().await;
                }
            }
            return self.fail_database(&run, 0, e).await;
        }
        let started = Instant::now();
        let ends = futures_util::future::join_all(
            opened
                .into_iter()
                .map(|table| self.play_table(table, started, hands_recorded.clone())),
        )
        .await;
        heartbeat.abort();
        self.finish(&run, ends, ledger, summary, started, &hands_recorded)
            .await
    }

    /// One table's seats, recorder and first log lines, its table at the platform when it
    /// plays at one, and its table row. An error is the run's end, already recorded.
    async fn open_table(
        &self,
        cx: Context,
        clients: &HashMap<Provider, Arc<ProviderClient>>,
        ledger: &Option<SharedLedger>,
    ) -> Result<TableRun, Result<Outcome, StoreError>> {
        let spec = &cx.spec;
        let table_config = spec.table();
        let seats = match self.seats(&cx, clients, ledger).await {
            Ok(seats) => seats,
            Err((code, message)) => return Err(self.fail(&cx.run, 0, code, message, None).await),
        };
        let mut recorder = Recorder::new(
            cx.seats.clone(),
            (table_config.blinds.small, table_config.blinds.big),
            cx.stream_prefix(),
        );
        recorder.log(
            "simulation-summary",
            json!({
                "event": "simulation_start", "run_id": cx.run.as_str(), "at": Utc::now(),
                "seed": cx.seed, "table_id": cx.table_id, "host": spec.host().to_text(),
                "config": {
                    "name": spec.name(), "max_hands": spec.max_hands(), "pace": spec.pace().as_str(),
                    "max_run_minutes": spec.max_run_minutes(), "bucket_key": cx.bucket_key,
                    "table_config": {
                        "blinds": {"small": table_config.blinds.small, "big": table_config.blinds.big},
                        "initialStack": table_config.initial_stack,
                        "actionTimeoutMs": table_config.action_timeout_ms,
                    },
                },
                "agents": cx.seats.iter().map(SeatInfo::to_json).collect::<Vec<_>>(),
            }),
        );
        for (info, slot) in cx.seats.iter().zip(spec.agent_slots()) {
            if let Some(model) = slot.model() {
                recorder.log(
                    &info.stream(),
                    json!({
                        "event": "agent_start", "seat": info.seat, "type": info.agent_type,
                        "provider": model.provider().as_str(), "model": model.model(),
                        "at": Utc::now(), "action_timeout_ms": table_config.action_timeout_ms,
                        "system_prompt": poker::llm::RULES,
                    }),
                );
            }
        }
        // A table at a platform is set up there first: nothing is recorded here for a
        // platform that cannot host it.
        let remote = match spec.host() {
            Host::Builtin => None,
            Host::Platform(platform) => {
                match RemoteTable::open(self, &cx, platform, &mut recorder).await {
                    Ok(remote) => Some(remote),
                    Err(fault) => {
                        recorder.log(
                            "simulation-summary",
                            json!({"event": "simulation_error", "at": Utc::now(),
                                   "code": fault.code, "message": fault.message, "hands_played": 0}),
                        );
                        let logged = self.write_logs(&cx.run, &mut recorder).await;
                        if let Err(e) = logged {
                            tracing::warn!(error = %e, "writing the logs of a run that failed");
                        }
                        return Err(self.fail(&cx.run, 0, fault.code, fault.message, None).await);
                    }
                }
            }
        };
        let seats_json = serde_json::Value::Array(cx.seats.iter().map(SeatInfo::to_json).collect());
        let name = cx.table_name();
        let new_table = NewTable {
            id: &cx.table_id,
            run: &cx.run,
            bucket_key: &cx.bucket_key,
            small_blind: table_config.blinds.small,
            big_blind: table_config.blinds.big,
            initial_stack: table_config.initial_stack,
            action_timeout_ms: table_config.action_timeout_ms,
            seats: seats_json,
            name: &name,
            waits_for_agents: spec.external_seating().is_some(),
            position: cx.position.unwrap_or(1) as i16,
        };
        if let Err(e) = with_retry("opening the table", || async {
            let mut client = self.pool.get().await?;
            recording::open_table(&mut client, &new_table).await
        })
        .await
        {
            if let Some(mut remote) = remote {
                remote.close().await;
            }
            return Err(self.fail_database(&cx.run, 0, e).await);
        }
        Ok(TableRun {
            cx,
            seats,
            recorder,
            remote,
        })
    }

    /// Seats a table's outside agents (if it has external seats), then plays it to its end.
    async fn play_table(
        &self,
        table: TableRun,
        started: Instant,
        hands_recorded: Arc<AtomicI64>,
    ) -> TableEnd {
        let TableRun {
            mut cx,
            mut seats,
            mut recorder,
            remote,
        } = table;
        let table_config = cx.spec.table();
        let engine = Table::new(
            cx.seats.len(),
            table_config.initial_stack,
            table_config.blinds.small,
            table_config.blinds.big,
            cx.seed as u64,
        );
        let mut builtin = Builtin::new(engine);
        if let Some(seating) = cx.spec.external_seating() {
            let seated = self
                .seat_outside_agents(&mut cx, seating, &mut seats, &mut recorder)
                .await;
            match seated {
                Err(unseated) => return TableEnd::Over(unseated),
                // A hosted table plays without the seats nobody took.
                Ok(absent) => {
                    for seat in absent {
                        seats.cashed_out[seat] += builtin.cash_out(seat);
                    }
                }
            }
        }
        let seats_json = serde_json::Value::Array(cx.seats.iter().map(SeatInfo::to_json).collect());
        recorder.event(
            None,
            "table_opened",
            json!({"seats": seats_json, "bucket_key": cx.bucket_key}),
        );
        let play = Play {
            cx: &mut cx,
            seats,
            recorder,
            started,
            hands_recorded,
        };
        match remote {
            Some(mut remote) => self.play_at(&mut remote, play).await,
            None => self.play_at(&mut builtin, play).await,
        }
    }

    /// Plays hands at `host` until the config's limit, a stop, the safety timeout, one seat
    /// holding every chip, or a fault; then records the table's end and closes it. A fault
    /// at one table stops the run's others.
    async fn play_at<H: TableHost>(&self, host: &mut H, play: Play<'_>) -> TableEnd {
        let Play {
            cx,
            mut seats,
            mut recorder,
            started,
            hands_recorded,
        } = play;
        let spec = &cx.spec.clone();
        let table_config = spec.table();
        let deadline = started + Duration::from_secs(spec.max_run_minutes() as u64 * 60);
        let live = spec.pace() == Pace::Live;
        let mut pace_rng = ChaCha8Rng::seed_from_u64(cx.seed as u64 ^ 0x5eed);
        let mut last_write = Instant::now();
        let mut played: i64 = 0;
        let mut write_error = None;
        let mut writing = None;
        let mut fault = None;
        let mut warnings = Vec::new();

        while played < spec.max_hands() && !self.signals.stopping() && Instant::now() < deadline {
            self.cash_out_departures(&mut seats, host, &mut recorder, played);
            let dealt = match host.next_hand().await {
                Ok(Some(dealt)) => dealt,
                Ok(None) => break, // one seat holds every chip
                Err(e) => {
                    fault = Some(e);
                    break;
                }
            };
            let started_at = Utc::now();
            let pace = Pacing {
                live,
                deadline,
                action_timeout: Duration::from_millis(table_config.action_timeout_ms as u64),
            };
            recorder.begin_hand(&dealt.start_stacks);
            let played_out = self
                .play_hand(
                    cx,
                    host,
                    played + 1,
                    &mut seats,
                    &mut recorder,
                    &pace,
                    &mut pace_rng,
                )
                .await;
            match played_out {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    fault = Some(e);
                    break;
                }
                Err(e) => {
                    write_error = Some(e);
                    break;
                }
            }
            played += 1;
            let hand = host.hand();
            if let Some(outside) = &seats.outside {
                outside.hand_complete(hand, played);
            }
            if seats.ledger.is_some() {
                seats.memory.observe(played, hand);
            }
            recorder.finish_hand(played, dealt.deck_id, hand, &dealt.start_stacks, started_at);
            warnings.extend(host.settle());
            let due = live
                || recorder.batch.hands.len() >= BATCH_HANDS
                || last_write.elapsed() >= BATCH_AGE;
            if due {
                // The batch before first: one on its way at a time, so they land in order.
                if let Some(previous) = writing.take()
                    && let Err(e) = written(previous).await
                {
                    write_error = Some(e);
                    break;
                }
                if live {
                    let done = self
                        .write(cx, &mut recorder, played, &host.stacks(), &hands_recorded)
                        .await;
                    if let Err(e) = done {
                        write_error = Some(e);
                        break;
                    }
                } else if let Some(write) =
                    self.batch_write(cx, &mut recorder, played, &host.stacks(), &hands_recorded)
                {
                    writing = Some(tokio::spawn(write.run()));
                }
                last_write = Instant::now();
            }
            if writing.is_some() {
                // Fast pace: the batch on its way moves on between hands while this table
                // plays (one thread: PostgreSQL stores a batch while the next is played).
                tokio::task::yield_now().await;
            }
            if live && H::PAUSES_BETWEEN_HANDS {
                self.signals.pause(BETWEEN_HANDS).await;
            }
        }
        if let Some(last) = writing.take()
            && let Err(e) = written(last).await
        {
            write_error.get_or_insert(e);
        }
        warnings.extend(host.close().await);
        for warning in &warnings {
            recorder.log(
                "simulation-summary",
                json!({"event": "warning", "at": Utc::now(), "message": warning}),
            );
        }

        if let Some(e) = write_error {
            self.signals.request_stop();
            return TableEnd::WriteFailed(e);
        }
        if self.signals.lost.load(Ordering::SeqCst) {
            return TableEnd::Over(Ok(Outcome::Failed {
                code: "run_lost".into(),
                message: "the run was closed by someone else (reaped?) while it played".into(),
            }));
        }

        let players_left = host.players_left();
        let timed_out = played < spec.max_hands()
            && players_left >= 2
            && Instant::now() >= deadline
            && !self.signals.stopping();
        // What each seat ends with: its chips on the table, or those it left with.
        let final_stacks: Vec<i64> = host
            .stacks()
            .iter()
            .zip(&seats.cashed_out)
            .map(|(on_table, cashed)| on_table + cashed)
            .collect();
        let agents = agent_results(
            &cx.seats,
            &final_stacks,
            table_config.initial_stack,
            table_config.blinds.big,
            played,
            &recorder.tally,
        );
        let (status, error): (RunStatus, Option<(&str, String)>) = if let Some(fault) = fault {
            (RunStatus::Failed, Some((fault.code, fault.message)))
        } else if timed_out {
            (
                RunStatus::Failed,
                Some((
                    "safety_timeout",
                    format!("still playing after {} minutes", spec.max_run_minutes()),
                )),
            )
        } else if self.signals.stopping() && played < spec.max_hands() && players_left >= 2 {
            (RunStatus::Cancelled, None)
        } else {
            (RunStatus::Completed, None)
        };
        if status == RunStatus::Failed {
            self.signals.request_stop();
        }
        let llm_usage = seats.ledger.as_ref().map(|ledger| ledger.lock().to_json());
        if let Some(ledger) = &seats.ledger {
            let ledger = ledger.lock();
            for (info, slot) in cx.seats.iter().zip(&seats.ledger_slots) {
                let Some(slot) = slot else { continue };
                let mut entry = ledger.seat_json(*slot).unwrap_or_else(|| json!({}));
                entry["event"] = json!("agent_stop");
                entry["at"] = json!(Utc::now());
                recorder.log(&info.stream(), entry);
            }
        }
        let summary = match &error {
            None => json!({
                "event": "simulation_complete", "at": Utc::now(), "status": status.as_str(),
                "hands_played": played, "table_id": cx.table_id,
                "duration_ms": started.elapsed().as_millis() as u64, "agents": agents,
                "llm": llm_usage,
            }),
            Some((code, message)) => json!({
                "event": "simulation_error", "at": Utc::now(), "code": code, "message": message,
                "hands_played": played, "table_id": cx.table_id,
            }),
        };
        recorder.log("simulation-summary", summary);
        if let Some(outside) = seats.outside.take() {
            let reason = match (&error, status) {
                (Some((_, message)), _) => message.clone(),
                (None, RunStatus::Cancelled) => "the run was stopped".to_owned(),
                (None, _) if players_left < 2 => "one seat holds every chip".to_owned(),
                (None, _) => "the hand limit was reached".to_owned(),
            };
            outside.end(&reason, &final_stacks).await;
        }
        recorder.event(
            None,
            "table_ended",
            json!({"hands_played": played, "stacks": final_stacks}),
        );
        let written = self
            .write(cx, &mut recorder, played, &host.stacks(), &hands_recorded)
            .await;
        let closed = match written {
            Ok(()) => {
                with_retry("closing the table", || async {
                    let client = self.pool.get().await?;
                    recording::close_table(&client, &cx.table_id).await
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = closed {
            self.signals.request_stop();
            return TableEnd::WriteFailed(e);
        }
        TableEnd::Closed(Box::new(Closed {
            table_id: cx.table_id.clone(),
            position: cx.position,
            played,
            status,
            error,
            agents,
            quality: seats.quality,
            webhook_warnings: seats.webhook_warnings.to_json(),
            report: host.report(),
        }))
    }

    /// Closes the run from its tables' ends: `failed` when one failed (the first, by
    /// position), `cancelled` when one was cut short by a stop, else `completed`; results
    /// per table, the LLM spend, the run's quality, the hands of every table.
    async fn finish(
        &self,
        run: &RunId,
        ends: Vec<TableEnd>,
        ledger: Option<SharedLedger>,
        summary: Option<Recorder>,
        started: Instant,
        hands_recorded: &AtomicI64,
    ) -> Result<Outcome, StoreError> {
        let mut tables = Vec::with_capacity(ends.len());
        for end in ends {
            match end {
                TableEnd::Closed(closed) => tables.push(*closed),
                TableEnd::WriteFailed(e) => {
                    return self
                        .fail_database(run, hands_recorded.load(Ordering::SeqCst), e)
                        .await;
                }
                TableEnd::Over(outcome) => return outcome,
            }
        }
        let played: i64 = tables.iter().map(|t| t.played).sum();
        let failed = tables.iter().find(|t| t.status == RunStatus::Failed);
        let status = if failed.is_some() {
            RunStatus::Failed
        } else if tables.iter().any(|t| t.status == RunStatus::Cancelled) {
            RunStatus::Cancelled
        } else {
            RunStatus::Completed
        };
        let error = failed.and_then(|t| {
            let (code, message) = t.error.clone()?;
            Some(match t.position {
                Some(p) => (code, format!("table {p}: {message}")),
                None => (code, message),
            })
        });
        let llm_usage = ledger.as_ref().map(|ledger| ledger.lock().to_json());
        let mut webhook_warnings = Vec::new();
        for table in &tables {
            for mut warning in table
                .webhook_warnings
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(p) = table.position {
                    warning["table"] = json!(p);
                }
                webhook_warnings.push(warning);
            }
        }
        let any_webhook_warning = !webhook_warnings.is_empty();
        let webhook_warnings = Value::Array(webhook_warnings);
        let mut run_results = match tables.as_slice() {
            [only] if only.position.is_none() => {
                json!({"table_id": only.table_id, "agents": only.agents})
            }
            _ => json!({"tables": tables.iter().map(|t| json!({
                "table_id": t.table_id, "position": t.position, "status": t.status.as_str(),
                "hands_played": t.played, "error": t.error.as_ref().map(|(code, message)| {
                    json!({"code": code, "message": message})
                }),
                "agents": t.agents,
            })).collect::<Vec<_>>()}),
        };
        if let Some(usage) = &llm_usage {
            run_results["budget_exhausted"] = usage["budget_exhausted"].clone();
            run_results["llm_warnings"] = usage["warnings"].clone();
        }
        if any_webhook_warning {
            run_results["webhook_warnings"] = webhook_warnings.clone();
        }
        if let Some(report) = tables.iter().find_map(|t| t.report.clone()) {
            run_results["platform"] = report;
        }
        let quality = crate::quality::classify(
            &tables
                .iter()
                .map(|t| (t.position, &t.quality))
                .collect::<Vec<_>>(),
            llm_usage.as_ref(),
            &webhook_warnings,
        );
        if let Some(mut summary) = summary {
            summary.log(
                "simulation-summary",
                json!({
                    "event": if error.is_some() { "simulation_error" } else { "simulation_complete" },
                    "at": Utc::now(), "status": status.as_str(), "hands_played": played,
                    "duration_ms": started.elapsed().as_millis() as u64,
                    "error": error.as_ref().map(|(code, message)| json!({"code": code, "message": message})),
                    "tables": run_results["tables"], "llm": llm_usage,
                }),
            );
            if let Err(e) = self.write_logs(run, &mut summary).await {
                tracing::warn!(error = %e, "writing the run's summary");
            }
        }
        let (code, message) = match &error {
            Some((code, message)) => (Some(*code), Some(message.as_str())),
            None => (None, None),
        };
        let end = RunEnd {
            status,
            hands_played: played,
            results: Some(&run_results),
            error_code: code,
            error_message: message,
            llm_usage: llm_usage.as_ref(),
            quality: Some(&quality),
        };
        with_retry("closing the run", || async {
            let client = self.pool.get().await?;
            recording::finish_run(&client, run, &end).await
        })
        .await?;
        tracing::info!(%run, status = status.as_str(), hands = played, "run finished");
        println!(
            "{}",
            crate::quality::emf(
                status == RunStatus::Failed,
                played,
                &quality,
                llm_usage.as_ref()
            )
        );
        Ok(match (status, error) {
            (RunStatus::Failed, Some((code, message))) => Outcome::Failed {
                code: code.to_owned(),
                message,
            },
            (RunStatus::Cancelled, _) => Outcome::Cancelled,
            _ => Outcome::Completed,
        })
    }

    /// Between hands: seats whose agents left (or were revoked) take their chips off the
    /// table; watchers and the other agents are told.
    fn cash_out_departures(
        &self,
        seats: &mut Seats,
        host: &mut impl TableHost,
        recorder: &mut Recorder,
        played: i64,
    ) {
        let Some(outside) = &seats.outside else {
            return;
        };
        for seat in outside.take_departures() {
            let stack = host.cash_out(seat);
            seats.cashed_out[seat] += stack;
            outside.seat_left(seat);
            recorder.event(
                None,
                "player_left",
                json!({"seat": seat, "name": seats.names[seat], "stack": stack}),
            );
            recorder.log(
                &seats.streams[seat],
                json!({"event": "left", "at": Utc::now(), "seat": seat, "after_hand": played,
                       "stack": stack}),
            );
        }
    }

    /// Waits for outside agents to take the table's external seats (until all are taken,
    /// the join timeout, or a stop), starts the table, and gives each taken seat its agent.
    /// Seats nobody took get the config's bot, or the run fails naming them.
    ///
    /// A hosted table instead waits for its client's start (`POST /v1/admin/tables/{id}/
    /// start`) and plays with whoever is seated then (at least two): it returns the seats
    /// nobody took, which sit out.
    async fn seat_outside_agents(
        &self,
        cx: &mut Context,
        seating: ExternalSeating,
        seats: &mut Seats,
        recorder: &mut Recorder,
    ) -> Result<Vec<usize>, Result<Outcome, StoreError>> {
        let external: Vec<(i16, Option<String>)> = cx
            .spec
            .agent_slots()
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.agent_type() == AgentType::External)
            .map(|(seat, slot)| (seat as i16, slot.agent_id().map(|a| a.to_string())))
            .collect();
        let opened = with_retry("opening the external seats", || async {
            let client = self.pool.get().await?;
            let rows: Vec<(i16, Option<&str>)> =
                external.iter().map(|(s, a)| (*s, a.as_deref())).collect();
            simrunner::store::seating::open_external_seats(&client, &cx.table_id, &rows).await
        })
        .await;
        if let Err(e) = opened {
            return Err(self.fail_database(&cx.run, 0, e).await);
        }
        let lineup = Lineup {
            table_id: &cx.table_id,
            action_timeout_ms: cx.spec.table().action_timeout_ms,
            builtin: cx
                .spec
                .agent_slots()
                .iter()
                .zip(&cx.seats)
                .map(|(slot, info)| {
                    (slot.agent_type() != AgentType::External).then(|| info.name.clone())
                })
                .collect(),
            skill_doc_url: String::new(),
        };
        let mut hub = match ExternalSeats::open(
            self.pool.clone(),
            self.settings.database_url.expose(),
            self.settings.agent_link(&self.pool).await,
            lineup,
        )
        .await
        {
            Ok(hub) => hub,
            Err(message) => {
                return Err(self
                    .end_unseated(cx, None, recorder, "database_error", message)
                    .await);
            }
        };
        let timeout = Duration::from_secs(seating.join_timeout_seconds as u64);
        recorder.log(
            "simulation-summary",
            json!({
                "event": "waiting_for_agents", "at": Utc::now(),
                "seats": external.iter().map(|(s, a)| json!({"seat": s, "agent_id": a})).collect::<Vec<_>>(),
                "join_timeout_seconds": seating.join_timeout_seconds,
            }),
        );
        let until = tokio::time::Instant::now() + timeout;
        let hosted = cx.spec.hosted_table().is_some();
        while if hosted {
            !hub.start_requested()
        } else {
            !hub.unready_seats().is_empty()
        } {
            tokio::select! {
                joined = hub.next_join() => if joined.is_none() { break },
                _ = tokio::time::sleep_until(until) => break,
                _ = self.signals.stopped() => break,
            }
        }
        let taken = with_retry("starting the table", || async {
            let mut client = self.pool.get().await?;
            simrunner::store::seating::start_table(&mut client, &cx.table_id).await
        })
        .await;
        let taken = match taken {
            Ok(taken) => taken,
            Err(e) => return Err(self.fail_database(&cx.run, 0, e).await),
        };
        for seat in &taken {
            hub.seat_taken(seat.seat, &seat.agent_id, &seat.name);
            let info = &mut cx.seats[seat.seat];
            info.name = seat.name.clone();
            info.agent_id = Some(seat.agent_id.clone());
            seats.names[seat.seat] = seat.name.clone();
            seats.agents[seat.seat] = Box::new(hub.agent(seat.seat));
        }
        let empty: Vec<usize> = external
            .iter()
            .map(|(s, _)| *s as usize)
            .filter(|s| !taken.iter().any(|t| t.seat == *s))
            .collect();
        if hosted {
            if self.signals.stopping() || !hub.start_requested() || taken.len() < 2 {
                let (code, message) = if self.signals.stopping() {
                    (
                        "stopped_before_start",
                        "the table was stopped before it started".to_owned(),
                    )
                } else if !hub.start_requested() {
                    (
                        "not_started",
                        format!(
                            "nobody started the table within {} s",
                            seating.join_timeout_seconds
                        ),
                    )
                } else {
                    (
                        "too_few_agents",
                        format!("{} agent(s) took a seat; a table needs two", taken.len()),
                    )
                };
                return Err(self
                    .end_unseated(cx, Some(hub), recorder, code, message)
                    .await);
            }
            hub.start(&[]);
            for &seat in &empty {
                hub.sit_out(seat);
            }
        }
        let mut filled = Vec::new();
        if !hosted && !empty.is_empty() && !self.signals.stopping() {
            let Some(bot) = seating.fill_with else {
                let list = empty
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                let message = format!(
                    "no agent took seat{} {list} within {} s; set fill_empty_seats_with to play \
                     empty seats with a bot",
                    if empty.len() == 1 { "" } else { "s" },
                    seating.join_timeout_seconds
                );
                return Err(self
                    .end_unseated(cx, Some(hub), recorder, "external_seats_empty", message)
                    .await);
            };
            for &seat in &empty {
                let name = format!("sim-{}-{seat}", bot.as_str());
                let info = &mut cx.seats[seat];
                info.name = name.clone();
                info.agent_type = bot.as_str();
                seats.names[seat] = name.clone();
                seats.streams[seat] = info.stream();
                seats.logged[seat] = false;
                seats.agents[seat] = match bot {
                    AgentType::Random => {
                        Box::new(RandomBot::new(cx.seed as u64 ^ (seat as u64 + 1) << 32))
                    }
                    AgentType::Tight => Box::new(TightBot),
                    _ => Box::new(CallStation),
                };
                filled.push((seat, name));
            }
        }
        if !hosted {
            hub.start(&filled);
        }
        let agents: Vec<&str> = taken.iter().map(|t| t.agent_id.as_str()).collect();
        let seats_json = serde_json::Value::Array(cx.seats.iter().map(SeatInfo::to_json).collect());
        let recorded = with_retry("recording the line-up", || async {
            let client = self.pool.get().await?;
            simrunner::store::agents::count_tables_played(&client, &agents).await?;
            simrunner::store::seating::set_table_seats(&client, &cx.table_id, &seats_json).await
        })
        .await;
        if let Err(e) = recorded {
            return Err(self.fail_database(&cx.run, 0, e).await);
        }
        recorder.set_seats(cx.seats.clone());
        recorder.log(
            "simulation-summary",
            json!({
                "event": "agents_seated", "at": Utc::now(),
                "seats": taken.iter().map(|t| json!({"seat": t.seat, "agent_id": t.agent_id, "name": t.name})).collect::<Vec<_>>(),
                "filled": filled.iter().map(|(seat, name)| json!({"seat": seat, "name": name})).collect::<Vec<_>>(),
            }),
        );
        seats.outside = Some(hub);
        Ok(if hosted { empty } else { Vec::new() })
    }

    /// Ends a table that never started: its agents are told, its feed ended, its logs
    /// written, the table closed and the run failed.
    async fn end_unseated(
        &self,
        cx: &Context,
        hub: Option<ExternalSeats>,
        recorder: &mut Recorder,
        code: &str,
        message: String,
    ) -> Result<Outcome, StoreError> {
        if let Some(hub) = hub {
            hub.end(&message, &[]).await;
        }
        recorder.log(
            "simulation-summary",
            json!({"event": "simulation_error", "at": Utc::now(), "code": code,
                   "message": message, "hands_played": 0, "table_id": cx.table_id}),
        );
        recorder.event(
            None,
            "table_ended",
            json!({"hands_played": 0, "reason": message}),
        );
        let stacks = vec![cx.spec.table().initial_stack; cx.seats.len()];
        let written = self
            .write(cx, recorder, 0, &stacks, &Arc::new(AtomicI64::new(0)))
            .await;
        let closed = async {
            written?;
            with_retry("closing the table", || async {
                let client = self.pool.get().await?;
                recording::close_table(&client, &cx.table_id).await
            })
            .await
        };
        if let Err(e) = closed.await {
            tracing::warn!(error = %e, "ending an unseated table; the reaper will");
        }
        self.fail(&cx.run, 0, code, message, None).await
    }

    /// Plays one hand at `host`. At live pace a bot's decision takes a believable think
    /// time (a model's takes its own), unless a stop or the deadline asks to finish quickly.
    /// Each answer is awaited until the table's action timeout (or the host's deadline),
    /// then the seat checks or folds.
    ///
    /// At live pace every step reaches the feed at once (the hand's row follows when it
    /// ends); at fast pace the caller writes whole hands in batches. The outer error is the
    /// database's, the inner the host's.
    #[allow(clippy::too_many_arguments)]
    async fn play_hand<H: TableHost>(
        &self,
        cx: &Context,
        host: &mut H,
        number: i64,
        seats: &mut Seats,
        recorder: &mut Recorder,
        pace: &Pacing,
        rng: &mut ChaCha8Rng,
    ) -> Result<Result<(), HostFault>, StoreError> {
        let mut log = Vec::new();
        // Engine events already turned into `street_dealt` messages for outside agents.
        let mut told = 0;
        recorder.advance(number, host.hand());
        publish(seats, host.hand(), number, &mut told);
        if pace.live {
            self.flush_events(cx, recorder).await?;
        }
        loop {
            let due = match host.next_turn().await {
                Ok(Some(due)) => due,
                Ok(None) => break,
                Err(fault) => return Ok(Err(fault)),
            };
            // A platform may have moved the hand on (dealt a street) while we waited.
            recorder.advance(number, host.hand());
            let Some(decision) = Decision::of(host.hand()) else {
                break;
            };
            let seat = decision.seat;
            let timeout_due = || Instant::now() + pace.action_timeout;
            // Bots take a believable think time at live pace; models and outside agents
            // take their own.
            if pace.live && !seats.logged[seat] && Instant::now() < pace.deadline {
                let mut think = think_time(rng, pace.action_timeout);
                if let Some(deadline) = due.deadline {
                    let left = deadline.saturating_duration_since(Instant::now());
                    think = think.min(left.saturating_sub(THINK_MARGIN));
                }
                self.signals.pause(think).await;
            }
            let due = due.deadline.unwrap_or_else(timeout_due);
            let turn = Turn {
                decision,
                hand: host.hand(),
                hand_number: number,
                names: &seats.names,
                memory: &seats.memory,
                deadline: due,
            };
            let choice = match seats.agents[seat].act(&turn) {
                Reply::Now(choice) => choice,
                later => tokio::select! {
                    choice = later => choice,
                    _ = tokio::time::sleep_until((due + DEADLINE_GRACE).into()) => {
                        Choice::Fallback(FallbackReason::Timeout)
                    }
                    _ = self.signals.stopped() => Choice::Fallback(FallbackReason::Stopping),
                },
            };
            let (action, fell_back) = choice.resolve(&decision.legal);
            if let Some(outside) = &seats.outside {
                outside.settle_turn(seat, fell_back);
                if fell_back == Some(FallbackReason::Timeout)
                    && let Some(agent) = outside.agent_id(seat)
                {
                    self.count_timeout(&agent).await;
                }
            }
            if seats.logged[seat] {
                seats.quality.record(seat, fell_back);
                seats.agents[seat].drain_log(&mut log);
                if let Some(reason) = fell_back {
                    log.push(json!({
                        "event": "fallback", "hand": number, "seat": seat,
                        "reason": reason.name(), "action": action_json(action),
                    }));
                }
                if let (Some(ledger), Some(slot)) = (&seats.ledger, seats.ledger_slots[seat]) {
                    ledger.lock().record_decision(slot, fell_back.is_some());
                }
            }
            let noted = match host.act(action).await {
                Ok(noted) => noted,
                Err(fault) => return Ok(Err(fault)),
            };
            log.extend(noted.into_iter().map(|mut entry| {
                entry["hand"] = json!(number);
                entry["seat"] = json!(seat);
                entry
            }));
            for entry in log.drain(..) {
                recorder.log(&seats.streams[seat], entry);
            }
            recorder.advance(number, host.hand());
            publish(seats, host.hand(), number, &mut told);
            if pace.live {
                self.flush_events(cx, recorder).await?;
            }
        }
        recorder.advance(number, host.hand());
        Ok(Ok(()))
    }

    /// One more timeout on the agent's record; a failure to count it is only logged.
    async fn count_timeout(&self, agent: &str) {
        let counted = async {
            let client = self.pool.get().await?;
            simrunner::store::agents::count_timeout(&client, agent).await
        };
        if let Err(error) = counted.await {
            tracing::warn!(%error, agent, "counting an agent's timeout");
        }
    }

    /// Writes the logs of a run that failed before its table opened.
    async fn write_logs(&self, run: &RunId, recorder: &mut Recorder) -> Result<(), StoreError> {
        let batch = &recorder.batch;
        with_retry("recording logs", || async {
            let mut client = self.pool.get().await?;
            recording::write_batch(&mut client, run, None, batch, 0).await
        })
        .await?;
        recorder.batch.clear();
        Ok(())
    }

    /// Writes the events recorded so far, so watchers see them now.
    async fn flush_events(&self, cx: &Context, recorder: &mut Recorder) -> Result<(), StoreError> {
        if recorder.batch.events.is_empty() {
            return Ok(());
        }
        let events = &recorder.batch.events;
        with_retry("recording events", || async {
            let client = self.pool.get().await?;
            recording::append_events(&client, &cx.table_id, events).await
        })
        .await?;
        recorder.batch.events.clear();
        Ok(())
    }

    /// The recorder's batch, taken to be written (`None` when there is nothing to write).
    fn batch_write(
        &self,
        cx: &Context,
        recorder: &mut Recorder,
        played: i64,
        stacks: &[i64],
        hands_recorded: &Arc<AtomicI64>,
    ) -> Option<BatchWrite> {
        if recorder.batch.is_empty() {
            return None;
        }
        Some(BatchWrite {
            pool: self.pool.clone(),
            run: cx.run.clone(),
            table_id: cx.table_id.clone(),
            played,
            stacks: Value::Array(
                stacks
                    .iter()
                    .enumerate()
                    .map(|(seat, stack)| json!({"seat": seat, "stack": stack}))
                    .collect(),
            ),
            batch: std::mem::take(&mut recorder.batch),
            hands_recorded: hands_recorded.clone(),
        })
    }

    /// Writes the recorder's batch now.
    async fn write(
        &self,
        cx: &Context,
        recorder: &mut Recorder,
        played: i64,
        stacks: &[i64],
        hands_recorded: &Arc<AtomicI64>,
    ) -> Result<(), StoreError> {
        match self.batch_write(cx, recorder, played, stacks, hands_recorded) {
            Some(write) => write.run().await,
            None => Ok(()),
        }
    }

    fn spawn_heartbeat(
        &self,
        hands: Arc<AtomicI64>,
        ledger: Option<SharedLedger>,
    ) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        let run = self.settings.run_id.clone();
        let every = self.settings.heartbeat_every;
        let signals = self.signals.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let usage: Option<Value> = ledger.as_ref().map(|l| l.lock().to_json());
                let beat = async {
                    let client = pool.get().await?;
                    let hands = hands.load(Ordering::SeqCst);
                    recording::heartbeat(&client, &run, hands, usage.as_ref()).await
                };
                match beat.await {
                    Ok(Some(true)) => {
                        tracing::info!(%run, "stop requested");
                        signals.request_stop();
                    }
                    Ok(Some(false)) => {}
                    Ok(None) => {
                        tracing::error!(%run, "the run is no longer running; stopping");
                        signals.lost.store(true, Ordering::SeqCst);
                        signals.wake.notify_waiters();
                        return;
                    }
                    // A missed beat is not fatal: the lease is several beats long.
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
        })
    }
}

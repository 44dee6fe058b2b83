//! The local stack behind `simrunner up`: a database (the one in `DATABASE_URL`, or an
//! embedded cluster kept in the data folder), migrations, and every HTTP surface on one
//! port (`SIMRUNNER_HTTP_ADDR`): the admin API and console, the public API and pages, with an
//! admin token and key-encryption key made up when unset; the local scheduler and the
//! process launcher. Each surface crate knows only itself; this crate composes them.

pub mod settings;

use admin_api::auth::Authenticator;
use admin_api::session::Sessions;
use admin_api::settings::{ApiSettings, Mode};
use admin_api::state::AppState;
use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use settings::LocalSettings;
use simrunner::db::cluster::{ClusterOptions, LocalCluster};
use simrunner::dispatch::{self, RunControl, Started, Trigger};
use simrunner::domain::{AgentSlotDraft, Schedule, SimulationDraft, SimulationId};
use simrunner::launch::LocalRunners;
use simrunner::schedule::Scheduler;
use simrunner::secrets::{Keyring, MasterKey, random_hex};
use simrunner::settings::{EnvReader, Secret};
use simrunner::store;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The data folder: `SIMRUNNER_DATA_DIR`, or `.simrunner` in the current directory.
pub fn data_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("SIMRUNNER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".simrunner"));
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()?.join(dir)
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Holds the data folder for this process: a second simrunner on the same folder stops with
/// a clear message instead of fighting over the database.
pub struct DataDirLock {
    _file: File,
}

pub fn lock_data_dir(dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = dir.join("simrunner.lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another simrunner is already running with the data folder {}; stop it first, or \
             set SIMRUNNER_DATA_DIR to use another folder",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).context(format!("locking {}", path.display()))
        }
    }
}

/// The database the local stack uses.
pub struct LocalDatabase {
    pub url: Secret<String>,
    /// Where it is, safe to print (no password).
    pub description: String,
    cluster: Option<LocalCluster>,
}

impl LocalDatabase {
    /// `DATABASE_URL` when set; otherwise the embedded cluster in `data_dir/postgres`,
    /// started now, with a `simrunner` database in it.
    pub async fn open(settings: &ApiSettings, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(url) = &settings.database_url {
            return Ok(Self {
                url: url.clone(),
                description: "the server in DATABASE_URL".into(),
                cluster: None,
            });
        }
        let mut env = EnvReader::from_process();
        let port = env.integer_in("SIMRUNNER_PG_PORT", 0..=65535, 0) as u16;
        env.finish()?;
        let root = data_dir.join("postgres");
        let cluster = tokio::task::spawn_blocking(move || {
            LocalCluster::start(&ClusterOptions {
                root,
                port,
                durable: true,
            })
        })
        .await??;
        let (client, connection) =
            tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = 'simrunner'", &[])
            .await?
            .is_some();
        if !exists {
            client.batch_execute("CREATE DATABASE simrunner").await?;
        }
        let mut description = format!(
            "{} (embedded; data in {})",
            cluster.url("simrunner"),
            cluster.data_dir().display()
        );
        if let Some(moved) = cluster.relocation() {
            description.push_str(&format!(
                "\n                kept there, not in {}: {}",
                moved.wanted.display(),
                moved.reason
            ));
        }
        Ok(Self {
            url: Secret::new(cluster.url("simrunner")),
            description,
            cluster: Some(cluster),
        })
    }

    /// Stops the embedded cluster, if this process started one.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// The local stack's key-encryption key.
struct LocalKeyring {
    keyring: Keyring,
    /// Its text, for the runners (they open provider keys for LLM seats).
    text: Secret<String>,
    /// Generated once into the data folder rather than given.
    generated: bool,
}

/// `SIMRUNNER_KEY_ENCRYPTION_KEY`, or a key generated once and kept (mode 0600) in the data
/// folder so that stored provider keys still open after a restart.
fn local_keyring(settings: &mut ApiSettings, data_dir: &Path) -> anyhow::Result<LocalKeyring> {
    if let Some(keyring) = settings.keyring.take() {
        let text = std::env::var("SIMRUNNER_KEY_ENCRYPTION_KEY").unwrap_or_default();
        return Ok(LocalKeyring {
            keyring,
            text: Secret::new(text),
            generated: false,
        });
    }
    let path = data_dir.join("key-encryption-key");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate_hex();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(key.as_bytes())?;
            key
        }
        Err(e) => return Err(e).context(format!("reading {}", path.display())),
    };
    let key = MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(LocalKeyring {
        keyring: Keyring::new(key, Vec::new()),
        text: Secret::new(text.trim().to_owned()),
        generated: true,
    })
}

/// `simrunner up`: runs the local stack until Ctrl-C or SIGTERM.
pub async fn up() -> anyhow::Result<()> {
    let LocalSettings {
        api: mut settings,
        agents: agents_settings,
        http_addr,
        demo: with_demo,
    } = settings::load()?;
    let data_dir = data_dir()?;
    let _lock = lock_data_dir(&data_dir)?;
    let listener = tokio::net::TcpListener::bind(http_addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "SIMRUNNER_HTTP_ADDR {} is already in use by another program; stop it or set \
                 SIMRUNNER_HTTP_ADDR to another address, e.g. 127.0.0.1:8081",
                http_addr
            ),
            _ => anyhow::Error::new(e).context(format!("listening on {http_addr}")),
        })?;
    let LocalKeyring {
        keyring,
        text: key_text,
        generated: generated_key,
    } = local_keyring(&mut settings, &data_dir)?;
    let generated_token = settings.admin_token.is_none();
    let token = settings
        .admin_token
        .clone()
        .unwrap_or_else(|| Secret::new(random_hex(24)));

    let database = LocalDatabase::open(&settings, &data_dir).await?;
    let served = async {
        let pool = simrunner::db::build_pool(database.url.expose(), settings.pool_size)?;
        let demo = {
            let mut client = pool.get().await.context("connecting to the database")?;
            simrunner::db::migrate(&mut client).await?;
            if with_demo {
                create_demo(&mut client).await?
            } else {
                None
            }
        };
        let sessions = Sessions::for_keyring(&keyring);
        let state = AppState {
            pool: pool.clone(),
            keyring: Arc::new(keyring),
            auth: Arc::new(Authenticator::new(
                Some(&token),
                settings.jwt.take(),
                sessions,
            )),
            // The process launcher runs this very binary as `simrunner runner`, logging into
            // the data folder.
            runs: Arc::new(
                RunControl::build(
                    settings.runs.clone(),
                    &LocalRunners {
                        database_url: database.url.clone(),
                        default_program: (
                            std::env::current_exe().context("finding the simrunner binary")?,
                            vec!["runner".into()],
                        ),
                        log_dir: data_dir.join("runs"),
                        key_encryption_key: Some(key_text),
                    },
                )
                .await,
            ),
            webhooks: settings.webhooks,
            answers: Default::default(),
        };
        let ticker = tokio::spawn(tick_forever(
            state.clone(),
            database.url.clone(),
            Duration::from_secs(5),
        ));
        // The same process serves the public API and pages, streaming feeds (SSE).
        let public = public_api::PublicState::new(
            pool.clone(),
            public_api::Transport::Sse,
            Duration::from_millis(100),
        );
        // And the agents surface, holding the outside agents' WebSocket connections itself.
        let gateway = agents_api::gateway::Gateway::start(
            database.url.clone(),
            agents_settings.frames_per_second,
        );
        let agents =
            agents_api::AgentsState::new(pool.clone(), agents_settings, Some(gateway.clone()));
        let app = admin_api::app_with(
            state.clone(),
            vec![public_api::app(public), agents_api::app(agents)],
        );
        // The demo's first run opens its table within moments: wait a little for it, so the
        // banner can say where to watch.
        let wait = if with_demo {
            Duration::from_secs(10)
        } else {
            Duration::ZERO
        };
        let live_table = newest_live_table(&pool, wait).await;
        print_banner(
            listener.local_addr()?,
            &database,
            generated_token.then_some(&token),
            generated_key,
            &data_dir,
            demo.as_ref(),
            live_table.as_deref(),
        );
        // No Nagle delay: WebSocket frames and SSE events are small and must leave at once
        // (with it, a frame waited for the peer's delayed ACK: 40 ms per agent action).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY on an accepted connection");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        tracing::info!("shutting down: stopping the scheduler and asking active runs to stop");
        ticker.abort();
        stop_active_runs(&state).await;
        gateway.stop();
        pool.close();
        anyhow::Ok(())
    }
    .await;
    let closed = database.close().await;
    served.and(closed)
}

/// The local scheduler: every few seconds (and at once when a run starts or ends, told by
/// PostgreSQL),
/// the tick — reap, auto-pause, keep always-on configs live, coverage, alerts — and a trigger
/// for every active periodic config whose next scheduled time has come. Interval schedules lie
/// on a grid of their interval (like EventBridge's `rate(N minutes)`), calendars at their cron
/// times in their time zone; dispatch decides, as for EventBridge.
async fn tick_forever(state: AppState, database_url: Secret<String>, every: Duration) {
    let mut seen: HashMap<SimulationId, DateTime<Utc>> = HashMap::new();
    let base_urls = runner_task::settings::base_urls(&mut EnvReader::from_process());
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ended = simrunner::db::Listener::connect(database_url.expose(), &["simrunner_runs"])
        .await
        .map_err(|error| tracing::warn!(%error, "not listening for run endings; ticking only"))
        .ok();
    loop {
        match &mut ended {
            Some(listener) => tokio::select! {
                _ = ticker.tick() => {}
                notified = listener.recv() => {
                    if notified.is_none() {
                        ended = None;
                    }
                    // One tick for a burst of starts and endings.
                    if let Some(listener) = &mut ended {
                        listener.drain();
                    }
                }
            },
            None => {
                ticker.tick().await;
            }
        }
        if let Err(error) = tick(&state, &mut seen).await {
            tracing::warn!(%error, "scheduler tick failed; trying again at the next tick");
        }
        // This process may open provider keys (it is the runner too): model listings the
        // console asked for are fetched at once.
        let refreshed =
            runner_task::llm::models::refresh_due(&state.pool, &state.keyring, &base_urls, None);
        if let Err(error) = refreshed.await {
            tracing::warn!(%error, "refreshing the providers' model listings");
        }
    }
}

async fn tick(
    state: &AppState,
    seen: &mut HashMap<SimulationId, DateTime<Utc>>,
) -> Result<(), simrunner::store::StoreError> {
    let now = Utc::now();
    let report = dispatch::tick::tick(&state.pool, &state.runs, now).await?;
    for (config, reason) in &report.paused {
        tracing::warn!(simulation = %config, %reason, "paused");
    }
    let Some(launcher) = &state.runs.launcher else {
        return Ok(());
    };
    if !matches!(state.runs.scheduler, Scheduler::Local) {
        // EventBridge Scheduler triggers the dispatch function; this stack only ticks.
        return Ok(());
    }
    let configs = store::periodic_schedules(&state.pool.get().await?).await?;
    for (config, schedule) in configs {
        let Some(at) = due(&schedule, now) else {
            continue;
        };
        if seen.get(&config) == Some(&at) {
            continue;
        }
        seen.insert(config.clone(), at);
        let started = dispatch::start_run(
            &state.pool,
            launcher,
            &config,
            Trigger::Scheduled { at },
            now,
            &state.runs.policy,
        )
        .await?;
        match started {
            Started::Launched(run) => {
                tracing::info!(simulation = %config, run = %run.id, "scheduled run started")
            }
            Started::LaunchFailed(run, reason) => {
                tracing::error!(simulation = %config, run = %run.id, %reason, "scheduled run failed to launch")
            }
            Started::Skipped {
                reason, message, ..
            } => {
                tracing::info!(simulation = %config, reason = reason.as_str(), %message, "scheduled trigger skipped")
            }
            Started::NotFound => {}
        }
    }
    Ok(())
}

/// The scheduled time a periodic config is due for at `now`, if any: an interval's slot on
/// its grid (from the moment it is active, like `rate(N minutes)`), or a calendar's time
/// within the last minute (a calendar activated later waits for its next time, as in
/// EventBridge).
fn due(schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Periodic { interval_minutes } => {
            let interval = interval_minutes * 60;
            DateTime::from_timestamp(now.timestamp() - now.timestamp() % interval, 0)
        }
        Schedule::Calendar(calendar) => calendar
            .next_after(now - chrono::Duration::minutes(1))
            .filter(|at| *at <= now),
        _ => None,
    }
}

/// On shutdown: asks every active run to stop and waits up to 15 s for them to close.
async fn stop_active_runs(state: &AppState) {
    let Ok(client) = state.pool.get().await else {
        return;
    };
    let asked = dispatch::request_stop_all(&client, Utc::now())
        .await
        .map(|runs| runs.len())
        .unwrap_or(0);
    if asked == 0 {
        return;
    }
    println!("waiting for {asked} active run(s) to finish their hand…");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let active: i64 = client
            .query_one(
                "SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running')",
                &[],
            )
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        if active == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The demo simulation a fresh local database starts with: four bots of three kinds at live
/// pace, every 5 minutes, active, so the first run starts within seconds. Once per database:
/// a demo someone deleted stays deleted.
async fn create_demo(client: &mut impl GenericClient) -> anyhow::Result<Option<SimulationId>> {
    let tx = client.transaction().await?;
    let first_time = tx
        .execute(
            "INSERT INTO database_events (name) VALUES ('demo_created') ON CONFLICT DO NOTHING",
            &[],
        )
        .await?
        == 1;
    if !first_time {
        return Ok(None);
    }
    let slots = ["random", "tight", "callstation", "random"];
    let spec = SimulationDraft {
        name: Some("Demo table".into()),
        status: Some("active".into()),
        schedule_type: Some("periodic".into()),
        interval_minutes: Some(5),
        cooldown_minutes: Some(1),
        max_hands: Some(10),
        pace: Some("live".into()),
        agent_slots: Some(
            slots
                .iter()
                .map(|t| AgentSlotDraft {
                    agent_type: Some((*t).into()),
                    ..Default::default()
                })
                .collect(),
        ),
        small_blind: Some(5),
        big_blind: Some(10),
        initial_stack: Some(1000),
        action_timeout_ms: Some(10_000),
        ..Default::default()
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("the demo simulation is invalid: {e}"))?;
    let record = simrunner::store::insert_simulation(&tx, &spec).await?;
    tx.commit().await?;
    tracing::info!(simulation = %record.id, "created the demo simulation");
    Ok(Some(record.id))
}

/// The newest table being played, waiting up to `wait` for one to open.
async fn newest_live_table(pool: &deadpool_postgres::Pool, wait: Duration) -> Option<String> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let found = async {
            let client = pool.get().await.ok()?;
            client
                .query_opt(
                    "SELECT id FROM tables WHERE status = 'open' ORDER BY created_at DESC LIMIT 1",
                    &[],
                )
                .await
                .ok()?
                .map(|row| row.get::<_, String>(0))
        };
        if let Some(id) = found.await {
            return Some(id);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_banner(
    addr: std::net::SocketAddr,
    database: &LocalDatabase,
    token: Option<&Secret<String>>,
    generated_key: bool,
    data_dir: &Path,
    demo: Option<&SimulationId>,
    live_table: Option<&str>,
) {
    let url = format!("http://{addr}");
    println!("\nsimrunner is up");
    println!("  tables        {url}/tables   (what visitors see)");
    if let Some(table) = live_table {
        println!("  watch         {url}/watch/{table}   (being played now)");
    }
    println!("  console       {url}/admin   (sign in with the admin token)");
    println!("  API           {url}   (OpenAPI: {url}/openapi.json)");
    match token {
        Some(token) => println!(
            "  admin token   {}   (generated for this run; set SIMRUNNER_ADMIN_TOKEN to choose one)",
            token.expose()
        ),
        None => println!("  admin token   from SIMRUNNER_ADMIN_TOKEN"),
    }
    println!("  database      {}", database.description);
    if generated_key {
        println!(
            "  secrets       provider keys encrypted with {}",
            data_dir.join("key-encryption-key").display()
        );
    }
    if let Some(demo) = demo {
        println!(
            "  demo          {demo}: four bots, a run every 5 minutes, the first one now \
             (SIMRUNNER_DEMO=off skips it on a fresh database)"
        );
    }
    println!("  try           curl -H \"Authorization: Bearer $TOKEN\" {url}/v1/admin/simulations");
    println!("Press Ctrl-C to stop.\n");
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}

/// `simrunner reconcile`: repairs drift between the periodic configs and their EventBridge
/// schedules (missing, in the wrong state or with the wrong rate, or left over) and reports
/// what it changed.
pub async fn reconcile() -> anyhow::Result<()> {
    let settings = admin_api::settings::load(Mode::Local)?;
    if settings.runs.scheduler == simrunner::schedule::SchedulerSettings::Local {
        println!(
            "SIMRUNNER_SCHEDULER is local: the local scheduler reads the configs themselves, \
             so there is nothing to reconcile"
        );
        return Ok(());
    }
    let scheduler = settings.runs.scheduler.clone().build().await;
    with_database(&settings, async |client| {
        let migrated: bool = client
            .query_one("SELECT to_regclass('simulation_configs') IS NOT NULL", &[])
            .await?
            .get(0);
        if !migrated {
            bail!("the database has no simrunner tables yet: run `simrunner migrate` first");
        }
        let report = scheduler.reconcile(client, Utc::now(), true).await?;
        println!(
            "reconcile: {} periodic configs checked, {} schedules repaired, {} left-over \
             schedules deleted",
            report.checked,
            report.repaired.len(),
            report.deleted.len()
        );
        for config in &report.repaired {
            println!("  repaired  {config}");
        }
        for name in &report.deleted {
            println!("  deleted   {name}");
        }
        Ok(())
    })
    .await
}

/// `simrunner rotate-keys`: seals every stored provider key and webhook signing secret again
/// under the current master key (`SIMRUNNER_KEY_ENCRYPTION_KEY`), opening them with the
/// retired ones (`SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED`), so the retired keys can be dropped.
pub async fn rotate_keys() -> anyhow::Result<()> {
    let mut settings = admin_api::settings::load(Mode::Local)?;
    let Some(keyring) = settings.keyring.take() else {
        bail!(
            "set SIMRUNNER_KEY_ENCRYPTION_KEY to the new master key and \
             SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED to the old one(s)"
        );
    };
    with_database(&settings, async |client| {
        let keys = simrunner::store::reseal_api_keys(client, &keyring).await?;
        let webhooks = simrunner::store::webhooks::reseal_webhook_secrets(client, &keyring).await?;
        let platforms =
            simrunner::store::platforms::reseal_platform_secrets(client, &keyring).await?;
        for (what, report) in [
            ("provider keys", keys),
            ("webhook secrets", webhooks),
            ("platform credentials and seat identities", platforms),
        ] {
            println!(
                "rotate-keys: {} {what} sealed again under master key {}, {} already were",
                report.resealed,
                keyring.current_key_id(),
                report.current
            );
        }
        Ok(())
    })
    .await
}

/// `simrunner migrate`: applies pending migrations and reports what it did.
pub async fn migrate() -> anyhow::Result<()> {
    let settings = admin_api::settings::load(Mode::Local)?;
    with_database(&settings, async |client| {
        let report = simrunner::db::migrate(client).await?;
        println!(
            "migrations: {} applied now, {} already applied",
            report.applied.len(),
            report.already_applied
        );
        Ok(())
    })
    .await
}

/// Runs `work` on a connection to `DATABASE_URL` (TLS as its `sslmode` says), or to the
/// embedded database, started for the occasion and stopped afterwards.
async fn with_database(
    settings: &ApiSettings,
    work: impl AsyncFnOnce(&mut deadpool_postgres::Client) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let data_dir = data_dir()?;
    let _lock = (settings.database_url.is_none())
        .then(|| lock_data_dir(&data_dir))
        .transpose()?;
    let database = LocalDatabase::open(settings, &data_dir).await?;
    let result = async {
        let pool = simrunner::db::build_pool(database.url.expose(), 1)?;
        let mut client = pool.get().await.context("connecting to the database")?;
        work(&mut client).await
    }
    .await;
    let closed = database.close().await;
    result.and(closed)
}

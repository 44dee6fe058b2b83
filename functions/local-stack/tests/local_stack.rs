//! The local stack end to end: the real `simrunner up` binary with its scheduler ticker and
//! process launcher, on a real PostgreSQL. Each test takes one to three minutes: periodic
//! schedules tick once a minute at the fastest.

#[path = "../../../runner-task/tests/fake_provider/mod.rs"]
mod fake_provider;

use serde_json::{Value, json};
use simrunner::testing::{TestDatabase, fresh_database};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "local-stack-test-token-0123";

struct Stack {
    child: Child,
    api: String,
    db: TestDatabase,
    data_dir: std::path::PathBuf,
    lease_seconds: u32,
    demo: bool,
    /// Settings on top of the usual ones (`SIMRUNNER_KEY_ENCRYPTION_KEY` is left unset, so
    /// the stack generates one, when `extra_env` is given).
    extra_env: Vec<(&'static str, String)>,
}

/// A test that fails must not leave its `simrunner up` running.
impl Drop for Stack {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Stack {
    /// `simrunner up` on a fresh database without the demo simulation.
    async fn start(lease_seconds: u32) -> Self {
        let db = fresh_database().await;
        let data_dir = std::env::temp_dir().join(format!("simrunner-stack-{}", uuid_like()));
        Self::spawn(db, data_dir, lease_seconds, false)
    }

    fn spawn(
        db: TestDatabase,
        data_dir: std::path::PathBuf,
        lease_seconds: u32,
        demo: bool,
    ) -> Self {
        Self::spawn_with(db, data_dir, lease_seconds, demo, Vec::new())
    }

    fn spawn_with(
        db: TestDatabase,
        data_dir: std::path::PathBuf,
        lease_seconds: u32,
        demo: bool,
        extra_env: Vec<(&'static str, String)>,
    ) -> Self {
        let (child, api) = launch(&db, &data_dir, lease_seconds, demo, &extra_env);
        Self {
            child,
            api,
            db,
            data_dir,
            lease_seconds,
            demo,
            extra_env,
        }
    }

    /// Ctrl-C, then `simrunner up` again on the same database and data folder.
    fn restart(&mut self) {
        self.interrupt();
        let (child, api) = launch(
            &self.db,
            &self.data_dir,
            self.lease_seconds,
            self.demo,
            &self.extra_env,
        );
        self.child = child;
        self.api = api;
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut args = vec![
            "-s".to_owned(),
            "-X".into(),
            method.into(),
            "-H".into(),
            format!("Authorization: Bearer {TOKEN}"),
            format!("{}{path}", self.api),
        ];
        if let Some(body) = body {
            args.extend([
                "-H".into(),
                "Content-Type: application/json".into(),
                "-d".into(),
                body.to_string(),
            ]);
        }
        let out = Command::new("curl").args(&args).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// A periodic config, 1-minute interval, activated.
    fn periodic(&self, cooldown: i64, pace: &str, max_hands: i64) -> String {
        let created = self.call("POST", "/v1/admin/simulations", Some(json!({
            "name": "local stack", "schedule_type": "periodic", "interval_minutes": 1,
            "cooldown_minutes": cooldown, "pace": pace, "max_hands": max_hands,
            "agent_slots": [{"type": "callstation"}, {"type": "callstation"}, {"type": "tight"}],
            "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 100000, "actionTimeoutMs": 1000}
        })));
        let id = created["id"].as_str().expect("created").to_owned();
        let patched = self.call(
            "PATCH",
            &format!("/v1/admin/simulations/{id}"),
            Some(json!({"status": "active"})),
        );
        assert_eq!(patched["status"], "active");
        id
    }

    /// The config's runs, oldest first, once `done` says they are what the test waits for.
    fn wait_for_runs(
        &self,
        id: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let detail = self.call("GET", &format!("/v1/admin/simulations/{id}"), None);
            let mut runs: Vec<Value> = detail["runs"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            runs.reverse();
            if done(&runs) {
                return runs;
            }
            assert!(
                started.elapsed() < limit,
                "gave up waiting; runs: {runs:#?}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Ctrl-C, as a person would press it; the process must exit cleanly.
    fn interrupt(&mut self) {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "simrunner exits cleanly on Ctrl-C");
    }

    fn stop(mut self) {
        self.interrupt();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts `simrunner up` on `db` and waits until it listens; returns it and its API's URL.
fn launch(
    db: &TestDatabase,
    data_dir: &std::path::Path,
    lease_seconds: u32,
    demo: bool,
    extra_env: &[(&'static str, String)],
) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_simrunner"));
    if extra_env.is_empty() {
        command.env(
            "SIMRUNNER_KEY_ENCRYPTION_KEY",
            simrunner::secrets::MasterKey::generate_hex(),
        );
    } else {
        command
            .env_remove("SIMRUNNER_KEY_ENCRYPTION_KEY")
            .envs(extra_env.iter().cloned());
    }
    let child = command
        .arg("up")
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("SIMRUNNER_ADMIN_TOKEN", TOKEN)
        .env("SIMRUNNER_DATA_DIR", data_dir)
        .env("SIMRUNNER_RUN_LEASE_SECONDS", lease_seconds.to_string())
        .env("SIMRUNNER_DEMO", if demo { "on" } else { "off" })
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "simrunner never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_seed()
    )
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn at(run: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    run[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {run}"))
        .parse()
        .unwrap()
}

#[test]
fn periodic_runs_follow_each_other_and_respect_the_cooldown() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = runtime.block_on(Stack::start(60));
    let id = stack.periodic(1, "fast", 30);
    let runs = stack.wait_for_runs(&id, Duration::from_secs(200), |runs| {
        runs.iter().filter(|r| r["status"] == "completed").count() >= 2
    });
    let (first, second) = (&runs[0], &runs[1]);
    assert_eq!(first["trigger"], "schedule");
    assert_eq!(second["trigger"], "schedule");
    // The second starts no earlier than the first's end plus the 1-minute cooldown.
    assert!(
        at(second, "created_at") >= at(first, "completed_at") + chrono::Duration::minutes(1),
        "{first:#?}\n{second:#?}"
    );
    let detail = stack.call("GET", &format!("/v1/admin/simulations/{id}"), None);
    assert_eq!(detail["simulation"]["last_skip"]["reason"], "cooling_down");
    stack.stop();
}

#[test]
fn a_killed_runner_is_reaped_and_the_schedule_carries_on() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = runtime.block_on(Stack::start(5));
    let id = stack.periodic(0, "live", 10_000);
    let runs = stack.wait_for_runs(&id, Duration::from_secs(90), |runs| {
        runs.first().is_some_and(|r| r["status"] == "running")
    });
    let run = runs[0]["id"].as_str().unwrap().to_owned();
    let task: String = runtime.block_on(async {
        let client = stack.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT task_ref FROM simulation_runs WHERE id = $1",
                &[&run],
            )
            .await
            .unwrap()
            .get(0)
    });
    let pid = task.strip_prefix("pid:").expect("a process task");
    Command::new("kill").args(["-KILL", pid]).status().unwrap();

    let runs = stack.wait_for_runs(&id, Duration::from_secs(150), |runs| {
        runs.len() >= 2 && runs[0]["status"] == "failed"
    });
    assert_eq!(runs[0]["error"]["code"], "runner_lost");
    assert!(
        matches!(
            runs[1]["status"].as_str(),
            Some("queued" | "running" | "completed" | "cancelled")
        ),
        "{:#?}",
        runs[1]
    );
    stack.stop();
}

#[test]
fn a_fresh_database_starts_with_a_demo_that_plays_at_once_and_is_not_added_twice() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(fresh_database());
    let data_dir = std::env::temp_dir().join(format!("simrunner-demo-{}", uuid_like()));
    let mut stack = Stack::spawn(db, data_dir, 60, true);
    let list = stack.call("GET", "/v1/admin/simulations", None);
    let demo = &list["items"][0];
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list:#}");
    assert_eq!(
        (&demo["status"], &demo["schedule_type"], &demo["pace"]),
        (&json!("active"), &json!("periodic"), &json!("live"))
    );
    let kinds: std::collections::BTreeSet<&str> = demo["agent_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(demo["agent_count"], 4);
    assert!(kinds.len() >= 3, "mixed bot types: {kinds:?}");
    let id = demo["id"].as_str().unwrap().to_owned();
    // Live pace: a hand takes several seconds of "thinking"; the first one is recorded well
    // within a minute of starting.
    stack.wait_for_runs(&id, Duration::from_secs(90), |runs| {
        runs.first()
            .is_some_and(|r| r["hands_played"].as_i64() >= Some(1))
    });

    stack.restart();
    let list = stack.call("GET", "/v1/admin/simulations", None);
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "restarting on the same database adds no second demo"
    );
    stack.stop();
}

/// `simrunner up` again while one runs: a clear message and a non-zero exit, not a hang.
fn second_instance(stack: &Stack, data_dir: &std::path::Path) -> (bool, String) {
    let addr = stack.api.trim_start_matches("http://");
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrunner"))
        .arg("up")
        .env("DATABASE_URL", &stack.db.url)
        .env("SIMRUNNER_HTTP_ADDR", addr)
        .env("SIMRUNNER_DATA_DIR", data_dir)
        .env("SIMRUNNER_DEMO", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the second simrunner hung"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.success(), stderr)
}

#[test]
fn a_second_stack_on_the_same_folder_or_port_stops_with_a_clear_message() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = runtime.block_on(Stack::start(60));
    let (ok, message) = second_instance(&stack, &stack.data_dir);
    assert!(!ok);
    assert!(
        message.contains("another simrunner is already running"),
        "{message}"
    );
    let other_dir = std::env::temp_dir().join(format!("simrunner-port-{}", uuid_like()));
    let (ok, message) = second_instance(&stack, &other_dir);
    assert!(!ok);
    assert!(message.contains("is already in use"), "{message}");
    let _ = std::fs::remove_dir_all(&other_dir);
    stack.stop();
}

#[test]
fn an_llm_seat_plays_through_the_local_stack_with_its_generated_key() {
    let fake = fake_provider::FakeProvider::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(fresh_database());
    let data_dir = std::env::temp_dir().join(format!("simrunner-stack-{}", uuid_like()));
    let stack = Stack::spawn_with(db, data_dir, 60, false, fake.env().to_vec());
    let key = stack.call(
        "POST",
        "/v1/admin/api-keys",
        Some(json!({"provider": "openai", "label": "fake", "key": fake_provider::KEY})),
    );
    assert_eq!(key["provider"], "openai", "{key}");
    let created = stack.call("POST", "/v1/admin/simulations", Some(json!({
        "name": "llm table", "pace": "fast", "max_hands": 20,
        "agent_slots": [{"type": "protocol", "model": "openai:legal"}, {"type": "callstation"}, {"type": "tight"}],
        "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 1000, "actionTimeoutMs": 2000}
    })));
    let id = created["id"].as_str().expect("created").to_owned();
    let started = stack.call("POST", &format!("/v1/admin/simulations/{id}/start"), None);
    assert_eq!(started["status"], "queued", "{started}");
    let runs = stack.wait_for_runs(&id, Duration::from_secs(60), |runs| {
        runs.first().is_some_and(|r| r["status"] == "completed")
    });
    let usage = &runs[0]["llm_usage"];
    assert!(
        usage["seats"][0]["decisions"].as_u64().unwrap() > 0,
        "{usage}"
    );
    assert_eq!(
        usage["seats"][0]["fallbacks"], 0,
        "the runner opened the key: {usage}"
    );
    let run = runs[0]["id"].as_str().unwrap();
    let logs = stack.call(
        "GET",
        &format!("/v1/admin/simulations/runs/{run}/logs"),
        None,
    );
    let llm = logs["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "agent-0-protocol")
        .expect("the LLM seat's stream");
    let entries = llm["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["event"] == "llm_response" && e["action"].is_object())
    );
    assert!(!logs.to_string().contains(fake_provider::KEY));
    assert_eq!(fake.violations(), Vec::<String>::new());
    stack.stop();
}

/// `cargo run --release --bin simrunner` as a newcomer runs it: no settings at all, from a
/// project folder whose parent is private (mode 0700, like root's home). Returns the child
/// and the banner's lines once the API answers, and what it prints after them.
fn main_command_in(project: &std::path::Path, port: u16) -> (MainCommand, Vec<String>) {
    use std::io::BufRead as _;
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrunner"))
        // Its own process group, as a terminal gives it: Ctrl-C reaches the whole group.
        .process_group(0)
        .current_dir(project)
        .env_remove("DATABASE_URL")
        .env_remove("SIMRUNNER_DATA_DIR")
        .env_remove("SIMRUNNER_KEY_ENCRYPTION_KEY")
        .env("SIMRUNNER_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("SIMRUNNER_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = Vec::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    // Keep reading the output (its log) so the stack never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    assert!(
        banner.iter().any(|l| l.contains("simrunner is up")),
        "no banner: {banner:#?} {}",
        child
            .wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default()
    );
    (MainCommand { child, log }, banner)
}

/// `simrunner` started by [`main_command_in`].
struct MainCommand {
    child: Child,
    /// The lines it prints after its banner, once it has exited.
    log: std::thread::JoinHandle<Vec<String>>,
}

/// Ctrl-C as a terminal sends it, to the stack's whole process group (its runners too): it
/// exits cleanly and says nothing alarming on the way out (the embedded database stops
/// last, after everything that listens to it).
fn ctrl_c_quietly(stack: MainCommand) {
    use std::io::Read as _;
    let MainCommand { mut child, log } = stack;
    Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let log = log.join().unwrap();
    let warnings: Vec<&String> = log.iter().filter(|l| l.contains("WARN")).collect();
    assert!(
        warnings.is_empty() && !stderr.contains("WARN"),
        "warnings: {warnings:#?} {stderr}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
        ])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn the_main_command_works_from_a_folder_under_a_private_one_and_keeps_its_data() {
    use std::os::unix::fs::PermissionsExt as _;
    let private = std::env::temp_dir().join(format!("simrunner-home-{}", uuid_like()));
    let project = private.join("simrunner");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();

    let port = free_port();
    let (stack, banner) = main_command_in(&project, port);
    let database = banner
        .iter()
        .position(|l| l.contains("  database"))
        .unwrap();
    let data = banner[database]
        .split("data in ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(')'))
        .expect("the banner says where the data is")
        .to_owned();
    let as_root = banner.iter().any(|l| l.contains("kept there"));
    if as_root {
        // PostgreSQL runs as `postgres`, which cannot enter the private folder.
        assert!(data.starts_with("/var/lib/simrunner/"), "{banner:#?}");
        assert!(banner[database + 1].contains("cannot reach"), "{banner:#?}");
    } else {
        assert!(data.starts_with(project.to_str().unwrap()), "{banner:#?}");
    }
    assert_eq!(get(port, "/healthz").0, 200);
    // The demo is playing: its first run is live.
    let started = Instant::now();
    let demo = loop {
        let (_, list) = get(port, "/v1/admin/simulations");
        if let Some(demo) = list["items"].as_array().and_then(|items| items.first())
            && demo["latest_run"]["status"] == "running"
        {
            break demo["id"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the demo never ran"
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // A second instance on the same folder is refused, and says why.
    let second = Command::new(env!("CARGO_BIN_EXE_simrunner"))
        .current_dir(&project)
        .env_remove("DATABASE_URL")
        .env_remove("SIMRUNNER_DATA_DIR")
        .env("SIMRUNNER_HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));

    // Ctrl-C and start again: the same database, with the demo in it.
    ctrl_c_quietly(stack);
    let port = free_port();
    let (stack, banner) = main_command_in(&project, port);
    assert!(banner.iter().any(|l| l.contains(&data)), "{banner:#?}");
    let (status, detail) = get(port, &format!("/v1/admin/simulations/{demo}"));
    assert_eq!(
        status, 200,
        "the demo config survived the restart: {detail}"
    );
    ctrl_c_quietly(stack);
    if as_root {
        let cluster = std::path::Path::new(&data).parent().unwrap();
        std::fs::remove_dir_all(cluster).unwrap();
    }
    std::fs::remove_dir_all(&private).unwrap();
}

#[test]
fn without_postgresql_the_main_command_says_what_to_install() {
    let empty = std::env::temp_dir().join(format!("simrunner-no-pg-{}", uuid_like()));
    std::fs::create_dir_all(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_simrunner"))
        .current_dir(&empty)
        .env_remove("DATABASE_URL")
        .env("SIMRUNNER_PG_BIN_DIR", &empty)
        .env("SIMRUNNER_HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("SIMRUNNER_PG_BIN_DIR is {}", empty.display())),
        "{stderr}"
    );
    for advice in [
        "apt-get install postgresql",
        "brew install postgresql",
        "DATABASE_URL",
    ] {
        assert!(stderr.contains(advice), "{advice}: {stderr}");
    }
    assert_eq!(
        stderr.matches("were not found").count(),
        1,
        "said once: {stderr}"
    );
    std::fs::remove_dir_all(&empty).unwrap();
}

/// An always-on config with handover through the real stack: fast runs follow each other, and
/// at every moment sampled the config has a table in the public list but never more than one
/// table in play (the next one waits beside the closing one).
#[test]
fn an_always_on_config_with_handover_is_never_without_a_table_nor_over_its_tables() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(fresh_database());
    let data_dir = std::env::temp_dir().join(format!("simrunner-stack-{}", uuid_like()));
    let stack = Stack::spawn_with(
        db,
        data_dir,
        60,
        false,
        vec![("SIMRUNNER_MAX_CONCURRENT_RUNS", "2".into())],
    );
    let created = stack.call("POST", "/v1/admin/simulations", Some(json!({
        "name": "always on", "schedule_type": "always_on", "live_tables": 1, "handover": true,
        "cooldown_minutes": 0, "pace": "fast", "max_hands": ALWAYS_ON_HANDS, "max_run_minutes": 1,
        "agent_slots": [{"type": "callstation"}, {"type": "callstation"}, {"type": "tight"}],
        "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 100000, "actionTimeoutMs": 1000}
    })));
    let id = created["id"].as_str().expect("created").to_owned();
    let activated = stack.call(
        "PATCH",
        &format!("/v1/admin/simulations/{id}"),
        Some(json!({"status": "active"})),
    );
    assert_eq!(activated["status"], "active");
    let samples = runtime.block_on(async {
        let client = stack.db.pool.get().await.unwrap();
        let mut samples: Vec<(i64, i64, i64, i64)> = Vec::new();
        let started = Instant::now();
        loop {
            // (open tables, runs in play, active runs, completed runs), in one snapshot.
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM tables t JOIN simulation_runs r ON r.id = t.run_id
                              WHERE r.config_id = $1 AND t.status = 'open'),
                            (SELECT count(*) FROM simulation_runs WHERE config_id = $1
                              AND status IN ('queued', 'running') AND NOT standby),
                            (SELECT count(*) FROM simulation_runs WHERE config_id = $1
                              AND status IN ('queued', 'running')),
                            (SELECT count(*) FROM simulation_runs WHERE config_id = $1
                              AND status = 'completed')",
                    &[&id],
                )
                .await
                .unwrap();
            samples.push((row.get(0), row.get(1), row.get(2), row.get(3)));
            if row.get::<_, i64>(3) >= 5 {
                return samples;
            }
            assert!(
                started.elapsed() < Duration::from_secs(45),
                "too slow: {:?}",
                samples.last()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let first_table = samples
        .iter()
        .position(|s| s.0 > 0)
        .expect("a table opened");
    for (i, (open, in_play, active, _)) in samples.iter().enumerate().skip(first_table) {
        assert!(*open >= 1, "sample {i}: no table in the list: {samples:?}");
        assert!(*in_play <= 1, "sample {i}: {in_play} tables in play");
        assert!(*active <= 2, "sample {i}: {active} active runs");
    }
    let runs = stack.wait_for_runs(&id, Duration::from_secs(5), |runs| runs.len() >= 5);
    assert!(
        runs.iter().all(|r| r["trigger"] == "always_on"),
        "{runs:#?}"
    );
    assert!(runs.iter().all(|r| r["error"].is_null()), "{runs:#?}");
    stack.stop();
}

/// Hands per run of the always-on test: enough for a fast run to outlast its successor's start.
const ALWAYS_ON_HANDS: i64 = 400;

/// A GET whose body is text (a PHH export).
fn text(url: &str) -> String {
    let out = Command::new("curl").args(["-s", url]).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Each hand's `starting_stacks` and `actions` of a PHH export (what was played, not where
/// or when).
fn played(phhs: &str) -> Vec<String> {
    phhs.split("\n[")
        .map(|hand| {
            let start = hand.find("starting_stacks").expect("starting stacks");
            let end = hand.find("\n]\n").expect("actions") + 2;
            hand[start..end].to_owned()
        })
        .collect()
}

/// Seed F9–F13 against a real platform: a second simrunner. The run creates its table
/// there, seats its bots under identities it registered, starts it, plays every turn over
/// the WebSocket, leaves and stops it; the platform shows the table and the same hands.
#[test]
fn a_run_plays_at_another_simrunner_as_its_platform() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let platform = runtime.block_on(Stack::start(60));
    let runner = runtime.block_on(Stack::start(60));
    let added = runner.call(
        "POST",
        "/v1/admin/platforms",
        Some(json!({"name": "the other simrunner", "base_url": platform.api, "credential": TOKEN})),
    );
    let platform_id = added["id"].as_str().expect("added").to_owned();
    assert_eq!(added["masked_credential"], "****0123", "{added}");
    let check = runner.call(
        "POST",
        &format!("/v1/admin/platforms/{platform_id}/check"),
        None,
    );
    assert_eq!(check["ready"], true, "{check}");
    assert_eq!(check["protocol_version"], "0.1", "{check}");

    let created = runner.call("POST", "/v1/admin/simulations", Some(json!({
        "name": "played elsewhere", "pace": "fast", "max_hands": 6, "host": platform_id,
        "agent_slots": [{"type": "tight"}, {"type": "callstation"}, {"type": "random"}],
        "table_config": {"blinds": {"small": 5, "big": 10}, "initialStack": 1000, "actionTimeoutMs": 3000}
    })));
    let id = created["id"].as_str().expect("created").to_owned();
    assert_eq!(created["host"], platform_id.as_str(), "{created}");
    let started = runner.call("POST", &format!("/v1/admin/simulations/{id}/start"), None);
    assert_eq!(started["status"], "queued", "{started}");
    let runs = runner.wait_for_runs(&id, Duration::from_secs(120), |runs| {
        runs.first()
            .is_some_and(|r| r["status"] != "queued" && r["status"] != "running")
    });
    let run = &runs[0];
    assert_eq!(run["status"], "completed", "{run}");
    // Six hands, unless one seat won every chip sooner (1,000 chips at blinds 5/10 can go
    // in a few all-ins).
    let hands = run["hands_played"].as_u64().expect("hands played");
    let stacks: Vec<i64> = run["results"]["agents"]
        .as_array()
        .expect("results")
        .iter()
        .map(|agent| agent["final_stack"].as_i64().expect("final stack"))
        .collect();
    assert!(
        hands == 6 || (1..6).contains(&hands) && stacks.iter().filter(|s| **s > 0).count() == 1,
        "{run}"
    );
    let watch = run["remote_watch_url"].as_str().expect("a watch link");
    let remote_table = watch
        .strip_prefix(&format!("{}/watch/", platform.api))
        .expect("the platform's own watch page")
        .to_owned();

    // The platform ends the table by its own rules once the seats left (after its pause
    // between hands) and lists it, ended.
    let waiting = Instant::now();
    let table = loop {
        let table = platform.call("GET", &format!("/v1/public/tables/{remote_table}"), None);
        if table["status"] == "ended" || waiting.elapsed() > Duration::from_secs(20) {
            break table;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(table["status"], "ended", "{table}");
    let listed = platform.call("GET", "/v1/public/tables?status=ended", None);
    assert!(listed.to_string().contains(&remote_table), "{listed}");
    let names: Vec<&str> = table["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["sim-tight-0", "sim-callstation-1", "sim-random-2"],
        "{table}"
    );

    // The same hands on both sides: stacks, cards dealt, every action.
    let local_table = run["results"]["table_id"].as_str().expect("local table");
    let here = text(&format!(
        "{}/v1/public/tables/{local_table}/hands.phhs",
        runner.api
    ));
    let there = text(&format!(
        "{}/v1/public/tables/{remote_table}/hands.phhs",
        platform.api
    ));
    assert_eq!(played(&here).len() as u64, hands, "{here}");
    assert_eq!(played(&here), played(&there));

    // Each seat's stable identity was kept for the next run.
    let logs = runner.call(
        "GET",
        &format!(
            "/v1/admin/simulations/runs/{}/logs",
            run["id"].as_str().unwrap()
        ),
        None,
    );
    assert!(
        logs.to_string().contains("platform_table_created"),
        "{logs}"
    );
    assert!(
        !logs.to_string().contains(TOKEN),
        "the credential never reaches a log"
    );
    runner.stop();
    platform.stop();
}

/// The run's tables as the admin API shows them, once there are `count`.
fn run_tables(stack: &Stack, run: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let detail = stack.call("GET", &format!("/v1/admin/simulations/runs/{run}"), None);
        let tables = detail["tables"].as_array().cloned().unwrap_or_default();
        if tables.len() == count {
            return tables;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{detail:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every table's public feed ends with `table_ended`, and its hands are whole: as many
/// `hand_complete` events as finished hands.
fn assert_feeds_ended(stack: &Stack, tables: &[Value]) {
    for table in tables {
        let id = table["id"].as_str().unwrap();
        let detail = stack.call("GET", &format!("/v1/public/tables/{id}"), None);
        assert_eq!(detail["status"], "ended", "{detail:#}");
        let events = stack.call(
            "GET",
            &format!("/v1/public/tables/{id}/events?after=0&limit=500"),
            None,
        );
        let kinds: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"table_opened"), "{id}");
        assert_eq!(kinds.last(), Some(&"table_ended"), "{id}: {kinds:?}");
        let hands = stack.call("GET", &format!("/v1/public/tables/{id}/hands"), None);
        let finished = hands["items"].as_array().unwrap().len();
        assert_eq!(
            kinds.iter().filter(|k| **k == "hand_complete").count(),
            finished,
            "{id}"
        );
    }
}

#[test]
fn a_multi_table_run_is_watched_table_by_table_stopped_and_reaped() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = runtime.block_on(Stack::start(5));
    let created = stack.call("POST", "/v1/admin/simulations", Some(json!({
        "name": "three at once", "tables": 3, "pace": "live", "max_hands": 10_000,
        "agent_slots": [{"type": "callstation"}, {"type": "callstation"}, {"type": "tight"}],
        "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 100000, "actionTimeoutMs": 1000}
    })));
    let id = created["id"].as_str().expect("created").to_owned();
    assert_eq!(created["tables"], 3);

    // Every table is listed and watchable while the run plays.
    let start = || {
        let started = stack.call("POST", &format!("/v1/admin/simulations/{id}/start"), None);
        started["id"].as_str().expect("started").to_owned()
    };
    let run = start();
    let tables = run_tables(&stack, &run, 3);
    let listed = stack.call("GET", "/v1/public/tables?status=live", None);
    for (i, table) in tables.iter().enumerate() {
        let table_id = table["id"].as_str().unwrap();
        let entry = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == table_id)
            .unwrap_or_else(|| panic!("{table_id} not in {listed:#}"));
        assert_eq!(entry["name"], format!("three at once #{}", i + 1));
        let page = text(&format!("{}/watch/{table_id}", stack.api));
        assert!(
            page.contains(&format!("three at once #{}", i + 1)),
            "{page}"
        );
    }
    // Stopping the run stops every table between hands.
    std::thread::sleep(Duration::from_secs(2));
    let stopped = stack.call("POST", &format!("/v1/admin/simulations/{id}/stop"), None);
    assert_eq!(stopped["stopping_run"], run);
    let runs = stack.wait_for_runs(&id, Duration::from_secs(30), |runs| {
        runs.first().is_some_and(|r| r["status"] == "cancelled")
    });
    assert!(runs[0]["error"].is_null(), "{:#}", runs[0]);
    let tables = run_tables(&stack, &run, 3);
    assert!(tables.iter().all(|t| t["status"] == "ended"), "{tables:#?}");
    assert_feeds_ended(&stack, &tables);

    // A killed runner: the reaper fails the run and ends every table's feed.
    let run = start();
    let tables = run_tables(&stack, &run, 3);
    let task: String = runtime.block_on(async {
        let client = stack.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT task_ref FROM simulation_runs WHERE id = $1",
                &[&run],
            )
            .await
            .unwrap()
            .get(0)
    });
    std::thread::sleep(Duration::from_secs(1));
    let pid = task.strip_prefix("pid:").expect("a process task");
    Command::new("kill").args(["-KILL", pid]).status().unwrap();
    let runs = stack.wait_for_runs(&id, Duration::from_secs(60), |runs| {
        runs.len() >= 2 && runs[1]["status"] == "failed"
    });
    assert_eq!(runs[1]["error"]["code"], "runner_lost");
    let started = Instant::now();
    while !run_tables(&stack, &run, 3)
        .iter()
        .all(|t| t["status"] == "ended")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "tables left open"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_feeds_ended(&stack, &tables);
    stack.stop();
}

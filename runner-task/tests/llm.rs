//! LLM agents against a fake provider over real HTTP: every scenario of every provider, in
//! process; then whole runs of the real runner binary on a real PostgreSQL.

mod fake_provider;

use fake_provider::{FakeProvider, KEY};
use poker::{Action, Agent, Choice, Decision, FallbackReason, Reply, Table, TableMemory, Turn};
use runner_task::llm::client::{ProviderClient, http_client};
use runner_task::llm::ledger::SharedLedger;
use runner_task::llm::{LlmAgent, Style};
use serde_json::{Value, json};
use simrunner::domain::{ApiKeyDraft, Provider};
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::settings::Secret;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, queued_run, run_log};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEK: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn client_for(fake: &FakeProvider, provider: Provider) -> Arc<ProviderClient> {
    let env = fake.env();
    let base = match provider {
        Provider::OpenAi => &env[0].1,
        Provider::Anthropic => &env[1].1,
        Provider::Google => &env[2].1,
    };
    Arc::new(ProviderClient::new(
        http_client().unwrap(),
        provider,
        base,
        Secret::new(KEY.to_owned()),
    ))
}

/// The first decision of a fresh 4-seat table: the player after the big blind faces a bet,
/// and may fold, call or raise.
struct Spot {
    table_hand: poker::Hand,
    names: Vec<String>,
    memory: TableMemory,
}

impl Spot {
    fn new() -> Self {
        let mut table = Table::new(4, 1_000, 5, 10, 7);
        let (_, hand) = table.deal(Vec::new()).unwrap();
        Self {
            table_hand: hand,
            names: (0..4).map(|s| format!("sim-seat-{s}")).collect(),
            memory: TableMemory::default(),
        }
    }

    fn turn(&self, timeout: Duration) -> Turn<'_> {
        Turn {
            decision: Decision::of(&self.table_hand).unwrap(),
            hand: &self.table_hand,
            hand_number: 1,
            names: &self.names,
            memory: &self.memory,
            deadline: Instant::now() + timeout,
        }
    }
}

/// One decision of `model` on `provider` with a second to answer (five for the tool loop):
/// the choice and the agent's log entries.
async fn decide(
    fake: &FakeProvider,
    provider: Provider,
    style: Style,
    model: &str,
) -> (Choice, Vec<Value>, SharedLedger) {
    let spot = Spot::new();
    let timeout = match style {
        Style::Protocol => Duration::from_millis(1_000),
        Style::Autonomous => Duration::from_millis(5_000),
    };
    let turn = spot.turn(timeout);
    let ledger = SharedLedger::new(None);
    let slot = ledger
        .lock()
        .add_seat(None, turn.decision.seat, provider.as_str(), model, None);
    let mut agent = LlmAgent::new(
        turn.decision.seat,
        slot,
        style,
        model,
        client_for(fake, provider),
        ledger.clone(),
    );
    let choice = match agent.act(&turn) {
        Reply::Now(choice) => choice,
        Reply::Later(answer) => answer.await,
    };
    let mut log = Vec::new();
    agent.drain_log(&mut log);
    (choice, log, ledger)
}

fn events(log: &[Value]) -> Vec<&str> {
    log.iter()
        .map(|e| e["event"].as_str().unwrap_or("?"))
        .collect()
}

fn error_kinds(log: &[Value]) -> Vec<&str> {
    log.iter()
        .filter(|e| e["event"] == "llm_error")
        .map(|e| e["kind"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_ends_in_the_right_action_and_log_entry_on_every_provider() {
    let fake = FakeProvider::start();
    use FallbackReason::*;
    for provider in Provider::ALL {
        let name = provider.as_str();
        // A legal answer is played; the prompt, the answer, usage and latency are logged.
        let (choice, log, ledger) = decide(&fake, provider, Style::Protocol, "legal").await;
        assert_eq!(choice, Choice::Act(Action::Call), "{name}");
        assert_eq!(events(&log), ["llm_prompt", "llm_response"], "{name}");
        let response = &log[1];
        assert_eq!(response["action"]["action"], "call", "{name}");
        assert_eq!(response["reasoning"], "a reasonable price");
        assert!(
            response["usage"]["input"].as_u64().unwrap() > 100,
            "{name}: {response}"
        );
        assert!(
            response["latency_ms"].is_u64() && response["request_id"].is_string(),
            "{name}"
        );
        assert_eq!(log[0]["hand"], 1);
        assert!(
            log[0]["messages"].as_str().unwrap().contains("hole"),
            "the state is sent"
        );
        assert_eq!(ledger.lock().to_json()["calls"], 1);

        // An out-of-range raise is clamped to all-in and reported.
        let (choice, log, _) = decide(&fake, provider, Style::Protocol, "out-of-range").await;
        assert_eq!(choice, Choice::Act(Action::RaiseTo(1_000)), "{name}");
        assert!(events(&log).contains(&"action_repaired"), "{name}: {log:?}");

        // Unplayable answers become the fallback, each with its reason; the first illegal or
        // malformed answer is asked again once.
        for (model, reason, kinds) in [
            ("illegal", Illegal, &["illegal", "illegal"][..]),
            ("malformed", Malformed, &["malformed", "malformed"][..]),
            ("truncated", Truncated, &["truncated"][..]),
            ("refusal", Refused, &["refused"][..]),
            ("server-error", ProviderError, &["provider_error"][..]),
            ("ratelimit-long", RateLimited, &["rate_limited"][..]),
            ("unauthorized", Auth, &["auth"][..]),
            ("quota", Quota, &["quota"][..]),
        ] {
            let (choice, log, _) = decide(&fake, provider, Style::Protocol, model).await;
            assert_eq!(choice, Choice::Fallback(reason), "{name} {model}: {log:?}");
            assert_eq!(error_kinds(&log), kinds, "{name} {model}: {log:?}");
        }

        // A late answer: the agent gives up at the deadline.
        let started = Instant::now();
        let (choice, log, _) = decide(&fake, provider, Style::Protocol, "slow").await;
        assert_eq!(choice, Choice::Fallback(Timeout), "{name}: {log:?}");
        assert!(
            started.elapsed() < Duration::from_millis(1_300),
            "{:?}",
            started.elapsed()
        );

        // A short rate limit is waited out; a re-asked illegal answer can still be played.
        let (choice, log, _) = decide(&fake, provider, Style::Protocol, "ratelimit-short").await;
        assert_eq!(choice, Choice::Act(Action::Call), "{name}: {log:?}");
        assert_eq!(error_kinds(&log), ["rate_limited"]);
        assert_eq!(
            log.iter().find(|e| e["event"] == "llm_error").unwrap()["retry_in_ms"],
            200
        );
        let (choice, log, _) = decide(&fake, provider, Style::Protocol, "reask").await;
        assert_eq!(choice, Choice::Act(Action::Call), "{name}: {log:?}");
        assert_eq!(
            events(&log),
            [
                "llm_prompt",
                "llm_response",
                "llm_error",
                "llm_prompt",
                "llm_response"
            ]
        );

        // The autonomous agent looks something up, then acts.
        let (choice, log, _) = decide(&fake, provider, Style::Autonomous, "legal").await;
        assert_eq!(choice, Choice::Act(Action::Call), "{name}: {log:?}");
        assert_eq!(
            events(&log),
            [
                "llm_prompt",
                "llm_response",
                "tool_call",
                "tool_result",
                "llm_prompt",
                "llm_response"
            ],
            "{name}"
        );
        assert_eq!(log[2]["name"], "pot_odds");
        assert!(
            log[3]["result"]
                .as_str()
                .unwrap()
                .contains("equity_needed_pct")
        );
    }
    // Every request carried the right key in the right header and had the right shape.
    assert_eq!(fake.violations(), Vec::<String>::new());
    // Nothing the agents logged carries the key.
    for seen in fake.seen() {
        assert!(
            !seen.body.to_string().contains(KEY),
            "a request body holds the key"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_error_ends_the_seats_calls_and_leaves_a_warning_without_the_key() {
    let fake = FakeProvider::start();
    let spot = Spot::new();
    let ledger = SharedLedger::new(None);
    let seat = spot.turn(Duration::from_secs(1)).decision.seat;
    let slot = ledger
        .lock()
        .add_seat(None, seat, "openai", "unauthorized", None);
    let mut agent = LlmAgent::new(
        seat,
        slot,
        Style::Protocol,
        "unauthorized",
        client_for(&fake, Provider::OpenAi),
        ledger.clone(),
    );
    for _ in 0..3 {
        let turn = spot.turn(Duration::from_secs(1));
        let choice = match agent.act(&turn) {
            Reply::Now(choice) => choice,
            Reply::Later(answer) => answer.await,
        };
        assert_eq!(choice, Choice::Fallback(FallbackReason::Auth));
    }
    assert_eq!(fake.calls(), 1, "no call after the key was refused");
    let usage = ledger.lock().to_json();
    let warnings = usage["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["provider"], "openai");
    assert_eq!(warnings[0]["code"], "auth");
    assert_eq!(warnings[0]["status"], 401);
    let mut log = Vec::new();
    agent.drain_log(&mut log);
    let all = format!("{usage}{log:?}");
    assert!(!all.contains(KEY) && !all.contains("7f3a"), "{all}");
}

// ---- whole runs -------------------------------------------------------------------------

async fn store_key(db: &TestDatabase, provider: &str) {
    let keyring = Keyring::new(MasterKey::parse(KEK).unwrap(), Vec::new());
    let key = ApiKeyDraft {
        provider: Some(provider.into()),
        label: Some("test".into()),
        key: Some(Secret::new(KEY.into())),
    }
    .validate()
    .unwrap();
    let client = db.pool.get().await.unwrap();
    simrunner::store::insert_api_key(&client, &keyring, &key)
        .await
        .unwrap();
}

fn runner(db: &TestDatabase, fake: &FakeProvider, run: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runner-task"));
    command
        .env("RUN_ID", run)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_KEY_ENCRYPTION_KEY", KEK)
        .env("SIMRUNNER_HEARTBEAT_SECONDS", "1")
        .env("RUST_LOG", "info")
        .envs(fake.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Every text value in every table of the database, for secrecy scans.
async fn whole_database_text(db: &TestDatabase) -> String {
    let client = db.pool.get().await.unwrap();
    let tables: Vec<String> = client
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut text = String::new();
    for table in tables {
        for row in client
            .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
            .await
            .unwrap()
        {
            text.push_str(row.get::<_, &str>(0));
            text.push('\n');
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_two_llm_seats_and_two_bots_completes_with_every_hand_recorded() {
    let db = fresh_database().await;
    let fake = FakeProvider::start();
    store_key(&db, "openai").await;
    store_key(&db, "anthropic").await;
    let config = bot_simulation(
        &db,
        &[
            "protocol=openai:legal",
            "random",
            "autonomous=anthropic:legal",
            "tight",
        ],
        "fast",
        25,
        (5, 10),
        1_000,
    )
    .await;
    let run = queued_run(&db, &config, None).await.to_string();
    let output = runner(&db, &fake, &run).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(KEY) && !String::from_utf8_lossy(&output.stdout).contains(KEY));

    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, hands_played, llm_usage, results, table_id FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "completed");
    let played: i64 = row.get(1);
    let table: String = row.get(4);
    let hands: i64 = client
        .query_one("SELECT count(*) FROM hands WHERE table_id = $1", &[&table])
        .await
        .unwrap()
        .get(0);
    assert!(
        played > 0 && hands == played,
        "{hands} hands recorded of {played}"
    );
    let usage: Value = row.get(2);
    let seats = usage["seats"].as_array().unwrap();
    assert_eq!(seats.len(), 2, "{usage}");
    for seat in seats {
        assert!(seat["decisions"].as_u64().unwrap() > 0, "{seat}");
        assert_eq!(seat["fallbacks"], 0, "{seat}");
        assert!(seat["tokens"]["input"].as_u64().unwrap() > 0);
    }
    assert_eq!(usage["seats"][0]["model"], "legal");
    let results: Value = row.get(3);
    assert_eq!(results["budget_exhausted"], false);

    // Each LLM seat's stream: agent_start, then prompts and answers for every decision,
    // agent_stop with the totals.
    for (stream, decisions) in [
        ("agent-0-protocol", &seats[0]["decisions"]),
        ("agent-2-autonomous", &seats[1]["decisions"]),
    ] {
        let log = run_log(&db, &run, stream).await;
        assert_eq!(log.first().unwrap()["event"], "agent_start", "{stream}");
        assert_eq!(log.last().unwrap()["event"], "agent_stop", "{stream}");
        let answered = log
            .iter()
            .filter(|e| e["event"] == "llm_response" && e.get("action").is_some())
            .count() as u64;
        assert_eq!(
            answered,
            decisions.as_u64().unwrap(),
            "{stream}: one parsed answer per decision"
        );
        assert!(log.iter().all(|e| e["event"] == "agent_start"
            || e["event"] == "agent_stop"
            || e["hand"].is_i64()));
    }
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(
        !whole_database_text(&db).await.contains(KEY),
        "the key is stored in clear somewhere"
    );
}

/// Plays a 15-hand fast run of two LLM seats and two callstations and returns its
/// `llm_usage` and `results`.
async fn llm_run(
    db: &TestDatabase,
    fake: &FakeProvider,
    slots: [&str; 2],
    budget_cents: Option<i64>,
    prices: &str,
) -> (String, Value, Value) {
    let config = bot_simulation(
        db,
        &[slots[0], slots[1], "callstation", "callstation"],
        "fast",
        15,
        (1, 2),
        1_000,
    )
    .await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET max_llm_cost_cents = $2 WHERE id = $1",
            &[&config.as_str(), &budget_cents],
        )
        .await
        .unwrap();
    let run = queued_run(db, &config, None).await.to_string();
    let output = runner(db, fake, &run)
        .env("SIMRUNNER_LLM_PRICES", prices)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let row = client
        .query_one(
            "SELECT llm_usage, results FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    (run, row.get(0), row.get(1))
}

fn fallback_reasons(log: &[Value]) -> Vec<&str> {
    log.iter()
        .filter(|e| e["event"] == "fallback")
        .map(|e| e["reason"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_error_ends_a_seats_calls_for_the_run_and_is_recorded() {
    let db = fresh_database().await;
    let fake = FakeProvider::start();
    store_key(&db, "openai").await;
    store_key(&db, "google").await;
    let (run, usage, results) = llm_run(
        &db,
        &fake,
        ["protocol=google:quota", "protocol=openai:legal"],
        None,
        "{}",
    )
    .await;
    let warnings = results["llm_warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{usage}");
    assert_eq!(
        (
            warnings[0]["provider"].as_str(),
            warnings[0]["code"].as_str()
        ),
        (Some("google"), Some("quota"))
    );
    assert!(!warnings[0]["message"].as_str().unwrap().contains(KEY));
    assert_eq!(usage["warnings"], results["llm_warnings"]);
    let calls = |p: &str| fake.seen().iter().filter(|s| s.provider == p).count();
    assert_eq!(calls("google"), 1, "no call after the quota error");
    let google = run_log(&db, &run, "agent-0-protocol").await;
    let reasons = fallback_reasons(&google);
    assert!(
        reasons.len() > 1 && reasons.iter().all(|r| *r == "quota"),
        "{reasons:?}"
    );
    assert_eq!(
        usage["seats"][0]["fallbacks"],
        usage["seats"][0]["decisions"]
    );
    assert_eq!(
        usage["seats"][1]["fallbacks"], 0,
        "the other seat plays on: {usage}"
    );
    assert_eq!(results["budget_exhausted"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_turns_every_llm_seat_into_fallbacks() {
    let db = fresh_database().await;
    let fake = FakeProvider::start();
    store_key(&db, "openai").await;
    store_key(&db, "anthropic").await;
    // Priced so that the first answer costs more than the one-cent budget.
    let prices = r#"{"openai:legal": {"input": 100, "output": 100}}"#;
    let (run, usage, results) = llm_run(
        &db,
        &fake,
        ["protocol=openai:legal", "protocol=anthropic:legal"],
        Some(1),
        prices,
    )
    .await;
    assert_eq!(usage["budget_exhausted"], true, "{usage}");
    assert_eq!(results["budget_exhausted"], true);
    assert_eq!(usage["budget_usd"], 0.01);
    assert!(usage["cost_usd"].as_f64().unwrap() >= 0.01, "{usage}");
    assert_eq!(
        usage["seats"][1]["cost_usd"],
        Value::Null,
        "anthropic:legal has no price, so only its tokens count: {usage}"
    );
    let decisions = |n: usize| usage["seats"][n]["decisions"].as_u64().unwrap();
    let fallbacks = |n: usize| usage["seats"][n]["fallbacks"].as_u64().unwrap();
    let calls = usage["calls"].as_u64().unwrap();
    assert_eq!(
        fallbacks(0) + fallbacks(1) + calls,
        decisions(0) + decisions(1),
        "{usage}"
    );
    assert!(
        (1..=2).contains(&calls),
        "the first priced answer spent the budget: {usage}"
    );
    for stream in ["agent-0-protocol", "agent-1-protocol"] {
        let log = run_log(&db, &run, stream).await;
        assert!(
            fallback_reasons(&log)
                .iter()
                .all(|r| *r == "budget_exhausted"),
            "{stream}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_or_an_unknown_model_marks_the_run_degraded_and_flags_the_key() {
    let db = fresh_database().await;
    let fake = FakeProvider::start();
    store_key(&db, "openai").await;
    store_key(&db, "anthropic").await;
    store_key(&db, "google").await;
    let config = bot_simulation(
        &db,
        &[
            "protocol=openai:unauthorized",
            "protocol=google:no-such-model",
            "protocol=anthropic:legal",
            "callstation",
        ],
        "fast",
        10,
        (1, 2),
        1_000,
    )
    .await;
    // Room for a slow machine: a late answer would add a `timeouts` reason of its own.
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE simulation_configs SET action_timeout_ms = 30000 WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap();
    let run = queued_run(&db, &config, None).await.to_string();
    let output = runner(&db, &fake, &run).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, degraded_reasons, decisions, fallbacks, llm_usage FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, &str>(0),
        "completed",
        "a degraded run still completes"
    );
    let reasons: Value = row.get(1);
    let codes: Vec<(&str, i64)> = reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["seat"].as_i64().unwrap()))
        .collect();
    assert_eq!(codes, [("auth", 0), ("model_not_found", 1)], "{reasons}");
    // The run's counts are its LLM seats' (no outside seats here).
    let usage: Value = row.get(4);
    let sum = |field: &str| -> i64 {
        usage["seats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[field].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        (row.get::<_, i64>(2), row.get::<_, i64>(3)),
        (sum("decisions"), sum("fallbacks"))
    );
    assert_eq!(usage["seats"][2]["fallbacks"], 0, "{usage}");
    assert!(!reasons.to_string().contains(KEY));
    // The refused key is flagged; the ones that answered have worked.
    let keys: Vec<(String, bool, bool)> = client
        .query(
            "SELECT provider, auth_failed_at IS NOT NULL, last_worked_at IS NOT NULL
               FROM provider_api_keys ORDER BY provider",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        keys,
        [
            ("anthropic".into(), false, true),
            ("google".into(), false, false),
            ("openai".into(), true, false)
        ]
    );
    // The task's log carries the run's end as CloudWatch metrics.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let emf: Value = stdout
        .lines()
        .find_map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(|v| v.get("_aws").is_some())
        })
        .expect("an embedded-metric line");
    assert_eq!(
        (emf["RunsEnded"].clone(), emf["RunsDegraded"].clone()),
        (json!(1.0), json!(1.0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_of_a_run_wait_for_their_models_side_by_side() {
    let db = fresh_database().await;
    let fake = FakeProvider::start();
    store_key(&db, "openai").await;
    // Each of 4 tables has a model that takes 0.3 s to answer, and two callstations.
    let config = bot_simulation(
        &db,
        &["protocol=openai:patient", "callstation", "callstation"],
        "fast",
        3,
        (1, 2),
        1_000,
    )
    .await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET tables = 4 WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap();
    let run = queued_run(&db, &config, None).await.to_string();
    let output = runner(&db, &fake, &run).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let row = client
        .query_one(
            "SELECT status, llm_usage, fallbacks,
                    (SELECT count(*) FROM hands h JOIN tables t ON t.id = h.table_id
                      WHERE t.run_id = r.id)
               FROM simulation_runs r WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, i64>(3), 12, "3 hands at each of 4 tables");
    assert_eq!(row.get::<_, i64>(2), 0, "no seat waited past its timeout");
    // One ledger for the run: each table's seat has its entry.
    let usage: Value = row.get(1);
    let tables: Vec<i64> = usage["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["table"].as_i64().unwrap())
        .collect();
    assert_eq!(tables, [1, 2, 3, 4]);
    assert!(
        fake.most_in_flight() >= 2,
        "while one table's model thought, another table's was asked too (at most {} at once)",
        fake.most_in_flight()
    );
}

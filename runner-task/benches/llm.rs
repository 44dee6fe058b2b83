//! LLM agent benchmark: `cargo bench -p runner-task --bench llm`.
//!
//! Against a fake provider that answers at once (real HTTP on 127.0.0.1), prints:
//! - our own overhead per LLM decision, in process: game state, request body, the HTTP
//!   exchange on loopback, parsing, validation and log entries (p50, p99; target p99 <= 2 ms);
//! - decisions per second of a 6-seat all-LLM table at fast pace, the real runner binary
//!   recording everything in PostgreSQL (target >= 500);
//! - prompt tokens per decision at hand 1 and at hand 200 of that run (flat);
//! - peak resident memory of the runner with 9 LLM seats (target <= 32 MiB).

#[path = "../tests/fake_provider/mod.rs"]
mod fake_provider;

use fake_provider::{FakeProvider, KEY};
use poker::{Agent, Decision, Reply, Table, TableMemory, Turn, play_out};
use runner_task::llm::client::{ProviderClient, http_client};
use runner_task::llm::ledger::SharedLedger;
use runner_task::llm::{LlmAgent, Style};
use serde_json::Value;
use simrunner::domain::{ApiKeyDraft, Provider};
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::settings::Secret;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, queued_run};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEK: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Decisions of one protocol seat, each at a fresh turn of a table that has played 50 hands.
async fn decision_overhead(fake: &FakeProvider) -> Vec<Duration> {
    let mut table = Table::new(6, 10_000, 5, 10, 11);
    let mut memory = TableMemory::default();
    let mut bots: Vec<Box<dyn poker::Bot>> = (0..6)
        .map(|s| Box::new(poker::RandomBot::new(s)) as Box<dyn poker::Bot>)
        .collect();
    for number in 1..=50 {
        // Random bots bust each other: a table down to one player is replaced.
        let mut hand = loop {
            match table.deal(Vec::new()) {
                Some((_, hand)) => break hand,
                None => table = Table::new(6, 10_000, 5, 10, number as u64),
            }
        };
        play_out(&mut hand, &mut bots);
        table.settle(&hand);
        memory.observe(number, &hand);
    }
    let names: Vec<String> = (0..6).map(|s| format!("sim-protocol-{s}")).collect();
    let base = format!("http://{}/openai/v1", fake.addr);
    let client = Arc::new(ProviderClient::new(
        http_client().unwrap(),
        Provider::OpenAi,
        &base,
        Secret::new(KEY.into()),
    ));
    let ledger = SharedLedger::new(None);
    let mut agents: Vec<LlmAgent> = (0..6)
        .map(|seat| {
            let slot = ledger
                .lock()
                .add_seat(None, seat, "openai", "instant", None);
            LlmAgent::new(
                seat,
                slot,
                Style::Protocol,
                "instant",
                client.clone(),
                ledger.clone(),
            )
        })
        .collect();
    let mut timings = Vec::new();
    let mut log = Vec::new();
    while timings.len() < 3_000 {
        let Some((_, mut hand)) = table.deal(Vec::new()) else {
            table = Table::new(6, 10_000, 5, 10, timings.len() as u64);
            continue;
        };
        while let Some(decision) = Decision::of(&hand) {
            let started = Instant::now();
            let turn = Turn {
                decision,
                hand: &hand,
                hand_number: 51,
                names: &names,
                memory: &memory,
                deadline: Instant::now() + Duration::from_secs(5),
            };
            let agent = &mut agents[decision.seat];
            let choice = match agent.act(&turn) {
                Reply::Now(choice) => choice,
                Reply::Later(answer) => answer.await,
            };
            agent.drain_log(&mut log);
            log.clear();
            timings.push(started.elapsed());
            let (action, _) = choice.resolve(&decision.legal);
            hand.apply(action).unwrap();
        }
        table.settle(&hand);
    }
    timings.sort();
    timings
}

async fn store_keys(db: &TestDatabase) {
    let keyring = Keyring::new(MasterKey::parse(KEK).unwrap(), Vec::new());
    let client = db.pool.get().await.unwrap();
    for provider in ["openai", "anthropic", "google"] {
        let key = ApiKeyDraft {
            provider: Some(provider.into()),
            label: Some("bench".into()),
            key: Some(Secret::new(KEY.into())),
        }
        .validate()
        .unwrap();
        simrunner::store::insert_api_key(&client, &keyring, &key)
            .await
            .unwrap();
    }
}

/// Runs the runner binary on a fresh run of `slots`; returns (seconds, peak RSS in KiB, run).
async fn run(
    db: &TestDatabase,
    fake: &FakeProvider,
    slots: &[&str],
    hands: i64,
) -> (f64, u64, String) {
    let config = bot_simulation(db, slots, "fast", hands, (1, 2), 1_000_000).await;
    let run = queued_run(db, &config, Some(7)).await.to_string();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", &run)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_KEY_ENCRYPTION_KEY", KEK)
        .env("RUST_LOG", "warn")
        .envs(fake.env())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = peak.max(line.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (started.elapsed().as_secs_f64(), peak, run)
}

async fn llm_usage(db: &TestDatabase, run: &str) -> Value {
    let client = db.pool.get().await.unwrap();
    client
        .query_one(
            "SELECT llm_usage FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap()
        .get(0)
}

/// Mean prompt tokens of the decisions of hand `hand`.
async fn prompt_tokens(db: &TestDatabase, run: &str, hand: i64) -> f64 {
    let client = db.pool.get().await.unwrap();
    client
        .query_one(
            "SELECT avg((entry->'usage'->>'input')::float8) FROM run_log_entries
              WHERE run_id = $1 AND entry->>'event' = 'llm_response'
                AND (entry->>'hand')::int8 = $2",
            &[&run, &hand],
        )
        .await
        .unwrap()
        .get::<_, Option<f64>>(0)
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fake = FakeProvider::start_light();
    let timings = decision_overhead(&fake).await;
    println!("\nLLM agent benchmark (fake provider answering at once on 127.0.0.1)");
    println!(
        "  decision overhead, protocol seat on OpenAI's format, {} decisions: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        timings.len(),
        percentile(&timings, 0.50),
        percentile(&timings, 0.99),
        percentile(&timings, 1.0),
    );

    let db = fresh_database().await;
    store_keys(&db).await;
    let six = [
        "protocol=openai:instant",
        "protocol=anthropic:instant",
        "protocol=google:instant",
        "protocol=openai:instant",
        "protocol=anthropic:instant",
        "protocol=google:instant",
    ];
    let (seconds, _, run6) = run(&db, &fake, &six, 250).await;
    let usage = llm_usage(&db, &run6).await;
    let decisions: u64 = usage["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["decisions"].as_u64().unwrap())
        .sum();
    let (first, late) = (
        prompt_tokens(&db, &run6, 1).await,
        prompt_tokens(&db, &run6, 200).await,
    );
    println!(
        "  6 LLM seats, fast pace, recorded: {decisions} decisions in {seconds:.2} s (exec to exit): {:.0} decisions/s",
        decisions as f64 / seconds
    );
    println!("  prompt tokens per decision: hand 1 {first:.0}, hand 200 {late:.0}");

    let nine: Vec<&str> = six.iter().chain(&six[..3]).copied().collect();
    let (seconds9, peak9, run9) = run(&db, &fake, &nine, 100).await;
    let usage9 = llm_usage(&db, &run9).await;
    println!(
        "  9 LLM seats: {} decisions in {seconds9:.2} s, peak RSS {:.1} MiB",
        usage9["seats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["decisions"].as_u64().unwrap())
            .sum::<u64>(),
        peak9 as f64 / 1024.0
    );
}

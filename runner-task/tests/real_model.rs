//! A run against a real model: llama.cpp's OpenAI-compatible server on CPU with the tiny
//! SmolLM2-135M-Instruct (both installed from PyPI into `.venv-llama` by `infra/test.sh`),
//! reached as `openai:smollm2` through `SIMRUNNER_OPENAI_BASE_URL`. A model this small plays
//! badly; the test checks that every decision was answered, parsed, validated and recorded.

use serde_json::Value;
use simrunner::domain::ApiKeyDraft;
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::settings::Secret;
use simrunner::testing::{bot_simulation, fresh_database, queued_run};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const KEK: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f05f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The llama.cpp server, stopped when the test ends (and by its own watchdog should the test
/// process die).
struct LlamaServer {
    child: Child,
    url: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_llama_server() -> LlamaServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-llama/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./infra/test.sh, which installs xllamacpp and the model there",
        python.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(python)
        .arg(root.join("infra/llama_server.py"))
        .args([port.to_string(), std::process::id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("ready"),
        "the llama.cpp server did not start: {line:?}"
    );
    LlamaServer {
        child,
        url: format!("http://127.0.0.1:{port}/v1"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_model_plays_a_short_run_and_every_decision_is_parsed_and_recorded() {
    let llama = start_llama_server();
    let db = fresh_database().await;
    let keyring = Keyring::new(MasterKey::parse(KEK).unwrap(), Vec::new());
    let key = ApiKeyDraft {
        provider: Some("openai".into()),
        label: Some("llama.cpp".into()),
        // llama.cpp ignores it; the runner still sends it as a bearer token.
        key: Some(Secret::new("sk-local-llama-cpp".into())),
    }
    .validate()
    .unwrap();
    let client = db.pool.get().await.unwrap();
    simrunner::store::insert_api_key(&client, &keyring, &key)
        .await
        .unwrap();
    // Heads-up against a callstation: a few LLM decisions per hand.
    let config = bot_simulation(
        &db,
        &["protocol=openai:smollm2", "callstation"],
        "fast",
        3,
        (5, 10),
        1_000,
    )
    .await;
    // Two minutes per decision: a slow CPU must not turn the test into a test of timeouts.
    client
        .execute(
            "UPDATE simulation_configs SET action_timeout_ms = 120000 WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap();
    let run = queued_run(&db, &config, Some(3)).await.to_string();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", &run)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_KEY_ENCRYPTION_KEY", KEK)
        .env("SIMRUNNER_OPENAI_BASE_URL", &llama.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let elapsed = started.elapsed();

    let row = client
        .query_one(
            "SELECT status, hands_played, llm_usage FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "completed");
    let usage: Value = row.get(2);
    let seat = &usage["seats"][0];
    let decisions = seat["decisions"].as_u64().unwrap();
    assert!(decisions > 0, "{usage}");
    assert!(
        seat["tokens"]["input"].as_u64().unwrap() > 100,
        "llama.cpp reported usage: {usage}"
    );

    let entries: Vec<Value> = client
        .query(
            "SELECT entry::text FROM run_log_entries WHERE run_id = $1 AND stream = 'agent-0-protocol' ORDER BY seq",
            &[&run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
        .collect();
    let count = |event: &str| entries.iter().filter(|e| e["event"] == event).count() as u64;
    let parsed = entries
        .iter()
        .filter(|e| e["event"] == "llm_response" && e["action"].is_object())
        .count() as u64;
    let fallbacks: Vec<&Value> = entries
        .iter()
        .filter(|e| e["event"] == "fallback")
        .collect();
    // Every decision got an answer (grammar-constrained JSON): parsed and validated into an
    // action, parsed and refused as illegal (after a re-ask), or cut off at the token limit
    // when the tiny model rambled (recorded as `truncated`). None timed out or failed.
    assert!(parsed > 0, "the model decided at least once: {entries:#?}");
    assert_eq!(
        count("llm_prompt"),
        count("llm_response"),
        "every prompt was answered"
    );
    for fallback in &fallbacks {
        assert!(
            matches!(fallback["reason"].as_str(), Some("illegal" | "truncated")),
            "{fallback}"
        );
    }
    // A complete answer (not cut off) always parses: it carries the answer, or validation
    // refused it as illegal; nothing was malformed.
    let complete = entries
        .iter()
        .filter(|e| e["event"] == "llm_response" && e["finish_reason"] == "stop")
        .count();
    let with_answer = entries
        .iter()
        .filter(|e| e["event"] == "llm_response" && e["answer"].is_object())
        .count();
    let errors = |kind: &str| {
        entries
            .iter()
            .filter(|e| e["event"] == "llm_error" && e["kind"] == kind)
            .count()
    };
    assert_eq!(errors("malformed"), 0, "{entries:#?}");
    assert_eq!(complete, with_answer + errors("illegal"), "{entries:#?}");
    assert_eq!(parsed + fallbacks.len() as u64, decisions, "{entries:#?}");
    println!(
        "real model: {decisions} decisions ({parsed} played as answered, {} fallbacks) in {:.1} s",
        fallbacks.len(),
        elapsed.as_secs_f64()
    );
}

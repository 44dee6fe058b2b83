//! Outside agents benchmark: `cargo bench -p local-stack --bench agents`.
//!
//! Runs the real `simrunner` (release build) against a fresh database and prints:
//! - one table of 9 external seats played by 9 WebSocket agents written here, which answer at
//!   once (check, else call): actions per second at that table (fast pace: no pauses between
//!   hands), and the time from an agent's action frame to the next `game_state` it receives,
//!   p50 / p99 / max, over `BENCH_HANDS` hands (default 200);
//! - `IDLE_CONNECTIONS` (default 1,000) idle agent connections held by the local gateway:
//!   the server's resident memory before and with them, and per connection.
//!
//! Target from the issue: p99 action -> next state <= 50 ms locally. Printed, never asserted.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use simrunner::secrets::{random_token, token_hash};
use std::net::SocketAddr;

use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{admin, env_number, free_addr, listening, rss_kib, spawn_server};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A JSON POST over a fresh loopback connection, with an optional bearer key.
async fn post(addr: SocketAddr, path: &str, key: Option<&str>, body: Value) -> Value {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// One agent: joins, plays at once whenever it is its turn, and records the time from each
/// action it sends to the next state it receives.
async fn play(addr: SocketAddr, table: String, name: String) -> (usize, Vec<Duration>) {
    let agent = post(addr, "/v1/agents", None, json!({"name": name})).await;
    let key = agent["api_key"].as_str().expect("registered").to_owned();
    let joined = post(
        addr,
        &format!("/v1/tables/{table}/join"),
        Some(&key),
        json!({}),
    )
    .await;
    let url = format!(
        "{}?token={}&format=agent",
        joined["ws_url"].as_str().expect("joined"),
        joined["session_token"].as_str().unwrap()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .unwrap();
    let (mut actions, mut latencies) = (0, Vec::new());
    let mut sent: Option<Instant> = None;
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let state: Value = serde_json::from_str(text.as_str()).unwrap();
        match state["type"].as_str() {
            Some("game_state") => {
                if let Some(at) = sent.take() {
                    latencies.push(at.elapsed());
                }
                if let Some(token) = state["turn_token"].as_str() {
                    let check = state["actions"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["kind"] == "check"));
                    let frame = json!({"type": "action", "expected_seq": state["seq"],
                        "action": {"turn_token": token, "kind": if check { "check" } else { "call" }}});
                    sent = Some(Instant::now());
                    socket
                        .send(Message::Text(frame.to_string().into()))
                        .await
                        .unwrap();
                    actions += 1;
                }
            }
            Some("table_status") if state["status"] == "ended" => break,
            _ => {}
        }
    }
    (actions, latencies)
}

/// Waiting tables with `seats` external seats each, taken by fresh agents: their session
/// tokens. Written straight into the database; a `running` run keeps the reaper off them.
async fn idle_sessions(db: &simrunner::testing::TestDatabase, count: usize) -> Vec<String> {
    let config =
        simrunner::testing::bot_simulation(db, &["external"; 9], "live", 1, (1, 2), 100).await;
    let client = db.pool.get().await.unwrap();
    let run = simrunner::domain::RunId::generate();
    client
        .execute(
            "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key, started_at,
                 heartbeat_at)
             VALUES ($1, $2, 'running', 'manual', $1, now(), now())",
            &[&run.as_str(), &config.as_str()],
        )
        .await
        .unwrap();
    let mut tokens = Vec::with_capacity(count);
    for chunk in 0..count.div_ceil(9) {
        let table = format!("tbl_{}", simrunner::secrets::random_hex(16));
        client
            .execute(
                "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                     action_timeout_ms, seats)
                 VALUES ($1, $2, 'bench', 1, 2, 100, 1000, '[]')",
                &[&table, &run.as_str()],
            )
            .await
            .unwrap();
        for seat in 0..9.min(count - chunk * 9) {
            let agent = simrunner::domain::AgentId::generate();
            let token = random_token("ses_");
            client
                .execute(
                    "INSERT INTO agents (id, name, key_hash, created_by) VALUES ($1, 'idle', $2, 'admin')",
                    &[&agent.as_str(), &token_hash(&random_token("agk_")).as_slice()],
                )
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO table_seats (table_id, seat, agent_id, session_hash, joined_at)
                     VALUES ($1, $2, $3, $4, now())",
                    &[
                        &table,
                        &(seat as i16),
                        &agent.as_str(),
                        &token_hash(&token).as_slice(),
                    ],
                )
                .await
                .unwrap();
            tokens.push(token);
        }
    }
    tokens
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hands = env_number("BENCH_HANDS", 200);
    let idle = env_number("IDLE_CONNECTIONS", 1_000) as usize;
    let db = simrunner::testing::fresh_database().await;
    let addr = free_addr();
    let data_dir =
        std::env::temp_dir().join(format!("simrunner-agents-bench-{}", std::process::id()));
    let mut server = spawn_server(
        &db.url,
        addr,
        &data_dir,
        &[("SIMRUNNER_AGENT_REQUESTS_PER_MINUTE", "100000")],
    );
    listening(addr).await;

    let created = admin(addr, "POST", "/v1/admin/simulations", json!({
        "name": "agents bench", "pace": "fast", "max_hands": hands, "max_run_minutes": 30,
        "agent_slots": vec![json!({"type": "external"}); 9], "join_timeout_seconds": 60,
        "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 1000000, "actionTimeoutMs": 10000}
    })).await;
    let id = created["id"].as_str().expect("created").to_owned();
    let run = admin(
        addr,
        "POST",
        &format!("/v1/admin/simulations/{id}/start"),
        json!({}),
    )
    .await;
    let run = run["id"].as_str().expect("started").to_owned();
    let table = loop {
        let answer = admin(
            addr,
            "GET",
            &format!("/v1/admin/simulations/runs/{run}"),
            json!(null),
        )
        .await;
        if let Some(table) = answer["table_id"].as_str() {
            break table.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let started = Instant::now();
    let agents: Vec<_> = (0..9)
        .map(|i| tokio::spawn(play(addr, table.clone(), format!("bench agent {i}"))))
        .collect();
    let (mut actions, mut latencies) = (0, Vec::new());
    for agent in agents {
        let (a, l) = agent.await.unwrap();
        actions += a;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort();

    let tokens = idle_sessions(&db, idle).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(server.id());
    let ws = format!("ws://{addr}/v1/ws");
    let mut sockets = Vec::with_capacity(idle);
    for token in &tokens {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("{ws}?token={token}&format=agent"))
                .await
                .unwrap();
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with = rss_kib(server.id());
    drop(sockets);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\noutside agents benchmark (2 cores shared by PostgreSQL, server, runner and agents)"
    );
    println!(
        "  one table, 9 WebSocket agents answering at once, fast pace, {hands} hands: {actions} \
         actions in {:.1} s = {:.0} actions/s",
        elapsed.as_secs_f64(),
        actions as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  action -> next game_state at that agent ({} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    println!(
        "  {idle} idle agent connections: server RSS {:.1} MiB -> {:.1} MiB, {:.1} KiB per connection",
        before as f64 / 1024.0,
        with as f64 / 1024.0,
        (with.saturating_sub(before)) as f64 / idle as f64
    );
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

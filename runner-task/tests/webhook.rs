//! Webhook seats in whole runs of the real runner binary on a real PostgreSQL, against
//! receivers written here on 127.0.0.1 (reachable because the runner is given
//! `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on`, except where a test checks refusals). Every
//! receiver verifies the Standard Webhooks signature with its own code, not the runner's.

mod fake_provider;
mod played;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fake_provider::serve;
use hmac::{Hmac, Mac};
use played::{KEK, play_run};
use serde_json::{Value, json};
use sha2::Sha256;
use simrunner::domain::{WebhookDraft, WebhookPolicy};
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::testing::{
    TestDatabase, bot_simulation, counting_listener, fresh_database, queued_run, run_log,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- receivers ----------------------------------------------------------------------------

#[derive(Default)]
struct Shared {
    /// The signing key of each path's endpoint.
    keys: Mutex<HashMap<String, Vec<u8>>>,
    /// What `/play` answered, in order.
    answers: Mutex<Vec<Value>>,
    /// Every way a request was not what the seat should send.
    violations: Mutex<Vec<String>>,
    requests: AtomicUsize,
    /// Where `/redirect` points.
    redirect_to: Mutex<String>,
}

/// A webhook receiver on 127.0.0.1, answering by path: `play` (verifies everything, plays),
/// `slow` (3 s), `garbage` (not JSON), `error` (500), `illegal` (a raise below the minimum),
/// `redirect` (307 elsewhere).
struct Receiver {
    port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/{scenario}", post(receive))
            .with_state(shared.clone());
        Self {
            port: serve(app).port(),
            shared,
        }
    }

    fn url(&self, scenario: &str) -> String {
        format!("http://127.0.0.1:{}/{scenario}", self.port)
    }

    fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    fn answers(&self) -> Vec<Value> {
        self.shared.answers.lock().unwrap().clone()
    }
}

/// The Standard Webhooks check, written independently of the runner's signer.
fn verify(headers: &HeaderMap, body: &[u8], key: &[u8]) -> Result<String, String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(format!("no {name} header"))
    };
    let (id, timestamp, signatures) = (
        header("webhook-id")?,
        header("webhook-timestamp")?,
        header("webhook-signature")?,
    );
    let sent: i64 = timestamp.parse().map_err(|_| "a bad timestamp")?;
    if (chrono::Utc::now().timestamp() - sent).abs() > 300 {
        return Err(format!("timestamp {sent} is not now"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    if !signatures.split(' ').any(|s| s == expected) {
        return Err(format!("signature {signatures:?} does not verify"));
    }
    Ok(id.to_owned())
}

/// What `/play` answers: a min-raise every third decision when it may, else call or check.
fn play(state: &Value, decision: usize) -> Value {
    let actions = state["actions"].as_array().cloned().unwrap_or_default();
    let offered = |kind: &str| actions.iter().find(|a| a["kind"] == kind);
    match (offered("raiseTo"), offered("call")) {
        (Some(raise), _) if decision.is_multiple_of(3) => {
            json!({"kind": "raiseTo", "amount": raise["min"]})
        }
        (_, Some(_)) => json!({"kind": "call"}),
        _ => json!({"kind": "check"}),
    }
}

/// Checks the body `/play` received: the seat's own state, its deadline, the message id.
fn check_state(state: &Value, message_id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let now = chrono::Utc::now().timestamp_millis();
    let seat = &state["seat"];
    if state["type"] != "game_state" || state["turn"] != *seat {
        problems.push(format!("not this seat's turn: {state}"));
    }
    if state["turn_token"] != message_id {
        problems.push("turn_token is not the webhook-id".into());
    }
    let deadline = state["deadline"].as_i64().unwrap_or(0);
    let timeout = state["timeout_ms"].as_i64().unwrap_or(0);
    if !(now..=now + 1_000).contains(&deadline) || !(1..=1_000).contains(&timeout) {
        problems.push(format!(
            "deadline {deadline} / timeout_ms {timeout} at {now}"
        ));
    }
    if !state["table_id"]
        .as_str()
        .is_some_and(|t| t.starts_with("tbl_"))
    {
        problems.push("no table_id".into());
    }
    for player in state["players"].as_array().into_iter().flatten() {
        if player.get("cards").is_some() != (player["seat"] == *seat) {
            problems.push(format!("cards shown wrongly: {player}"));
        }
    }
    problems
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(scenario): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let decision = shared.requests.fetch_add(1, Ordering::SeqCst);
    let key = shared.keys.lock().unwrap().get(&scenario).cloned();
    let verified = match key {
        Some(key) => verify(&headers, &body, &key),
        None => Err(format!("no endpoint for /{scenario}")),
    };
    let message_id = match verified {
        Ok(id) => id,
        Err(problem) => {
            shared.violations.lock().unwrap().push(problem);
            return StatusCode::UNAUTHORIZED.into_response();
        }
    };
    let state: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match scenario.as_str() {
        "play" => {
            let problems = check_state(&state, &message_id);
            shared.violations.lock().unwrap().extend(problems);
            let answer = play(&state, decision);
            shared.answers.lock().unwrap().push(answer.clone());
            axum::Json(answer).into_response()
        }
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({"kind": "call"})).into_response()
        }
        "garbage" => "<html>not an action</html>".into_response(),
        "error" => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "illegal" => axum::Json(json!({"kind": "raiseTo", "amount": 1})).into_response(),
        "redirect" => {
            let to = shared.redirect_to.lock().unwrap().clone();
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A receiver whose 200 answer never ends: 16 KiB after 16 KiB, until the caller hangs up.
fn endless() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
                );
                let chunk = [b' '; 16 * 1024];
                while stream.write_all(&chunk).is_ok() {}
            });
        }
    });
    port
}

// ---- runs -----------------------------------------------------------------------------------

/// Stores an endpoint for `url` (as an admin on a machine that allows loopback would) and
/// returns its id and secret.
async fn endpoint(db: &TestDatabase, url: &str) -> (String, String) {
    let keyring = Keyring::new(MasterKey::parse(KEK).unwrap(), Vec::new());
    let webhook = WebhookDraft {
        label: Some("test".into()),
        url: Some(url.into()),
    }
    .validate(WebhookPolicy {
        allow_loopback: true,
    })
    .unwrap();
    let client = db.pool.get().await.unwrap();
    let (record, secret) = simrunner::store::webhooks::insert_webhook(&client, &keyring, &webhook)
        .await
        .unwrap();
    (record.id.to_string(), secret.expose().clone())
}

/// An endpoint on `receiver` for `scenario`, whose key the receiver verifies with: its id and
/// secret.
async fn receiver_endpoint(
    db: &TestDatabase,
    receiver: &Receiver,
    scenario: &str,
) -> (String, String) {
    let (id, secret) = endpoint(db, &receiver.url(scenario)).await;
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    receiver
        .shared
        .keys
        .lock()
        .unwrap()
        .insert(scenario.to_owned(), key);
    (id, secret)
}

struct Finished {
    run: String,
    status: String,
    results: Value,
    table: String,
    output: String,
    took: Duration,
}

/// Plays `slots` (webhook seats as `webhook=<id>`) for `hands` at fast pace with the real
/// runner, loopback allowed or not.
async fn run(db: &TestDatabase, slots: &[String], hands: i64, allow_loopback: bool) -> Finished {
    let slots: Vec<&str> = slots.iter().map(String::as_str).collect();
    let config = bot_simulation(db, &slots, "fast", hands, (5, 10), 1_000).await;
    let run = queued_run(db, &config, None).await.to_string();
    let loopback = if allow_loopback { "on" } else { "off" };
    let (output, took) = play_run(db, &run, &[(WebhookPolicy::SETTING, loopback)]);
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, results, table_id FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    Finished {
        run,
        status: row.get(0),
        results: row.get::<_, Option<Value>>(1).unwrap_or(Value::Null),
        table: row.get::<_, Option<String>>(2).unwrap_or_default(),
        output,
        took,
    }
}

/// `(kind, message)` of each seat's run warning, by seat.
fn warnings(results: &Value) -> HashMap<u64, Vec<(String, String)>> {
    let mut by_seat: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    for warning in results["webhook_warnings"].as_array().into_iter().flatten() {
        by_seat
            .entry(warning["seat"].as_u64().unwrap())
            .or_default()
            .push((
                warning["code"].as_str().unwrap().to_owned(),
                warning["message"].as_str().unwrap().to_owned(),
            ));
    }
    by_seat
}

/// The fallback reasons logged in a seat's stream.
fn fallbacks(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|e| e["event"] == "fallback")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_seat_plays_signed_decisions_beside_bots_and_its_actions_are_recorded() {
    let db = fresh_database().await;
    let receiver = Receiver::start();
    let (id, secret) = receiver_endpoint(&db, &receiver, "play").await;
    let finished = run(
        &db,
        &[format!("webhook={id}"), "random".into(), "tight".into()],
        12,
        true,
    )
    .await;
    assert_eq!(finished.status, "completed", "{}", finished.output);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let answers = receiver.answers();
    assert!(!answers.is_empty(), "the webhook was asked");
    assert!(
        answers.iter().any(|a| a["kind"] == "raiseTo"),
        "{answers:?}"
    );
    assert!(finished.results.get("webhook_warnings").is_none());

    // The recorded hands hold exactly what the receiver answered, in order.
    let client = db.pool.get().await.unwrap();
    let recorded: Vec<Value> = client
        .query(
            "SELECT payload::text FROM table_events
              WHERE table_id = $1 AND kind = 'action' AND (payload->>'seat')::int = 0
              ORDER BY seq",
            &[&finished.table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
        .collect();
    assert_eq!(recorded.len(), answers.len(), "{recorded:?}\n{answers:?}");
    for (event, answer) in recorded.iter().zip(&answers) {
        match answer["kind"].as_str().unwrap() {
            "raiseTo" => {
                assert!(
                    event["action"] == "raise" || event["action"] == "bet",
                    "{event}"
                );
                assert_eq!(event["total"], answer["amount"], "{event}");
            }
            kind => assert_eq!(event["action"], kind, "{event}"),
        }
    }

    // The seat's stream: one answered call per decision, no error, no fallback.
    let log = run_log(&db, &finished.run, "agent-0-webhook").await;
    let answered = log
        .iter()
        .filter(|e| e["event"] == "webhook_answer")
        .count();
    assert_eq!(answered, answers.len());
    assert!(fallbacks(&log).is_empty(), "{log:?}");
    assert!(log.iter().all(|e| e["event"] != "webhook_error"));

    // The secret is nowhere in clear: not in the database, not in the runner's output.
    let dump: String = client
        .query("SELECT t::text FROM run_log_entries t", &[])
        .await
        .unwrap()
        .iter()
        .chain(
            client
                .query("SELECT t::text FROM webhook_endpoints t", &[])
                .await
                .unwrap()
                .iter(),
        )
        .map(|r| r.get::<_, String>(0))
        .collect();
    let key_part = secret.trim_start_matches("whsec_");
    assert!(!dump.contains(key_part) && !finished.output.contains(key_part));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_garbage_oversized_failing_illegal_and_redirecting_webhooks_fall_back_with_warnings() {
    let db = fresh_database().await;
    let receiver = Receiver::start();
    let (trap_port, reached) = counting_listener();
    *receiver.shared.redirect_to.lock().unwrap() = format!("http://127.0.0.1:{trap_port}/play");
    let mut slots = Vec::new();
    for scenario in ["slow", "garbage", "error", "illegal", "redirect"] {
        let (id, _) = receiver_endpoint(&db, &receiver, scenario).await;
        slots.push(format!("webhook={id}"));
    }
    let (endless_id, _) = endpoint(&db, &format!("http://127.0.0.1:{}/", endless())).await;
    slots.push(format!("webhook={endless_id}"));
    slots.push("callstation".into());

    let finished = run(&db, &slots, 1, true).await;
    assert_eq!(finished.status, "completed", "{}", finished.output);
    assert!(
        finished.took < Duration::from_secs(12),
        "one hand, each slow decision cut at the 1 s timeout: {:?}",
        finished.took
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert_eq!(receiver.violations(), Vec::<String>::new());

    let warned = warnings(&finished.results);
    for (seat, code, reason, says) in [
        (0, "timeout", "timeout", "no answer within"),
        (1, "malformed", "malformed", "not JSON"),
        (2, "http_status", "provider_error", "500"),
        (3, "illegal", "illegal", "is not legal now"),
        (
            4,
            "http_status",
            "provider_error",
            "a redirect; webhooks follow none",
        ),
        (5, "too_large", "malformed", "the rest was not read"),
    ] {
        let seat_warnings = &warned[&seat];
        assert_eq!(seat_warnings.len(), 1, "seat {seat}: {seat_warnings:?}");
        assert_eq!(seat_warnings[0].0, code, "seat {seat}");
        assert!(
            seat_warnings[0].1.contains(says),
            "seat {seat}: {seat_warnings:?}"
        );
        let stream = format!("agent-{seat}-webhook");
        let log = run_log(&db, &finished.run, &stream).await;
        let reasons = fallbacks(&log);
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| r == reason),
            "{stream}: {reasons:?}"
        );
        let errors: Vec<&Value> = log
            .iter()
            .filter(|e| e["event"] == "webhook_error")
            .collect();
        assert_eq!(
            errors.len(),
            reasons.len(),
            "{stream}: one error per fallback"
        );
        assert!(
            errors.iter().all(|e| e["kind"] == code),
            "{stream}: {errors:?}"
        );
        if code == "too_large" {
            let latency = errors[0]["latency_ms"].as_u64().unwrap();
            assert!(
                latency < 900,
                "cut off as it streamed in, not timed out: {latency} ms"
            );
        }
    }
    let garbage = run_log(&db, &finished.run, "agent-1-webhook").await;
    let error = garbage
        .iter()
        .find(|e| e["event"] == "webhook_error")
        .unwrap();
    assert_eq!(error["answer"], "<html>not an action</html>");
    assert_eq!(error["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_a_runner_may_not_call_are_refused_without_a_connection() {
    let db = fresh_database().await;
    let (port, reached) = counting_listener();
    let mut slots = Vec::new();
    for url in [
        format!("https://127.0.0.1:{port}/act"),
        format!("http://127.0.0.1:{port}/act"),
        format!("https://localhost:{port}/act"),
        format!("http://localhost:{port}/act"),
        format!("https://[::1]:{port}/act"),
    ] {
        let (id, _) = endpoint(&db, &url).await;
        slots.push(format!("webhook={id}"));
    }
    slots.push("random".into());

    // The runner does not allow loopback, whatever the admin API allowed.
    let finished = run(&db, &slots, 3, false).await;
    assert_eq!(finished.status, "completed", "{}", finished.output);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a refused destination was contacted"
    );
    let warned = warnings(&finished.results);
    for (seat, says) in [
        (0, "points at 127.0.0.1, a loopback address"),
        (
            1,
            "plain http:// to a loopback host needs SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on",
        ),
        (2, "names a loopback host"),
        (3, "plain http:// to a loopback host needs"),
        (4, "points at ::1, the loopback address"),
    ] {
        assert_eq!(warned[&seat].len(), 1, "seat {seat}");
        let (code, message) = &warned[&seat][0];
        assert_eq!(code, "destination_refused", "seat {seat}");
        assert!(message.contains(says), "seat {seat}: {message}");
        let log = run_log(&db, &finished.run, &format!("agent-{seat}-webhook")).await;
        let reasons = fallbacks(&log);
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| r == "destination_refused"),
            "seat {seat}: {reasons:?}"
        );
    }
}

//! The real runner binary against a real PostgreSQL.

use serde_json::Value;
use simrunner::domain::{RunId, SimulationId};
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

async fn config(db: &TestDatabase, slots: &[&str], pace: &str, max_hands: i64) -> String {
    bot_simulation(db, slots, pace, max_hands, (5, 10), 1_000)
        .await
        .to_string()
}

/// Callstations with tiny blinds: nobody goes broke, so the game cannot end before the test
/// interferes (a table ends when one seat holds every chip).
async fn long_game(db: &TestDatabase, seats: usize, pace: &str, max_hands: i64) -> String {
    bot_simulation(
        db,
        &vec!["callstation"; seats],
        pace,
        max_hands,
        (1, 2),
        1_000,
    )
    .await
    .to_string()
}

async fn queued_run(db: &TestDatabase, config_id: &str) -> String {
    let config_id = SimulationId::parse(config_id).unwrap();
    simrunner::testing::queued_run(db, &config_id, None)
        .await
        .to_string()
}

fn runner(db: &TestDatabase, run_id: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runner-task"));
    command
        .env("RUN_ID", run_id)
        .env("DATABASE_URL", &db.url)
        .env("SIMRUNNER_HEARTBEAT_SECONDS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

async fn one(db: &TestDatabase, sql: &str, run_id: &str) -> tokio_postgres::Row {
    let client = db.pool.get().await.unwrap();
    client.query_one(sql, &[&run_id]).await.unwrap()
}

#[tokio::test]
async fn a_run_plays_its_hands_and_records_everything() {
    let db = fresh_database().await;
    let config = config(
        &db,
        &["random", "tight", "callstation", "random"],
        "fast",
        200,
    )
    .await;
    let run = queued_run(&db, &config).await;
    let output = runner(&db, &run).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let row = one(&db, "SELECT status, hands_played, table_id, results, started_at IS NOT NULL, runner_id FROM simulation_runs WHERE id = $1", &run).await;
    assert_eq!(row.get::<_, String>(0), "completed");
    let played: i64 = row.get(1);
    let table_id: String = row.get(2);
    let results: Value = row.get(3);
    assert!(row.get::<_, bool>(4));
    assert!(!row.get::<_, String>(5).is_empty());

    let agents = results["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 4);
    let chips: i64 = agents
        .iter()
        .map(|a| a["final_stack"].as_i64().unwrap())
        .sum();
    assert_eq!(chips, 4_000, "chips are conserved across the run");
    assert_eq!(agents[0]["name"], "sim-random-0");
    let busted_out = agents
        .iter()
        .filter(|a| a["final_stack"].as_i64().unwrap() > 0)
        .count()
        == 1;
    assert!(
        played == 200 || busted_out,
        "stopped at {played} hands without a winner"
    );

    let client = db.pool.get().await.unwrap();
    let hands: i64 = client
        .query_one(
            "SELECT count(*) FROM hands WHERE table_id = $1",
            &[&table_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(hands, played);
    let status: String = client
        .query_one("SELECT status FROM tables WHERE id = $1", &[&table_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "ended");

    // The public feed: contiguous sequence numbers, opened and ended, one start and one end
    // per hand, and hole cards only in showdown events.
    let events = client
        .query(
            "SELECT seq, kind, payload FROM table_events WHERE table_id = $1 ORDER BY seq",
            &[&table_id],
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let kinds: Vec<String> = events.iter().map(|r| r.get(1)).collect();
    assert_eq!(kinds.first().unwrap(), "table_opened");
    assert_eq!(kinds.last().unwrap(), "table_ended");
    assert_eq!(
        kinds.iter().filter(|k| *k == "hand_started").count() as i64,
        played
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "hand_complete").count() as i64,
        played
    );
    for row in &events {
        let kind: String = row.get(1);
        let payload: Value = row.get(2);
        if kind != "showdown" {
            assert!(
                payload.get("cards").is_none() && payload.get("hole").is_none(),
                "{kind}: {payload}"
            );
        }
    }

    // Logs: the summary stream and sparse bot streams.
    let logs = client
        .query(
            "SELECT stream, entry FROM run_log_entries WHERE run_id = $1 ORDER BY stream, seq",
            &[&run],
        )
        .await
        .unwrap();
    let summary: Vec<Value> = logs
        .iter()
        .filter(|r| r.get::<_, String>(0) == "simulation-summary")
        .map(|r| r.get(1))
        .collect();
    assert_eq!(summary[0]["event"], "simulation_start");
    assert_eq!(summary[1]["event"], "simulation_complete");
    assert_eq!(summary[1]["hands_played"], played);
    assert!(
        logs.iter()
            .any(|r| r.get::<_, String>(0) == "agent-0-random")
    );

    // A second runner for the same run plays nothing.
    let again = runner(&db, &run).output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not queued"));
    let hands_after: i64 = client
        .query_one(
            "SELECT count(*) FROM hands WHERE table_id = $1",
            &[&table_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(hands_after, hands);
}

#[tokio::test]
async fn a_run_replays_exactly_from_its_seed() {
    let db = fresh_database().await;
    let config = config(&db, &["random", "random", "tight"], "fast", 60).await;
    // One active run per config: the second is queued once the first is over.
    let mut runs = Vec::new();
    for _ in 0..2 {
        let config_id = SimulationId::parse(&config).unwrap();
        let run = simrunner::testing::queued_run(&db, &config_id, Some(424_242))
            .await
            .to_string();
        assert!(runner(&db, &run).status().unwrap().success());
        runs.push(run);
    }
    let (first, second) = (runs[0].clone(), runs[1].clone());
    let client = db.pool.get().await.unwrap();
    let hands = |run: String| {
        let client = &client;
        async move {
            client
                .query(
                    "SELECT h.number, h.board, h.pots::text, h.results::text FROM hands h
                       JOIN simulation_runs r ON r.table_id = h.table_id
                      WHERE r.id = $1 ORDER BY h.number",
                    &[&run],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i64>(0),
                        r.get::<_, Vec<String>>(1),
                        r.get::<_, String>(2),
                        r.get::<_, String>(3),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let (a, b) = (hands(first).await, hands(second).await);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[tokio::test]
async fn runs_that_cannot_be_played_say_why() {
    let db = fresh_database().await;
    let unknown = runner(&db, &RunId::generate().to_string())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let bad = runner(&db, "not-a-run").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RUN_ID"));

    let config = config(&db, &["random", "tight"], "fast", 10).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET agent_slots = '[{\"type\":\"random\"},{\"type\":\"protocol\",\"model\":\"openai:gpt-4o\"}]'",
            &[],
        )
        .await
        .unwrap();
    // An LLM seat needs the key-encryption key to open provider keys, then a stored key.
    let failure = async |kek: Option<&str>| {
        let run = queued_run(&db, &config).await;
        let mut command = runner(&db, &run);
        if let Some(kek) = kek {
            command.env("SIMRUNNER_KEY_ENCRYPTION_KEY", kek);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let row = one(
            &db,
            "SELECT status, error_code, error_message FROM simulation_runs WHERE id = $1",
            &run,
        )
        .await;
        assert_eq!(row.get::<_, String>(0), "failed");
        (row.get::<_, String>(1), row.get::<_, String>(2))
    };
    let (code, _) = failure(None).await;
    assert_eq!(code, "missing_key_encryption_key");
    let (code, message) = failure(Some(&"ab".repeat(32))).await;
    assert_eq!(code, "missing_api_key");
    assert!(message.contains("openai"), "{message}");
}

fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

async fn wait_for_hands(db: &TestDatabase, run: &str, at_least: i64) {
    let started = Instant::now();
    loop {
        let hands: i64 = one(db, "SELECT count(*) FROM hands h JOIN simulation_runs r ON r.table_id = h.table_id WHERE r.id = $1", run).await.get(0);
        if hands >= at_least {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no hands recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_killed_runner_never_leaves_half_a_hand() {
    let db = fresh_database().await;
    let config = long_game(&db, 4, "fast", 10_000).await;
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    wait_for_hands(&db, &run, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT r.status, r.table_id,
                    (SELECT count(*) FROM hands h WHERE h.table_id = r.table_id),
                    (SELECT count(DISTINCT hand_number) FROM table_events e WHERE e.table_id = r.table_id AND e.hand_number IS NOT NULL),
                    (SELECT count(*) FROM table_events e WHERE e.table_id = r.table_id AND e.kind = 'hand_complete')
               FROM simulation_runs r WHERE r.id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "running",
        "the reaper closes it later"
    );
    let (hands, with_events, completed): (i64, i64, i64) = (row.get(2), row.get(3), row.get(4));
    assert!(hands > 0);
    assert_eq!(
        hands, with_events,
        "every hand row has its events and no events lack a row"
    );
    assert_eq!(hands, completed, "every recorded hand is complete");
}

#[tokio::test]
async fn a_stop_request_and_sigterm_close_the_run_cancelled() {
    let db = fresh_database().await;
    let config = long_game(&db, 3, "live", 10_000).await;

    // A stop request on the row is seen within a heartbeat (1 s here).
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    wait_for_status(&db, &run, "running").await;
    request_stop(&db, &run).await;
    assert_closed_cancelled_soon(&db, &run, &mut child).await;

    // SIGTERM, as ECS StopTask sends it.
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    wait_for_status(&db, &run, "running").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_closed_cancelled_soon(&db, &run, &mut child).await;
}

/// Asks the run (the database's only active one) to stop, with the dispatcher's own call.
async fn request_stop(db: &TestDatabase, run: &str) {
    let client = db.pool.get().await.unwrap();
    let asked = simrunner::dispatch::request_stop_all(&client, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        asked.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        [run]
    );
}

/// The runner exits 0 within 5 s (20 s is ECS's limit) and the run is closed `cancelled`.
async fn assert_closed_cancelled_soon(db: &TestDatabase, run: &str, child: &mut Child) {
    let since = Instant::now();
    let status = wait(child, Duration::from_secs(20)).expect("the runner stops");
    assert!(status.success());
    assert!(
        since.elapsed() < Duration::from_secs(5),
        "took {:?}",
        since.elapsed()
    );
    let row = one(
        db,
        "SELECT status, completed_at IS NOT NULL FROM simulation_runs WHERE id = $1",
        run,
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "cancelled");
    assert!(row.get::<_, bool>(1));
}

async fn wait_for_status(db: &TestDatabase, run: &str, status: &str) {
    let started = Instant::now();
    while one(db, "SELECT status FROM simulation_runs WHERE id = $1", run)
        .await
        .get::<_, String>(0)
        != status
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_database_blip_of_a_few_seconds_is_ridden_out() {
    use simrunner::db::cluster::{ClusterOptions, LocalCluster};
    // A cluster of this test's own, stopped and restarted on the same port mid-run.
    let root =
        std::env::temp_dir().join(format!("simrunner-blip-{}", uuid::Uuid::new_v4().simple()));
    let start = |port: u16| {
        let root = root.clone();
        tokio::task::spawn_blocking(move || {
            LocalCluster::start(&ClusterOptions {
                root,
                port,
                durable: false,
            })
            .unwrap()
        })
    };
    let cluster = start(0).await.unwrap();
    let port = cluster.port();
    let url = cluster.url("postgres");
    let pool = simrunner::db::build_pool(&url, 2).unwrap();
    simrunner::db::migrate(&mut pool.get().await.unwrap())
        .await
        .unwrap();
    let db = TestDatabase {
        name: "postgres".into(),
        url,
        pool,
    };
    let config = long_game(&db, 3, "fast", 3_000).await;
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    wait_for_hands(&db, &run, 1).await;

    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cluster = start(port).await.unwrap();

    let status = wait(&mut child, Duration::from_secs(60)).expect("the runner finishes");
    let stderr = {
        use std::io::Read as _;
        let mut text = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("retrying"),
        "the outage was noticed: {stderr}"
    );
    let row = one(
        &db,
        "SELECT status, hands_played, table_id FROM simulation_runs WHERE id = $1",
        &run,
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "completed");
    let played: i64 = row.get(1);
    let table: String = row.get(2);
    let client = db.pool.get().await.unwrap();
    let numbers: Vec<i64> = client
        .query(
            "SELECT number FROM hands WHERE table_id = $1 ORDER BY number",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        numbers,
        (1..=played).collect::<Vec<_>>(),
        "every hand exactly once"
    );
    drop(client);
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(root);
}

/// Takes a minute: the shortest safety timeout a config can have.
#[tokio::test]
async fn a_run_past_its_safety_timeout_fails_with_safety_timeout() {
    let db = fresh_database().await;
    let config = long_game(&db, 2, "live", 10_000).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute("UPDATE simulation_configs SET max_run_minutes = 1", &[])
        .await
        .unwrap();
    let run = queued_run(&db, &config).await;
    let started = Instant::now();
    let mut child = runner(&db, &run).spawn().unwrap();
    let status = wait(&mut child, Duration::from_secs(90)).expect("the runner gives up");
    assert_eq!(status.code(), Some(1), "a failed run exits non-zero");
    assert!(started.elapsed() >= Duration::from_secs(60));
    let row = one(&db, "SELECT status, error_code, hands_played, results IS NOT NULL FROM simulation_runs WHERE id = $1", &run).await;
    assert_eq!(row.get::<_, String>(0), "failed");
    assert_eq!(row.get::<_, String>(1), "safety_timeout");
    assert!(
        row.get::<_, i64>(2) > 0,
        "hands played before the timeout are kept"
    );
    assert!(row.get::<_, bool>(3));
}

/// Makes the config's runs play `tables` tables.
async fn set_tables(db: &TestDatabase, config: &str, tables: i16) {
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET tables = $2 WHERE id = $1",
            &[&config, &tables],
        )
        .await
        .unwrap();
}

/// A run's tables, in position order: (id, position, status, hands_played, name).
async fn tables_of(db: &TestDatabase, run: &str) -> Vec<(String, i16, String, i64, String)> {
    let client = db.pool.get().await.unwrap();
    client
        .query(
            "SELECT id, position, status, hands_played, name FROM tables
              WHERE run_id = $1 ORDER BY position",
            &[&run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

/// Each table's feed: contiguous seqs from 1; and (hand rows, hand_complete events, distinct
/// hands with events): a table's hands are recorded whole.
async fn feed_of(db: &TestDatabase, table: &str) -> (Vec<String>, (i64, i64, i64)) {
    let client = db.pool.get().await.unwrap();
    let events = client
        .query(
            "SELECT seq, kind FROM table_events WHERE table_id = $1 ORDER BY seq",
            &[&table],
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let counts = client
        .query_one(
            "SELECT (SELECT count(*) FROM hands WHERE table_id = $1),
                    (SELECT count(*) FROM table_events WHERE table_id = $1 AND kind = 'hand_complete'),
                    (SELECT count(DISTINCT hand_number) FROM table_events
                      WHERE table_id = $1 AND hand_number IS NOT NULL)",
            &[&table],
        )
        .await
        .unwrap();
    (
        events.iter().map(|r| r.get(1)).collect(),
        (counts.get(0), counts.get(1), counts.get(2)),
    )
}

#[tokio::test]
async fn a_multi_table_run_plays_every_table_at_once_and_records_each_whole() {
    let db = fresh_database().await;
    let config = config(&db, &["random", "tight", "random"], "fast", 150).await;
    let config_id = SimulationId::parse(&config).unwrap();
    // A one-table run first, to compare the deals with.
    let single = simrunner::testing::queued_run(&db, &config_id, Some(777))
        .await
        .to_string();
    assert!(runner(&db, &single).status().unwrap().success());
    set_tables(&db, &config, 4).await;
    let run = simrunner::testing::queued_run(&db, &config_id, Some(777))
        .await
        .to_string();
    let output = runner(&db, &run).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let tables = tables_of(&db, &run).await;
    assert_eq!(
        tables.iter().map(|t| t.1).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "one table row per table"
    );
    let row = one(
        &db,
        "SELECT status, hands_played, table_id, results, degraded_reasons IS NULL
           FROM simulation_runs WHERE id = $1",
        &run,
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(
        row.get::<_, i64>(1),
        tables.iter().map(|t| t.3).sum::<i64>(),
        "the run's hands are all its tables' hands"
    );
    assert_eq!(
        row.get::<_, String>(2),
        tables[0].0,
        "table_id is the first"
    );
    let results: Value = row.get(3);
    let per_table = results["tables"].as_array().unwrap();
    assert_eq!(per_table.len(), 4);
    let mut first_decks = Vec::new();
    for ((id, position, status, played, name), result) in tables.iter().zip(per_table) {
        assert_eq!(status, "ended");
        assert_eq!(name, &format!("3 bots #{position}"));
        assert_eq!(result["table_id"], *id);
        assert_eq!(result["hands_played"], *played);
        assert_eq!(result["status"], "completed");
        let chips: i64 = result["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["final_stack"].as_i64().unwrap())
            .sum();
        assert_eq!(chips, 3_000, "chips are conserved at table {position}");
        let (kinds, (hands, completed, with_events)) = feed_of(&db, id).await;
        assert_eq!(kinds.first().unwrap(), "table_opened");
        assert_eq!(kinds.last().unwrap(), "table_ended");
        assert_eq!((hands, completed, with_events), (*played, *played, *played));
        let client = db.pool.get().await.unwrap();
        let deck: String = client
            .query_one(
                "SELECT seed FROM hands WHERE table_id = $1 AND number = 1",
                &[id],
            )
            .await
            .unwrap()
            .get(0);
        first_decks.push(deck);
    }
    first_decks.sort();
    first_decks.dedup();
    assert_eq!(first_decks.len(), 4, "every table deals its own cards");

    // The first table deals as a one-table run with the same seed.
    let client = db.pool.get().await.unwrap();
    let boards = |table: String| {
        let client = &client;
        async move {
            client
                .query(
                    "SELECT board, results::text FROM hands WHERE table_id = $1 ORDER BY number",
                    &[&table],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, Vec<String>>(0), r.get::<_, String>(1)))
                .collect::<Vec<_>>()
        }
    };
    let single_table: String = one(
        &db,
        "SELECT table_id FROM simulation_runs WHERE id = $1",
        &single,
    )
    .await
    .get(0);
    assert_eq!(
        boards(single_table).await,
        boards(tables[0].0.clone()).await
    );

    // Logs: the run's summary, and each table's streams under its number.
    let streams: Vec<String> = client
        .query(
            "SELECT DISTINCT stream FROM run_log_entries WHERE run_id = $1 ORDER BY stream",
            &[&run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(streams.contains(&"simulation-summary".to_owned()));
    for position in 1..=4 {
        assert!(
            streams.contains(&format!("table-{position}/simulation-summary")),
            "{streams:?}"
        );
    }
    let summary: Vec<Value> = client
        .query(
            "SELECT entry FROM run_log_entries
              WHERE run_id = $1 AND stream = 'simulation-summary' ORDER BY seq",
            &[&run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(summary[0]["event"], "simulation_start");
    assert_eq!(summary[0]["tables"].as_array().unwrap().len(), 4);
    assert_eq!(summary[1]["event"], "simulation_complete");
    assert_eq!(summary[1]["hands_played"], row.get::<_, i64>(1));
}

#[tokio::test]
async fn stopping_a_multi_table_run_stops_every_table_between_hands() {
    let db = fresh_database().await;
    let config = long_game(&db, 3, "live", 10_000).await;
    set_tables(&db, &config, 3).await;
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    wait_for_status(&db, &run, "running").await;
    // Every table is open and dealing before the stop.
    let started = Instant::now();
    while tables_of(&db, &run).await.len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    request_stop(&db, &run).await;
    assert_closed_cancelled_soon(&db, &run, &mut child).await;
    for (id, position, status, played, _) in tables_of(&db, &run).await {
        assert_eq!(status, "ended", "table {position}");
        let (kinds, (hands, completed, with_events)) = feed_of(&db, &id).await;
        assert_eq!(kinds.last().unwrap(), "table_ended", "table {position}");
        assert!(
            !kinds.iter().any(|k| k == "hand_aborted"),
            "table {position} finished its hand"
        );
        assert_eq!((hands, completed, with_events), (played, played, played));
    }
}

#[tokio::test]
async fn a_killed_multi_table_runner_leaves_whole_hands_and_the_reaper_ends_every_feed() {
    use simrunner::dispatch::reaper::{ReaperPolicy, reap};
    let db = fresh_database().await;
    let config = long_game(&db, 4, "fast", 10_000).await;
    set_tables(&db, &config, 3).await;
    let run = queued_run(&db, &config).await;
    let mut child = runner(&db, &run).spawn().unwrap();
    let started = Instant::now();
    while tables_of(&db, &run).await.iter().any(|t| t.3 == 0)
        || tables_of(&db, &run).await.len() < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "tables never played"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    for (id, _, status, played, _) in tables_of(&db, &run).await {
        assert_eq!(status, "open", "nobody has ended it yet");
        let (_, (hands, completed, with_events)) = feed_of(&db, &id).await;
        assert!(hands >= played && hands > 0);
        assert_eq!((completed, with_events), (hands, hands), "whole hands only");
    }
    // The reaper finds the runner gone (no heartbeat for longer than the lease).
    let client = db.pool.get().await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let reaped = reap(&client, later, &ReaperPolicy::default())
        .await
        .unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].reason, "runner_lost");
    for (id, position, status, _, _) in tables_of(&db, &run).await {
        assert_eq!(status, "ended", "table {position}");
        let (kinds, _) = feed_of(&db, &id).await;
        assert_eq!(kinds.last().unwrap(), "table_ended", "table {position}");
    }
}

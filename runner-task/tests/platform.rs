//! Runs at a remote platform with the real runner binary on a real PostgreSQL, against the
//! fake platform in `fake_platform` (127.0.0.1): refusals end the run with a clear error and
//! leave no table running there; drops, stale sequence numbers and refused actions are
//! ridden out and logged; a silent platform fails the run instead of hanging it. (A run at a
//! real platform, a second simrunner, is in the local stack's tests.)

mod fake_platform;
mod fake_provider;
mod played;

use fake_platform::{ADMIN, FakePlatform, Scenario};
use played::{KEK, play_run};
use serde_json::Value;
use simrunner::domain::{AgentSlotDraft, NewPlatform, PlatformId, SimulationDraft};
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::settings::Secret;
use simrunner::testing::{TestDatabase, fresh_database, queued_run, run_log};
use std::time::Duration;

struct Finished {
    status: String,
    error_code: Option<String>,
    error_message: Option<String>,
    hands_played: i64,
    took: Duration,
    run: String,
}

async fn platform(db: &TestDatabase, url: &str) -> PlatformId {
    let keyring = Keyring::new(MasterKey::parse(KEK).unwrap(), Vec::new());
    let client = db.pool.get().await.unwrap();
    let new = NewPlatform {
        name: "fake".into(),
        base_url: url.into(),
        credential: Secret::new(ADMIN.to_owned()),
    };
    simrunner::store::platforms::insert_platform(&client, &keyring, &new)
        .await
        .unwrap()
        .id
}

async fn config(
    db: &TestDatabase,
    platform: &PlatformId,
    max_hands: i64,
) -> simrunner::domain::SimulationId {
    let spec = SimulationDraft {
        name: Some("at the fake platform".into()),
        pace: Some("fast".into()),
        max_hands: Some(max_hands),
        agent_slots: Some(
            ["callstation", "tight", "random"]
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
        action_timeout_ms: Some(1_000),
        host: Some(platform.to_string()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let client = db.pool.get().await.unwrap();
    simrunner::store::insert_simulation(&client, &spec)
        .await
        .unwrap()
        .id
}

async fn play(db: &TestDatabase, config: &simrunner::domain::SimulationId) -> Finished {
    let run = queued_run(db, config, Some(11)).await.to_string();
    let (log, took) = play_run(db, &run, &[]);
    assert!(!log.contains(ADMIN), "the credential is never logged");
    assert!(!log.contains("fake-key-"), "nor a seat's key");
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, error_code, error_message, hands_played FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    Finished {
        status: row.get(0),
        error_code: row.get(1),
        error_message: row.get(2),
        hands_played: row.get(3),
        took,
        run,
    }
}

async fn hands_recorded(db: &TestDatabase, run: &str) -> Vec<i64> {
    let client = db.pool.get().await.unwrap();
    client
        .query(
            "SELECT h.number FROM hands h JOIN simulation_runs r ON r.table_id = h.table_id
              WHERE r.id = $1 ORDER BY 1",
            &[&run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn refusals_end_the_run_with_a_clear_error_and_stop_the_table_there() {
    let db = fresh_database().await;
    for (scenario, code, created) in [
        (
            Scenario::RefuseCredential,
            "platform_credential_refused",
            false,
        ),
        (Scenario::Full, "platform_table_full", true),
        (Scenario::Outdated, "platform_version_refused", true),
    ] {
        let fake = FakePlatform::start(scenario);
        let id = platform(&db, &fake.url).await;
        let config = config(&db, &id, 3).await;
        let finished = play(&db, &config).await;
        assert_eq!(finished.status, "failed", "{scenario:?}");
        assert_eq!(
            finished.error_code.as_deref(),
            Some(code),
            "{scenario:?}: {:?}",
            finished.error_message
        );
        assert_eq!(finished.hands_played, 0);
        if created {
            assert!(
                fake.record(|r| r.stopped),
                "{scenario:?}: the table made there was stopped"
            );
        }
        assert!(!fake.record(|r| r.started), "{scenario:?}");
    }
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let id = platform(&db, &url).await;
    let config = config(&db, &id, 3).await;
    let finished = play(&db, &config).await;
    assert_eq!(finished.error_code.as_deref(), Some("platform_unreachable"));
    let message = finished.error_message.unwrap();
    assert!(message.contains("registering seat 0"), "{message}");
}

#[tokio::test]
async fn drops_stale_sequences_and_refused_actions_are_ridden_out_and_logged() {
    let db = fresh_database().await;
    let fake = FakePlatform::start(Scenario::Rough);
    let id = platform(&db, &fake.url).await;
    let config = config(&db, &id, 4).await;
    let finished = play(&db, &config).await;
    assert_eq!(finished.status, "completed", "{:?}", finished.error_message);
    assert_eq!(finished.hands_played, 4);
    assert_eq!(
        hands_recorded(&db, &finished.run).await,
        [1, 2, 3, 4],
        "each hand once"
    );
    let (connections, violations, left, stopped) = fake.record(|r| {
        (
            r.connections.clone(),
            r.violations.clone(),
            r.left.clone(),
            r.stopped,
        )
    });
    assert_eq!(violations, Vec::<String>::new());
    // Three seats, and seat 0 came back on the same session.
    assert_eq!(connections.len(), 4, "{connections:?}");
    assert_eq!(
        connections
            .iter()
            .filter(|c| c.starts_with("session-0-"))
            .count(),
        2
    );
    assert_eq!(
        connections[3], connections[0],
        "reconnected with the session token"
    );
    let mut left = left;
    left.sort_unstable();
    assert_eq!(left, [0, 1, 2], "every seat left");
    assert!(stopped, "then the table was stopped");
    let mut refused: Vec<Value> = Vec::new();
    for stream in ["agent-0-callstation", "agent-1-tight", "agent-2-random"] {
        let entries = run_log(&db, &finished.run, stream).await;
        refused.extend(
            entries
                .into_iter()
                .filter(|e| e["event"] == "platform_refused"),
        );
    }
    let codes: Vec<&str> = refused.iter().filter_map(|e| e["code"].as_str()).collect();
    assert!(codes.contains(&"STALE_SEQ"), "{refused:?}");
    assert!(codes.contains(&"NOT_YOUR_TURN"), "{refused:?}");
    assert_eq!(fake.record(|r| r.registered.len()), 3, "one agent per seat");
}

#[tokio::test]
async fn a_seat_whose_session_is_gone_joins_again() {
    let db = fresh_database().await;
    let fake = FakePlatform::start(Scenario::Expiring);
    let id = platform(&db, &fake.url).await;
    let config = config(&db, &id, 3).await;
    let finished = play(&db, &config).await;
    assert_eq!(finished.status, "completed", "{:?}", finished.error_message);
    assert_eq!(hands_recorded(&db, &finished.run).await, [1, 2, 3]);
    let (joins, connections) = fake.record(|r| (r.joins.clone(), r.connections.clone()));
    assert_eq!(joins.len(), 4, "three seats and one join again: {joins:?}");
    assert_eq!(joins[3], joins[0], "the same agent at the same seat");
    assert_eq!(connections.len(), 4, "{connections:?}");
    assert_ne!(connections[3], connections[0], "on a new session");
}

#[tokio::test]
async fn the_next_run_plays_under_the_identities_the_first_registered() {
    let db = fresh_database().await;
    let fake = FakePlatform::start(Scenario::Fair);
    let id = platform(&db, &fake.url).await;
    let config = config(&db, &id, 2).await;
    for _ in 0..2 {
        let finished = play(&db, &config).await;
        assert_eq!(finished.status, "completed", "{:?}", finished.error_message);
    }
    let (registered, joins) = fake.record(|r| (r.registered.clone(), r.joins.clone()));
    assert_eq!(
        registered,
        ["sim-callstation-0", "sim-tight-1", "sim-random-2"]
    );
    assert_eq!(joins.len(), 6);
    assert_eq!(
        joins[..3],
        joins[3..],
        "the same agents took the same seats"
    );
}

#[tokio::test]
async fn a_platform_gone_silent_fails_the_run_instead_of_hanging_it() {
    let db = fresh_database().await;
    let fake = FakePlatform::start(Scenario::Silent);
    let id = platform(&db, &fake.url).await;
    let config = config(&db, &id, 10).await;
    let finished = play(&db, &config).await;
    assert_eq!(finished.status, "failed");
    assert_eq!(
        finished.error_code.as_deref(),
        Some("platform_silent"),
        "{:?}",
        finished.error_message
    );
    assert_eq!(finished.hands_played, 1, "the hand it finished is kept");
    assert_eq!(hands_recorded(&db, &finished.run).await, [1]);
    assert!(
        finished.took < Duration::from_secs(30),
        "{:?}",
        finished.took
    );
    assert!(fake.record(|r| r.stopped), "the table there was stopped");
}

//! Dispatch and the reaper against a real PostgreSQL, with a controlled clock.

use chrono::{DateTime, Duration, Utc};
use simrunner::dispatch::reaper::{ReaperPolicy, reap};
use simrunner::dispatch::{
    Decision, DispatchPolicy, SkipReason, Trigger, dispatch, emergency_stop, stop_simulation,
};
use simrunner::domain::SimulationId;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database};

const BOTS: [&str; 3] = ["random", "tight", "callstation"];

/// A periodic, active config with the given interval and cooldown.
async fn periodic(db: &TestDatabase, interval: i64, cooldown: i64) -> SimulationId {
    let id = bot_simulation(db, &BOTS, "fast", 10, (5, 10), 1000).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET schedule_type = 'periodic', interval_minutes = $2,
                    cooldown_minutes = $3, status = 'active' WHERE id = $1",
            &[&id.as_str(), &interval, &cooldown],
        )
        .await
        .unwrap();
    id
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn go(
    db: &TestDatabase,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Decision {
    let mut client = db.pool.get().await.unwrap();
    dispatch(
        &mut client,
        config,
        trigger,
        now,
        &DispatchPolicy::default(),
    )
    .await
    .unwrap()
    .0
}

fn reason(decision: &Decision) -> Option<SkipReason> {
    match decision {
        Decision::Skipped { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// Closes every active run as completed at `at`.
async fn finish_all(db: &TestDatabase, at: DateTime<Utc>) {
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_runs SET status = 'completed', started_at = $1, completed_at = $1
              WHERE status IN ('queued', 'running')",
            &[&at],
        )
        .await
        .unwrap();
}

/// Runs `n` dispatches of `config` at once, each on its own connection.
async fn race(
    db: &TestDatabase,
    config: &SimulationId,
    trigger: Trigger,
    n: usize,
) -> Vec<Decision> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (pool, config) = (db.pool.clone(), config.clone());
            tokio::spawn(async move {
                let mut client = pool.get().await.unwrap();
                dispatch(
                    &mut client,
                    &config,
                    trigger,
                    t0(),
                    &DispatchPolicy::default(),
                )
                .await
                .unwrap()
                .0
            })
        })
        .collect();
    let mut decisions = Vec::new();
    for task in tasks {
        decisions.push(task.await.unwrap());
    }
    decisions
}

#[tokio::test]
async fn a_manual_start_queues_a_run_resumes_the_config_and_a_second_is_refused() {
    let db = fresh_database().await;
    let config = bot_simulation(&db, &BOTS, "fast", 10, (5, 10), 1000).await;
    let Decision::Started(run) = go(&db, &config, Trigger::Manual, t0()).await else {
        panic!("not started");
    };
    assert_eq!(run.status.as_str(), "queued");
    assert_eq!(run.trigger.as_str(), "manual");
    let status: String = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT status FROM simulation_configs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "active", "starting a paused config resumes it");

    match go(&db, &config, Trigger::Manual, t0()).await {
        Decision::Skipped {
            reason: SkipReason::AlreadyRunning,
            active_run,
            ..
        } => {
            assert_eq!(active_run, Some(run.id.clone()));
        }
        other => panic!("{other:?}"),
    }
    let row = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT last_skip_reason, skip_count FROM simulation_configs",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i64>(1)),
        ("already_running".into(), 1)
    );
    assert!(matches!(
        go(&db, &SimulationId::generate(), Trigger::Manual, t0()).await,
        Decision::NotFound
    ));
}

#[tokio::test]
async fn two_hundred_racing_deliveries_of_one_scheduled_time_make_exactly_one_run() {
    let db = fresh_database().await;
    let config = periodic(&db, 10, 0).await;
    let mut started = 0;
    for decision in race(&db, &config, Trigger::Scheduled { at: t0() }, 200).await {
        match decision {
            Decision::Started(_) => started += 1,
            Decision::Skipped { reason, .. } => assert!(
                matches!(reason, SkipReason::Duplicate | SkipReason::AlreadyRunning),
                "{reason:?}"
            ),
            Decision::NotFound => panic!("not found"),
        }
    }
    assert_eq!(started, 1);
    assert_eq!(db.count("SELECT count(*) FROM simulation_runs").await, 1);
    assert_eq!(
        db.count("SELECT skip_count FROM simulation_configs").await,
        199
    );
}

#[tokio::test]
async fn two_hundred_racing_manual_starts_leave_exactly_one_active_run() {
    let db = fresh_database().await;
    let config = bot_simulation(&db, &BOTS, "fast", 10, (5, 10), 1000).await;
    let mut started = 0;
    for decision in race(&db, &config, Trigger::Manual, 200).await {
        match decision {
            Decision::Started(_) => started += 1,
            decision => assert_eq!(reason(&decision), Some(SkipReason::AlreadyRunning)),
        }
    }
    assert_eq!(started, 1);
    assert_eq!(
        db.count("SELECT count(*) FROM simulation_runs WHERE status = 'queued'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_global_limit_holds_across_configs() {
    let db = fresh_database().await;
    let policy = DispatchPolicy {
        max_concurrent_runs: 2,
        ..Default::default()
    };
    let mut configs = Vec::new();
    for _ in 0..6 {
        configs.push(bot_simulation(&db, &BOTS, "fast", 10, (5, 10), 1000).await);
    }
    let tasks: Vec<_> = configs
        .iter()
        .map(|config| {
            let (pool, config, policy) = (db.pool.clone(), config.clone(), policy.clone());
            tokio::spawn(async move {
                let mut client = pool.get().await.unwrap();
                dispatch(&mut client, &config, Trigger::Manual, t0(), &policy)
                    .await
                    .unwrap()
                    .0
            })
        })
        .collect();
    let mut started = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Decision::Started(_)) {
            started += 1;
        }
    }
    assert!((1..=2).contains(&started), "started {started}");
    assert!(
        db.count("SELECT count(*) FROM simulation_runs WHERE status IN ('queued','running')")
            .await
            <= 2
    );
    finish_all(&db, t0()).await;
    let mut client = db.pool.get().await.unwrap();
    let (again, _) = dispatch(&mut client, &configs[5], Trigger::Manual, t0(), &policy)
        .await
        .unwrap();
    assert!(
        matches!(again, Decision::Started(_)),
        "slots are freed when runs end"
    );
}

#[tokio::test]
async fn scheduled_times_are_compared_with_scheduled_times_not_start_times() {
    let db = fresh_database().await;
    let config = periodic(&db, 10, 0).await;
    let at = |m: i64, s: i64| t0() + Duration::minutes(m) + Duration::seconds(s);
    // The tick at 10:00 is delivered late (10:02) and runs until 10:04.
    assert!(matches!(
        go(&db, &config, Trigger::Scheduled { at: at(0, 0) }, at(2, 0)).await,
        Decision::Started(_)
    ));
    finish_all(&db, at(4, 0)).await;
    // 10:05 is less than an interval after 10:00.
    assert_eq!(
        reason(&go(&db, &config, Trigger::Scheduled { at: at(5, 0) }, at(5, 0)).await),
        Some(SkipReason::NotDue)
    );
    // 10:10 is due although only 8 minutes passed since the late start.
    assert!(matches!(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: at(10, 0) },
            at(10, 0)
        )
        .await,
        Decision::Started(_)
    ));
    finish_all(&db, at(11, 0)).await;
    // A tick a little early (within the tolerance) still counts.
    assert!(matches!(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: at(19, 30) },
            at(19, 30)
        )
        .await,
        Decision::Started(_)
    ));
    // A second delivery of the same scheduled time is a duplicate.
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled { at: at(19, 30) },
                at(19, 31)
            )
            .await
        ),
        Some(SkipReason::Duplicate)
    );
}

#[tokio::test]
async fn the_cooldown_runs_from_the_last_completion() {
    let db = fresh_database().await;
    let config = periodic(&db, 1, 5).await;
    let at = |m: i64| t0() + Duration::minutes(m);
    assert!(matches!(
        go(&db, &config, Trigger::Scheduled { at: at(0) }, at(0)).await,
        Decision::Started(_)
    ));
    finish_all(&db, at(1)).await;
    assert_eq!(
        reason(&go(&db, &config, Trigger::Scheduled { at: at(2) }, at(2)).await),
        Some(SkipReason::CoolingDown)
    );
    assert_eq!(
        reason(&go(&db, &config, Trigger::Scheduled { at: at(5) }, at(5)).await),
        Some(SkipReason::CoolingDown)
    );
    assert!(matches!(
        go(&db, &config, Trigger::Scheduled { at: at(6) }, at(6)).await,
        Decision::Started(_)
    ));
    // A manual start ignores the cooldown but not the active run.
    finish_all(&db, at(7)).await;
    assert!(matches!(
        go(&db, &config, Trigger::Manual, at(7)).await,
        Decision::Started(_)
    ));
}

#[tokio::test]
async fn paused_and_one_off_configs_ignore_the_schedule() {
    let db = fresh_database().await;
    let one_off = bot_simulation(&db, &BOTS, "fast", 10, (5, 10), 1000).await;
    let paused = periodic(&db, 10, 0).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET status = 'paused' WHERE id = $1",
            &[&paused.as_str()],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET status = 'active' WHERE id = $1",
            &[&one_off.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(
        reason(&go(&db, &paused, Trigger::Scheduled { at: t0() }, t0()).await),
        Some(SkipReason::Paused)
    );
    assert_eq!(
        reason(&go(&db, &one_off, Trigger::Scheduled { at: t0() }, t0()).await),
        Some(SkipReason::NotPeriodic)
    );
    assert_eq!(db.count("SELECT count(*) FROM simulation_runs").await, 0);
}

#[tokio::test]
async fn the_reaper_closes_lost_unstarted_and_overdue_runs_once() {
    let db = fresh_database().await;
    let now = t0();
    let mut runs = Vec::new();
    for _ in 0..5 {
        let config = bot_simulation(&db, &BOTS, "fast", 10, (5, 10), 1000).await;
        runs.push(simrunner::testing::queued_run(&db, &config, None).await);
    }
    let client = db.pool.get().await.unwrap();
    let set = |sql: &'static str, run: usize| {
        let (client, id) = (&client, runs[run].to_string());
        async move { client.execute(sql, &[&id, &now]).await.unwrap() }
    };
    // 0: heartbeat 61 s old; 1: queued 11 minutes; 2: started 13 minutes ago with a
    // 10-minute limit, heartbeat fresh; 3: healthy.
    set("UPDATE simulation_runs SET status = 'running', started_at = $2::timestamptz - interval '1 minute', heartbeat_at = $2::timestamptz - interval '61 seconds' WHERE id = $1", 0).await;
    set("UPDATE simulation_runs SET created_at = $2::timestamptz - interval '11 minutes' WHERE id = $1", 1).await;
    set("UPDATE simulation_runs SET status = 'running', started_at = $2::timestamptz - interval '13 minutes', heartbeat_at = $2::timestamptz WHERE id = $1", 2).await;
    set("UPDATE simulation_runs SET status = 'running', started_at = $2::timestamptz - interval '1 minute', heartbeat_at = $2::timestamptz - interval '5 seconds' WHERE id = $1", 3).await;

    // 4: asked to stop 61 s ago and still running (heartbeat fresh).
    set("UPDATE simulation_runs SET status = 'running', started_at = $2::timestamptz - interval '2 minutes', heartbeat_at = $2::timestamptz, stop_requested_at = $2::timestamptz - interval '61 seconds' WHERE id = $1", 4).await;

    let policy = ReaperPolicy::default();
    let (a, b) = tokio::join!(
        async {
            reap(&db.pool.get().await.unwrap(), now, &policy)
                .await
                .unwrap()
        },
        async {
            reap(&db.pool.get().await.unwrap(), now, &policy)
                .await
                .unwrap()
        },
    );
    let mut reaped: Vec<(String, &str)> = a
        .iter()
        .chain(&b)
        .map(|r| (r.run.to_string(), r.reason))
        .collect();
    reaped.sort();
    let mut expected = vec![
        (runs[0].to_string(), "runner_lost"),
        (runs[1].to_string(), "start_timeout"),
        (runs[2].to_string(), "safety_timeout"),
        (runs[4].to_string(), "stop_timeout"),
    ];
    expected.sort();
    assert_eq!(reaped, expected, "each stale run is reaped exactly once");
    assert!(
        reap(&client, now, &policy).await.unwrap().is_empty(),
        "reaping twice changes nothing"
    );
    let healthy: String = client
        .query_one(
            "SELECT status FROM simulation_runs WHERE id = $1",
            &[&runs[3].as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(healthy, "running");
    let stopped: String = client
        .query_one(
            "SELECT status FROM simulation_runs WHERE id = $1",
            &[&runs[4].as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stopped, "cancelled",
        "an ignored stop request still ends cancelled"
    );
}

#[tokio::test]
async fn stop_and_emergency_stop_ask_runs_to_stop_and_pause_configs() {
    let db = fresh_database().await;
    let a = periodic(&db, 10, 0).await;
    let b = periodic(&db, 10, 0).await;
    for config in [&a, &b] {
        assert!(matches!(
            {
                let mut client = db.pool.get().await.unwrap();
                dispatch(
                    &mut client,
                    config,
                    Trigger::Manual,
                    t0(),
                    &DispatchPolicy {
                        max_concurrent_runs: 5,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .0
            },
            Decision::Started(_)
        ));
    }
    let mut client = db.pool.get().await.unwrap();
    let stopped = stop_simulation(&mut client, &a, t0()).await.unwrap();
    assert!(matches!(stopped, Some(Some(_))));
    assert_eq!(
        db.count("SELECT count(*) FROM simulation_runs WHERE stop_requested_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        stop_simulation(&mut client, &SimulationId::generate(), t0())
            .await
            .unwrap(),
        None
    );

    let (runs, paused) = emergency_stop(&mut client, t0()).await.unwrap();
    assert_eq!(runs.len(), 2, "both runs asked");
    assert_eq!(paused, std::slice::from_ref(&b), "b paused (a already was)");
    assert_eq!(
        db.count("SELECT count(*) FROM simulation_configs WHERE status = 'active'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_trigger_for_llm_seats_without_a_key_is_skipped_and_recorded() {
    let db = fresh_database().await;
    let config = periodic(&db, 5, 0).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs
                SET agent_slots = '[{\"type\":\"random\"},{\"type\":\"tight\"},
                                    {\"type\":\"protocol\",\"model\":\"anthropic:claude-sonnet-4\"}]'
              WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap();
    let decision = go(&db, &config, Trigger::Scheduled { at: t0() }, t0()).await;
    assert_eq!(reason(&decision), Some(SkipReason::MissingApiKey));
    let Decision::Skipped { message, .. } = &decision else {
        unreachable!()
    };
    assert!(message.contains("anthropic"), "{message}");
    let manual = go(&db, &config, Trigger::Manual, t0()).await;
    assert_eq!(reason(&manual), Some(SkipReason::MissingApiKey));
    let skip: String = client
        .query_one(
            "SELECT last_skip_reason FROM simulation_configs WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(skip, "missing_api_key");

    client
        .execute(
            "INSERT INTO provider_api_keys (id, provider, label, ciphertext, nonce, key_id, last4)
             VALUES ('key_0123456789abcdef0123456789abcdef', 'anthropic', 'k', '\\x00',
                     '\\x000000000000000000000000', 'k1', 'abcd')",
            &[],
        )
        .await
        .unwrap();
    let later = t0() + Duration::minutes(5);
    let started = go(&db, &config, Trigger::Scheduled { at: later }, later).await;
    assert!(matches!(started, Decision::Started(_)), "{started:?}");
}

#[tokio::test]
async fn the_reaper_ends_the_feed_of_a_table_whose_run_is_over_mid_hand() {
    let db = fresh_database().await;
    let config = bot_simulation(&db, &BOTS, "live", 10, (5, 10), 1000).await;
    let client = db.pool.get().await.unwrap();
    let run = simrunner::testing::queued_run(&db, &config, None).await;
    let table = "tbl_0123456789abcdef0123456789abcdef";
    client
        .batch_execute(&format!(
            "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                                 action_timeout_ms, seats, hands_played)
             VALUES ('{table}', '{run}', 'b', 5, 10, 1000, 1000, '[]', 1);
             INSERT INTO table_events (table_id, seq, hand_number, kind, payload) VALUES
               ('{table}', 1, NULL, 'table_opened', '{{}}'),
               ('{table}', 2, 2, 'hand_started', '{{\"hand\": 2}}'),
               ('{table}', 3, 2, 'action', '{{}}');
             UPDATE simulation_runs SET status = 'failed', error_code = 'runner_lost',
                    completed_at = now() WHERE id = '{run}';"
        ))
        .await
        .unwrap();
    let reaped = reap(&client, t0(), &ReaperPolicy::default()).await.unwrap();
    assert!(reaped.is_empty(), "the run itself was already closed");
    let events: Vec<(i64, String)> = client
        .query(
            "SELECT seq, kind FROM table_events WHERE table_id = $1 ORDER BY seq",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        events[3..],
        [
            (4, "hand_aborted".to_owned()),
            (5, "table_ended".to_owned())
        ]
    );
    let row = client
        .query_one(
            "SELECT status, last_seq FROM tables WHERE id = $1",
            &[&table],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i64>(1)),
        ("ended".into(), 5)
    );
    // Once ended, a table is left alone.
    reap(&client, t0(), &ReaperPolicy::default()).await.unwrap();
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM table_events WHERE table_id = $1",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 5);
}

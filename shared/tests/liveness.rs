//! Always-on configs, calendar triggers, the skip history, auto-pause, coverage, alerts and
//! health figures against a real PostgreSQL, with a controlled clock.

use chrono::{DateTime, Duration, Utc};
use simrunner::alerts::{AlertSettings, Alerts};
use simrunner::dispatch::tick::{task_stopped, tick};
use simrunner::dispatch::{Decision, DispatchPolicy, RunControl, SkipReason, Trigger, dispatch};
use simrunner::domain::{RunId, SimulationId};
use simrunner::settings::EnvReader;
use simrunner::store::recording::{self, TakeOver};
use simrunner::store::{self, health};
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, http_receiver};

const BOTS: [&str; 3] = ["random", "tight", "callstation"];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn policy(max_concurrent_runs: i32) -> DispatchPolicy {
    DispatchPolicy {
        max_concurrent_runs,
        ..Default::default()
    }
}

/// A config turned into `set` (SQL assignments), active.
async fn config(db: &TestDatabase, set: &str) -> SimulationId {
    let id = bot_simulation(db, &BOTS, "fast", 10, (5, 10), 1000).await;
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            &format!("UPDATE simulation_configs SET status = 'active', {set} WHERE id = $1"),
            &[&id.as_str()],
        )
        .await
        .unwrap();
    id
}

async fn always_on(db: &TestDatabase, live: i32, handover: bool, cooldown: i64) -> SimulationId {
    config(
        db,
        &format!(
            "schedule_type = 'always_on', live_tables = {live}, handover = {handover},
             cooldown_minutes = {cooldown}, time_zone = 'UTC'"
        ),
    )
    .await
}

async fn go(
    db: &TestDatabase,
    config: &SimulationId,
    trigger: Trigger,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Decision {
    let mut client = db.pool.get().await.unwrap();
    dispatch(&mut client, config, trigger, now, policy)
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

fn started(decision: Decision) -> RunId {
    match decision {
        Decision::Started(run) => run.id,
        other => panic!("expected a run, got {other:?}"),
    }
}

async fn exec(db: &TestDatabase, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
    db.pool
        .get()
        .await
        .unwrap()
        .execute(sql, params)
        .await
        .unwrap();
}

/// The runner's claim, at `at` on the controlled clock.
async fn claim(db: &TestDatabase, run: &RunId, at: DateTime<Utc>) {
    exec(
        db,
        "UPDATE simulation_runs SET status = 'running', started_at = $2, heartbeat_at = $2 WHERE id = $1",
        &[&run.as_str(), &at],
    )
    .await;
}

async fn finish(db: &TestDatabase, run: &RunId, status: &str, at: DateTime<Utc>) {
    exec(
        db,
        "UPDATE simulation_runs SET status = $2, completed_at = $3,
                error_code = CASE WHEN $2 = 'failed' THEN 'runner_lost' END
          WHERE id = $1",
        &[&run.as_str(), &status, &at],
    )
    .await;
}

async fn in_play(db: &TestDatabase) -> i64 {
    db.count(
        "SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running') AND NOT standby",
    )
    .await
}

#[tokio::test]
async fn an_always_on_config_keeps_its_tables_and_waits_out_the_cooldown_per_table() {
    let db = fresh_database().await;
    let config = always_on(&db, 2, false, 5).await;
    let policy = policy(4);
    let a = started(go(&db, &config, Trigger::KeepLive, t0(), &policy).await);
    let b = started(go(&db, &config, Trigger::KeepLive, t0(), &policy).await);
    assert_eq!(
        reason(&go(&db, &config, Trigger::KeepLive, t0(), &policy).await),
        Some(SkipReason::AlreadyRunning),
        "two live tables and no more"
    );
    claim(&db, &a, t0()).await;
    claim(&db, &b, t0()).await;
    finish(&db, &a, "completed", t0() + Duration::minutes(10)).await;
    let later = t0() + Duration::minutes(12);
    assert_eq!(
        reason(&go(&db, &config, Trigger::KeepLive, later, &policy).await),
        Some(SkipReason::CoolingDown)
    );
    let c = started(
        go(
            &db,
            &config,
            Trigger::KeepLive,
            t0() + Duration::minutes(15),
            &policy,
        )
        .await,
    );
    assert_ne!(c, a);
    // The other table ends: its own cooldown, not the first one's, decides.
    finish(&db, &b, "completed", t0() + Duration::minutes(16)).await;
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::KeepLive,
                t0() + Duration::minutes(20),
                &policy
            )
            .await
        ),
        Some(SkipReason::CoolingDown)
    );
    started(
        go(
            &db,
            &config,
            Trigger::KeepLive,
            t0() + Duration::minutes(21),
            &policy,
        )
        .await,
    );
    assert_eq!(in_play(&db).await, 2);
    // Keeping live is not a trigger that was lost: no skip was recorded.
    assert_eq!(db.count("SELECT count(*) FROM simulation_skips").await, 0);
}

#[tokio::test]
async fn racing_ticks_and_duplicate_endings_never_exceed_the_live_tables_or_the_global_limit() {
    let db = fresh_database().await;
    let config = always_on(&db, 3, false, 0).await;
    let other = always_on(&db, 3, false, 0).await;
    let policy = policy(4);
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (pool, policy) = (db.pool.clone(), policy.clone());
            let config = if i % 2 == 0 {
                config.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                let mut client = pool.get().await.unwrap();
                dispatch(&mut client, &config, Trigger::KeepLive, t0(), &policy)
                    .await
                    .unwrap()
                    .0
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let active = |id: &SimulationId| {
        format!(
            "SELECT count(*) FROM simulation_runs WHERE config_id = '{}' AND status IN ('queued', 'running')",
            id.as_str()
        )
    };
    assert!(db.count(&active(&config)).await <= 3);
    assert!(db.count(&active(&other)).await <= 3);
    assert_eq!(
        db.count("SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running')")
            .await,
        4,
        "the global limit is full and never exceeded"
    );
}

#[tokio::test]
async fn with_handover_the_next_table_waits_beside_the_closing_one_and_takes_over_when_it_ends() {
    let db = fresh_database().await;
    let config = always_on(&db, 1, true, 0).await;
    exec(
        &db,
        "UPDATE simulation_configs SET max_run_minutes = 10 WHERE id = $1",
        &[&config.as_str()],
    )
    .await;
    let policy = policy(2);
    let first = started(go(&db, &config, Trigger::KeepLive, t0(), &policy).await);
    claim(&db, &first, t0()).await;
    let mut client = db.pool.get().await.unwrap();
    assert_eq!(
        recording::take_over(&mut client, &first).await.unwrap(),
        TakeOver::InPlay
    );
    // Its table is not expected to end within the lead (2 minutes): nothing more starts.
    let at = |m| t0() + Duration::minutes(m);
    exec(
        &db,
        "UPDATE simulation_runs SET started_at = $2 WHERE id = $1",
        &[&first.as_str(), &at(0)],
    )
    .await;
    assert_eq!(
        reason(&go(&db, &config, Trigger::KeepLive, at(1), &policy).await),
        Some(SkipReason::AlreadyRunning)
    );
    // Half its hands in 4 minutes: 4 more to go at 8 minutes, within the lead at 9.
    exec(
        &db,
        "UPDATE simulation_runs SET hands_played = 5 WHERE id = $1",
        &[&first.as_str()],
    )
    .await;
    let next = started(
        go(
            &db,
            &config,
            Trigger::KeepLive,
            at(4) + Duration::minutes(5),
            &policy,
        )
        .await,
    );
    claim(&db, &next, at(9)).await;
    assert_eq!(
        recording::take_over(&mut client, &next).await.unwrap(),
        TakeOver::Wait
    );
    assert_eq!(
        in_play(&db).await,
        1,
        "one table in play, the next one waiting"
    );
    assert_eq!(
        reason(&go(&db, &config, Trigger::KeepLive, at(9), &policy).await),
        Some(SkipReason::AlreadyRunning),
        "one next table is enough"
    );
    finish(&db, &first, "completed", at(10)).await;
    assert_eq!(
        recording::take_over(&mut client, &next).await.unwrap(),
        TakeOver::InPlay
    );
    assert_eq!(in_play(&db).await, 1);
    assert_eq!(
        recording::take_over(&mut client, &next).await.unwrap(),
        TakeOver::InPlay,
        "idempotent"
    );
}

#[tokio::test]
async fn outside_its_window_or_paused_an_always_on_config_starts_nothing() {
    let db = fresh_database().await;
    // 08:00–09:00 in Berlin is 07:00–08:00 UTC in November: t0 (10:00 UTC) is outside.
    let config = config(
        &db,
        r#"schedule_type = 'always_on', live_tables = 1, time_zone = 'Europe/Berlin',
           windows = '[{"start": "08:00", "end": "09:00"}]'"#,
    )
    .await;
    let policy = policy(2);
    assert_eq!(
        reason(&go(&db, &config, Trigger::KeepLive, t0(), &policy).await),
        Some(SkipReason::OutsideWindow)
    );
    started(
        go(
            &db,
            &config,
            Trigger::KeepLive,
            t0() - Duration::minutes(150),
            &policy,
        )
        .await,
    );
}

#[tokio::test]
async fn calendar_triggers_keep_to_their_times_dates_and_run_limit_and_every_skip_is_kept() {
    let db = fresh_database().await;
    let config = config(
        &db,
        "schedule_type = 'periodic', cron_expression = '0 9 * * ? *', time_zone = 'Europe/Berlin',
         starts_at = '2026-11-20T00:00:00Z', ends_at = '2026-12-31T00:00:00Z', max_runs = 2,
         cooldown_minutes = 0",
    )
    .await;
    let policy = policy(2);
    // 09:00 Berlin = 08:00 UTC in November.
    let day = |d: u32| {
        DateTime::parse_from_rfc3339(&format!("2026-11-{d:02}T08:00:00Z"))
            .unwrap()
            .to_utc()
    };
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled { at: day(19) },
                day(19),
                &policy
            )
            .await
        ),
        Some(SkipReason::OutsideCalendar)
    );
    let run = started(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: day(21) },
            day(21),
            &policy,
        )
        .await,
    );
    finish(&db, &run, "completed", day(21) + Duration::minutes(5)).await;
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled {
                    at: day(21) + Duration::hours(3)
                },
                day(21) + Duration::hours(3),
                &policy
            )
            .await
        ),
        Some(SkipReason::NotDue),
        "the next time is tomorrow at 09:00"
    );
    let run = started(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: day(22) },
            day(22),
            &policy,
        )
        .await,
    );
    finish(&db, &run, "completed", day(22) + Duration::minutes(5)).await;
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled { at: day(23) },
                day(23),
                &policy
            )
            .await
        ),
        Some(SkipReason::MaxRunsReached)
    );
    let client = db.pool.get().await.unwrap();
    let skips = store::list_skips(&client, &config, 10).await.unwrap();
    let reasons: Vec<&str> = skips.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons, ["max_runs_reached", "not_due", "outside_calendar"]);
    assert_eq!(skips[0].scheduled_at, Some(day(23)));
    // The history keeps the newest hundred.
    for minute in 0..120 {
        let at = day(23) + Duration::minutes(minute);
        go(&db, &config, Trigger::Scheduled { at }, at, &policy).await;
    }
    let kept = store::list_skips(&client, &config, 1000).await.unwrap();
    assert_eq!(kept.len(), 100);
    assert_eq!(kept[0].at, day(23) + Duration::minutes(119));
}

#[tokio::test]
async fn a_config_pauses_itself_after_n_failed_or_degraded_runs_with_one_alert() {
    let db = fresh_database().await;
    let config = config(
        &db,
        "schedule_type = 'periodic', interval_minutes = 10, cooldown_minutes = 0, auto_pause_after = 2",
    )
    .await;
    let policy = policy(2);
    let at = |m| t0() + Duration::minutes(m);
    let run = started(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: at(0) },
            at(0),
            &policy,
        )
        .await,
    );
    claim(&db, &run, at(0)).await;
    finish(&db, &run, "failed", at(1)).await;
    let run = started(
        go(
            &db,
            &config,
            Trigger::Scheduled { at: at(10) },
            at(10),
            &policy,
        )
        .await,
    );
    claim(&db, &run, at(10)).await;
    exec(
        &db,
        r#"UPDATE simulation_runs SET status = 'completed', completed_at = $2,
                  degraded_reasons = '[{"code": "auth", "seat": 0, "message": "refused"}]'
            WHERE id = $1"#,
        &[&run.as_str(), &at(11)],
    )
    .await;
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled { at: at(20) },
                at(20),
                &policy
            )
            .await
        ),
        Some(SkipReason::AutoPaused)
    );
    assert_eq!(
        reason(
            &go(
                &db,
                &config,
                Trigger::Scheduled { at: at(30) },
                at(30),
                &policy
            )
            .await
        ),
        Some(SkipReason::Paused)
    );
    let client = db.pool.get().await.unwrap();
    let record = store::get_simulation(&client, &config)
        .await
        .unwrap()
        .unwrap();
    assert!(
        record
            .pause_reason
            .as_deref()
            .unwrap()
            .contains("last 2 runs failed or were degraded")
    );
    assert_eq!(
        db.count("SELECT count(*) FROM alerts WHERE kind = 'config_auto_paused'")
            .await,
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM alerts WHERE kind = 'run_failed'")
            .await,
        1
    );
}

fn alerts_to(url: &str) -> Alerts {
    let mut env = EnvReader::from_vars(&[
        ("SIMRUNNER_ALERT_WEBHOOK_URL", url),
        (
            "SIMRUNNER_ALERT_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ]);
    let settings = AlertSettings::from_env(&mut env);
    env.finish().unwrap();
    futures_block(settings.build())
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_alerted_once_signed_and_retried_until_the_webhook_takes_it() {
    let db = fresh_database().await;
    let config = always_on(&db, 1, false, 0).await;
    let run = started(go(&db, &config, Trigger::KeepLive, t0(), &policy(2)).await);
    claim(&db, &run, t0()).await;
    exec(
        &db,
        "UPDATE simulation_runs SET task_ref = 'arn:task/1' WHERE id = $1",
        &[&run.as_str()],
    )
    .await;
    // The task stops; ECS says so twice.
    let client = db.pool.get().await.unwrap();
    for _ in 0..2 {
        let owner = task_stopped(&client, "arn:task/1", "Essential container exited", t0())
            .await
            .unwrap();
        assert_eq!(owner, Some(config.clone()));
    }
    assert_eq!(db.count("SELECT count(*) FROM alerts").await, 1);

    let receiver = http_receiver();
    receiver
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let alerts = alerts_to(&receiver.url);
    let mut client = db.pool.get().await.unwrap();
    // The trigger stamps the alert with the database's clock.
    let now = Utc::now() + Duration::seconds(1);
    assert_eq!(alerts.deliver_pending(&mut client, now).await.unwrap(), 0);
    assert_eq!(
        alerts.deliver_pending(&mut client, now).await.unwrap(),
        0,
        "backing off"
    );
    receiver
        .status
        .store(204, std::sync::atomic::Ordering::SeqCst);
    let later = now + Duration::minutes(2);
    assert_eq!(alerts.deliver_pending(&mut client, later).await.unwrap(), 1);
    assert_eq!(
        alerts
            .deliver_pending(&mut client, later + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one refused attempt, one taken");
    let taken = &requests[1];
    let body: serde_json::Value = serde_json::from_str(&taken.body).unwrap();
    assert_eq!(body["type"], "alert.run_failed");
    assert_eq!(body["data"]["run_id"], run.as_str());
    assert_eq!(body["data"]["error_code"], "runner_lost");
    let key = simrunner::signing::signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let expected = simrunner::signing::signature(
        &key,
        &taken.headers["webhook-id"],
        taken.headers["webhook-timestamp"].parse().unwrap(),
        taken.body.as_bytes(),
    );
    assert_eq!(taken.headers["webhook-signature"], expected);
    assert_eq!(
        taken.headers["webhook-id"], requests[0].headers["webhook-id"],
        "one id for a retried message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_is_lost_once_after_the_grace_and_restored_once() {
    let db = fresh_database().await;
    let config = always_on(&db, 1, false, 1).await;
    let receiver = http_receiver();
    let control = RunControl {
        alerts: alerts_to(&receiver.url),
        ..Default::default()
    };
    // No launcher here: nothing starts, so the config stays uncovered.
    let at = |s| t0() + Duration::seconds(s);
    for second in [0, 60, 150, 181, 200, 400] {
        tick(&db.pool, &control, at(second)).await.unwrap();
    }
    let kinds: Vec<String> = db
        .pool
        .get()
        .await
        .unwrap()
        .query("SELECT kind FROM alerts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        kinds,
        ["coverage_lost"],
        "lost after cooldown (1 min) + grace (2 min), once"
    );
    // A table opens: restored, once.
    let run = started(go(&db, &config, Trigger::Manual, at(401), &policy(2)).await);
    claim(&db, &run, at(401)).await;
    exec(
        &db,
        "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                             action_timeout_ms, seats)
         VALUES ('tbl_0123456789abcdef0123456789abcdef', $1, 'b', 5, 10, 1000, 1000, '[]')",
        &[&run.as_str()],
    )
    .await;
    for second in [402, 460, 520] {
        tick(&db.pool, &control, at(second)).await.unwrap();
    }
    let bodies: Vec<String> = receiver.requests().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0].contains("alert.coverage_lost") && bodies[1].contains("alert.coverage_restored")
    );
}

#[tokio::test]
async fn health_figures_come_from_runs_and_tables_with_known_times() {
    let db = fresh_database().await;
    let config = always_on(&db, 1, false, 0).await;
    let periodic = config_periodic(&db).await;
    // The last 24 hours on the hour: t0 is 10:00, so 11:00 yesterday to now.
    let (from, buckets) = health::period("24h", t0()).unwrap();
    assert_eq!((from, buckets), (t0() - Duration::hours(23), 24));
    let at = |h: i64| from + Duration::hours(h);
    exec(
        &db,
        "UPDATE simulation_configs SET created_at = $1",
        &[&(t0() - Duration::days(30))],
    )
    .await;
    // Always-on: tables 0–6 h and 6–12 h (a handover at 6 h), then nothing: 12 of 23 hours.
    for (i, (start, end, status)) in [(0, 6, "completed"), (6, 12, "failed")].iter().enumerate() {
        let run = RunId::generate();
        exec(
            &db,
            "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key, created_at,
                                          started_at, completed_at, hands_played, error_code,
                                          decisions, fallbacks, lane)
             VALUES ($1, $2, $3, 'always_on', $1, $4, $4, $5, 100,
                     CASE WHEN $3 = 'failed' THEN 'runner_lost' END, 50, 5, 1)",
            &[
                &run.as_str(),
                &config.as_str(),
                status,
                &at(*start),
                &at(*end),
            ],
        )
        .await;
        exec(
            &db,
            "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                                 action_timeout_ms, seats, status, created_at, ended_at)
             VALUES ($1, $2, 'b', 5, 10, 1000, 1000, '[]', 'ended', $3, $4)",
            &[
                &format!("tbl_{i:032x}"),
                &run.as_str(),
                &at(*start),
                &at(*end),
            ],
        )
        .await;
    }
    // A run that ended before the period counts for nothing.
    let old = RunId::generate();
    exec(
        &db,
        "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key, created_at,
                                      started_at, completed_at, hands_played)
         VALUES ($1, $2, 'completed', 'schedule', $1, $3, $3, $3, 999)",
        &[
            &old.as_str(),
            &periodic.as_str(),
            &(t0() - Duration::days(2)),
        ],
    )
    .await;
    let client = db.pool.get().await.unwrap();
    let figures = health::health(&client, from, t0(), buckets).await.unwrap();
    let about = |share: Option<f64>| (share.unwrap() * 23.0 * 1e6).round() / 1e6;
    let mine = figures
        .configs
        .iter()
        .find(|c| c.id == config.as_str())
        .unwrap();
    assert_eq!(about(mine.figures.coverage), 12.0);
    assert_eq!(about(mine.figures.full_coverage), 12.0);
    assert_eq!(
        (mine.figures.runs, mine.figures.failed, mine.figures.hands),
        (2, 1, 200)
    );
    assert_eq!(mine.figures.failure_rate(), Some(0.5));
    assert_eq!(mine.figures.fallbacks_per_100(), Some(10.0));
    assert_eq!(mine.series.len(), 24);
    assert_eq!(mine.series[0].coverage, Some(1.0));
    assert_eq!(mine.series[22].coverage, Some(0.0));
    assert_eq!(
        mine.series[6].runs, 1,
        "the first run ended at 6 h: the bucket from 6 h"
    );
    assert_eq!(figures.overall.runs, 2);
    assert_eq!(about(figures.overall.coverage), 12.0);
    // Settled hours are kept, and read back the same.
    let again = health::health(&client, from, t0(), buckets).await.unwrap();
    assert_eq!(again.overall, figures.overall);
    assert_eq!(again.configs[0].figures, figures.configs[0].figures);
    assert!(db.count("SELECT count(*) FROM health_hours").await >= 23 * 3);
    let other = figures
        .configs
        .iter()
        .find(|c| c.id == periodic.as_str())
        .unwrap();
    assert_eq!((other.figures.runs, other.figures.coverage), (0, Some(0.0)));
}

async fn config_periodic(db: &TestDatabase) -> SimulationId {
    config(db, "schedule_type = 'periodic', interval_minutes = 30").await
}

#[tokio::test]
async fn a_key_a_provider_refused_is_flagged_until_a_run_gets_answers_with_it() {
    let db = fresh_database().await;
    let config = config_periodic(&db).await;
    let key_created = t0() - Duration::days(1);
    exec(
        &db,
        "INSERT INTO provider_api_keys (id, provider, label, ciphertext, nonce, key_id, last4, created_at)
         VALUES ('key_0123456789abcdef0123456789abcdef', 'openai', 'k', '\\x00', '\\x000000000000000000000000', 'k1', 'abcd', $1)",
        &[&key_created],
    )
    .await;
    let end_with = |usage: serde_json::Value, at: DateTime<Utc>| {
        let (db, config) = (&db, &config);
        async move {
            let run = RunId::generate();
            exec(
                db,
                "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key, started_at, heartbeat_at)
                 VALUES ($1, $2, 'running', 'manual', $1, $3, $3)",
                &[&run.as_str(), &config.as_str(), &at],
            )
            .await;
            exec(
                db,
                "UPDATE simulation_runs SET status = 'completed', completed_at = $2, llm_usage = $3 WHERE id = $1",
                &[&run.as_str(), &at, &usage],
            )
            .await;
        }
    };
    let refused = serde_json::json!({"seats": [{"seat": 0, "provider": "openai", "calls": 0}],
        "warnings": [{"seat": 0, "provider": "openai", "code": "auth", "message": "openai answered auth"}]});
    end_with(refused, t0()).await;
    let client = db.pool.get().await.unwrap();
    let key = &store::list_api_keys(&client).await.unwrap()[0];
    assert_eq!(key.auth_failed_at, Some(t0()));
    assert_eq!(key.auth_error.as_deref(), Some("openai answered auth"));
    assert_eq!(key.last_worked_at, None);
    let answered = serde_json::json!({"seats": [{"seat": 0, "provider": "openai", "calls": 12}], "warnings": []});
    end_with(answered, t0() + Duration::hours(1)).await;
    let key = &store::list_api_keys(&client).await.unwrap()[0];
    assert_eq!(
        (key.auth_failed_at, key.last_worked_at),
        (None, Some(t0() + Duration::hours(1)))
    );
}

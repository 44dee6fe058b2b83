//! Differential test: hands the real runner recorded (fast pace, real PostgreSQL), exported
//! as PHH and replayed hand by hand in an independent engine, PokerKit (pinned, installed
//! into `.venv-pokerkit` by `infra/test.sh`), by `infra/phh_replay.py`. Every hand must
//! load, every action must be legal there and the final stacks must match, except where
//! the engine follows a documented convention, which the checker counts by name.

use serde_json::Value;
use simrunner::store::hand_histories::{self, View};
use simrunner::store::public;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, queued_run};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One table to record: its line-up, blinds, starting stack, hand limit and seed.
struct Plan {
    slots: &'static [&'static str],
    blinds: (i64, i64),
    stack: i64,
    max_hands: i64,
    seed: i64,
}

const R: &str = "random";
const T: &str = "tight";
const C: &str = "callstation";

/// 2, 3, 6 and 9 seats with every bot; short stacks (10 and 20 big blinds: all-ins and side
/// pots) and deep ones (100 and 250); odd blinds (3/7, 5/11: pots that split with odd chips)
/// and even ones. Bots bust each other quickly (a table ends when one seat holds every
/// chip), so there are many tables, each with its own seed.
fn plans() -> Vec<Plan> {
    let lineups: [&'static [&'static str]; 8] = [
        &[R, T],
        &[T, C],
        &[R, C, T],
        &[C, T, C],
        &[R, T, C, R, T, C],
        &[T, C, C, T, R, C],
        &[R, T, C, R, T, C, R, T, C],
        &[T, C, T, C, R, T, C, T, C],
    ];
    let tables = [((3, 7), 10), ((5, 10), 20), ((5, 11), 100), ((1, 2), 250)];
    let mut plans = Vec::new();
    for seed in 0..10 {
        for (i, slots) in lineups.into_iter().enumerate() {
            for (j, (blinds, big_blinds)) in tables.into_iter().enumerate() {
                plans.push(Plan {
                    slots,
                    blinds,
                    stack: blinds.1 * big_blinds,
                    max_hands: 2_000,
                    seed: seed * 100 + (i * 10 + j) as i64,
                });
            }
        }
    }
    plans
}

/// Hands the engine recorded wrongly before its all-in fixes, and one with a wrong stack:
/// the small blind asked to act (and folding) against a big blind all-in for less; a raise
/// nobody could answer; a fold that pays the wrong amount.
const WRONG_HANDS: &str = r#"
1 = { variant = "NT", antes = [0, 0], blinds_or_straddles = [5, 10], min_bet = 10, starting_stacks = [4, 100], actions = ["d dh p1 KsKd", "d dh p2 2c3d", "p2 f"], finishing_stacks = [9, 95] }
2 = { variant = "NT", antes = [0, 0, 0], blinds_or_straddles = [5, 10, 0], min_bet = 10, starting_stacks = [8, 10, 100], actions = ["d dh p1 KsKd", "d dh p2 2c3d", "d dh p3 QsQd", "p3 cbr 20", "p1 f"], finishing_stacks = [3, 0, 115] }
3 = { variant = "NT", antes = [0, 0, 0], blinds_or_straddles = [5, 10, 0], min_bet = 10, starting_stacks = [100, 100, 100], actions = ["d dh p1 KsKd", "d dh p2 2c3d", "d dh p3 QsQd", "p3 f", "p1 f"], finishing_stacks = [95, 104, 100] }
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Plays one planned table with the real runner binary; returns its table id.
async fn record(db: &TestDatabase, plan: &Plan) -> (String, std::process::Child) {
    let config = bot_simulation(
        db,
        plan.slots,
        "fast",
        plan.max_hands,
        plan.blinds,
        plan.stack,
    )
    .await;
    let run = queued_run(db, &config, Some(plan.seed)).await.to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_runner-task"))
        .env("RUN_ID", &run)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (run, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_hands_replay_in_pokerkit_with_only_the_documented_conventions() {
    let python = workspace().join(".venv-pokerkit/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./infra/test.sh, which installs PokerKit there",
        python.display()
    );
    let db = fresh_database().await;
    let started = Instant::now();
    let plans = plans();
    let mut runs = Vec::new();
    // Two runners at a time: one per core.
    for pair in plans.chunks(2) {
        let mut children = Vec::new();
        for plan in pair {
            children.push(record(&db, plan).await);
        }
        for (run, mut child) in children {
            assert!(child.wait().unwrap().success(), "run {run} failed");
            runs.push(run);
        }
    }
    let recorded = started.elapsed();

    let folder = std::env::temp_dir().join(format!("phh-replay-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let client = db.pool.get().await.unwrap();
    let (mut files, mut public_files) = (Vec::new(), Vec::new());
    let (mut hands, mut bytes) = (0, 0);
    let exported = Instant::now();
    for run in &runs {
        let table = hand_histories::run_table(&client, run, 1)
            .await
            .unwrap()
            .flatten()
            .expect("the run opened a table");
        let mut text = String::new();
        hands += hand_histories::visit(
            &client,
            &table.id,
            &table.seats,
            View::Full,
            1..=i64::MAX,
            |h| Ok(h.write_phhs_entry(&mut text)?),
        )
        .await
        .unwrap();
        bytes += text.len();
        let path = folder.join(format!("{}.phhs", table.id));
        std::fs::write(&path, &text).unwrap();
        files.push(path);
        // The public view (hidden cards as `????`) of the 5/11 tables replays the same.
        if files.len() % 4 == 3 {
            let public_table = public::get_table(&client, &table.id)
                .await
                .unwrap()
                .unwrap();
            let mut text = String::new();
            public::hand_histories(&client, &public_table, 1..=i64::MAX, |h| {
                Ok(h.write_phhs_entry(&mut text)?)
            })
            .await
            .unwrap();
            let path = folder.join(format!("{}.public.phhs", table.id));
            std::fs::write(&path, &text).unwrap();
            public_files.push(path);
        }
    }
    let exported = exported.elapsed();
    assert!(hands >= 20_000, "only {hands} hands were recorded");

    let check = |files: &[PathBuf]| -> Value {
        let output = Command::new(&python)
            .arg(workspace().join("infra/phh_replay.py"))
            .args(files)
            .output()
            .unwrap();
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!(
                "the checker did not answer: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert_eq!(summary["failed"], 0, "unexplained differences: {summary:#}");
        assert!(output.status.success());
        summary
    };
    let full = check(&files);
    assert_eq!(full["hands"], hands);
    let public = check(&public_files);
    // The checker has teeth: the engine's two old mistakes and a wrong stack are caught.
    let wrong = folder.join("wrong.phhs");
    std::fs::write(&wrong, WRONG_HANDS).unwrap();
    let output = Command::new(&python)
        .arg(workspace().join("infra/phh_replay.py"))
        .arg(&wrong)
        .output()
        .unwrap();
    let caught: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (caught["hands"].as_u64(), caught["failed"].as_u64()),
        (Some(3), Some(3)),
        "{caught:#}"
    );
    assert!(!output.status.success());
    std::fs::remove_dir_all(&folder).unwrap();

    // Printed past the test harness's capture: the figures belong in the test command's output.
    let _ = writeln!(
        std::io::stderr(),
        "phh replay: {hands} hands of {} tables recorded in {:.1} s, exported in {:.2} s \
         ({:.1} MB), replayed in PokerKit at {} hands/s ({} public hands too); conventions: {}",
        runs.len(),
        recorded.as_secs_f64(),
        exported.as_secs_f64(),
        bytes as f64 / 1e6,
        full["hands_per_second"],
        public["hands"],
        full["conventions"]
    );
}

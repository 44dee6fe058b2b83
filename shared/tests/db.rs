//! The migrations and the database's own invariants, against a real PostgreSQL.

use simrunner::db::{MIGRATIONS, migrate};
use simrunner::testing::fresh_database;

#[tokio::test]
async fn migrations_apply_once_and_a_second_run_is_a_no_op() {
    let db = fresh_database().await;
    let mut client = db.pool.get().await.unwrap();
    let report = migrate(&mut client).await.unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(report.already_applied, MIGRATIONS.len());
    let count: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn concurrent_migrators_on_a_new_database_both_succeed() {
    let db = fresh_database().await;
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .unwrap();
    drop(client);
    let run = || {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let mut client = pool.get().await.unwrap();
            migrate(&mut client).await.map(|r| r.applied.len())
        })
    };
    let (a, b) = (run(), run());
    let applied = a.await.unwrap().unwrap() + b.await.unwrap().unwrap();
    assert_eq!(
        applied,
        MIGRATIONS.len(),
        "each migration is applied exactly once"
    );
}

/// Inserts a config row with one column overridden; returns the database's verdict.
async fn insert_config(
    client: &tokio_postgres::Client,
    column: &str,
    value: &str,
) -> Result<u64, String> {
    let mut values = std::collections::BTreeMap::from([
        ("id", "'sim_0123456789abcdef0123456789abcdef'"),
        ("name", "'db test'"),
        ("schedule_type", "'one_off'"),
        ("agent_count", "2"),
        ("agent_slots", r#"'[{"type":"random"},{"type":"tight"}]'"#),
        ("small_blind", "1"),
        ("big_blind", "2"),
        ("initial_stack", "100"),
        ("action_timeout_ms", "5000"),
    ]);
    values.insert(column, value);
    let (cols, vals): (Vec<_>, Vec<_>) = values.into_iter().unzip();
    client
        .execute(
            &format!(
                "INSERT INTO simulation_configs ({}) VALUES ({})",
                cols.join(", "),
                vals.join(", ")
            ),
            &[],
        )
        .await
        .map_err(|e| {
            e.as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_default()
        })
}

#[tokio::test]
async fn the_database_itself_rejects_invalid_configs() {
    let db = fresh_database().await;
    let client = db.pool.get().await.unwrap();
    for (column, value) in [
        ("status", "'running'"),
        ("agent_count", "1"),
        ("agent_count", "3"),
        ("agent_slots", r#"'{"type":"random"}'"#),
        ("small_blind", "0"),
        ("big_blind", "0"),
        ("initial_stack", "3"),
        ("action_timeout_ms", "999"),
        ("interval_minutes", "5"),
        ("schedule_type", "'periodic'"),
        ("schedule_type", "'always_on'"),
        ("cron_expression", "'0 8 * * ? *'"),
        ("live_tables", "1"),
        ("max_runs", "3"),
        ("windows", "'[]'"),
        ("cooldown_minutes", "-1"),
        ("max_hands", "10001"),
        ("max_run_minutes", "0"),
        ("pace", "'slow'"),
        ("name", "' padded '"),
        ("id", "'sim_x'"),
    ] {
        let verdict = insert_config(&client, column, value).await;
        assert!(verdict.is_err(), "{column} = {value} was accepted");
    }
    assert_eq!(
        insert_config(&client, "name", "'ok'").await,
        Ok(1),
        "the baseline row is valid"
    );
    let bucket: String = client
        .query_one("SELECT bucket_key FROM simulation_configs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(bucket, "sb1_bb2_seats2_timeout5000");
}

#[tokio::test]
async fn runs_have_one_row_per_trigger_and_vanish_with_their_config() {
    let db = fresh_database().await;
    let client = db.pool.get().await.unwrap();
    assert_eq!(insert_config(&client, "name", "'ok'").await, Ok(1));
    let insert_run = |id: &'static str, key: &'static str| {
        let client = &client;
        async move {
            client
                .execute(
                    "INSERT INTO simulation_runs (id, config_id, trigger, trigger_key)
                     VALUES ($1, 'sim_0123456789abcdef0123456789abcdef', 'schedule', $2)",
                    &[&id, &key],
                )
                .await
        }
    };
    insert_run("run_00000000000000000000000000000001", "2026-11-22T10:00Z")
        .await
        .unwrap();
    let duplicate = insert_run("run_00000000000000000000000000000002", "2026-11-22T10:00Z").await;
    assert_eq!(
        duplicate.unwrap_err().code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );
    let failed_without_reason = client
        .execute(
            "UPDATE simulation_runs SET status = 'failed', completed_at = now()",
            &[],
        )
        .await;
    assert!(failed_without_reason.is_err());
    client
        .execute("DELETE FROM simulation_configs", &[])
        .await
        .unwrap();
    let runs: i64 = client
        .query_one("SELECT count(*) FROM simulation_runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0);
}

#[tokio::test]
async fn rotating_the_master_key_reseals_every_provider_key_or_none() {
    use simrunner::domain::{ApiKeyDraft, Provider};
    use simrunner::secrets::{Keyring, MasterKey};
    use simrunner::settings::Secret;
    use simrunner::store::{ResealReport, insert_api_key, reseal_api_keys, reveal_api_key};

    let db = fresh_database().await;
    let mut client = db.pool.get().await.unwrap();
    let (old_hex, new_hex) = (MasterKey::generate_hex(), MasterKey::generate_hex());
    let key = |hex: &str| MasterKey::parse(hex).unwrap();
    let old = Keyring::new(key(&old_hex), vec![]);
    let mut ids = Vec::new();
    for secret in ["sk-first-0000000001", "sk-second-000000002"] {
        let draft = ApiKeyDraft {
            provider: Some(Provider::OpenAi.as_str().into()),
            label: Some("prod".into()),
            key: Some(Secret::new(secret.into())),
        };
        let record = insert_api_key(&client, &old, &draft.validate().unwrap())
            .await
            .unwrap();
        ids.push((record.id, secret));
    }

    // Without the old key nothing opens, and nothing changes.
    let new_only = Keyring::new(key(&new_hex), vec![]);
    let refused = reseal_api_keys(&mut client, &new_only).await.unwrap_err();
    assert!(refused.to_string().contains("not configured"), "{refused}");
    assert!(reveal_api_key(&client, &old, &ids[0].0).await.is_ok());

    let rotating = Keyring::new(key(&new_hex), vec![key(&old_hex)]);
    assert_eq!(
        reseal_api_keys(&mut client, &rotating).await.unwrap(),
        ResealReport {
            resealed: 2,
            current: 0
        }
    );
    for (id, secret) in &ids {
        let revealed = reveal_api_key(&client, &new_only, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revealed.expose(), secret, "opens with the new key alone");
    }
    assert_eq!(
        reseal_api_keys(&mut client, &new_only).await.unwrap(),
        ResealReport {
            resealed: 0,
            current: 2
        }
    );
}

#[tokio::test]
async fn webhook_secrets_are_resealed_with_the_provider_keys_rotation() {
    use simrunner::domain::{WebhookDraft, WebhookPolicy};
    use simrunner::secrets::{Keyring, MasterKey};
    use simrunner::store::webhooks::{insert_webhook, reseal_webhook_secrets, reveal_webhook};

    let db = fresh_database().await;
    let mut client = db.pool.get().await.unwrap();
    let (old_hex, new_hex) = (MasterKey::generate_hex(), MasterKey::generate_hex());
    let old = Keyring::new(MasterKey::parse(&old_hex).unwrap(), vec![]);
    let webhook = WebhookDraft {
        label: Some("bot".into()),
        url: Some("https://bot.example.com/act".into()),
    }
    .validate(WebhookPolicy::default())
    .unwrap();
    let (record, secret) = insert_webhook(&client, &old, &webhook).await.unwrap();
    assert_eq!(record.key_id, old.current_key_id());

    let rotating = Keyring::new(
        MasterKey::parse(&new_hex).unwrap(),
        vec![MasterKey::parse(&old_hex).unwrap()],
    );
    let report = reseal_webhook_secrets(&mut client, &rotating)
        .await
        .unwrap();
    assert_eq!((report.resealed, report.current), (1, 0));
    let new_only = Keyring::new(MasterKey::parse(&new_hex).unwrap(), vec![]);
    let opened = reveal_webhook(&client, &new_only, &record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        opened.secret.expose(),
        secret.expose(),
        "opens with the new key alone"
    );
    assert_eq!(opened.url, "https://bot.example.com/act");
}

#[tokio::test]
async fn platform_credentials_and_seat_identities_are_resealed_too() {
    use simrunner::domain::{NewPlatform, SimulationDraft};
    use simrunner::secrets::{Keyring, MasterKey};
    use simrunner::settings::Secret;
    use simrunner::store::platforms::{
        PlatformIdentity, insert_platform, reseal_platform_secrets, reveal_identity,
        reveal_platform, save_identity,
    };

    let db = fresh_database().await;
    let mut client = db.pool.get().await.unwrap();
    let (old_hex, new_hex) = (MasterKey::generate_hex(), MasterKey::generate_hex());
    let old = Keyring::new(MasterKey::parse(&old_hex).unwrap(), vec![]);
    let platform = NewPlatform {
        name: "site".into(),
        base_url: "https://poker.example.com".into(),
        credential: Secret::new("admin-credential-1".into()),
    };
    let record = insert_platform(&client, &old, &platform).await.unwrap();
    let spec = SimulationDraft {
        name: Some("there".into()),
        host: Some(record.id.to_string()),
        agent_slots: Some(
            ["tight", "random"]
                .map(|t| simrunner::domain::AgentSlotDraft {
                    agent_type: Some(t.into()),
                    ..Default::default()
                })
                .into(),
        ),
        small_blind: Some(1),
        big_blind: Some(2),
        initial_stack: Some(100),
        action_timeout_ms: Some(1_000),
        ..SimulationDraft::default()
    }
    .validate()
    .unwrap();
    let config = simrunner::store::insert_simulation(&client, &spec)
        .await
        .unwrap()
        .id;
    let identity = PlatformIdentity {
        agent_id: "agt_remote".into(),
        key: Secret::new("seat-key-0".into()),
    };
    save_identity(&client, &old, &record.id, &config, 0, &identity)
        .await
        .unwrap();

    let rotating = Keyring::new(
        MasterKey::parse(&new_hex).unwrap(),
        vec![MasterKey::parse(&old_hex).unwrap()],
    );
    let report = reseal_platform_secrets(&mut client, &rotating)
        .await
        .unwrap();
    assert_eq!((report.resealed, report.current), (2, 0));
    let new_only = Keyring::new(MasterKey::parse(&new_hex).unwrap(), vec![]);
    let (_, credential) = reveal_platform(&client, &new_only, &record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credential.expose(), "admin-credential-1");
    let kept = reveal_identity(&client, &new_only, &record.id, &config, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.agent_id.as_str(), kept.key.expose().as_str()),
        ("agt_remote", "seat-key-0")
    );
}

/// A cluster asked for under a private folder (mode 0700, like root's home): as root its
/// files go where the `postgres` user can reach them, the same place again at the next
/// start; as anyone else it stays where it was asked for.
#[tokio::test]
async fn a_cluster_under_a_private_folder_starts_and_comes_back_to_the_same_place() {
    use simrunner::db::cluster::{ClusterOptions, LocalCluster, RELOCATION_ROOT};
    use std::os::unix::fs::PermissionsExt as _;
    let private = std::env::temp_dir().join(format!(
        "simrunner-private-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let options = ClusterOptions {
        root: private.join("project/.simrunner/postgres"),
        port: 0,
        durable: false,
    };
    let start = |options: ClusterOptions| {
        tokio::task::spawn_blocking(move || LocalCluster::start(&options).unwrap())
    };
    let cluster = start(options.clone()).await.unwrap();
    let as_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap()
        == 0;
    let first_root = cluster.root().to_path_buf();
    if as_root {
        let moved = cluster
            .relocation()
            .expect("moved out of the private folder");
        assert_eq!(moved.wanted, options.root);
        assert!(moved.reason.contains("cannot reach"), "{}", moved.reason);
        assert!(
            first_root.starts_with(RELOCATION_ROOT),
            "{}",
            first_root.display()
        );
    } else {
        assert!(cluster.relocation().is_none());
        assert_eq!(first_root, options.root);
    }
    let (client, connection) =
        tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        .await
        .unwrap();
    drop(client);
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();

    let again = start(options).await.unwrap();
    assert_eq!(
        again.root(),
        first_root,
        "the same folder at the next start"
    );
    let (client, connection) =
        tokio_postgres::connect(&again.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let kept: i32 = client
        .query_one("SELECT x FROM kept", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 7, "the data survived the restart");
    drop(client);
    tokio::task::spawn_blocking(move || again.stop())
        .await
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&first_root).unwrap();
    std::fs::remove_dir_all(&private).unwrap();
}

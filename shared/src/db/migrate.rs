use sha2::{Digest, Sha256};
use tokio_postgres::Client;

/// One SQL file from `migrations/`, embedded at build time.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Every migration in `migrations/`, in version order.
pub static MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "migration {version}_{name} was edited after it was applied; add a new migration instead"
    )]
    Edited { version: i64, name: String },
    #[error("applying migrations failed: {0}")]
    Database(#[from] tokio_postgres::Error),
}

/// What a call to [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    pub already_applied: usize,
}

/// Arbitrary but fixed: serialises concurrent migrators (two Lambdas, a test harness).
const MIGRATION_LOCK: i64 = 0x5349_4D52_554E; // "SIMRUN"

/// Applies every migration not yet applied, each in its own transaction, under an advisory
/// lock. Running it again is a no-op; an applied migration whose file changed is an error.
pub async fn migrate(client: &mut Client) -> Result<MigrationReport, MigrateError> {
    // The lock comes first, so even the bookkeeping table is created by one migrator at a
    // time: concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on the catalog.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    BIGINT PRIMARY KEY,
                    name       TEXT NOT NULL,
                    checksum   TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await?;
        apply_pending(client).await
    }
    .await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let report = result?;
    unlock?;
    Ok(report)
}

async fn apply_pending(client: &mut Client) -> Result<MigrationReport, MigrateError> {
    let rows = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?;
    let applied: std::collections::HashMap<i64, String> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: 0,
    };
    for migration in MIGRATIONS {
        let checksum = migration.checksum();
        match applied.get(&migration.version) {
            Some(stored) if *stored == checksum => report.already_applied += 1,
            Some(_) => {
                return Err(MigrateError::Edited {
                    version: migration.version,
                    name: migration.name.to_owned(),
                });
            }
            None => {
                let tx = client.transaction().await?;
                tx.batch_execute(migration.sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    &[&migration.version, &migration.name, &checksum],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(
                    version = migration.version,
                    name = migration.name,
                    "applied migration"
                );
                report.applied.push(migration.version);
            }
        }
    }
    Ok(report)
}

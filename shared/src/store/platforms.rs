//! Remote platforms and the identities simrunner's seats have there. Both secrets (the
//! platform's admin credential, each identity's agent key) are sealed like provider keys and
//! opened only by the runner and the admin API's connection check.

use super::api_keys::{ResealReport, RevealError, open_row, reseal};
use super::{StoreError, execute, get, query, query_opt};
use crate::domain::{NewPlatform, PlatformId, SimulationId};
use crate::secrets::{Keyring, random_hex};
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// What may be shown of a platform: never its credential.
#[derive(Debug, Clone)]
pub struct PlatformRecord {
    pub id: PlatformId,
    pub name: String,
    pub base_url: String,
    pub credential_last4: String,
    pub created_at: DateTime<Utc>,
    /// The configs that play there, oldest first.
    pub used_by: Vec<String>,
}

const COLUMNS: &str = "p.id, p.name, p.base_url, p.credential_last4, p.created_at,
     ARRAY(SELECT c.id FROM simulation_configs c WHERE c.platform_id = p.id
            ORDER BY c.created_at, c.id) AS used_by";

fn from_row(row: &Row) -> Result<PlatformRecord, StoreError> {
    let id: String = get(row, "id")?;
    Ok(PlatformRecord {
        id: PlatformId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a platform id")))?,
        name: get(row, "name")?,
        base_url: get(row, "base_url")?,
        credential_last4: get(row, "credential_last4")?,
        created_at: get(row, "created_at")?,
        used_by: get(row, "used_by")?,
    })
}

/// Seals the credential (bound to the new row's id) and stores the platform.
pub async fn insert_platform(
    client: &impl GenericClient,
    keyring: &Keyring,
    platform: &NewPlatform,
) -> Result<PlatformRecord, StoreError> {
    let id = PlatformId::generate();
    let sealed = keyring.seal(
        id.as_str().as_bytes(),
        platform.credential.expose().as_bytes(),
    );
    execute(
        client,
        "INSERT INTO platforms (id, name, base_url, ciphertext, nonce, key_id, credential_last4)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id.as_str(),
            &platform.name,
            &platform.base_url,
            &sealed.ciphertext,
            &sealed.nonce,
            &sealed.key_id,
            &platform.credential_last4(),
        ],
    )
    .await?;
    get_platform(client, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{id} vanished after insert")))
}

/// Newest first.
pub async fn list_platforms(
    client: &impl GenericClient,
) -> Result<Vec<PlatformRecord>, StoreError> {
    let rows = query(
        client,
        &format!("SELECT {COLUMNS} FROM platforms p ORDER BY p.created_at DESC, p.id DESC"),
        &[],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get_platform(
    client: &impl GenericClient,
    id: &PlatformId,
) -> Result<Option<PlatformRecord>, StoreError> {
    query_opt(
        client,
        &format!("SELECT {COLUMNS} FROM platforms p WHERE p.id = $1"),
        &[&id.as_str()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformDeletion {
    Deleted,
    NotFound,
    /// Configs still play there (oldest first): nothing was deleted.
    InUse(Vec<String>),
}

pub async fn delete_platform(
    client: &mut impl GenericClient,
    id: &PlatformId,
) -> Result<PlatformDeletion, StoreError> {
    let tx = client.transaction().await?;
    let Some(row) = query_opt(
        &tx,
        &format!("SELECT {COLUMNS} FROM platforms p WHERE p.id = $1 FOR UPDATE"),
        &[&id.as_str()],
    )
    .await?
    else {
        return Ok(PlatformDeletion::NotFound);
    };
    let platform = from_row(&row)?;
    if !platform.used_by.is_empty() {
        return Ok(PlatformDeletion::InUse(platform.used_by));
    }
    execute(&tx, "DELETE FROM platforms WHERE id = $1", &[&id.as_str()]).await?;
    tx.commit().await?;
    Ok(PlatformDeletion::Deleted)
}

/// The platform with its credential opened. `None` when there is no such platform.
pub async fn reveal_platform(
    client: &impl GenericClient,
    keyring: &Keyring,
    id: &PlatformId,
) -> Result<Option<(PlatformRecord, Secret<String>)>, RevealError> {
    let Some(platform) = get_platform(client, id).await? else {
        return Ok(None);
    };
    let row = query_opt(
        client,
        "SELECT id, ciphertext, nonce, key_id FROM platforms WHERE id = $1",
        &[&id.as_str()],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt(format!("{id} vanished")))?;
    Ok(Some((platform, open_row(&row, keyring)?)))
}

/// An identity a seat has on a platform: the agent id and its key there.
#[derive(Debug)]
pub struct PlatformIdentity {
    pub agent_id: String,
    pub key: Secret<String>,
}

/// The identity seat `seat` of `config` has on `platform`, if it has one.
pub async fn reveal_identity(
    client: &impl GenericClient,
    keyring: &Keyring,
    platform: &PlatformId,
    config: &SimulationId,
    seat: i16,
) -> Result<Option<PlatformIdentity>, RevealError> {
    let row = query_opt(
        client,
        "SELECT id, agent_id, ciphertext, nonce, key_id FROM platform_identities
          WHERE platform_id = $1 AND config_id = $2 AND seat = $3",
        &[&platform.as_str(), &config.as_str(), &seat],
    )
    .await?;
    row.map(|row| {
        Ok(PlatformIdentity {
            agent_id: get(&row, "agent_id")?,
            key: open_row(&row, keyring)?,
        })
    })
    .transpose()
}

/// Keeps the identity a seat was given on a platform (its key sealed) for later runs.
pub async fn save_identity(
    client: &impl GenericClient,
    keyring: &Keyring,
    platform: &PlatformId,
    config: &SimulationId,
    seat: i16,
    identity: &PlatformIdentity,
) -> Result<(), StoreError> {
    let id = format!("pid_{}", random_hex(16));
    let sealed = keyring.seal(id.as_bytes(), identity.key.expose().as_bytes());
    execute(
        client,
        "INSERT INTO platform_identities
             (id, platform_id, config_id, seat, agent_id, ciphertext, nonce, key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (platform_id, config_id, seat) DO NOTHING",
        &[
            &id,
            &platform.as_str(),
            &config.as_str(),
            &seat,
            &identity.agent_id,
            &sealed.ciphertext,
            &sealed.nonce,
            &sealed.key_id,
        ],
    )
    .await?;
    Ok(())
}

/// Forgets the identity seat `seat` of `config` has on `platform` (the platform no longer
/// knows it, or its key cannot be opened).
pub async fn forget_identity(
    client: &impl GenericClient,
    platform: &PlatformId,
    config: &SimulationId,
    seat: i16,
) -> Result<(), StoreError> {
    execute(
        client,
        "DELETE FROM platform_identities WHERE platform_id = $1 AND config_id = $2 AND seat = $3",
        &[&platform.as_str(), &config.as_str(), &seat],
    )
    .await?;
    Ok(())
}

/// Reseals platform credentials and identity keys under the current master key.
pub async fn reseal_platform_secrets(
    client: &mut impl GenericClient,
    keyring: &Keyring,
) -> Result<ResealReport, RevealError> {
    let platforms = reseal(client, keyring, "platforms").await?;
    let identities = reseal(client, keyring, "platform_identities").await?;
    Ok(ResealReport {
        resealed: platforms.resealed + identities.resealed,
        current: platforms.current + identities.current,
    })
}

/// Links a run to its table at a platform and where to watch it.
pub async fn set_remote_table(
    client: &impl GenericClient,
    run: &crate::domain::RunId,
    table_id: &str,
    watch_url: &str,
) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE simulation_runs SET remote_table_id = $2, remote_watch_url = $3 WHERE id = $1",
        &[&run.as_str(), &table_id, &watch_url],
    )
    .await?;
    Ok(())
}

/// Of these platform ids, the ones that name no platform.
pub async fn unknown_platforms(
    tx: &impl GenericClient,
    ids: &[&str],
) -> Result<Vec<String>, StoreError> {
    let rows = query(
        tx,
        "SELECT wanted.id FROM unnest($1::text[]) AS wanted(id)
          WHERE NOT EXISTS (SELECT 1 FROM platforms p WHERE p.id = wanted.id)",
        &[&ids],
    )
    .await?;
    rows.iter().map(|r| get(r, "id")).collect()
}

use super::{StoreError, execute, get, parse_column, query, query_opt};
use crate::domain::{ApiKeyId, NewApiKey, Provider};
use crate::secrets::{Keyring, OpenError, Sealed};
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// What may be shown of a stored key: never the key itself.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub provider: Provider,
    pub label: String,
    pub last4: String,
    /// The master key that sealed it: after a rotation, rows still on an old key show here.
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    /// A run's seat was refused with it (401/403): when, and the provider's (scrubbed) words.
    pub auth_failed_at: Option<DateTime<Utc>>,
    pub auth_error: Option<String>,
    /// The last run that got answers with it ended then.
    pub last_worked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, provider, label, last4, key_id, created_at, auth_failed_at, auth_error, last_worked_at";

fn from_row(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let id: String = get(row, "id")?;
    Ok(ApiKeyRecord {
        id: ApiKeyId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a key id")))?,
        provider: parse_column(row, "provider", Provider::parse)?,
        label: get(row, "label")?,
        last4: get(row, "last4")?,
        key_id: get(row, "key_id")?,
        created_at: get(row, "created_at")?,
        auth_failed_at: get(row, "auth_failed_at")?,
        auth_error: get(row, "auth_error")?,
        last_worked_at: get(row, "last_worked_at")?,
    })
}

/// Seals the key under the keyring's current master key, bound to the new row's id, and
/// stores it. The plaintext goes nowhere else.
pub async fn insert_api_key(
    client: &impl GenericClient,
    keyring: &Keyring,
    key: &NewApiKey,
) -> Result<ApiKeyRecord, StoreError> {
    let id = ApiKeyId::generate();
    let sealed = keyring.seal(id.as_str().as_bytes(), key.key.expose().as_bytes());
    let row = query_opt(
        client,
        &format!(
            "INSERT INTO provider_api_keys (id, provider, label, ciphertext, nonce, key_id, last4)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ),
        &[
            &id.as_str(),
            &key.provider.as_str(),
            &key.label,
            &sealed.ciphertext,
            &sealed.nonce,
            &sealed.key_id,
            &key.last4(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("INSERT … RETURNING returned no row".into()))?;
    from_row(&row)
}

/// Every stored key, newest first. Operators keep a handful, so there is no paging.
pub async fn list_api_keys(client: &impl GenericClient) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows = query(
        client,
        &format!("SELECT {COLUMNS} FROM provider_api_keys ORDER BY created_at DESC, id DESC"),
        &[],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn delete_api_key(
    client: &impl GenericClient,
    id: &ApiKeyId,
) -> Result<bool, StoreError> {
    Ok(execute(
        client,
        "DELETE FROM provider_api_keys WHERE id = $1",
        &[&id.as_str()],
    )
    .await?
        > 0)
}

#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot decrypt the stored secret {id}: {source}")]
    Open {
        id: String,
        #[source]
        source: OpenError,
    },
}

/// Decrypts a stored key for the agent that needs it. `None` when there is no such key.
pub async fn reveal_api_key(
    client: &impl GenericClient,
    keyring: &Keyring,
    id: &ApiKeyId,
) -> Result<Option<Secret<String>>, RevealError> {
    let row = query_opt(
        client,
        "SELECT id, ciphertext, nonce, key_id FROM provider_api_keys WHERE id = $1",
        &[&id.as_str()],
    )
    .await?;
    row.map(|row| open_row(&row, keyring)).transpose()
}

/// Decrypts the newest stored key of `provider`: the one an LLM seat of that provider uses.
/// `None` when there is none.
pub async fn reveal_newest_api_key(
    client: &impl GenericClient,
    keyring: &Keyring,
    provider: Provider,
) -> Result<Option<Secret<String>>, RevealError> {
    let row = query_opt(
        client,
        "SELECT id, ciphertext, nonce, key_id FROM provider_api_keys WHERE provider = $1
          ORDER BY created_at DESC, id DESC LIMIT 1",
        &[&provider.as_str()],
    )
    .await?;
    row.map(|row| open_row(&row, keyring)).transpose()
}

/// Opens a row's sealed secret (columns `id`, `ciphertext`, `nonce`, `key_id`; the row id is
/// the associated data).
pub(super) fn open_row(row: &Row, keyring: &Keyring) -> Result<Secret<String>, RevealError> {
    let id: String = get(row, "id")?;
    let sealed = Sealed {
        ciphertext: get(row, "ciphertext")?,
        nonce: get(row, "nonce")?,
        key_id: get(row, "key_id")?,
    };
    let open_error = |source| RevealError::Open {
        id: id.clone(),
        source,
    };
    let plaintext = keyring.open(id.as_bytes(), &sealed).map_err(open_error)?;
    let text = String::from_utf8(plaintext).map_err(|_| open_error(OpenError::Corrupt))?;
    Ok(Secret::new(text))
}

/// What a reseal ([`reseal_api_keys`], `reseal_webhook_secrets`) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResealReport {
    /// Secrets that were sealed under a retired master key and now are under the current one.
    pub resealed: usize,
    /// Secrets already under the current master key.
    pub current: usize,
}

/// The second half of a master-key rotation: every provider key sealed under a retired
/// master key is opened and sealed again under the current one, in one transaction, so that
/// the retired key can then be dropped. A key no configured master key opens stops it all,
/// naming the key; nothing is changed then.
pub async fn reseal_api_keys(
    client: &mut impl GenericClient,
    keyring: &Keyring,
) -> Result<ResealReport, RevealError> {
    reseal(client, keyring, "provider_api_keys").await
}

/// Reseals every sealed secret of `table` (columns as [`open_row`] reads them) under the
/// current master key, in one transaction, or none.
pub(super) async fn reseal(
    client: &mut impl GenericClient,
    keyring: &Keyring,
    table: &'static str,
) -> Result<ResealReport, RevealError> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let rows = query(
        &tx,
        &format!("SELECT id, ciphertext, nonce, key_id FROM {table} ORDER BY id FOR UPDATE"),
        &[],
    )
    .await?;
    let mut report = ResealReport {
        resealed: 0,
        current: 0,
    };
    for row in &rows {
        if get::<String>(row, "key_id")? == keyring.current_key_id() {
            report.current += 1;
            continue;
        }
        let id: String = get(row, "id")?;
        let plaintext = open_row(row, keyring)?;
        let resealed = keyring.seal(id.as_bytes(), plaintext.expose().as_bytes());
        execute(
            &tx,
            &format!("UPDATE {table} SET ciphertext = $2, nonce = $3, key_id = $4 WHERE id = $1"),
            &[&id, &resealed.ciphertext, &resealed.nonce, &resealed.key_id],
        )
        .await?;
        report.resealed += 1;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(report)
}

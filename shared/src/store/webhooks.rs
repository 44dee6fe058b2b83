//! Webhook endpoints: the URLs webhook seats call and their signing secrets, sealed like
//! provider keys (the secret is returned once, at creation; the runner opens it to sign).
//!
//! Configs name endpoints inside their `agent_slots` JSON, which no foreign key can reach, so
//! the two sides lock each other instead: a config's transaction reads the endpoints it names
//! `FOR SHARE` ([`unknown_webhooks`]), and a delete takes the row `FOR UPDATE` before it looks
//! for configs naming it ([`delete_webhook`]). Whichever comes second sees the other's result.

use super::api_keys::{ResealReport, RevealError, open_row, reseal};
use super::{StoreError, execute, get, query, query_opt};
use crate::domain::{NewWebhook, WebhookId};
use crate::secrets::{Keyring, webhook_signing_secret};
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// What may be shown of an endpoint: never its secret.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub label: String,
    pub url: String,
    /// The secret's last four characters, to tell secrets apart.
    pub secret_last4: String,
    /// The master key that seals the secret.
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    /// The configs whose seats call it, oldest first.
    pub used_by: Vec<String>,
}

/// Configs naming endpoint `$1` in a seat.
const NAMING_CONFIGS: &str = "SELECT c.id FROM simulation_configs c
     WHERE c.agent_slots @> jsonb_build_array(jsonb_build_object('webhook_id', $1::text))
     ORDER BY c.created_at, c.id";

const COLUMNS: &str = "w.id, w.label, w.url, w.secret_last4, w.key_id, w.created_at,
     ARRAY(SELECT c.id FROM simulation_configs c
            WHERE c.agent_slots @> jsonb_build_array(jsonb_build_object('webhook_id', w.id))
            ORDER BY c.created_at, c.id) AS used_by";

fn from_row(row: &Row) -> Result<WebhookRecord, StoreError> {
    let id: String = get(row, "id")?;
    Ok(WebhookRecord {
        id: WebhookId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("{id:?} is not a webhook id")))?,
        label: get(row, "label")?,
        url: get(row, "url")?,
        secret_last4: get(row, "secret_last4")?,
        key_id: get(row, "key_id")?,
        created_at: get(row, "created_at")?,
        used_by: get(row, "used_by")?,
    })
}

/// Stores a new endpoint with a fresh signing secret, sealed under the keyring's current
/// master key and bound to the row id. The secret is returned for the caller to show once.
pub async fn insert_webhook(
    client: &impl GenericClient,
    keyring: &Keyring,
    webhook: &NewWebhook,
) -> Result<(WebhookRecord, Secret<String>), StoreError> {
    let id = WebhookId::generate();
    let secret = webhook_signing_secret();
    let sealed = keyring.seal(id.as_str().as_bytes(), secret.expose().as_bytes());
    let last4 = &secret.expose()[secret.expose().len() - 4..];
    let row = query_opt(
        client,
        &format!(
            "INSERT INTO webhook_endpoints AS w
                    (id, label, url, ciphertext, nonce, key_id, secret_last4)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ),
        &[
            &id.as_str(),
            &webhook.label,
            &webhook.url.as_str(),
            &sealed.ciphertext,
            &sealed.nonce,
            &sealed.key_id,
            &last4,
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("INSERT … RETURNING returned no row".into()))?;
    Ok((from_row(&row)?, secret))
}

/// Every endpoint, newest first. Operators keep a handful, so there is no paging.
pub async fn list_webhooks(client: &impl GenericClient) -> Result<Vec<WebhookRecord>, StoreError> {
    let rows = query(
        client,
        &format!("SELECT {COLUMNS} FROM webhook_endpoints w ORDER BY w.created_at DESC, w.id DESC"),
        &[],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// What [`delete_webhook`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookDeletion {
    Deleted,
    NotFound,
    /// Kept: these configs still name it.
    InUse(Vec<String>),
}

/// Deletes an endpoint no config names, in one transaction (see the module documentation).
pub async fn delete_webhook(
    client: &mut impl GenericClient,
    id: &WebhookId,
) -> Result<WebhookDeletion, StoreError> {
    let tx = client.transaction().await?;
    let found = query_opt(
        &tx,
        "SELECT id FROM webhook_endpoints WHERE id = $1 FOR UPDATE",
        &[&id.as_str()],
    )
    .await?;
    if found.is_none() {
        return Ok(WebhookDeletion::NotFound);
    }
    let users = query(&tx, NAMING_CONFIGS, &[&id.as_str()]).await?;
    if !users.is_empty() {
        let users = users
            .iter()
            .map(|r| get(r, "id"))
            .collect::<Result<_, _>>()?;
        return Ok(WebhookDeletion::InUse(users));
    }
    execute(
        &tx,
        "DELETE FROM webhook_endpoints WHERE id = $1",
        &[&id.as_str()],
    )
    .await?;
    tx.commit().await?;
    Ok(WebhookDeletion::Deleted)
}

/// The ids in `ids` that name no endpoint. Run it in the transaction that writes the config
/// naming them: the endpoints found stay locked (`FOR SHARE`) until it ends, so none of them
/// can be deleted in between.
pub async fn unknown_webhooks(
    tx: &impl GenericClient,
    ids: &[&str],
) -> Result<Vec<String>, StoreError> {
    let rows = query(
        tx,
        "SELECT id FROM webhook_endpoints WHERE id = ANY($1) FOR SHARE",
        &[&ids],
    )
    .await?;
    let known: Vec<String> = rows
        .iter()
        .map(|r| get(r, "id"))
        .collect::<Result<_, _>>()?;
    Ok(ids
        .iter()
        .filter(|id| !known.iter().any(|k| k == *id))
        .map(|id| (*id).to_owned())
        .collect())
}

/// An endpoint as the runner calls it: its URL (checked again before every call) and its
/// signing secret, opened.
#[derive(Debug)]
pub struct RevealedWebhook {
    pub url: String,
    pub secret: Secret<String>,
}

/// Opens an endpoint's secret for the runner. `None` when there is no such endpoint.
pub async fn reveal_webhook(
    client: &impl GenericClient,
    keyring: &Keyring,
    id: &WebhookId,
) -> Result<Option<RevealedWebhook>, RevealError> {
    let row = query_opt(
        client,
        "SELECT id, url, ciphertext, nonce, key_id FROM webhook_endpoints WHERE id = $1",
        &[&id.as_str()],
    )
    .await?;
    row.map(|row| {
        Ok(RevealedWebhook {
            url: get(&row, "url")?,
            secret: open_row(&row, keyring)?,
        })
    })
    .transpose()
}

/// A master-key rotation's second half for webhook secrets (see
/// [`super::reseal_api_keys`]): all resealed under the current key in one transaction, or none.
pub async fn reseal_webhook_secrets(
    client: &mut impl GenericClient,
    keyring: &Keyring,
) -> Result<ResealReport, RevealError> {
    reseal(client, keyring, "webhook_endpoints").await
}

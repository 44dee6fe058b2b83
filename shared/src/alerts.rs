//! Alerts: what operators are told — a run failed, a config paused itself, an always-on config
//! lost its coverage or got it back — once per change. Each is a row in `alerts`, written in
//! the transaction that made the change (a database trigger writes `run_failed` whoever ended
//! the run); the ticks (the local scheduler, the dispatch function's reap) deliver pending
//! rows to the destinations the settings name: a webhook signed the Standard Webhooks way
//! (`webhook-id` is the alert's, so a receiver can drop a repeat) and, in AWS, an SNS topic.
//! A destination that fails is retried with backoff, the others are not sent twice.

use crate::domain::SimulationId;
use crate::settings::{EnvReader, Secret};
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{Value, json};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    RunFailed,
    ConfigAutoPaused,
    CoverageLost,
    CoverageRestored,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RunFailed => "run_failed",
            AlertKind::ConfigAutoPaused => "config_auto_paused",
            AlertKind::CoverageLost => "coverage_lost",
            AlertKind::CoverageRestored => "coverage_restored",
        }
    }
}

/// Records an alert in the caller's transaction: it is delivered only if the change commits.
pub async fn record(
    client: &impl GenericClient,
    kind: AlertKind,
    config: Option<&SimulationId>,
    run: Option<&str>,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO alerts (kind, config_id, run_id, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
            &[
                &kind.as_str(),
                &config.map(SimulationId::as_str),
                &run,
                &payload,
                &now,
            ],
        )
        .await?;
    Ok(())
}

/// Where alerts go: `SIMRUNNER_ALERT_WEBHOOK_URL` with `SIMRUNNER_ALERT_WEBHOOK_SECRET`
/// (`whsec_…`, Standard Webhooks), and `SIMRUNNER_ALERT_SNS_TOPIC_ARN` (AWS).
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    pub webhook: Option<(url::Url, Secret<Vec<u8>>)>,
    pub sns_topic: Option<String>,
}

impl AlertSettings {
    pub fn from_env(env: &mut EnvReader<'_>) -> Self {
        let mut settings = Self::default();
        let url = env
            .raw("SIMRUNNER_ALERT_WEBHOOK_URL")
            .filter(|u| !u.trim().is_empty());
        let secret = env.secret("SIMRUNNER_ALERT_WEBHOOK_SECRET");
        match (url, secret) {
            (Some(url), Some(secret)) => {
                let url = match url::Url::parse(url.trim()) {
                    Ok(url) if matches!(url.scheme(), "https" | "http") => Some(url),
                    _ => {
                        env.problem(
                            "SIMRUNNER_ALERT_WEBHOOK_URL",
                            "expected an https:// (or http://) URL",
                        );
                        None
                    }
                };
                let key = match crate::signing::signing_key(secret.expose()) {
                    Ok(key) => Some(Secret::new(key)),
                    Err(why) => {
                        env.problem("SIMRUNNER_ALERT_WEBHOOK_SECRET", why);
                        None
                    }
                };
                settings.webhook = url.zip(key);
            }
            (Some(_), None) => env.problem(
                "SIMRUNNER_ALERT_WEBHOOK_SECRET",
                "is required with SIMRUNNER_ALERT_WEBHOOK_URL: a whsec_… signing secret",
            ),
            (None, Some(_)) => env.problem(
                "SIMRUNNER_ALERT_WEBHOOK_URL",
                "is required with SIMRUNNER_ALERT_WEBHOOK_SECRET",
            ),
            (None, None) => {}
        }
        if let Some(topic) = env
            .raw("SIMRUNNER_ALERT_SNS_TOPIC_ARN")
            .filter(|t| !t.trim().is_empty())
        {
            if cfg!(feature = "aws") {
                settings.sns_topic = Some(topic.trim().to_owned());
            } else {
                env.problem(
                    "SIMRUNNER_ALERT_SNS_TOPIC_ARN",
                    "this program is built without AWS support",
                );
            }
        }
        settings
    }

    /// Builds the destinations; the AWS client only when a topic is named.
    pub async fn build(self) -> Alerts {
        let webhook = self.webhook.and_then(|(url, key)| {
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured(crate::http::tls_config().ok()?)
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("simrunner/", env!("CARGO_PKG_VERSION")))
                .build()
                .ok()?;
            Some(WebhookDestination { url, key, client })
        });
        #[cfg(feature = "aws")]
        let sns = match self.sns_topic {
            Some(topic) => Some((
                aws_sdk_sns::Client::new(crate::aws::sdk_config().await),
                topic,
            )),
            None => None,
        };
        Alerts {
            webhook,
            #[cfg(feature = "aws")]
            sns,
        }
    }
}

#[derive(Debug, Clone)]
struct WebhookDestination {
    url: url::Url,
    key: Secret<Vec<u8>>,
    client: reqwest::Client,
}

/// The destinations alerts are delivered to.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    webhook: Option<WebhookDestination>,
    #[cfg(feature = "aws")]
    sns: Option<(aws_sdk_sns::Client, String)>,
}

/// An alert as destinations receive it: `{"type": "alert.run_failed", "timestamp", "data"}`.
fn message(id: i64, kind: &str, row: &tokio_postgres::Row) -> Value {
    let config: Option<String> = row.get("config_id");
    let run: Option<String> = row.get("run_id");
    let created: DateTime<Utc> = row.get("created_at");
    let mut data = json!({"alert_id": id, "kind": kind, "config_id": config, "run_id": run});
    if let (Some(fields), Value::Object(payload)) =
        (data.as_object_mut(), row.get::<_, Value>("payload"))
    {
        fields.extend(payload);
    }
    json!({"type": format!("alert.{kind}"), "timestamp": created, "data": data})
}

/// The most alerts one tick delivers; the rest wait for the next.
const BATCH: i64 = 20;
/// A destination that still fails after this many attempts is given up on (logged).
const MAX_ATTEMPTS: i32 = 10;

impl Alerts {
    /// Alerts to `topic` through `client` (what [`AlertSettings::build`] makes of
    /// `SIMRUNNER_ALERT_SNS_TOPIC_ARN`).
    #[cfg(feature = "aws")]
    pub fn sns(client: aws_sdk_sns::Client, topic: String) -> Self {
        Self {
            webhook: None,
            sns: Some((client, topic)),
        }
    }

    fn destinations(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.webhook.is_some() {
            names.push("webhook");
        }
        #[cfg(feature = "aws")]
        if self.sns.is_some() {
            names.push("sns");
        }
        names
    }

    async fn send(
        &self,
        destination: &str,
        id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let text = body.to_string();
        match destination {
            "webhook" => {
                let Some(webhook) = &self.webhook else {
                    return Ok(());
                };
                let message_id = format!("alert_{id}");
                let signature = crate::signing::signature(
                    webhook.key.expose(),
                    &message_id,
                    now.timestamp(),
                    text.as_bytes(),
                );
                let response = webhook
                    .client
                    .post(webhook.url.clone())
                    .header("content-type", "application/json")
                    .header("webhook-id", &message_id)
                    .header("webhook-timestamp", now.timestamp().to_string())
                    .header("webhook-signature", signature)
                    .body(text)
                    .send()
                    .await
                    .map_err(|e| format!("the alert webhook could not be reached: {e}"))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the alert webhook answered {}", response.status()))
                }
            }
            #[cfg(feature = "aws")]
            "sns" => {
                let Some((client, topic)) = &self.sns else {
                    return Ok(());
                };
                client
                    .publish()
                    .topic_arn(topic)
                    .subject(format!(
                        "simrunner {}",
                        body["type"].as_str().unwrap_or("alert")
                    ))
                    .message(text)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| {
                        format!(
                            "SNS Publish failed: {}",
                            aws_sdk_sns::error::DisplayErrorContext(e)
                        )
                    })
            }
            _ => Ok(()),
        }
    }

    /// Delivers the alerts that are due, each to every destination that has not taken it yet.
    /// Concurrent ticks take different alerts (`SKIP LOCKED`). Returns how many were done.
    pub async fn deliver_pending(
        &self,
        client: &mut impl GenericClient,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, kind, config_id, run_id, payload, created_at, sent_to, attempts
                   FROM alerts
                  WHERE delivered_at IS NULL AND next_attempt_at <= $1
                  ORDER BY id LIMIT $2
                  FOR UPDATE SKIP LOCKED",
                &[&now, &BATCH],
            )
            .await?;
        let destinations = self.destinations();
        let mut done = 0;
        for row in &rows {
            let id: i64 = row.get("id");
            let kind: String = row.get("kind");
            let mut sent: Vec<String> = row.get("sent_to");
            let attempts: i32 = row.get::<_, i32>("attempts") + 1;
            let body = message(id, &kind, row);
            let mut errors = Vec::new();
            let missing: Vec<&str> = destinations
                .iter()
                .copied()
                .filter(|d| !sent.iter().any(|s| s == d))
                .collect();
            for destination in missing {
                match self.send(destination, id, &body, now).await {
                    Ok(()) => sent.push((*destination).to_owned()),
                    Err(error) => errors.push(error),
                }
            }
            let gave_up = !errors.is_empty() && attempts >= MAX_ATTEMPTS;
            if gave_up {
                tracing::error!(alert = id, kind, errors = ?errors, "gave up delivering an alert");
            } else if !errors.is_empty() {
                tracing::warn!(alert = id, kind, errors = ?errors, "an alert could not be delivered; retrying");
            }
            let delivered = (errors.is_empty() || gave_up).then_some(now);
            let backoff = Duration::seconds(30 * 2i64.pow(attempts.clamp(0, 7) as u32));
            tx.execute(
                "UPDATE alerts SET sent_to = $2, attempts = $3, delivered_at = $4,
                        next_attempt_at = $5, last_error = $6
                  WHERE id = $1",
                &[
                    &id,
                    &sent,
                    &attempts,
                    &delivered,
                    &(now + backoff),
                    &(!errors.is_empty()).then(|| errors.join("; ")),
                ],
            )
            .await?;
            done += usize::from(delivered.is_some());
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// The newest alerts, for the console's dashboard: (kind, config id, created, payload,
/// delivered, sent to, last error).
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: i64,
    pub kind: String,
    pub config_id: Option<String>,
    pub run_id: Option<String>,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub sent_to: Vec<String>,
    pub last_error: Option<String>,
}

pub async fn recent(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<AlertRecord>, StoreError> {
    let rows = client
        .query(
            "SELECT id, kind, config_id, run_id, payload, created_at, delivered_at, sent_to, last_error
               FROM alerts ORDER BY created_at DESC, id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AlertRecord {
            id: r.get(0),
            kind: r.get(1),
            config_id: r.get(2),
            run_id: r.get(3),
            payload: r.get(4),
            created_at: r.get(5),
            delivered_at: r.get(6),
            sent_to: r.get(7),
            last_error: r.get(8),
        })
        .collect())
}

use crate::auth::Authenticator;
use crate::snapshot_cache::SnapshotCache;
use deadpool_postgres::Pool;
use simrunner::dispatch::RunControl;
use simrunner::domain::WebhookPolicy;
use simrunner::secrets::Keyring;
use std::sync::Arc;

/// What every handler may use. Built once per process (per Lambda execution environment)
/// and cloned cheaply into each request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keyring: Arc<Keyring>,
    pub auth: Arc<Authenticator>,
    /// How runs are started and stopped, and where schedules are kept.
    pub runs: Arc<RunControl>,
    /// Where new webhook endpoints may point (`SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK`).
    pub webhooks: WebhookPolicy,
    /// Answers kept while the database is unchanged (the configs list).
    pub answers: Arc<SnapshotCache>,
}

impl AppState {
    /// A pooled connection; an unreachable database is a 503, not a 500.
    pub async fn db(&self) -> Result<deadpool_postgres::Client, crate::error::ApiError> {
        Ok(self
            .pool
            .get()
            .await
            .map_err(simrunner::store::StoreError::from)?)
    }
}

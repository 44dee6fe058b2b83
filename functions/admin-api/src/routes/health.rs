use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use simrunner::store::StoreError;
use std::time::Duration;
use utoipa::ToSchema;
use web::json::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
    /// `ok`: the database answered a query.
    pub database: &'static str,
}

/// How long the health check waits for the database before calling it down.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// Liveness and database reachability; public.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses(
        (status = 200, description = "The API and its database are up", body = Health),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    ))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let check = async {
        let client = state.pool.get().await?;
        client.simple_query("SELECT 1").await?;
        Ok::<_, StoreError>(())
    };
    tokio::time::timeout(HEALTH_TIMEOUT, check)
        .await
        .map_err(|_| StoreError::Unavailable("health check timed out".into()))??;
    Ok(Json(Health {
        status: "ok",
        database: "ok",
    }))
}

//! The health figures the seed measures: `GET /v1/admin/health` (JSON, per config and
//! overall, over 24 hours or 7 days) and `GET /metrics` (the same as Prometheus text, admin
//! only; in AWS the dispatch function logs them in CloudWatch's embedded metric format).

use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simrunner::store::health::{self, Bucket, Figures, Health};
use utoipa::{IntoParams, ToSchema};
use web::json::Json;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthParams {
    /// `24h` (default; hourly buckets) or `7d` (six-hourly buckets).
    #[param(pattern = "^(24h|7d)$")]
    pub period: Option<String>,
}

/// One config's or the site's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    /// Share (0–1) of the expected time with at least one live table: an always-on config's
    /// windows, any other config's (and the site's) whole period since it was created.
    pub coverage: Option<f64>,
    /// Share with the configured number of live tables (always-on configs; for the site, the
    /// sum over active always-on configs).
    pub full_coverage: Option<f64>,
    /// Runs that ended (completed or failed) in the period.
    pub runs: i64,
    pub failed: i64,
    pub degraded: i64,
    pub cancelled: i64,
    /// Failed among the runs that ended (0–1); null without any.
    pub failure_rate: Option<f64>,
    pub hands: i64,
    pub llm_cost_usd: f64,
    pub decisions: i64,
    pub fallbacks: i64,
    /// Fallbacks of LLM and outside seats per 100 of their decisions.
    pub fallbacks_per_100_decisions: Option<f64>,
}

impl From<&Figures> for FiguresView {
    fn from(f: &Figures) -> Self {
        Self {
            coverage: f.coverage,
            full_coverage: f.full_coverage,
            runs: f.runs,
            failed: f.failed,
            degraded: f.degraded,
            cancelled: f.cancelled,
            failure_rate: f.failure_rate(),
            hands: f.hands,
            llm_cost_usd: (f.llm_cost_usd * 1000.0).round() / 1000.0,
            decisions: f.decisions,
            fallbacks: f.fallbacks,
            fallbacks_per_100_decisions: f.fallbacks_per_100(),
        }
    }
}

/// One stretch of the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct BucketView {
    pub start: DateTime<Utc>,
    pub runs: i64,
    pub failed: i64,
    pub coverage: Option<f64>,
}

fn buckets(series: &[Bucket]) -> Vec<BucketView> {
    series
        .iter()
        .map(|b| BucketView {
            start: b.start,
            runs: b.runs,
            failed: b.failed,
            coverage: b.coverage,
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigHealthView {
    pub id: String,
    pub name: String,
    pub schedule_type: String,
    pub status: String,
    pub live_tables: Option<i64>,
    pub figures: FiguresView,
    pub series: Vec<BucketView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `24h` or `7d`.
    pub period: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: FiguresView,
    pub series: Vec<BucketView>,
    pub configs: Vec<ConfigHealthView>,
    /// Tables open and runs queued or running, now.
    pub open_tables: i64,
    pub active_runs: i64,
}

impl HealthView {
    pub fn new(period: &str, health: &Health) -> Self {
        Self {
            period: period.to_owned(),
            from: health.from,
            to: health.to,
            overall: (&health.overall).into(),
            series: buckets(&health.series),
            configs: health
                .configs
                .iter()
                .map(|c| ConfigHealthView {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    schedule_type: c.schedule_type.clone(),
                    status: c.status.clone(),
                    live_tables: c.live_tables,
                    figures: (&c.figures).into(),
                    series: buckets(&c.series),
                })
                .collect(),
            open_tables: health.open_tables,
            active_runs: health.active_runs,
        }
    }
}

/// The health of the period ending now.
pub async fn health_of(
    state: &AppState,
    period: &str,
    now: DateTime<Utc>,
) -> Result<Health, ApiError> {
    let (from, count) = health::period(period, now)
        .ok_or_else(|| ApiError::validation("period", "must be 24h or 7d"))?;
    let client = state.db().await?;
    Ok(health::health(&client, from, now, count).await?)
}

/// Coverage, failure rate, runs, hands, LLM spend and fallbacks, per config and overall.
#[utoipa::path(get, path = "/v1/admin/health", tag = "health",
    params(HealthParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HealthView),
        (status = 400, description = "`validation_failed`: `period` is not 24h or 7d", body = ErrorBody),
    ))]
pub async fn health_figures(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<HealthParams>,
) -> Result<Json<HealthView>, ApiError> {
    let period = params.period.unwrap_or_else(|| "24h".into());
    let health = health_of(&state, &period, Utc::now()).await?;
    Ok(Json(HealthView::new(&period, &health)))
}

/// The health figures over 24 hours and 7 days as Prometheus text (admin only).
#[utoipa::path(get, path = "/metrics", tag = "health",
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String,
               description = "Prometheus text exposition 0.0.4")))]
pub async fn prometheus(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let now = Utc::now();
    let day = health_of(&state, "24h", now).await?;
    let week = health_of(&state, "7d", now).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        simrunner::metrics::prometheus(&[("24h", &day), ("7d", &week)]),
    ))
}

//! simrunner's public side: the read-only tables API (`/v1/public/*`), the live feed (SSE
//! locally, polling behind API Gateway) and the pages visitors watch (`/tables`,
//! `/watch/{table}`). One router ([`app`]), served by `lambda_http` in AWS Lambda
//! (`src/bin/public-api.rs`, on a read-only database login) and, merged with the admin API,
//! by the local `simrunner` process.

pub mod api;
pub mod hub;
pub mod pages;
pub mod view;

use axum::Router;
use axum::routing::get;
use deadpool_postgres::Pool;
use hub::FeedHub;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::error::ApiError;
use web::page::{Assets, Layout};

/// How watch pages follow the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Server-Sent Events (a server that can stream: the local stack).
    Sse,
    /// `events?after=` every ~1.5 s (behind API Gateway's HTTP API, which buffers bodies).
    Poll,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::Poll => "poll",
        }
    }
}

/// What every public handler may use; cloned cheaply into each request.
#[derive(Clone)]
pub struct PublicState {
    pub pool: Pool,
    pub hub: Arc<FeedHub>,
    pub transport: Transport,
    pub assets: Assets,
    pub layout: Layout,
}

impl PublicState {
    /// `poll_every`: how often a watched table's feed is read.
    pub fn new(pool: Pool, transport: Transport, poll_every: Duration) -> Self {
        let assets = pages::assets();
        Self {
            hub: FeedHub::new(pool.clone(), poll_every),
            pool,
            transport,
            layout: Layout::new(&assets),
            assets,
        }
    }

    /// A pooled connection; an unreachable database is a 503, not a 500.
    pub async fn db(&self) -> Result<deadpool_postgres::Client, ApiError> {
        Ok(self
            .pool
            .get()
            .await
            .map_err(simrunner::store::StoreError::from)?)
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "public", description = "Tables, their live feed and finished hands: no auth, read-only; hole cards only as shown at showdown")))]
struct PublicDoc;

/// The public JSON routes with their OpenAPI descriptions.
pub fn api_routes() -> OpenApiRouter<PublicState> {
    OpenApiRouter::with_openapi(PublicDoc::openapi())
        .routes(routes!(api::list_tables))
        .routes(routes!(api::get_table))
        .routes(routes!(api::list_events))
        .routes(routes!(api::stream_events))
        .routes(routes!(api::list_hands))
        .routes(routes!(api::get_hand))
        .routes(routes!(api::table_hand_histories))
}

/// Everything public: the JSON API, the pages and their assets, with the pages' security
/// headers on every response. Returns the router and the API's OpenAPI document.
pub fn app(state: PublicState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = api_routes().split_for_parts();
    let assets = state.assets.clone();
    let router = api
        .route("/", get(pages::home))
        .route("/tables", get(pages::tables))
        .route("/watch/{id}", get(pages::watch))
        .with_state(state)
        .merge(
            Router::new()
                .route("/assets/{file}", get(web::page::serve_asset))
                .with_state(assets),
        )
        .layer(axum::middleware::from_fn(web::page::security_headers));
    (router, doc)
}

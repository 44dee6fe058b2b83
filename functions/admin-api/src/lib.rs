//! simrunner's admin API: one axum [`Router`] (see [`app`]), served by `lambda_http` in AWS
//! Lambda (`src/bin/admin-api.rs`) and, with the other surfaces, by the local stack
//! (`functions/local-stack`).

pub mod auth;
pub mod console;
pub mod contract;
pub mod routes;
pub mod session;
pub mod settings;
pub mod snapshot_cache;
pub mod state;
pub mod telemetry;

/// The error format and extractors, shared with the public API.
pub use web::{error, extract};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, header};
use axum::response::IntoResponse;
use axum::routing::get;
use error::{ApiError, ErrorCode};
use routes::{
    agents, api_keys, control, health, hosted, metrics, platforms, runs, simulations, webhooks,
};
use state::AppState;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "simrunner admin API",
        description = "Simulation configs, runs and provider keys for simrunner. Every \
                       /v1/admin route needs `Authorization: Bearer <admin token or JWT>`. \
                       Errors are `{\"error\":{\"code\",\"message\",\"details?\"}}`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "simulations", description = "Simulation configs and their runs"),
        (name = "api-keys", description = "LLM provider API keys (write-only)"),
        (name = "hosted-tables", description = "simrunner as a platform for another client: admin-create tables of the agent protocol"),
        (name = "platforms", description = "Remote MoltPoker-compatible platforms simulations play at (credential write-only)"),
        (name = "agents-admin", description = "Outside agents: list, create (key shown once), revoke"),
        (name = "webhooks", description = "Webhook endpoints that webhook seats call (signing secret shown once)"),
        (name = "health", description = "Liveness, and the health figures the seed measures: coverage, failure rate, runs, hands, LLM spend, fallbacks"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The routes with their OpenAPI descriptions, before they are split apart.
fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let admin = OpenApiRouter::new()
        .routes(routes!(
            simulations::list_simulations,
            simulations::create_simulation
        ))
        .routes(routes!(simulations::agent_types))
        .routes(routes!(simulations::preview_schedule))
        .routes(routes!(metrics::health_figures))
        .routes(routes!(metrics::prometheus))
        .routes(routes!(
            simulations::get_simulation,
            simulations::update_simulation,
            simulations::delete_simulation
        ))
        .routes(routes!(control::start_simulation))
        .routes(routes!(control::stop_simulation))
        .routes(routes!(control::emergency_stop))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::get_run_logs))
        .routes(routes!(runs::get_run_hand_histories))
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(api_keys::delete_api_key))
        .routes(routes!(api_keys::list_models))
        .routes(routes!(api_keys::refresh_models))
        .routes(routes!(agents::list_agents, agents::create_agent))
        .routes(routes!(agents::get_agent))
        .routes(routes!(agents::revoke_agent))
        .routes(routes!(
            platforms::list_platforms,
            platforms::create_platform
        ))
        .routes(routes!(platforms::get_platform, platforms::delete_platform))
        .routes(routes!(platforms::check_platform))
        .routes(routes!(hosted::create_table))
        .routes(routes!(hosted::start_table))
        .routes(routes!(hosted::stop_table))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::delete_webhook))
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require_admin,
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .merge(admin)
}

/// The OpenAPI document of exactly the routes [`app`] serves, completed by
/// [`contract::complete`].
pub fn openapi(state: &AppState) -> serde_json::Value {
    document(api(state).into_openapi())
}

fn document(api: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
    contract::complete(&mut doc);
    doc
}

/// The whole HTTP API and the admin console (`/admin`, see [`console`]).
pub fn app(state: AppState) -> Router {
    router(state, Vec::new())
}

/// The local stack's one port: the admin API with other surfaces (each a router and its
/// OpenAPI document), described by one OpenAPI document.
pub fn app_with(state: AppState, surfaces: Vec<(Router, utoipa::openapi::OpenApi)>) -> Router {
    router(state, surfaces)
}

fn router(state: AppState, surfaces: Vec<(Router, utoipa::openapi::OpenApi)>) -> Router {
    let (router, mut doc) = api(&state).split_for_parts();
    let console = console::routes(state.clone());
    let mut router = router.with_state(state).merge(console);
    for (surface, surface_doc) in surfaces {
        doc.merge(surface_doc);
        router = router.merge(surface);
    }
    let doc = Arc::new(document(doc).to_string());
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        doc.to_string(),
                    )
                }
            }),
        )
        .fallback(|| async {
            ApiError::new(ErrorCode::NotFound, "no such route; see /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this route does not accept that method; see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_panic| {
            // The payload is not logged or returned: it could hold anything.
            tracing::error!("a request handler panicked");
            ApiError::new(
                ErrorCode::Internal,
                "an internal error occurred; it has been logged",
            )
            .into_response()
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

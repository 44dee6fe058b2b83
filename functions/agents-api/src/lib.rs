//! simrunner's agents surface: the server side of the agent protocol 0.1
//! (`../shared/protocol/agent-protocol-0.1.md`, types in `shared/protocol`).
//!
//! - REST ([`routes`]): `POST /v1/agents`, `GET /v1/tables`, `GET /v1/tables/{id}`,
//!   `POST /v1/tables/{id}/join`, `POST /v1/tables/auto-join`, `POST /v1/tables/{id}/leave`,
//!   and the `skill.md` an agent reads first.
//! - The WebSocket `GET /v1/ws?token=…&format=agent` ([`gateway`]): the local stack holds
//!   the connections itself; in AWS an API Gateway WebSocket API does, with a function
//!   sharing the same frame handling.
//!
//! Nothing here plays poker: what agents do goes into their table's inbox in PostgreSQL and
//! the table's runner answers through the gateway.

pub mod error;
pub mod gateway;
pub mod limits;
pub mod routes;
pub mod websocket;

use axum::Router;
use deadpool_postgres::Pool;
use simrunner::settings::EnvReader;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Settings of the agents surface, read once from the environment.
#[derive(Debug, Clone)]
pub struct AgentsSettings {
    /// `SIMRUNNER_AGENT_REGISTRATION` (`open` by default): `closed` lets only an admin
    /// create agents.
    pub registration_open: bool,
    /// `SIMRUNNER_PUBLIC_URL`: this server's public base URL (for `skill_doc_url` and
    /// `ws_url`); the request's own host when unset.
    pub public_url: Option<String>,
    /// `SIMRUNNER_AGENT_WS_URL`: where agents connect when that is elsewhere (the API
    /// Gateway WebSocket API in AWS); `{public url}/v1/ws` (as `ws:`/`wss:`) when unset.
    pub ws_url: Option<String>,
    /// `SIMRUNNER_AGENT_REQUESTS_PER_MINUTE` (120): REST calls per agent key and per
    /// address; registrations count against the address.
    pub requests_per_minute: u32,
    /// `SIMRUNNER_AGENT_FRAMES_PER_SECOND` (200): frames per WebSocket connection. An agent
    /// at a fast-pace table legitimately acts up to ~100 times a second; a dropped action
    /// costs its seat a timeout.
    pub frames_per_second: u32,
}

fn url_setting(env: &mut EnvReader<'_>, name: &str, schemes: &[&str]) -> Option<String> {
    let value = env.raw(name)?;
    let value = value.trim().trim_end_matches('/').to_owned();
    if schemes
        .iter()
        .any(|s| value.starts_with(&format!("{s}://")))
    {
        Some(value)
    } else {
        env.problem(name, format!("must be a {} URL", schemes.join(" or ")));
        None
    }
}

impl AgentsSettings {
    pub fn from_env(env: &mut EnvReader<'_>) -> Self {
        let registration_open = match env.raw("SIMRUNNER_AGENT_REGISTRATION").as_deref() {
            None | Some("open") => true,
            Some("closed") => false,
            Some(other) => {
                env.problem(
                    "SIMRUNNER_AGENT_REGISTRATION",
                    format!("expected open or closed, got {other:?}"),
                );
                true
            }
        };
        Self {
            registration_open,
            public_url: url_setting(env, "SIMRUNNER_PUBLIC_URL", &["http", "https"]),
            ws_url: url_setting(env, "SIMRUNNER_AGENT_WS_URL", &["ws", "wss"]),
            requests_per_minute: env.integer_in(
                "SIMRUNNER_AGENT_REQUESTS_PER_MINUTE",
                1..=100_000,
                120,
            ) as u32,
            frames_per_second: env.integer_in("SIMRUNNER_AGENT_FRAMES_PER_SECOND", 1..=10_000, 200)
                as u32,
        }
    }
}

/// What every agents handler may use; cloned cheaply into each request.
#[derive(Clone)]
pub struct AgentsState {
    pub pool: Pool,
    pub settings: Arc<AgentsSettings>,
    pub limits: Arc<limits::Limits>,
    /// The connections this process holds (the local stack); `None` where an API Gateway
    /// WebSocket API holds them.
    pub gateway: Option<Arc<gateway::Gateway>>,
}

impl AgentsState {
    pub fn new(
        pool: Pool,
        settings: AgentsSettings,
        gateway: Option<Arc<gateway::Gateway>>,
    ) -> Self {
        Self {
            limits: Arc::new(limits::Limits::new(settings.requests_per_minute)),
            settings: Arc::new(settings),
            pool,
            gateway,
        }
    }

    /// A pooled connection; an unreachable database is a 503.
    pub async fn db(&self) -> Result<deadpool_postgres::Client, error::AgentError> {
        Ok(self
            .pool
            .get()
            .await
            .map_err(simrunner::store::StoreError::from)?)
    }
}

struct AgentKey;

impl utoipa::Modify for AgentKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "agent_key",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&AgentKey), tags((name = "agents", description = "The agent protocol 0.1: outside agents register, find tables, join, play over the WebSocket /v1/ws and leave. Errors are {\"error\":{code,message,details?}} with the protocol's codes (UNAUTHORIZED, TABLE_FULL, …).")))]
struct AgentsDoc;

/// The agent routes with their OpenAPI descriptions.
pub fn api_routes() -> OpenApiRouter<AgentsState> {
    OpenApiRouter::with_openapi(AgentsDoc::openapi())
        .routes(routes!(routes::register_agent))
        .routes(routes!(routes::list_tables))
        .routes(routes!(routes::get_table))
        .routes(routes!(routes::join_table))
        .routes(routes!(routes::auto_join))
        .routes(routes!(routes::leave_table))
}

/// Everything the agents surface serves: the REST routes, `skill.md` and, when this process
/// holds connections, the WebSocket. Returns the router and its OpenAPI document.
pub fn app(state: AgentsState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = api_routes().split_for_parts();
    let mut router = api.route("/skill.md", axum::routing::get(routes::skill_doc));
    if state.gateway.is_some() {
        router = router.route("/v1/ws", axum::routing::get(gateway::connect));
    }
    (router.with_state(state), doc)
}

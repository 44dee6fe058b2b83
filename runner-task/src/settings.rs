//! The runner's settings, read once from the environment.

use crate::llm::client::BaseUrls;
use crate::llm::prices::PriceTable;
use simrunner::domain::{Provider, RunId, WebhookPolicy};
use simrunner::secrets::Keyring;
use simrunner::settings::{EnvReader, Secret, SettingsError};
use std::time::Duration;

#[derive(Debug)]
pub struct RunnerSettings {
    pub run_id: RunId,
    pub database_url: Secret<String>,
    /// Who claimed the run, for operators: `SIMRUNNER_RUNNER_ID`, else host and pid.
    pub runner_id: String,
    /// Logs of this many most recent runs are kept (`SIMRUNNER_LOG_RETENTION_RUNS`, 5).
    pub log_retention: i64,
    /// `SIMRUNNER_HEARTBEAT_SECONDS` (5): how often the run row is refreshed.
    pub heartbeat_every: Duration,
    /// Opens the provider keys LLM seats use (`SIMRUNNER_KEY_ENCRYPTION_KEY`); only runs
    /// with LLM seats need it.
    pub keyring: Option<Keyring>,
    /// `SIMRUNNER_OPENAI_BASE_URL`, `SIMRUNNER_ANTHROPIC_BASE_URL`,
    /// `SIMRUNNER_GOOGLE_BASE_URL`: where each provider is reached.
    pub base_urls: BaseUrls,
    /// `SIMRUNNER_LLM_PRICES` on top of the shipped prices.
    pub prices: PriceTable,
    /// `SIMRUNNER_AGENT_GATEWAY`: how outside agents' connections are reached.
    pub agent_gateway: AgentGateway,
    /// `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK`: whether webhook seats may call this machine.
    pub webhook_policy: WebhookPolicy,
}

/// Where the connections of a table's outside agents are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentGateway {
    /// `notify` (default): the local stack's gateway, through PostgreSQL notifications.
    Notify,
    /// `apigateway`: an API Gateway WebSocket API; `SIMRUNNER_AGENT_GATEWAY_ENDPOINT` is its
    /// management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
    ApiGateway { endpoint: String },
}

impl AgentGateway {
    fn from_env(env: &mut EnvReader<'_>) -> Self {
        match env.raw("SIMRUNNER_AGENT_GATEWAY").as_deref().map(str::trim) {
            None | Some("notify") => AgentGateway::Notify,
            Some("apigateway") => {
                if !cfg!(feature = "aws") {
                    env.problem(
                        "SIMRUNNER_AGENT_GATEWAY",
                        "apigateway needs a runner built with the aws feature (the ECS image is)",
                    );
                }
                let endpoint = env.raw("SIMRUNNER_AGENT_GATEWAY_ENDPOINT");
                let endpoint = env.require(
                    "SIMRUNNER_AGENT_GATEWAY_ENDPOINT",
                    endpoint,
                    "the WebSocket API's management endpoint (https://…/stage)",
                );
                AgentGateway::ApiGateway {
                    endpoint: endpoint.unwrap_or_default(),
                }
            }
            Some(other) => {
                env.problem(
                    "SIMRUNNER_AGENT_GATEWAY",
                    format!("expected notify or apigateway, got {other:?}"),
                );
                AgentGateway::Notify
            }
        }
    }
}

/// A base URL setting: an `http(s)://` URL; the provider's public endpoint when unset.
fn base_url(env: &mut EnvReader<'_>, provider: Provider, default: String) -> String {
    let name = format!(
        "SIMRUNNER_{}_BASE_URL",
        provider.as_str().to_ascii_uppercase()
    );
    match env.raw(&name) {
        None => default,
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            url.trim_end_matches('/').to_owned()
        }
        Some(_) => {
            env.problem(&name, "must be an http:// or https:// URL");
            default
        }
    }
}

/// `SIMRUNNER_OPENAI_BASE_URL`, `SIMRUNNER_ANTHROPIC_BASE_URL`, `SIMRUNNER_GOOGLE_BASE_URL`.
pub fn base_urls(env: &mut EnvReader<'_>) -> BaseUrls {
    let defaults = BaseUrls::default();
    BaseUrls {
        openai: base_url(env, Provider::OpenAi, defaults.openai),
        anthropic: base_url(env, Provider::Anthropic, defaults.anthropic),
        google: base_url(env, Provider::Google, defaults.google),
    }
}

impl RunnerSettings {
    pub fn from_env(env: &mut EnvReader<'_>) -> Option<Self> {
        let run_id = env.raw("RUN_ID");
        let run_id = match run_id {
            Some(text) => RunId::parse(text.trim()).or_else(|| {
                env.problem("RUN_ID", format!("{text:?} is not a run id (run_…)"));
                None
            }),
            None => env.require("RUN_ID", None, "the id of the run to play (run_…)"),
        };
        let database_url = env.secret("DATABASE_URL");
        let database_url = env.require("DATABASE_URL", database_url, "the PostgreSQL URL");
        let runner_id = env.raw("SIMRUNNER_RUNNER_ID").unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "runner".into());
            format!("{host}-{}", std::process::id())
        });
        let log_retention = env.integer_in("SIMRUNNER_LOG_RETENTION_RUNS", 1..=10_000, 5);
        let heartbeat = env.integer_in("SIMRUNNER_HEARTBEAT_SECONDS", 1..=60, 5);
        let keyring = Keyring::from_env(env, false);
        let base_urls = base_urls(env);
        let prices = match env.raw("SIMRUNNER_LLM_PRICES") {
            None => PriceTable::default(),
            Some(text) => PriceTable::with_overrides(&text).unwrap_or_else(|problem| {
                env.problem("SIMRUNNER_LLM_PRICES", problem);
                PriceTable::default()
            }),
        };
        let agent_gateway = AgentGateway::from_env(env);
        let webhook_policy = WebhookPolicy::from_env(env);
        Some(Self {
            run_id: run_id?,
            database_url: database_url?,
            runner_id,
            log_retention,
            heartbeat_every: Duration::from_secs(heartbeat as u64),
            keyring,
            base_urls,
            prices,
            agent_gateway,
            webhook_policy,
        })
    }

    /// The link to this table's outside agents.
    pub async fn agent_link(
        &self,
        pool: &deadpool_postgres::Pool,
    ) -> crate::outside::link::AgentLink {
        use crate::outside::link::AgentLink;
        match &self.agent_gateway {
            AgentGateway::Notify => AgentLink::Notify(pool.clone()),
            #[cfg(feature = "aws")]
            AgentGateway::ApiGateway { endpoint } => {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                AgentLink::api_gateway(&config, endpoint)
            }
            #[cfg(not(feature = "aws"))]
            AgentGateway::ApiGateway { .. } => AgentLink::Notify(pool.clone()),
        }
    }

    pub fn load() -> Result<Self, SettingsError> {
        let mut env = EnvReader::from_process();
        let settings = Self::from_env(&mut env);
        env.finish()?;
        Ok(settings.expect("no problems means every setting was read"))
    }
}

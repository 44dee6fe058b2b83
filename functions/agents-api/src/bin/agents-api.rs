//! The agents surface as one AWS Lambda function behind two API Gateway APIs:
//!
//! - the HTTP API's agent routes (registration, tables, join, auto-join, leave, skill.md):
//!   the same axum router the local stack serves, through `lambda_http`'s adapter;
//! - the WebSocket API's `$connect`, `$default` and `$disconnect` (see
//!   `agents_api::websocket`); frames answered here (pongs, errors) are posted back through
//!   the WebSocket API's management endpoint. What runners send never passes through here.
//!
//! One function for both keeps one package to build and deploy; an event is told apart by
//! its `requestContext.eventType`, which only WebSocket events carry.

use agents_api::websocket::{self, Event};
use agents_api::{AgentsSettings, AgentsState};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest,
};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use simrunner::settings::EnvReader;
use tokio::sync::{Mutex, OnceCell};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    let state = match state() {
        Ok(state) => state,
        // Bad settings are answered to every request instead of ending the process.
        Err(e) => return lambda_startup::answer_every_invocation_with(format!("{e:#}")).await,
    };
    let http = Mutex::new(Adapter::from(agents_api::app(state.clone()).0));
    let management = OnceCell::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (state, http, management) = (&state, &http, &management);
        async move {
            if event.payload["requestContext"]["eventType"].is_string() {
                let request: ApiGatewayWebsocketProxyRequest =
                    serde_json::from_value(event.payload)?;
                let response = on_websocket(state, management, request).await;
                Ok::<Value, lambda_runtime::Error>(serde_json::to_value(response)?)
            } else {
                let request: LambdaRequest = serde_json::from_value(event.payload)?;
                let response = http
                    .lock()
                    .await
                    .call(LambdaEvent::new(request, event.context))
                    .await?;
                Ok(serde_json::to_value(response)?)
            }
        }
    }))
    .await
}

/// Built once per execution environment; the pool connects on the first request.
fn state() -> anyhow::Result<AgentsState> {
    let mut env = EnvReader::from_process();
    let url = env.secret("DATABASE_URL");
    let url = env.require("DATABASE_URL", url, "the PostgreSQL URL");
    let pool_size = env.integer_in("SIMRUNNER_DB_POOL_SIZE", 1..=100, 2) as usize;
    let settings = AgentsSettings::from_env(&mut env);
    if settings.ws_url.is_none() {
        env.problem(
            "SIMRUNNER_AGENT_WS_URL",
            "is required in Lambda: the WebSocket API's URL (wss://…/stage) that joins answer",
        );
    }
    env.finish()?;
    let url = url.expect("checked by finish");
    let pool = simrunner::db::build_pool(url.expose(), pool_size)?;
    Ok(AgentsState::new(pool, settings, None))
}

async fn on_websocket(
    state: &AgentsState,
    management: &OnceCell<aws_sdk_apigatewaymanagement::Client>,
    request: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let context = &request.request_context;
    let connection = context.connection_id.clone().unwrap_or_default();
    let event = match context.event_type.as_deref() {
        Some("CONNECT") => Event::Connect {
            connection: connection.clone(),
            token: request
                .query_string_parameters
                .first("token")
                .map(str::to_owned),
            format: request
                .query_string_parameters
                .first("format")
                .map(str::to_owned),
            skill_doc_url: state
                .settings
                .public_url
                .as_ref()
                .map(|base| format!("{base}/skill.md"))
                .unwrap_or_default(),
        },
        Some("DISCONNECT") => Event::Disconnect {
            connection: connection.clone(),
        },
        _ => Event::Message {
            connection: connection.clone(),
            body: request.body.clone().unwrap_or_default(),
        },
    };
    let outcome = websocket::handle(&state.pool, event)
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "handling an agent connection's event");
            websocket::Outcome {
                status: 500,
                reply: None,
            }
        });
    if let Some(text) = outcome.reply {
        let endpoint = format!(
            "https://{}/{}",
            context.domain_name.as_deref().unwrap_or_default(),
            context.stage.as_deref().unwrap_or_default()
        );
        let client = management
            .get_or_init(|| async {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let config = aws_sdk_apigatewaymanagement::config::Builder::from(&config)
                    .endpoint_url(endpoint)
                    .build();
                aws_sdk_apigatewaymanagement::Client::from_conf(config)
            })
            .await;
        let posted = client
            .post_to_connection()
            .connection_id(&connection)
            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(text))
            .send()
            .await;
        if let Err(error) = posted {
            let error = aws_sdk_apigatewaymanagement::Error::from(error);
            tracing::warn!(%error, "answering a frame");
        }
    }
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(outcome.status);
    response
}

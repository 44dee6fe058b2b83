use admin_api::auth::{Authenticator, JwtKey, JwtVerifier};
use admin_api::session::Sessions;
use admin_api::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use runner_task::run::{Outcome, Runner, Signals};
use runner_task::settings::RunnerSettings;
use serde_json::{Value, json};
use simrunner::dispatch::RunControl;
use simrunner::launch::{Launcher, ProcessLauncher};
use simrunner::secrets::{Keyring, MasterKey};
use simrunner::settings::EnvReader;
use simrunner::settings::Secret;
use simrunner::testing::{TestDatabase, fresh_database};
use std::sync::Arc;
use tower::ServiceExt as _;

pub const TOKEN: &str = "test-admin-token-0123456789";
pub const JWT_SECRET: &str = "a-shared-hs256-secret-for-tests-only-000";
pub const ADMIN_EMAIL: &str = "ops@example.com";

pub struct TestApp {
    pub router: Router,
    pub db: TestDatabase,
    pub state: AppState,
}

/// Credentials a request carries.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Token,
    None,
    Header(&'a str),
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    /// The body as received (`text` is it read as UTF-8).
    pub bytes: Vec<u8>,
    pub headers: axum::http::HeaderMap,
}

impl Response {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }

    /// The fields named in an error response's details.
    pub fn fields(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn state_for(pool: deadpool_postgres::Pool, jwt: Option<JwtVerifier>) -> AppState {
    let keyring = Keyring::new(
        MasterKey::parse(&MasterKey::generate_hex()).unwrap(),
        vec![],
    );
    let sessions = Sessions::for_keyring(&keyring);
    AppState {
        pool,
        keyring: Arc::new(keyring),
        auth: Arc::new(Authenticator::new(
            Some(&Secret::new(TOKEN.to_owned())),
            jwt,
            sessions,
        )),
        runs: Arc::new(RunControl {
            launcher: Some(fake_launcher("exec sleep 30")),
            ..RunControl::default()
        }),
        webhooks: Default::default(),
        answers: Default::default(),
    }
}

/// A process launcher whose "runner" is a shell snippet: router tests check what the API
/// does with launches, not what a runner plays.
pub fn fake_launcher(script: &str) -> Launcher {
    Launcher::Process(ProcessLauncher {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![],
        log_dir: std::env::temp_dir().join("simrunner-router-tests"),
    })
}

pub fn hs256_verifier() -> JwtVerifier {
    JwtVerifier::new(
        &JwtKey::Hs256(Secret::new(JWT_SECRET.into())),
        [ADMIN_EMAIL.to_owned()],
        None,
        None,
    )
    .unwrap()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::with_jwt(Some(hs256_verifier())).await
    }

    pub async fn with_jwt(jwt: Option<JwtVerifier>) -> Self {
        let db = fresh_database().await;
        Self::with_state(db, |pool| state_for(pool, jwt))
    }

    /// A fresh database and the API with `runs` as its launcher, scheduler and limits.
    pub async fn with_runs(runs: RunControl) -> Self {
        let db = fresh_database().await;
        Self::with_state(db, |pool| AppState {
            runs: Arc::new(runs),
            ..state_for(pool, None)
        })
    }

    pub fn with_state(
        db: TestDatabase,
        state: impl FnOnce(deadpool_postgres::Pool) -> AppState,
    ) -> Self {
        let state = state(db.pool.clone());
        Self {
            router: admin_api::app(state.clone()),
            db,
            state,
        }
    }

    pub async fn raw(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            body,
            text,
            bytes: bytes.to_vec(),
            headers,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: Auth<'_>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        match auth {
            Auth::Token => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            }
            Auth::Header(value) => request = request.header(header::AUTHORIZATION, value),
            Auth::None => {}
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.raw(request.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None, Auth::Token).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body), Auth::Token).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(body), Auth::Token)
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.call(Method::DELETE, path, None, Auth::Token).await
    }

    /// Creates a valid config of four bots (so it starts without provider keys), optionally
    /// changed by `edit`, and returns its id.
    pub async fn create_simulation(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut body = valid_simulation();
        body["agent_slots"][3] = json!({"type": "random"});
        edit(&mut body);
        let response = self.post("/v1/admin/simulations", body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.body["id"].as_str().unwrap().to_owned()
    }

    /// Inserts a run row directly, as the dispatcher and runner will.
    pub async fn insert_run(&self, config_id: &str, status: &str, minutes_ago: i64) -> String {
        let id = simrunner::domain::RunId::generate().to_string();
        let client = self.db.pool.get().await.unwrap();
        client
            .execute(
                "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key,
                     created_at, started_at, completed_at, error_code)
                 VALUES ($1, $2, $3, 'manual', $1, now() - make_interval(mins => $4::int),
                     CASE WHEN $3 <> 'queued' THEN now() END,
                     CASE WHEN $3 IN ('completed', 'failed', 'cancelled') THEN now() END,
                     CASE WHEN $3 = 'failed' THEN 'runner_lost' END)",
                &[&id, &config_id, &status, &(minutes_ago as i32)],
            )
            .await
            .unwrap();
        id
    }

    /// A queued run of a fast bot config that plays `hands` hands; returns the run's id.
    pub async fn queued_fast_run(&self, hands: i64) -> String {
        let config = self
            .create_simulation(|body| {
                body["pace"] = json!("fast");
                body["max_hands"] = json!(hands);
            })
            .await;
        self.insert_run(&config, "queued", 0).await
    }

    /// Plays a queued run to its end with the real runner, in this process, with the
    /// settings its environment would give it.
    pub async fn play_run(&self, run: &str) {
        let mut env = EnvReader::from_vars(&[("RUN_ID", run), ("DATABASE_URL", &self.db.url)]);
        let runner = Runner {
            pool: self.db.pool.clone(),
            settings: RunnerSettings::from_env(&mut env).expect("the runner's settings"),
            signals: Arc::new(Signals::default()),
        };
        assert_eq!(runner.execute().await.unwrap(), Outcome::Completed);
    }

    pub async fn count(&self, table: &str) -> i64 {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// A config body that passes every rule.
pub fn valid_simulation() -> Value {
    json!({
        "name": "Evening table",
        "schedule_type": "periodic",
        "interval_minutes": 30,
        "agent_slots": [
            {"type": "random"},
            {"type": "tight"},
            {"type": "callstation"},
            {"type": "autonomous", "model": "anthropic:claude-sonnet-4"}
        ],
        "table_config": {"blinds": {"small": 5, "big": 10}, "initialStack": 1000, "actionTimeoutMs": 10000}
    })
}

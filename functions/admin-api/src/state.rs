use crate::auth::Authenticator;
use crate::settings::{ApiSettings, LauncherKind};
use anyhow::Context as _;
use deadpool_postgres::Pool;
use simrunner::dispatch::DispatchPolicy;
use simrunner::launch::Launcher;
use simrunner::launch::{DockerLauncher, ProcessLauncher};
use simrunner::schedule::Scheduler;
use simrunner::secrets::Keyring;
use simrunner::settings::Secret;
use std::path::Path;
use std::sync::Arc;

/// What every handler may use. Built once per process (per Lambda execution environment)
/// and cloned cheaply into each request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keyring: Arc<Keyring>,
    pub auth: Arc<Authenticator>,
    pub runs: Arc<RunControl>,
}

/// How runs are started and stopped, and where schedules are kept.
#[derive(Debug)]
pub struct RunControl {
    /// `None` where no launcher is configured: starting a run answers 503.
    pub launcher: Option<Launcher>,
    /// Kept in step with every periodic config before the config's change commits.
    pub scheduler: Scheduler,
    pub policy: DispatchPolicy,
}

impl Default for RunControl {
    /// No launcher and the local scheduler: what a read-only API needs.
    fn default() -> Self {
        Self {
            launcher: None,
            scheduler: Scheduler::Local,
            policy: DispatchPolicy::default(),
        }
    }
}

/// What the local launchers need from the local stack.
pub struct LocalRuns<'a> {
    pub database_url: &'a Secret<String>,
    pub data_dir: &'a Path,
    /// The key-encryption key, which runners need to open provider keys for LLM seats.
    pub key_encryption_key: &'a Secret<String>,
}

impl RunControl {
    /// The launcher `SIMRUNNER_LAUNCHER` names and the scheduler `SIMRUNNER_SCHEDULER`
    /// names. AWS clients are built only for the AWS adapters. The process launcher runs
    /// this very binary (`simrunner runner`) and, like Docker, exists only in the local stack
    /// (`local`); in Lambda only ECS can start runs.
    pub async fn build(
        settings: &ApiSettings,
        local: Option<LocalRuns<'_>>,
    ) -> anyhow::Result<Self> {
        let launcher = match (&settings.launcher, local) {
            (None, _) => None,
            (Some(LauncherKind::Ecs(ecs)), _) => Some(Launcher::Ecs(ecs.clone().launcher().await)),
            (Some(LauncherKind::Process), Some(local)) => {
                Some(Launcher::Process(ProcessLauncher {
                    program: std::env::current_exe().context("finding the simrunner binary")?,
                    args: vec!["runner".into()],
                    env: local.runner_env(),
                    log_dir: local.data_dir.join("runs"),
                }))
            }
            (Some(LauncherKind::Docker), Some(local)) => Some(Launcher::Docker(DockerLauncher {
                docker: "docker".into(),
                image: settings.runner_image.clone(),
                network: settings.docker_network.clone(),
                env: local.runner_env(),
            })),
            (Some(kind), None) => {
                anyhow::bail!(
                    "SIMRUNNER_LAUNCHER={kind:?} works only in the local stack; in Lambda use ecs"
                )
            }
        };
        Ok(Self {
            launcher,
            scheduler: settings.scheduler.clone().build().await,
            policy: settings.dispatch.clone(),
        })
    }
}

impl LocalRuns<'_> {
    fn runner_env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "DATABASE_URL".to_owned(),
            self.database_url.expose().clone(),
        )];
        env.push((
            "SIMRUNNER_KEY_ENCRYPTION_KEY".to_owned(),
            self.key_encryption_key.expose().clone(),
        ));
        // During a key rotation, keys sealed under a retired key must still open.
        if let Ok(retired) = std::env::var("SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED") {
            env.push(("SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED".to_owned(), retired));
        }
        env
    }
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

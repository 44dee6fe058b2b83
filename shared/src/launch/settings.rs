//! `SIMRUNNER_LAUNCHER`: which adapter starts runs. Every program that starts runs (the local
//! stack, the admin API function, the dispatch function) reads it here, so the same setting
//! means the same thing everywhere; only what each program gives its local runners differs
//! ([`LocalRunners`]).

use super::{DockerLauncher, LaunchError, Launcher, ProcessLauncher};
use crate::settings::{EnvReader, Secret};
use std::path::PathBuf;

/// The launcher `SIMRUNNER_LAUNCHER` names, with that adapter's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LauncherSettings {
    /// A child process per run: `SIMRUNNER_RUNNER_PROGRAM` when set, else the program's
    /// default runner ([`LocalRunners::default_program`]).
    Process { runner_program: Option<PathBuf> },
    /// `docker run` of `SIMRUNNER_RUNNER_IMAGE` (default `simrunner-runner:latest`), on
    /// `SIMRUNNER_DOCKER_NETWORK` when set.
    Docker {
        image: String,
        network: Option<String>,
    },
    /// An ECS Fargate task per run, placed by the `SIMRUNNER_ECS_*` settings.
    #[cfg(feature = "aws")]
    Ecs(crate::aws::EcsSettings),
}

impl LauncherSettings {
    /// Reads `SIMRUNNER_LAUNCHER` (`process`, `docker` or `ecs`) and the chosen adapter's
    /// settings. `when_unset` is the launcher to use when the variable is not set: the local
    /// stack passes `Some("process")`; the Lambda functions pass `None`, so that without the
    /// setting they have no launcher and say so when asked to start a run.
    pub fn from_env(env: &mut EnvReader<'_>, when_unset: Option<&str>) -> Option<Self> {
        let name = env.raw("SIMRUNNER_LAUNCHER");
        match name.as_deref().map(str::trim).or(when_unset)? {
            "process" => Some(Self::Process {
                runner_program: env.raw("SIMRUNNER_RUNNER_PROGRAM").map(PathBuf::from),
            }),
            "docker" => Some(Self::Docker {
                image: env
                    .raw("SIMRUNNER_RUNNER_IMAGE")
                    .unwrap_or_else(|| "simrunner-runner:latest".into()),
                network: env.raw("SIMRUNNER_DOCKER_NETWORK"),
            }),
            #[cfg(feature = "aws")]
            "ecs" => crate::aws::EcsSettings::from_env(env).map(Self::Ecs),
            other => {
                let problem = format!("expected process, docker or ecs, got {other:?}");
                env.problem("SIMRUNNER_LAUNCHER", problem);
                None
            }
        }
    }

    /// Builds the adapter; AWS clients exist only for ECS (and connect on first use).
    pub async fn build(self, runners: &LocalRunners) -> Launcher {
        let env = runners.env();
        match self {
            Self::Process { runner_program } => {
                let (program, args) = match runner_program {
                    Some(program) => (program, Vec::new()),
                    None => runners.default_program.clone(),
                };
                Launcher::Process(ProcessLauncher {
                    program,
                    args,
                    env,
                    log_dir: runners.log_dir.clone(),
                })
            }
            Self::Docker { image, network } => Launcher::Docker(DockerLauncher {
                docker: "docker".into(),
                image,
                network,
                env,
            }),
            #[cfg(feature = "aws")]
            Self::Ecs(ecs) => Launcher::Ecs(ecs.launcher().await),
        }
    }
}

/// What the runners a program starts on its own machine (process and Docker launchers) get.
#[derive(Debug, Clone)]
pub struct LocalRunners {
    /// Passed to every runner (to a container by name, never on its command line).
    pub database_url: Secret<String>,
    /// The process launcher's runner, program and arguments, when `SIMRUNNER_RUNNER_PROGRAM`
    /// is not set.
    pub default_program: (PathBuf, Vec<String>),
    /// The process launcher writes each run's output to `<log_dir>/<run id>.log`.
    pub log_dir: PathBuf,
    /// Lets runners open provider keys for LLM seats (`SIMRUNNER_KEY_ENCRYPTION_KEY`).
    pub key_encryption_key: Option<Secret<String>>,
}

impl LocalRunners {
    /// What every runner gets in its environment: the database, the key-encryption key,
    /// during a key rotation the retired keys, which must still open older provider keys, and
    /// this program's `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK`, so its runners may call the
    /// webhooks it let an admin create.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "DATABASE_URL".to_owned(),
            self.database_url.expose().clone(),
        )];
        if let Some(key) = &self.key_encryption_key {
            env.push((
                "SIMRUNNER_KEY_ENCRYPTION_KEY".to_owned(),
                key.expose().clone(),
            ));
        }
        for passed in [
            "SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED",
            crate::domain::WebhookPolicy::SETTING,
        ] {
            if let Ok(value) = std::env::var(passed) {
                env.push((passed.to_owned(), value));
            }
        }
        env
    }

    /// For a Lambda function's binary (run by `cargo lambda watch` on a laptop): the
    /// `runner-task` binary in the function's own folder, where cargo builds every binary of
    /// the workspace (`cargo build --bin runner-task` puts it there), and run output in the
    /// temporary folder (`simrunner-runs/`), the only writable place inside AWS Lambda.
    pub fn beside_this_executable(database_url: Secret<String>) -> Result<Self, LaunchError> {
        let exe = std::env::current_exe().map_err(|e| {
            LaunchError(format!(
                "finding this executable (the runner is looked for beside it): {e}"
            ))
        })?;
        let folder = exe.parent().unwrap_or(&exe);
        Ok(Self {
            database_url,
            default_program: (folder.join("runner-task"), Vec::new()),
            log_dir: std::env::temp_dir().join("simrunner-runs"),
            key_encryption_key: std::env::var("SIMRUNNER_KEY_ENCRYPTION_KEY")
                .ok()
                .map(Secret::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsError;

    fn read(
        vars: &[(&str, &str)],
        when_unset: Option<&str>,
    ) -> Result<Option<LauncherSettings>, SettingsError> {
        let mut env = EnvReader::from_vars(vars);
        let settings = LauncherSettings::from_env(&mut env, when_unset);
        env.finish().map(|()| settings)
    }

    #[test]
    fn unset_means_the_callers_default_and_a_wrong_name_is_named() {
        assert_eq!(read(&[], None).unwrap(), None);
        assert_eq!(
            read(&[], Some("process")).unwrap(),
            Some(LauncherSettings::Process {
                runner_program: None
            })
        );
        let error = read(&[("SIMRUNNER_LAUNCHER", "kubernetes")], Some("process")).unwrap_err();
        assert_eq!(error.problems[0].variable, "SIMRUNNER_LAUNCHER");
        assert!(
            error.problems[0].problem.contains("\"kubernetes\""),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_process_launcher_runs_the_named_program_or_the_default_one() {
        let runners = LocalRunners {
            database_url: Secret::new("postgres://db/simrunner".into()),
            default_program: ("/opt/simrunner".into(), vec!["runner".into()]),
            log_dir: "/tmp/runs".into(),
            key_encryption_key: Some(Secret::new("ab".repeat(32))),
        };
        let program = |launcher: Launcher| match launcher {
            Launcher::Process(p) => (p.program, p.args, p.env),
            other => panic!("expected the process launcher, got {other:?}"),
        };
        let default = read(&[("SIMRUNNER_LAUNCHER", "process")], None)
            .unwrap()
            .unwrap();
        assert_eq!(
            program(default.build(&runners).await),
            (
                PathBuf::from("/opt/simrunner"),
                vec!["runner".to_owned()],
                vec![
                    ("DATABASE_URL".into(), "postgres://db/simrunner".into()),
                    ("SIMRUNNER_KEY_ENCRYPTION_KEY".into(), "ab".repeat(32)),
                ]
            )
        );
        let named = read(
            &[
                ("SIMRUNNER_LAUNCHER", "process"),
                ("SIMRUNNER_RUNNER_PROGRAM", "/usr/local/bin/runner-task"),
            ],
            None,
        )
        .unwrap()
        .unwrap();
        let (path, args, _) = program(named.build(&runners).await);
        assert_eq!(
            (path, args),
            (PathBuf::from("/usr/local/bin/runner-task"), vec![])
        );
    }
}

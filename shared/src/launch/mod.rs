//! The launcher port: starting and stopping the task that plays one run.
//!
//! - [`Launcher::Process`]: spawns the runner as a detached child process (the local
//!   default);
//! - [`Launcher::Docker`]: `docker run --rm -d …` the runner image;
//! - `Launcher::Ecs` (feature `aws`): an ECS Fargate task per run.
//!
//! [`LauncherSettings`] reads which one `SIMRUNNER_LAUNCHER` names.
//!
//! Secrets reach the task through its environment (for ECS: the task definition's secrets),
//! never its command line, which any user of the machine can read.

#[cfg(feature = "aws")]
mod ecs;
mod settings;
#[cfg(feature = "aws")]
pub use ecs::{EcsLauncher, task_ref as ecs_task_ref};
pub use settings::{LauncherSettings, LocalRunners};

use crate::domain::{RunId, SimulationId};
use std::path::PathBuf;
use std::process::Stdio;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LaunchError(pub String);

/// What a launched task needs to know.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    pub run: RunId,
    pub config: SimulationId,
}

/// A runner process: `program args…` with `RUN_ID` and `env` set.
#[derive(Debug, Clone)]
pub struct ProcessLauncher {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Passed to the child (e.g. `DATABASE_URL`); values may be secret.
    pub env: Vec<(String, String)>,
    /// Each run's output goes to `<log_dir>/<run id>.log`.
    pub log_dir: PathBuf,
}

/// The runner image run by the local Docker engine.
#[derive(Debug, Clone)]
pub struct DockerLauncher {
    pub docker: PathBuf,
    pub image: String,
    pub network: Option<String>,
    /// Passed by name (`-e NAME`) with the value in the docker client's environment.
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub enum Launcher {
    Process(ProcessLauncher),
    Docker(DockerLauncher),
    #[cfg(feature = "aws")]
    Ecs(EcsLauncher),
}

impl DockerLauncher {
    /// The `docker` arguments that start a run's container.
    pub fn run_args(&self, request: &LaunchRequest) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--rm".into(),
            "--detach".into(),
            "--name".into(),
            format!("simrunner-{}", request.run),
            "--label".into(),
            format!("simrunner.run={}", request.run),
            "--label".into(),
            format!("simrunner.config={}", request.config),
            "--env".into(),
            format!("RUN_ID={}", request.run),
        ];
        for (name, _) in &self.env {
            args.push("--env".into());
            args.push(name.clone());
        }
        if let Some(network) = &self.network {
            args.push("--network".into());
            args.push(network.clone());
        }
        args.push(self.image.clone());
        args
    }
}

impl Launcher {
    /// Starts the run's task and returns its reference (`pid:…`, `docker:…`, `ecs:<arn>`).
    pub async fn launch(&self, request: &LaunchRequest) -> Result<String, LaunchError> {
        match self {
            #[cfg(feature = "aws")]
            Launcher::Ecs(ecs) => ecs.launch(request).await,
            Launcher::Process(p) => {
                std::fs::create_dir_all(&p.log_dir)
                    .map_err(|e| LaunchError(format!("creating {}: {e}", p.log_dir.display())))?;
                let log_path = p.log_dir.join(format!("{}.log", request.run));
                let log = std::fs::File::create(&log_path)
                    .map_err(|e| LaunchError(format!("creating {}: {e}", log_path.display())))?;
                let err = log
                    .try_clone()
                    .map_err(|e| LaunchError(format!("opening the run log: {e}")))?;
                let mut child = tokio::process::Command::new(&p.program)
                    .args(&p.args)
                    .envs(p.env.iter().map(|(k, v)| (k, v)))
                    .env("RUN_ID", request.run.as_str())
                    .stdin(Stdio::null())
                    .stdout(log)
                    .stderr(err)
                    // Its own process group: a Ctrl-C meant for simrunner does not kill it.
                    .process_group(0)
                    .spawn()
                    .map_err(|e| {
                        let program = p.program.display();
                        LaunchError(match e.kind() {
                            std::io::ErrorKind::NotFound => format!(
                                "the runner program {program} does not exist: build it \
                                 (cargo build --bin runner-task) or name another with \
                                 SIMRUNNER_RUNNER_PROGRAM"
                            ),
                            _ => format!("starting {program}: {e}"),
                        })
                    })?;
                let pid = child.id().unwrap_or_default();
                // Wait for it in the background so it never lingers as a zombie.
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
                Ok(format!("pid:{pid}"))
            }
            Launcher::Docker(d) => {
                let output = tokio::process::Command::new(&d.docker)
                    .args(d.run_args(request))
                    .envs(d.env.iter().map(|(k, v)| (k, v)))
                    .stdin(Stdio::null())
                    .output()
                    .await
                    .map_err(|e| LaunchError(format!("running {}: {e}", d.docker.display())))?;
                if !output.status.success() {
                    return Err(LaunchError(format!(
                        "docker run failed: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    )));
                }
                let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                Ok(format!("docker:{id}"))
            }
        }
    }

    /// Stops a task: SIGTERM for a process (the runner then closes its run), `docker stop`
    /// with a 20 s grace for a container, `StopTask` for ECS (SIGTERM, then SIGKILL after
    /// the task definition's stop timeout).
    pub async fn stop(&self, task_ref: &str) -> Result<(), LaunchError> {
        #[cfg(feature = "aws")]
        if let (Launcher::Ecs(ecs), Some(("ecs", arn))) = (self, task_ref.split_once(':')) {
            return ecs.stop(arn, "stopped by simrunner").await;
        }
        let (program, args): (PathBuf, Vec<String>) = match (self, task_ref.split_once(':')) {
            (Launcher::Process(_), Some(("pid", pid))) if pid.parse::<u32>().is_ok() => {
                ("kill".into(), vec!["-TERM".into(), pid.into()])
            }
            (Launcher::Docker(d), Some(("docker", id))) => (
                d.docker.clone(),
                vec!["stop".into(), "--time".into(), "20".into(), id.into()],
            ),
            _ => {
                return Err(LaunchError(format!(
                    "{task_ref:?} is not a task this launcher started"
                )));
            }
        };
        let output = tokio::process::Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| LaunchError(format!("running {}: {e}", program.display())))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(LaunchError(format!(
                "stopping {task_ref}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_runs_name_label_and_configure_the_container_without_secrets_in_argv() {
        let docker = DockerLauncher {
            docker: "docker".into(),
            image: "simrunner-runner:latest".into(),
            network: Some("simrunner".into()),
            env: vec![("DATABASE_URL".into(), "postgres://u:hunter2@db/x".into())],
        };
        let request = LaunchRequest {
            run: RunId::parse("run_0123456789abcdef0123456789abcdef").unwrap(),
            config: SimulationId::parse("sim_0123456789abcdef0123456789abcdef").unwrap(),
        };
        let args = docker.run_args(&request);
        assert_eq!(
            args,
            [
                "run",
                "--rm",
                "--detach",
                "--name",
                "simrunner-run_0123456789abcdef0123456789abcdef",
                "--label",
                "simrunner.run=run_0123456789abcdef0123456789abcdef",
                "--label",
                "simrunner.config=sim_0123456789abcdef0123456789abcdef",
                "--env",
                "RUN_ID=run_0123456789abcdef0123456789abcdef",
                "--env",
                "DATABASE_URL",
                "--network",
                "simrunner",
                "simrunner-runner:latest",
            ]
        );
        assert!(!args.join(" ").contains("hunter2"));
    }

    #[tokio::test]
    async fn a_process_launch_runs_the_program_with_the_run_id_and_can_be_stopped() {
        let dir = std::env::temp_dir().join(format!(
            "simrunner-launch-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let launcher = Launcher::Process(ProcessLauncher {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "echo \"run=$RUN_ID db=$DATABASE_URL\"; exec sleep 30".into(),
            ],
            env: vec![("DATABASE_URL".into(), "postgres://x".into())],
            log_dir: dir.clone(),
        });
        let request = LaunchRequest {
            run: RunId::generate(),
            config: SimulationId::generate(),
        };
        let task = launcher.launch(&request).await.unwrap();
        let pid: u32 = task.strip_prefix("pid:").unwrap().parse().unwrap();
        let log = dir.join(format!("{}.log", request.run));
        let mut text = String::new();
        for _ in 0..100 {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            if !text.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(text.trim(), format!("run={} db=postgres://x", request.run));
        launcher.stop(&task).await.unwrap();
        for _ in 0..100 {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "stopped"
        );
        assert!(launcher.stop("docker:abc").await.is_err(), "not ours");
        let missing = Launcher::Process(ProcessLauncher {
            program: "/nonexistent/runner".into(),
            args: vec![],
            env: vec![],
            log_dir: dir.clone(),
        });
        let error = missing.launch(&request).await.unwrap_err().0;
        assert!(
            error.contains("/nonexistent/runner") && error.contains("SIMRUNNER_RUNNER_PROGRAM"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

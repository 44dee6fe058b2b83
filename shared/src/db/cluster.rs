//! A PostgreSQL cluster run from the system's own PostgreSQL binaries: the local stack's
//! default database when `DATABASE_URL` is unset, and the test harness's throwaway server.
//!
//! PostgreSQL refuses to run as root, so when simrunner runs as root the cluster's files
//! belong to the `postgres` system user and its processes run as that user.

use std::fs;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres, pg_ctl) were not found. Install PostgreSQL \
         (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16), set \
         SIMRUNNER_PG_BIN_DIR to the folder that holds them, or set DATABASE_URL to use an \
         existing server"
    )]
    BinariesNotFound,
    #[error(
        "running as root needs a 'postgres' system user to own the local cluster (PostgreSQL \
         refuses to run as root); create one or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("{action} failed: {detail}")]
    Failed { action: String, detail: String },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
}

fn io_error(action: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let action = action.into();
    move |source| ClusterError::Io { action, source }
}

/// How to run a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Holds `data/` (the cluster) and `postgres.log`; created when missing.
    pub root: PathBuf,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Throwaway clusters (tests) turn off fsync for speed; a laptop's data keeps it on.
    pub durable: bool,
}

/// A running cluster started by this process. Stop it with [`LocalCluster::stop`].
#[derive(Debug)]
pub struct LocalCluster {
    data_dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    owner: Option<(u32, u32)>,
    child: Child,
}

impl LocalCluster {
    /// Initialises the cluster if needed, starts it and waits until it accepts connections.
    /// Blocking: call it from `spawn_blocking` in async code.
    pub fn start(options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir().ok_or(ClusterError::BinariesNotFound)?;
        let owner = if effective_uid() == Some(0) {
            Some(postgres_user().ok_or(ClusterError::NoPostgresUser)?)
        } else {
            None
        };
        let data_dir = options.root.join("data");
        fs::create_dir_all(&options.root)
            .map_err(io_error(format!("creating {}", options.root.display())))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&options.root, Some(uid), Some(gid)).map_err(io_error(
                format!("giving {} to postgres", options.root.display()),
            ))?;
        }
        let mut cluster_cmd = ClusterCommand {
            bin_dir: &bin_dir,
            owner,
            cwd: &options.root,
        };
        if !data_dir.join("PG_VERSION").exists() {
            cluster_cmd.run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data_dir.as_os_str(),
                    "--auth=trust".as_ref(),
                    "--username=postgres".as_ref(),
                    "--encoding=UTF8".as_ref(),
                    "--locale=C".as_ref(),
                    "--no-sync".as_ref(),
                    "--no-instructions".as_ref(),
                ],
                "initialising the local PostgreSQL cluster",
            )?;
        }
        stop_orphan(&mut cluster_cmd, &data_dir)?;

        let port = if options.port == 0 {
            free_port().map_err(io_error("finding a free port for PostgreSQL"))?
        } else {
            options.port
        };
        let log_path = options.root.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error(format!("opening {}", log_path.display())))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = cluster_cmd.command("postgres");
        command
            .arg("-D")
            .arg(&data_dir)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "max_connections=200"]);
        if !options.durable {
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        // Its own process group: a Ctrl-C in the terminal reaches simrunner, which then stops
        // the cluster in order, instead of reaching PostgreSQL first.
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("opening the log"))?)
            .stderr(log);
        let child = command
            .spawn()
            .map_err(io_error("starting the PostgreSQL server"))?;
        let mut cluster = Self {
            data_dir,
            port,
            bin_dir,
            owner,
            child,
        };
        cluster.wait_ready(&log_path, log_start)?;
        Ok(cluster)
    }

    fn wait_ready(&mut self, log_path: &Path, log_start: u64) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ClusterError::Failed {
                    action: "starting the PostgreSQL server".into(),
                    detail: format!(
                        "it exited with {status}; its log ({}) says:\n{}",
                        log_path.display(),
                        log_tail(log_path, log_start)
                    ),
                });
            }
            // PostgreSQL writes "ready" on the 8th line of postmaster.pid once it accepts
            // connections; this is what pg_ctl -w waits for.
            let pid_file =
                fs::read_to_string(self.data_dir.join("postmaster.pid")).unwrap_or_default();
            if pid_file.lines().nth(7).map(str::trim) == Some("ready") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Failed {
                    action: "starting the PostgreSQL server".into(),
                    detail: format!("not ready after 60 s; see {}", log_path.display()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database` as the `postgres` superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Fast shutdown: disconnects clients, writes a checkpoint and waits for the server.
    pub fn stop(mut self) -> Result<(), ClusterError> {
        let mut cluster_cmd = ClusterCommand {
            bin_dir: &self.bin_dir,
            owner: self.owner,
            cwd: self.data_dir.parent().unwrap_or(Path::new("/")),
        };
        let stopped = cluster_cmd.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
            ],
            "stopping the local PostgreSQL cluster",
        );
        let _ = self.child.wait();
        stopped
    }

    /// Starts a watchdog that stops this cluster (and removes `remove`) once the current
    /// process has exited, however it exits. For throwaway clusters, such as tests'.
    pub fn stop_when_this_process_exits(&self, remove: &Path) -> Result<(), ClusterError> {
        let script = r#"while [ -d "/proc/$1" ] || kill -0 "$1" 2>/dev/null; do sleep 0.5; done
"$2/pg_ctl" stop -D "$3" -m immediate >/dev/null 2>&1
rm -rf "$4""#;
        let mut command = Command::new("sh");
        command
            .args(["-c", script, "watchdog", &std::process::id().to_string()])
            .arg(&self.bin_dir)
            .arg(&self.data_dir)
            .arg(remove)
            .current_dir(self.data_dir.parent().unwrap_or(Path::new("/")))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
            .spawn()
            .map(drop)
            .map_err(io_error("starting the cluster's watchdog"))
    }
}

/// Runs the cluster's programs, as the `postgres` user when simrunner is root.
struct ClusterCommand<'a> {
    bin_dir: &'a Path,
    owner: Option<(u32, u32)>,
    cwd: &'a Path,
}

impl ClusterCommand<'_> {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        command.current_dir(self.cwd).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn run(
        &mut self,
        program: &str,
        args: &[&std::ffi::OsStr],
        action: &str,
    ) -> Result<(), ClusterError> {
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(io_error(action))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(ClusterError::Failed {
                action: action.into(),
                detail: format!(
                    "{program} exited with {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            })
        }
    }
}

/// A server left running by a simrunner that was killed: stop it before starting anew. The
/// caller holds the data folder's lock, so no live simrunner owns it.
fn stop_orphan(cluster_cmd: &mut ClusterCommand<'_>, data_dir: &Path) -> Result<(), ClusterError> {
    let Ok(pid_file) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return Ok(());
    };
    let alive = pid_file
        .lines()
        .next()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
    if !alive {
        return Ok(()); // PostgreSQL removes a stale pid file itself.
    }
    tracing::warn!(data_dir = %data_dir.display(), "stopping a PostgreSQL server left running by an earlier simrunner");
    cluster_cmd.run(
        "pg_ctl",
        &[
            "stop".as_ref(),
            "-D".as_ref(),
            data_dir.as_os_str(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-w".as_ref(),
        ],
        "stopping a leftover PostgreSQL server",
    )
}

fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.take(8 * 1024).read_to_string(&mut text);
    }
    text.trim().to_owned()
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "postgres", "pg_ctl"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// `SIMRUNNER_PG_BIN_DIR`, then `pg_config --bindir`, then `initdb` on the `PATH` (following
/// symlinks), then the usual package locations, newest version first.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIMRUNNER_PG_BIN_DIR") {
        return Some(PathBuf::from(dir)).filter(|d| has_server_binaries(d));
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("initdb"))
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    });
    let mut packaged: Vec<PathBuf> = [
        "/usr/lib/postgresql",
        "/usr/local/opt",
        "/opt/homebrew/opt",
        "/usr",
    ]
    .iter()
    .flat_map(|root| fs::read_dir(root).into_iter().flatten().flatten())
    .map(|entry| entry.path())
    .filter(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        name.starts_with("postgresql") || name.starts_with("pgsql") || name.parse::<u32>().is_ok()
    })
    .map(|p| p.join("bin"))
    .collect();
    packaged.sort_by_key(|p| std::cmp::Reverse(version_of(p)));
    from_pg_config
        .into_iter()
        .chain(from_path)
        .chain(packaged)
        .find(|d| has_server_binaries(d))
}

fn version_of(bin_dir: &Path) -> u32 {
    let name = bin_dir
        .parent()
        .and_then(Path::file_name)
        .unwrap_or_default()
        .to_string_lossy();
    name.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn effective_uid() -> Option<u32> {
    fs::metadata("/proc/self")
        .map(|m| m.uid())
        .ok()
        .or_else(|| {
            let out = Command::new("id").arg("-u").output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        })
}

/// The `postgres` user's uid and gid, from `/etc/passwd`.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == "postgres")
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

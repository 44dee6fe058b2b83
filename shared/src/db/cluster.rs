//! A PostgreSQL cluster run from the system's own PostgreSQL binaries: the local stack's
//! default database when `DATABASE_URL` is unset, and the test harness's throwaway server.
//!
//! PostgreSQL refuses to run as root, so when simrunner runs as root the cluster's files
//! belong to the `postgres` system user and its processes run as that user.

use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to do when the embedded cluster cannot be used, said at the end of every error.
const WAY_OUT: &str = "Set SIMRUNNER_DATA_DIR to a folder the server can use, or DATABASE_URL to \
                       use an existing PostgreSQL server instead";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres, pg_ctl) were not found ({searched}). \
         Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install \
         postgresql@16), set SIMRUNNER_PG_BIN_DIR to the folder that holds them, or set \
         DATABASE_URL to use an existing server"
    )]
    BinariesNotFound { searched: String },
    #[error(
        "running as root needs a 'postgres' system user to own the local cluster (PostgreSQL \
         refuses to run as root); create one (apt-get install postgresql does) or set \
         DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("{action} failed: {detail}. {WAY_OUT}")]
    Failed { action: String, detail: String },
    /// The OS error is part of the message (not a `source`), so it is printed once.
    #[error("{action} {}: {cause}. {WAY_OUT}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error(
        "the postgres user (which runs the local cluster, since PostgreSQL refuses root) can \
         reach neither {} nor {}. {WAY_OUT}",
        wanted.display(),
        fallback.display()
    )]
    Unreachable { wanted: PathBuf, fallback: PathBuf },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let path = path.to_path_buf();
    move |cause| ClusterError::Io {
        action,
        path,
        cause,
    }
}

/// Where clusters go that the `postgres` user cannot keep where they were asked for.
pub const RELOCATION_ROOT: &str = "/var/lib/simrunner";

/// A cluster kept elsewhere than asked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// Where it was asked to live.
    pub wanted: PathBuf,
    pub reason: String,
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
    root: PathBuf,
    data_dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    owner: Option<(u32, u32)>,
    relocation: Option<Relocation>,
    child: Child,
}

impl LocalCluster {
    /// Initialises the cluster if needed, starts it and waits until it accepts connections.
    /// As root, a root folder the `postgres` user cannot reach (a checkout in root's home)
    /// is replaced by one under [`RELOCATION_ROOT`], named after the wanted folder, so the
    /// same folder is used at every start; see [`LocalCluster::relocation`].
    /// Blocking: call it from `spawn_blocking` in async code.
    pub fn start(options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir()?;
        let owner = if effective_uid() == Some(0) {
            Some(postgres_user().ok_or(ClusterError::NoPostgresUser)?)
        } else {
            None
        };
        let (root, relocation) = placement(&options.root, owner)?;
        let data_dir = root.join("data");
        fs::create_dir_all(&root).map_err(io_error("creating", &root))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(io_error("giving the postgres user", &root))?;
        }
        let mut cluster_cmd = ClusterCommand {
            bin_dir: &bin_dir,
            owner,
            cwd: &root,
        };
        if !data_dir.join("PG_VERSION").exists() {
            let action = format!(
                "initialising the local PostgreSQL cluster in {}",
                data_dir.display()
            );
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
                &action,
            )?;
        }
        stop_orphan(&mut cluster_cmd, &data_dir)?;

        let port = if options.port == 0 {
            free_port().map_err(io_error("finding a free port on", Path::new("127.0.0.1")))?
        } else {
            options.port
        };
        let log_path = root.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error("opening the server log", &log_path))?;
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
            .stdout(
                log.try_clone()
                    .map_err(io_error("opening the server log", &log_path))?,
            )
            .stderr(log);
        let child = command
            .spawn()
            .map_err(io_error("starting", &bin_dir.join("postgres")))?;
        let mut cluster = Self {
            root,
            data_dir,
            port,
            bin_dir,
            owner,
            relocation,
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

    /// The folder holding `data/` and `postgres.log`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Set when the cluster lives elsewhere than asked (see [`LocalCluster::start`]).
    pub fn relocation(&self) -> Option<&Relocation> {
        self.relocation.as_ref()
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

    /// Starts a watchdog that stops this cluster and removes its root folder once the current
    /// process has exited, however it exits. For throwaway clusters, such as tests'.
    pub fn stop_when_this_process_exits(&self) -> Result<(), ClusterError> {
        let script = r#"while [ -d "/proc/$1" ] || kill -0 "$1" 2>/dev/null; do sleep 0.5; done
"$2/pg_ctl" stop -D "$3" -m immediate >/dev/null 2>&1
rm -rf "$4""#;
        let mut command = Command::new("sh");
        command
            .args(["-c", script, "watchdog", &std::process::id().to_string()])
            .arg(&self.bin_dir)
            .arg(&self.data_dir)
            .arg(&self.root)
            .current_dir(&self.root)
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
            .map_err(io_error("starting the cluster's watchdog for", &self.root))
    }
}

/// Where the cluster asked for at `wanted` lives. When simrunner is root, the cluster's
/// files belong to the `postgres` user, which must be able to reach them: a folder under a
/// private one (root's home, a `mktemp -d` folder) it cannot reach is replaced by
/// [`RELOCATION_ROOT`]`/<hash of wanted>`. A cluster found there from an earlier start is
/// used again, so data survives restarts even if `wanted` became reachable since.
fn placement(
    wanted: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(PathBuf, Option<Relocation>), ClusterError> {
    let Some(owner) = owner else {
        return Ok((wanted.to_path_buf(), None));
    };
    let parent = wanted.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
    let fallback = relocated_root(wanted);
    let relocation = |reason: String| Relocation {
        wanted: wanted.to_path_buf(),
        reason,
    };
    let unreachable = format!(
        "the postgres user (PostgreSQL refuses to run as root) cannot reach {}",
        parent.display()
    );
    let reachable = reachable_by(owner, parent);
    if fallback.join("data").join("PG_VERSION").exists() {
        let reason = if reachable {
            format!("it has been there since a start when {unreachable}")
        } else {
            unreachable
        };
        return Ok((fallback, Some(relocation(reason))));
    }
    if reachable {
        return Ok((wanted.to_path_buf(), None));
    }
    let shared = Path::new(RELOCATION_ROOT);
    fs::create_dir_all(shared).map_err(io_error("creating", shared))?;
    // Others must be able to pass through it to their own cluster's folder.
    fs::set_permissions(shared, fs::Permissions::from_mode(0o755))
        .map_err(io_error("opening up", shared))?;
    if !reachable_by(owner, shared) {
        return Err(ClusterError::Unreachable {
            wanted: wanted.to_path_buf(),
            fallback,
        });
    }
    Ok((fallback, Some(relocation(unreachable))))
}

/// [`RELOCATION_ROOT`]`/<16 hex digits of the SHA-256 of wanted's canonical path>`: the same
/// folder for the same project folder at every start.
fn relocated_root(wanted: &Path) -> PathBuf {
    let canonical = match (wanted.parent().map(fs::canonicalize), wanted.file_name()) {
        (Some(Ok(parent)), Some(name)) => parent.join(name),
        _ => wanted.to_path_buf(),
    };
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    Path::new(RELOCATION_ROOT).join(hex::encode(&digest[..8]))
}

/// Whether the `owner` user can enter `dir`: tried for real, as that user, so every ancestor's
/// permissions (and ACLs) count as they will for PostgreSQL.
fn reachable_by((uid, gid): (u32, u32), dir: &Path) -> bool {
    Command::new("sh")
        .args(["-c", "cd -- \"$1\"", "sh"])
        .arg(dir)
        .current_dir("/")
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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
        let path = self.bin_dir.join(program);
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ClusterError::Failed {
                action: action.into(),
                detail: format!("{} could not be run: {source}", path.display()),
            })?;
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

/// Where the packaged PostgreSQL binaries are looked for (`<root>/<version>/bin`).
const PACKAGE_ROOTS: [&str; 4] = [
    "/usr/lib/postgresql",
    "/usr/local/opt",
    "/opt/homebrew/opt",
    "/usr",
];

/// `SIMRUNNER_PG_BIN_DIR` (only there, when it is set), else `pg_config --bindir`, then
/// `initdb` on the `PATH` (following symlinks), then the usual package locations, newest
/// version first. The error says where it looked.
pub fn find_bin_dir() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os("SIMRUNNER_PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        return if has_server_binaries(&dir) {
            Ok(dir)
        } else {
            Err(ClusterError::BinariesNotFound {
                searched: format!("SIMRUNNER_PG_BIN_DIR is {}", dir.display()),
            })
        };
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
    let mut packaged: Vec<PathBuf> = PACKAGE_ROOTS
        .iter()
        .flat_map(|root| fs::read_dir(root).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("postgresql")
                || name.starts_with("pgsql")
                || name.parse::<u32>().is_ok()
        })
        .map(|p| p.join("bin"))
        .collect();
    packaged.sort_by_key(|p| std::cmp::Reverse(version_of(p)));
    from_pg_config
        .into_iter()
        .chain(from_path)
        .chain(packaged)
        .find(|d| has_server_binaries(d))
        .ok_or_else(|| ClusterError::BinariesNotFound {
            searched: format!(
                "looked at pg_config --bindir, initdb on the PATH and {}",
                PACKAGE_ROOTS.map(|r| format!("{r}/*/bin")).join(", ")
            ),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_folder_always_maps_to_the_same_relocated_folder() {
        let here = std::env::temp_dir().join("a-project/.simrunner/postgres");
        let again = std::env::temp_dir().join("a-project/./.simrunner/postgres");
        assert_eq!(relocated_root(&here), relocated_root(&here));
        assert_ne!(
            relocated_root(&here),
            relocated_root(&std::env::temp_dir().join("b-project/.simrunner/postgres"))
        );
        assert!(relocated_root(&here).starts_with(RELOCATION_ROOT));
        let name = relocated_root(&again);
        assert_eq!(name.file_name().unwrap().len(), 16, "{}", name.display());
    }

    #[test]
    fn io_errors_name_the_path_once_and_say_what_to_do() {
        let error = io_error("creating", Path::new("/root/simrunner/.simrunner/postgres"))(
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let text = format!("{:#}", anyhow_like(&error));
        assert!(
            text.contains("creating /root/simrunner/.simrunner/postgres: permission denied"),
            "{text}"
        );
        assert_eq!(text.matches("permission denied").count(), 1, "{text}");
        assert!(
            text.contains("SIMRUNNER_DATA_DIR") && text.contains("DATABASE_URL"),
            "{text}"
        );
    }

    /// The error and its sources, as `anyhow` prints a chain with `{:#}`.
    fn anyhow_like(error: &ClusterError) -> String {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }
}

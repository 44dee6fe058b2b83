//! The test harness's database: every test gets a fresh, migrated database on a real
//! PostgreSQL server.
//!
//! With `DATABASE_URL` set, databases are created on that server. Otherwise the first test in
//! a process starts a throwaway cluster from the system's PostgreSQL binaries (as the
//! `postgres` user when running as root), which a watchdog stops and deletes once the test
//! process exits.

use crate::db::cluster::{ClusterOptions, LocalCluster};
use crate::db::{build_pool, migrate};
use deadpool_postgres::Pool;
use std::str::FromStr;
use std::sync::OnceLock;

/// A fresh migrated database and a pool on it.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: Pool,
}

impl TestDatabase {
    /// The first column of a query's single row: a `count(*)` and the like.
    pub async fn count(&self, sql: &str) -> i64 {
        self.pool
            .get()
            .await
            .unwrap()
            .query_one(sql, &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// The server every test database of this process lives on: a URL to its admin database.
fn server_url() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let root = std::env::temp_dir().join(format!(
            "simrunner-test-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let cluster = LocalCluster::start(&ClusterOptions {
            root,
            port: 0,
            durable: false,
        })
        .unwrap_or_else(|e| panic!("cannot start a test PostgreSQL cluster: {e}"));
        cluster
            .stop_when_this_process_exits()
            .unwrap_or_else(|e| panic!("{e}"));
        let url = cluster.url("postgres");
        // The server outlives every test of this process; the watchdog stops it afterwards.
        std::mem::forget(cluster);
        url
    })
}

/// A PostgreSQL cluster of the calling test's own, for tests that stop or reconfigure their
/// server; also returns its root folder (for files the test needs beside it). A watchdog
/// stops it and removes the folder when the process exits, whatever the test did.
pub async fn own_cluster(tag: &str) -> (LocalCluster, std::path::PathBuf) {
    let options = ClusterOptions {
        root: std::env::temp_dir().join(format!(
            "simrunner-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        )),
        port: 0,
        durable: false,
    };
    let cluster = tokio::task::spawn_blocking(move || LocalCluster::start(&options))
        .await
        .expect("the cluster start task")
        .unwrap_or_else(|e| panic!("cannot start a test PostgreSQL cluster: {e}"));
    cluster
        .stop_when_this_process_exits()
        .unwrap_or_else(|e| panic!("{e}"));
    let root = cluster.root().to_path_buf();
    (cluster, root)
}

/// Creates a new database, applies every migration and returns a pool on it.
pub async fn fresh_database() -> TestDatabase {
    let server = server_url();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let (admin, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let mut config = tokio_postgres::Config::from_str(server).expect("server URL parses");
    config.dbname(&name);
    let url = database_url(&config);
    let pool = build_pool(&url, 8).expect("pool");
    let mut client = pool.get().await.expect("connect to the test database");
    migrate(&mut client).await.expect("migrations apply");
    drop(client);
    TestDatabase { name, url, pool }
}

fn database_url(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    format!(
        "postgres://{user}{password}@{host}:{port}/{}",
        config.get_dbname().unwrap_or("postgres")
    )
}

/// Stores a one-off config at `pace`, with the given blinds and starting stack and a 1 s
/// action timeout (so live pace thinks briefly). `slots` are agent types: built-in bots by
/// name, LLM seats as `type=provider:model` (`protocol=openai:gpt-4o`).
pub async fn bot_simulation(
    db: &TestDatabase,
    slots: &[&str],
    pace: &str,
    max_hands: i64,
    (small_blind, big_blind): (i64, i64),
    stack: i64,
) -> crate::domain::SimulationId {
    let spec = crate::domain::SimulationDraft {
        name: Some(format!("{} bots", slots.len())),
        pace: Some(pace.into()),
        max_hands: Some(max_hands),
        agent_slots: Some(
            slots
                .iter()
                .map(|slot| {
                    // `type`, or `type=x` where x is the model, the external seat's agent id
                    // or the webhook seat's endpoint id, by type.
                    let (agent_type, value) = match slot.split_once('=') {
                        Some((agent_type, value)) => (agent_type, Some(value.to_owned())),
                        None => (*slot, None),
                    };
                    let mut draft = crate::domain::AgentSlotDraft {
                        agent_type: Some(agent_type.into()),
                        ..Default::default()
                    };
                    match agent_type {
                        "external" => draft.agent_id = value,
                        "webhook" => draft.webhook_id = value,
                        _ => draft.model = value,
                    }
                    draft
                })
                .collect(),
        ),
        small_blind: Some(small_blind),
        big_blind: Some(big_blind),
        initial_stack: Some(stack),
        action_timeout_ms: Some(1_000),
        ..Default::default()
    }
    .validate()
    .expect("a valid config");
    let client = db.pool.get().await.expect("connect");
    crate::store::insert_simulation(&client, &spec)
        .await
        .expect("insert config")
        .id
}

/// The entries of one of a run's log streams (`simulation-summary`, `agent-<seat>-<type>`),
/// oldest first.
pub async fn run_log(db: &TestDatabase, run: &str, stream: &str) -> Vec<serde_json::Value> {
    let client = db.pool.get().await.expect("connect");
    client
        .query(
            "SELECT entry::text FROM run_log_entries WHERE run_id = $1 AND stream = $2 ORDER BY seq",
            &[&run, &stream],
        )
        .await
        .expect("read the log")
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).expect("a JSON entry"))
        .collect()
}

/// A listener on 127.0.0.1 that accepts connections, counts them and drops them: a place no
/// call may reach (its port, and how many connections it has had).
pub fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    let reached = std::sync::Arc::new(AtomicUsize::new(0));
    let count = reached.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, reached)
}

/// One HTTP request a [`http_receiver`] took.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lower case.
    pub headers: std::collections::HashMap<String, String>,
    pub body: String,
}

/// An HTTP server on 127.0.0.1 that keeps every request it gets and answers each with the
/// status in `status` (200 unless changed): a webhook destination for tests.
pub struct HttpReceiver {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    pub status: std::sync::Arc<std::sync::atomic::AtomicU16>,
}

impl HttpReceiver {
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}

pub fn http_receiver() -> HttpReceiver {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicU16, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/alerts", listener.local_addr().expect("bound"));
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let status = std::sync::Arc::new(AtomicU16::new(200));
    let (keep, answer) = (received.clone(), status.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut headers = std::collections::HashMap::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line); // the request line
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            keep.lock().expect("not poisoned").push(Received {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                answer.load(Ordering::SeqCst)
            );
        }
    });
    HttpReceiver {
        url,
        received,
        status,
    }
}

/// Inserts a `queued` manual run of `config`, with a fixed seed when given.
pub async fn queued_run(
    db: &TestDatabase,
    config: &crate::domain::SimulationId,
    seed: Option<i64>,
) -> crate::domain::RunId {
    let id = crate::domain::RunId::generate();
    let client = db.pool.get().await.expect("connect");
    client
        .execute(
            "INSERT INTO simulation_runs (id, config_id, trigger, trigger_key, seed)
             VALUES ($1, $2, 'manual', $1, $3)",
            &[&id.as_str(), &config.as_str(), &seed],
        )
        .await
        .expect("insert run");
    id
}

/// A moto server (the AWS emulator) for this test process: `SIMRUNNER_MOTO_SERVER`, else the
/// workspace's `.venv` (where `infra/test.sh` installs the pinned version), else
/// `moto_server` on the `PATH`. A watchdog stops it when the process exits.
#[cfg(feature = "aws")]
pub fn moto_endpoint() -> &'static str {
    static MOTO: OnceLock<String> = OnceLock::new();
    MOTO.get_or_init(|| {
        let workspace_venv =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
        let program = std::env::var("SIMRUNNER_MOTO_SERVER")
            .ok()
            .or_else(|| {
                workspace_venv
                    .exists()
                    .then(|| workspace_venv.display().to_string())
            })
            .or_else(|| {
                std::process::Command::new("sh")
                    .args(["-c", "command -v moto_server"])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            })
            .expect("moto_server not found: run ./infra/test.sh, which installs it in .venv");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = r#"("$2" -H 127.0.0.1 -p "$3" >/dev/null 2>&1 &
moto=$!
while [ -d "/proc/$1" ] || kill -0 "$1" 2>/dev/null; do sleep 0.5; done
kill "$moto")"#;
        std::process::Command::new("sh")
            .args([
                "-c",
                script,
                "moto",
                &std::process::id().to_string(),
                &program,
                &port.to_string(),
            ])
            .stdin(std::process::Stdio::null())
            .spawn()
            // The watchdog outlives this process on purpose; nothing waits for it.
            .map(drop)
            .expect("start moto_server");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed().as_secs() < 30,
                "moto_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        format!("http://127.0.0.1:{port}")
    })
}

/// AWS SDK settings that talk to [`moto_endpoint`] with dummy credentials.
#[cfg(feature = "aws")]
pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// The first ids moto's default VPC answers for an EC2 `Describe…` action.
#[cfg(feature = "aws")]
async fn default_vpc_ids(action: &str, tag: &str) -> Vec<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let endpoint = moto_endpoint().trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(endpoint)
        .await
        .expect("moto");
    let request = format!(
        "GET /?Action={action}&Version=2016-11-15 HTTP/1.1\r\nHost: {endpoint}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("moto");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("moto");
    let open = format!("<{tag}>");
    body.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect()
}

/// An ECS launcher on a new moto cluster with the runner's task definition, placed in moto's
/// default VPC; also the ECS client, to look at what it did.
#[cfg(feature = "aws")]
pub async fn moto_ecs_launcher(cluster: &str) -> (crate::launch::EcsLauncher, aws_sdk_ecs::Client) {
    let config = moto_config().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("moto");
    ecs.register_task_definition()
        .family("simrunner-runner")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("runner")
                .image("simrunner-runner:latest")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("moto");
    let subnets = default_vpc_ids("DescribeSubnets", "subnetId").await;
    let groups = default_vpc_ids("DescribeSecurityGroups", "groupId").await;
    assert!(
        !subnets.is_empty() && !groups.is_empty(),
        "moto's default VPC"
    );
    let launcher = crate::launch::EcsLauncher {
        client: ecs.clone(),
        placement: crate::aws::EcsSettings {
            cluster: cluster.to_owned(),
            task_definition: "simrunner-runner".into(),
            container: "runner".into(),
            subnets: subnets[..1].to_vec(),
            security_groups: groups[..1].to_vec(),
            assign_public_ip: true,
        },
    };
    (launcher, ecs)
}

/// An EventBridge Scheduler adapter on a new moto schedule group; `group` must be unique to
/// the test.
#[cfg(feature = "aws")]
pub async fn moto_scheduler(group: &str) -> crate::schedule::EventBridgeScheduler {
    let client = aws_sdk_scheduler::Client::new(&moto_config().await);
    client
        .create_schedule_group()
        .name(group)
        .send()
        .await
        .expect("moto");
    crate::schedule::EventBridgeScheduler {
        client,
        group: group.to_owned(),
        target_arn: "arn:aws:lambda:us-east-1:123456789012:function:simrunner-dispatch".into(),
        role_arn: "arn:aws:iam::123456789012:role/simrunner-scheduler".into(),
        dead_letter_arn: Some("arn:aws:sqs:us-east-1:123456789012:simrunner-dlq".into()),
    }
}

/// The same adapter pointed at a port where nothing listens: every call fails to connect.
#[cfg(feature = "aws")]
pub fn unreachable(
    mut eb: crate::schedule::EventBridgeScheduler,
) -> crate::schedule::EventBridgeScheduler {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = closed.local_addr().expect("its address").port();
    drop(closed);
    let config = eb
        .client
        .config()
        .to_builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    eb.client = aws_sdk_scheduler::Client::from_conf(config);
    eb
}

/// An SNS topic on moto that POSTs what is published to `endpoint` (moto delivers to HTTP
/// subscriptions as it publishes); the client and the topic's ARN.
#[cfg(feature = "aws")]
pub async fn moto_sns_topic(name: &str, endpoint: &str) -> (aws_sdk_sns::Client, String) {
    let sns = aws_sdk_sns::Client::new(&moto_config().await);
    let topic = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("moto")
        .topic_arn()
        .expect("a topic ARN")
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(endpoint)
        .send()
        .await
        .expect("moto");
    (sns, topic)
}

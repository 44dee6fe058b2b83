//! Admin API benchmark: `cargo bench -p local-stack --bench api` (it builds the `admin-api`
//! Lambda binary too, with the same profile).
//!
//! Runs the real `simrunner` binary against a fresh database holding 100 configs and prints:
//! - start-up: time from exec to the first 200 on `/healthz` (database already migrated);
//! - load: `GET /v1/admin/simulations` (first page, 50 configs with their latest run) over
//!   50 keep-alive connections on loopback for `BENCH_SECONDS` (default 10): p50, p99, max
//!   latency and requests per second; three times: with the database unchanged (the page is
//!   kept, see `admin_api::snapshot_cache`), then with a run's heartbeat committed 100 and
//!   1,000 times a second (each commit makes the next request read the page again);
//! - the Lambda binary (`admin-api`) under a stand-in for the Lambda Runtime API: time from
//!   exec to the first `/healthz` 200 it answers (an API Gateway v2 event), with and without
//!   the AWS adapters chosen, and its resident memory once idle;
//! - the admin console: server time of `/admin` (100 configs), a simulation page and the
//!   keys page, one request at a time on one keep-alive connection (p50, p99);
//! - the size of the release binaries.
//!
//! Targets from the issues: console pages p99 <= 20 ms; p99 <= 5 ms, >= 5,000 requests/s on 2 cores, ready <= 50 ms,
//! idle RSS <= 20 MB.
//! Figures are printed, never asserted: speed is not a pass/fail test.

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use simrunner::secrets::MasterKey;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{TOKEN, connect, free_addr, spawn_server};
const CONNECTIONS: usize = 50;

async fn seed(db: &simrunner::testing::TestDatabase, configs: usize) {
    let client = db.pool.get().await.unwrap();
    let six = [
        "random",
        "tight",
        "callstation",
        "random",
        "tight",
        "random",
    ];
    for i in 0..configs {
        let config = simrunner::testing::bot_simulation(db, &six, "live", 20, (5, 10), 1000).await;
        // Half the configs have a finished run, so the latest-run join has work to do.
        if i % 2 == 0 {
            client
                .execute(
                    "INSERT INTO simulation_runs (id, config_id, status, trigger, trigger_key,
                         started_at, completed_at, hands_played)
                     VALUES ($1, $2, 'completed', 'manual', $1, now(), now(), 20)",
                    &[
                        &simrunner::domain::RunId::generate().to_string(),
                        &config.to_string(),
                    ],
                )
                .await
                .unwrap();
        }
    }
}

async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> hyper::StatusCode {
    let request = hyper::Request::get(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

/// Signs in to the console as a browser would; returns the `Cookie` header value.
async fn console_cookie(addr: SocketAddr) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post("/admin/login")
        .header("host", addr.to_string())
        .header("origin", format!("http://{addr}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(Bytes::from(format!(
            "token={TOKEN}"
        ))))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// Server time of a console page: `rounds` requests one after another on one connection.
async fn console_page(addr: SocketAddr, cookie: &str, path: &str, rounds: usize) -> Vec<Duration> {
    let mut sender = connect(addr).await;
    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds + 20 {
        let request = hyper::Request::get(path)
            .header("host", addr.to_string())
            .header("cookie", cookie)
            .body(Empty::new())
            .unwrap();
        sender.ready().await.unwrap();
        let started = Instant::now();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.into_body().collect().await.unwrap();
        // The first 20 warm the connection pool and caches.
        if round >= 20 {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort();
    latencies
}

/// Exec to first 200 on /healthz, polling as fast as the OS answers.
async fn time_to_ready(database_url: &str, data_dir: &std::path::Path) -> Duration {
    let addr = free_addr();
    let started = Instant::now();
    let mut child = spawn_server(database_url, addr, data_dir, &[]);
    let ready = loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            if get(&mut sender, addr, "/healthz").await == hyper::StatusCode::OK {
                break started.elapsed();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server never became ready"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    ready
}

/// The `admin-api` Lambda binary beside `simrunner`, built with the same profile (cargo
/// builds only this package's binaries for its benchmarks).
fn admin_api_binary() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_simrunner")).with_file_name("admin-api");
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "admin-api",
                "--bin",
                "admin-api",
            ])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the admin-api Lambda binary");
    });
    path
}

/// What the Lambda binary did under the stand-in runtime API.
struct LambdaStart {
    ready: Duration,
    idle_rss_kib: u64,
}

/// Runs the `admin-api` Lambda binary against a minimal Lambda Runtime API (the two routes a
/// runtime client uses) that hands it one `GET /healthz` event; returns the time from exec to
/// its answer, and its RSS once it waits for the next event.
async fn lambda_start(database_url: &str, aws_adapters: bool) -> LambdaStart {
    use axum::extract::State;
    use axum::routing::{get as route_get, post};
    type Answer = std::sync::Arc<tokio::sync::Mutex<Option<tokio::sync::oneshot::Sender<String>>>>;
    let (answered, answer) = tokio::sync::oneshot::channel::<String>();
    let answered: Answer = std::sync::Arc::new(tokio::sync::Mutex::new(Some(answered)));
    let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/healthz", "rawQueryString": "",
        "headers": {"host": "bench.example.com"},
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "bench.example.com",
            "http": {"method": "GET", "path": "/healthz", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    })
    .to_string();
    let next = move || {
        let (served, event) = (served.clone(), event.clone());
        async move {
            if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // One event only: later polls wait, as an idle Lambda does.
                std::future::pending::<()>().await;
            }
            (
                [
                    ("lambda-runtime-aws-request-id", "bench-1"),
                    ("lambda-runtime-deadline-ms", "99999999999999"),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:admin-api",
                    ),
                ],
                event,
            )
        }
    };
    let runtime_api = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", route_get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(|State(answered): State<Answer>, body: String| async move {
                if let Some(tx) = answered.lock().await.take() {
                    let _ = tx.send(body);
                }
                axum::http::StatusCode::ACCEPTED
            }),
        )
        .with_state(answered);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, runtime_api).await });
    let mut command = Command::new(admin_api_binary());
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "admin-api")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("DATABASE_URL", database_url)
        .env("SIMRUNNER_ADMIN_TOKEN", TOKEN)
        .env("SIMRUNNER_KEY_ENCRYPTION_KEY", MasterKey::generate_hex())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if aws_adapters {
        command.envs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("SIMRUNNER_LAUNCHER", "ecs"),
            ("SIMRUNNER_ECS_CLUSTER", "simrunner-runners"),
            ("SIMRUNNER_ECS_TASK_DEFINITION", "simrunner-runner"),
            ("SIMRUNNER_ECS_SUBNETS", "subnet-1"),
            ("SIMRUNNER_ECS_SECURITY_GROUPS", "sg-1"),
            ("SIMRUNNER_SCHEDULER", "eventbridge"),
            (
                "SIMRUNNER_DISPATCH_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:123456789012:function:simrunner-dispatch",
            ),
            (
                "SIMRUNNER_SCHEDULER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/simrunner-scheduler",
            ),
        ]);
    }
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let body = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("the Lambda binary answered")
        .unwrap();
    let ready = started.elapsed();
    let response: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["statusCode"], 200, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let idle_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    server.abort();
    LambdaStart {
        ready,
        idle_rss_kib,
    }
}

/// `GET /v1/admin/simulations` over `CONNECTIONS` keep-alive connections, each sending its
/// next request when the last is answered, for `seconds` after a 2 s warm-up: the
/// latencies, sorted.
async fn load(addr: SocketAddr, seconds: u64) -> Vec<Duration> {
    let warmup = Instant::now() + Duration::from_secs(2);
    let end = warmup + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let mut latencies = Vec::new();
                loop {
                    let started = Instant::now();
                    if started >= end {
                        break latencies;
                    }
                    let status = get(&mut sender, addr, "/v1/admin/simulations").await;
                    assert_eq!(status, 200);
                    if started >= warmup {
                        latencies.push(started.elapsed());
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort();
    latencies
}

/// A live run's heartbeats: `per_second` commits of its `hands_played` until `until` (none
/// when 0), as a runner's recorder makes them; returns how many were made. Every commit
/// anywhere in the database moves its snapshot, so the list is read again after each.
async fn heartbeats(
    pool: deadpool_postgres::Pool,
    run: String,
    per_second: u64,
    until: Instant,
) -> u64 {
    if per_second == 0 {
        return 0;
    }
    let client = pool.get().await.unwrap();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second as u32);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut made = 0;
    while Instant::now() < until {
        tick.tick().await;
        client
            .execute(
                "UPDATE simulation_runs SET hands_played = hands_played + 1, heartbeat_at = now()
                  WHERE id = $1",
                &[&run],
            )
            .await
            .unwrap();
        made += 1;
    }
    made
}

/// The id of one row of `table`.
async fn some_id(db: &simrunner::testing::TestDatabase, table: &str) -> String {
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(&format!("SELECT id FROM {table} LIMIT 1"), &[])
        .await
        .unwrap();
    row.get(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let db = simrunner::testing::fresh_database().await;
    seed(&db, 100).await;
    let data_dir = std::env::temp_dir().join(format!("simrunner-bench-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).unwrap();

    let mut ready: Vec<Duration> = Vec::new();
    for _ in 0..7 {
        ready.push(time_to_ready(&db.url, &data_dir).await);
    }
    ready.sort();
    let mut lambda = Vec::new();
    let mut lambda_aws = Vec::new();
    for _ in 0..7 {
        lambda.push(lambda_start(&db.url, false).await);
        lambda_aws.push(lambda_start(&db.url, true).await);
    }
    lambda.sort_by_key(|s| s.ready);
    lambda_aws.sort_by_key(|s| s.ready);

    let addr = free_addr();
    let mut server = spawn_server(&db.url, addr, &data_dir, &[]);
    let mut probe = loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break connect(addr).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(get(&mut probe, addr, "/v1/admin/simulations").await, 200);

    let run = some_id(&db, "simulation_runs").await;
    let mut phases = Vec::new();
    for per_second in [0, 100, 1000] {
        let writes = tokio::spawn(heartbeats(
            db.pool.clone(),
            run.clone(),
            per_second,
            Instant::now() + Duration::from_secs(seconds + 2),
        ));
        let latencies = load(addr, seconds).await;
        phases.push((per_second, writes.await.unwrap(), latencies));
    }

    let cookie = console_cookie(addr).await;
    let config = some_id(&db, "simulation_configs").await;
    let mut console = Vec::new();
    for path in [
        "/admin".to_owned(),
        format!("/admin/simulations/{config}"),
        "/admin/keys".to_owned(),
    ] {
        let latencies = console_page(addr, &cookie, &path, 300).await;
        console.push((path, latencies));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let size = |path: &str| {
        std::fs::metadata(path)
            .map(|m| format!("{:.1} MiB", m.len() as f64 / 1048576.0))
            .unwrap_or_else(|_| "not built".into())
    };
    let simrunner_bin = env!("CARGO_BIN_EXE_simrunner");
    let admin_bin = admin_api_binary();
    let admin_bin = admin_bin.to_str().unwrap();
    println!("\nadmin API benchmark (2 cores shared by PostgreSQL, server and load generator)");
    println!(
        "  ready (exec -> first /healthz 200, 7 starts): min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(ready[0]),
        ms(ready[3]),
        ms(ready[6])
    );
    for (what, starts) in [
        ("no launcher, local scheduler", &lambda),
        ("ECS launcher + EventBridge scheduler", &lambda_aws),
    ] {
        println!(
            "  Lambda admin-api ({what}), exec -> /healthz 200 answered, 7 starts: min {:.1} ms, \
             median {:.1} ms, max {:.1} ms; idle RSS {:.1}-{:.1} MiB",
            ms(starts[0].ready),
            ms(starts[3].ready),
            ms(starts[6].ready),
            starts.iter().map(|s| s.idle_rss_kib).min().unwrap() as f64 / 1024.0,
            starts.iter().map(|s| s.idle_rss_kib).max().unwrap() as f64 / 1024.0,
        );
    }
    println!(
        "  GET /v1/admin/simulations, 100 configs stored, 50 per page, {CONNECTIONS} connections, {seconds} s each:"
    );
    for (per_second, made, latencies) in &phases {
        let writes = if *per_second == 0 {
            "database unchanged".to_owned()
        } else {
            format!(
                "{:.0} commits/s elsewhere",
                *made as f64 / (seconds + 2) as f64
            )
        };
        println!(
            "    {writes}: {} requests, {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            latencies.len() as f64 / seconds as f64,
            ms(percentile(latencies, 0.50)),
            ms(percentile(latencies, 0.99)),
            ms(*latencies.last().unwrap())
        );
    }
    println!("  console pages, server time, one request at a time, 300 requests each:");
    for (path, latencies) in &console {
        println!(
            "    GET {path}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(latencies, 0.50)),
            ms(percentile(latencies, 0.99)),
            ms(*latencies.last().unwrap())
        );
    }
    println!(
        "  binaries (bench profile = release): simrunner {}, admin-api {}",
        size(simrunner_bin),
        size(admin_bin)
    );
}

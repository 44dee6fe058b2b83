//! What the local stack's benchmarks share: the admin token they start `simrunner` with, a
//! free loopback address, a keep-alive HTTP/1 connection to it, JSON calls, settings from
//! the environment and a process's resident memory.
#![allow(dead_code)] // each benchmark uses its own part

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

pub const TOKEN: &str = "bench-admin-token-0123456789";

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

pub async fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake::<
        _,
        http_body_util::Full<Bytes>,
    >(TokioIo::new(stream))
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// The real `simrunner up` (this package's release binary) on `database_url`, listening on
/// `addr`, with the benchmarks' admin token, no demo, and `extra` settings.
pub fn spawn_server(
    database_url: &str,
    addr: SocketAddr,
    data_dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_simrunner"))
        .arg("up")
        .env("DATABASE_URL", database_url)
        .env("SIMRUNNER_HTTP_ADDR", addr.to_string())
        .env("SIMRUNNER_ADMIN_TOKEN", TOKEN)
        .env(
            "SIMRUNNER_KEY_ENCRYPTION_KEY",
            simrunner::secrets::MasterKey::generate_hex(),
        )
        .env("SIMRUNNER_DATA_DIR", data_dir)
        .env("SIMRUNNER_DEMO", "off")
        .env("RUST_LOG", "warn")
        .envs(extra.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Waits until something listens on `addr`.
pub async fn listening(addr: SocketAddr) {
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

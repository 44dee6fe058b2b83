//! TLS to a real PostgreSQL server with a certificate, through the same pool every program
//! uses: `sslmode` means what it means to libpq.

use simrunner::db::build_pool;
use simrunner::db::cluster::LocalCluster;
use simrunner::testing::own_cluster;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

/// A cluster of the test's own serving TLS with a certificate for `localhost`; returns it
/// and the CA (here the certificate itself) as a PEM file.
async fn tls_cluster() -> (LocalCluster, std::path::PathBuf) {
    let (cluster, root) = own_cluster("tls").await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let data = cluster.data_dir();
    let owner = std::fs::metadata(data).unwrap();
    for (name, pem, mode) in [
        ("server.crt", cert.cert.pem(), 0o644),
        ("server.key", cert.signing_key.serialize_pem(), 0o600),
    ] {
        let path = data.join(name);
        std::fs::write(&path, pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        // The server runs as the data folder's owner (`postgres` when the tests run as root).
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    let ca = root.join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let (client, connection) =
        tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    for statement in ["ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()"] {
        client.batch_execute(statement).await.unwrap();
    }
    (cluster, ca)
}

/// Whether a connection from the pool built for `url` is encrypted, or the error it gives.
async fn encrypted(url: &str) -> Result<bool, String> {
    let pool = build_pool(url, 1).map_err(|e| e.to_string())?;
    let client = pool.get().await.map_err(|e| format!("{e:?}"))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmode_decides_encryption_and_verification_as_libpq_does() {
    let (cluster, ca) = tls_cluster().await;
    let url = format!("postgres://postgres@localhost:{}/postgres", cluster.port());

    // The reload that turned TLS on takes effect for new connections.
    assert_eq!(
        encrypted(&format!("{url}?sslmode=disable")).await,
        Ok(false)
    );
    assert_eq!(
        encrypted(&url).await,
        Ok(true),
        "prefer (the default) encrypts"
    );
    assert_eq!(encrypted(&format!("{url}?sslmode=require")).await, Ok(true));
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    assert_eq!(encrypted(&verified).await, Ok(true));

    // A certificate the trust store does not know, or one for another name, is refused.
    let unknown = encrypted(&format!("{url}?sslmode=verify-full")).await;
    assert!(unknown.is_err(), "{unknown:?}");
    let wrong_host = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port(),
        ca.display()
    );
    assert!(encrypted(&wrong_host).await.is_err());
    cluster.stop().unwrap();
}

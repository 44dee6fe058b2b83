use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// How long to wait for a connection, a new session or a health check before giving up.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The URL itself is never echoed: it may hold a password.
    #[error("DATABASE_URL is not a valid PostgreSQL connection URL: {0}")]
    BadUrl(String),
    #[error("DATABASE_URL asks for TLS that cannot be set up: {0}")]
    Tls(String),
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

/// Builds a pool that opens connections lazily: building it does no network I/O, so a Lambda
/// cold start never waits on the database before its first request. TLS follows the URL's
/// `sslmode` as libpq does (see [`super::tls`]).
pub fn build_pool(url: &str, max_size: usize) -> Result<Pool, PoolError> {
    let (url, verification) = super::tls::split_url(url);
    let tls = super::tls::connector(&verification).map_err(PoolError::Tls)?;
    let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
        // tokio-postgres's messages describe the problem without quoting the input.
        PoolError::BadUrl(e.to_string())
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("simrunner");
    }
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(TIMEOUT))
        .create_timeout(Some(TIMEOUT))
        .recycle_timeout(Some(TIMEOUT))
        .build()
        .map_err(|e| PoolError::Build(e.to_string()))
}

/// True when an error means "the database cannot be reached or is shutting down" rather than
/// "this query is wrong": the difference between a 503 and a bug.
pub fn is_unavailable(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    SqlState::INVALID_CATALOG_NAME,
                    SqlState::QUERY_CANCELED,
                ]
                .contains(code)
        }
        // No SQLSTATE: an outage only if the connection itself failed (I/O, timeout);
        // otherwise a client-side mistake such as a wrong parameter count.
        None => {
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                if cause.is::<std::io::Error>() {
                    return true;
                }
                source = cause.source();
            }
            false
        }
    }
}

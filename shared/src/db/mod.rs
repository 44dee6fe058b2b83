//! Postgres plumbing: the connection pool (with TLS as the URL asks), the migrator and the
//! local cluster.

pub mod cluster;
mod listen;
mod migrate;
mod pool;
pub mod tls;

pub use listen::{GATEWAY_CHANNEL, ListenError, Listener};
pub use migrate::{MIGRATIONS, MigrateError, Migration, MigrationReport, migrate};
pub use pool::{PoolError, build_pool, is_unavailable};

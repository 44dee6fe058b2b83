//! simrunner's shared library: everything the Lambda functions, the runner task and the local
//! stack have in common.
//!
//! - [`domain`]: simulation configs, agent slots, providers — parsed once, valid by construction.
//! - [`store`]: the Postgres store (configs, runs, provider keys).
//! - `aws` (feature `aws`): the AWS adapters' settings and the process's SDK configuration.
//! - [`db`]: connection pools, migrations and the local Postgres cluster.
//! - [`dispatch`]: starting runs (one transaction, limits enforced by the database) and the
//!   reaper.
//! - [`launch`]: the launcher port (process, Docker) that starts and stops runner tasks.
//! - [`poker`]: the No-Limit Hold'em engine and the built-in bots.
//! - [`schedule`]: the scheduler port (local, EventBridge Scheduler with feature `aws`).
//! - [`secrets`]: AES-256-GCM encryption of provider API keys under a rotatable master key.
//! - [`settings`]: typed reading of environment variables with errors that name the variable.
//!
//! Nothing here knows about HTTP or Lambda.

pub mod alerts;
#[cfg(feature = "aws")]
pub mod aws;
pub mod db;
pub mod dispatch;
pub mod domain;
pub mod http;
pub mod launch;
pub mod metrics;
/// The pure game logic (its own crate, `shared/poker`, so that "no I/O" is kept by the
/// compiler), re-exported for the crates that already link this one.
pub use poker;
pub mod schedule;
pub mod secrets;
pub mod settings;
pub mod signing;
pub mod store;

#[cfg(feature = "testing")]
pub mod testing;

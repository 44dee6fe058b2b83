//! Router tests: the real router, called with `oneshot`, against a fresh migrated database
//! on a real PostgreSQL server per test.

mod agents;
mod api_keys;
mod auth;
mod console;
mod control;
mod health;
mod helpers;
mod liveness;
mod openapi;
mod platforms;
mod runs;
mod schedules;
mod simulations;
mod webhooks;

//! The one TLS setup for simrunner's outgoing HTTPS and WSS connections lives in the shared
//! crate (the ticks' alert webhooks use it too); this crate's clients use it from there.

pub use simrunner::http::{http_client, tls_config};

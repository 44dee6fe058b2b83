//! Logging set-up for the binaries.

use tracing_subscriber::EnvFilter;

/// JSON lines for Lambda (CloudWatch adds the timestamp), human-readable text on a laptop.
/// `RUST_LOG` overrides the default level (`info`).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        builder.json().without_time().flatten_event(true).init();
    } else {
        builder.compact().init();
    }
}

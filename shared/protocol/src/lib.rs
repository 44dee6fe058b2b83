//! The agent protocol, version 0.1 (MoltPoker-compatible), in one place for both sides:
//! simrunner as a **server** (outside agents at simrunner tables: the agents surface and the
//! runner) and as a **client** (simrunner's seats at a remote platform's tables).
//!
//! - [`messages`]: what the server sends, as typed payloads, encoded in either framing
//!   (`format=agent`'s flat objects, or the SDK's `{type, table_id?, seq?, ts, payload}`
//!   envelopes) and decoded from either.
//! - [`client`]: what an agent sends (`action`, `ping`), parsed strictly.
//! - [`errors`]: the error codes.
//! - [`rest`]: the REST bodies (registration, tables, join, leave).
//! - [`view`]: what one seat is shown of an engine hand (its own hole cards only; legal
//!   actions and the turn token only on its own turn).
//!
//! Nothing here does I/O or reads a clock: callers pass timestamps and tokens in.

pub mod client;
pub mod errors;
pub mod follow;
pub mod messages;
pub mod rest;
pub mod view;

pub use client::{ActionKind, ClientAction, ClientMessage};
pub use errors::ErrorCode;
pub use messages::{Framing, ServerMessage};

/// The protocol version this implementation speaks.
pub const PROTOCOL_VERSION: &str = "0.1";
/// The oldest client version a server accepts.
pub const MIN_SUPPORTED_PROTOCOL_VERSION: &str = "0.1";
/// The largest frame either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// `major.minor` as numbers, for comparing versions; `None` for anything else.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    let number = |part: &str| {
        (!part.is_empty() && part.len() <= 6 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    Some((number(major)?, number(minor)?))
}

/// Whether a client announcing `version` may play here. Absent means "the current one".
pub fn client_version_supported(version: Option<&str>) -> Result<(), String> {
    let Some(version) = version else {
        return Ok(());
    };
    let minimum = parse_version(MIN_SUPPORTED_PROTOCOL_VERSION).expect("a valid constant");
    match parse_version(version) {
        None => Err(format!(
            "client_protocol_version must look like {PROTOCOL_VERSION} (got {version:?})"
        )),
        Some(v) if v < minimum => Err(format!(
            "client protocol version {version} is older than the minimum supported version \
             {MIN_SUPPORTED_PROTOCOL_VERSION}"
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_and_old_clients_are_refused() {
        assert_eq!(parse_version("0.1"), Some((0, 1)));
        assert_eq!(parse_version("1.10"), Some((1, 10)));
        assert!(parse_version("0.1.2").is_none() && parse_version("v1").is_none());
        assert!(client_version_supported(None).is_ok());
        assert!(client_version_supported(Some("0.1")).is_ok());
        assert!(client_version_supported(Some("0.2")).is_ok());
        let old = client_version_supported(Some("0.0")).unwrap_err();
        assert!(old.contains("minimum supported version 0.1"), "{old}");
        assert!(client_version_supported(Some("latest")).is_err());
    }
}

//! What simrunner's HTTP surfaces share — the public API and pages, and the admin API and
//! console: the error format ([`error`]), the JSON and query extractors ([`extract`]), JSON responses ([`json`]), and
//! for pages the security headers, the layout and the static assets ([`page`]); what the
//! hand-history (PHH) downloads share ([`phh`]).

pub mod error;
pub mod extract;
pub mod json;
pub mod page;
pub mod phh;

//! Pages: the security headers every page and asset carries, HTML responses, and static
//! assets served from the binary under content-hashed URLs (cached for a year, since a
//! change makes a new URL). No CDN, no build step: the stylesheet and the scripts are files
//! in the repository, included at compile time.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Scripts and styles only from this origin, no inline script, no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Adds the security headers to every response of the routes it wraps.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A rendered page; pages are never cached by shared caches (they may carry live state).
pub fn html(body: String) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Html(body),
    )
        .into_response()
}

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// Its name in templates, e.g. `app.css`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The shared stylesheet.
pub static STYLE: Asset = Asset {
    name: "app.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../assets/app.css"),
};

/// Small helpers every page script uses (time ago, chip counts, element building).
pub static COMMON_SCRIPT: Asset = Asset {
    name: "common.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/common.js"),
};

/// What `base.html` needs from every page: the shared assets' URLs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub style: String,
    pub common_script: String,
}

impl Layout {
    pub fn new(assets: &Assets) -> Self {
        Self {
            style: assets.url(STYLE.name).to_owned(),
            common_script: assets.url(COMMON_SCRIPT.name).to_owned(),
        }
    }
}

/// Assets by content-hashed file name, built once at start-up.
#[derive(Debug, Clone)]
pub struct Assets(Arc<AssetsInner>);

#[derive(Debug)]
struct AssetsInner {
    by_file: HashMap<String, &'static Asset>,
    url_of: HashMap<&'static str, String>,
}

impl Assets {
    /// Assets served under `/assets/`.
    pub fn new(assets: &[&'static Asset]) -> Self {
        Self::under("/assets", assets)
    }

    /// Assets served under `prefix` (e.g. `/admin/assets`, which in AWS reaches the admin
    /// function while `/assets` reaches the public one).
    pub fn under(prefix: &str, assets: &[&'static Asset]) -> Self {
        let mut by_file = HashMap::new();
        let mut url_of = HashMap::new();
        for asset in assets {
            let hash = hex::encode(&Sha256::digest(asset.body)[..6]);
            let file = match asset.name.rsplit_once('.') {
                Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
                None => format!("{}.{hash}", asset.name),
            };
            url_of.insert(asset.name, format!("{prefix}/{file}"));
            by_file.insert(file, *asset);
        }
        Self(Arc::new(AssetsInner { by_file, url_of }))
    }

    /// The URL to put in a page for the asset called `name`.
    pub fn url(&self, name: &str) -> &str {
        self.0
            .url_of
            .get(name)
            .map(String::as_str)
            .unwrap_or("/assets/missing")
    }
}

/// `GET /assets/{file}`: an asset by its hashed name, cached for a year.
pub async fn serve_asset(
    State(assets): State<Assets>,
    Path(file): Path<String>,
    request_headers: HeaderMap,
) -> Response {
    let Some(asset) = assets.0.by_file.get(&file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    // The name carries the content hash: it is the validator too.
    let etag = format!("\"{file}\"");
    if request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).expect("hashed names are header-safe"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_change_with_their_content() {
        static A: Asset = Asset {
            name: "a.js",
            content_type: "text/javascript",
            body: b"one",
        };
        static B: Asset = Asset {
            name: "a.js",
            content_type: "text/javascript",
            body: b"two",
        };
        let (one, two) = (Assets::new(&[&A]), Assets::new(&[&B]));
        assert!(one.url("a.js").starts_with("/assets/a.") && one.url("a.js").ends_with(".js"));
        assert_ne!(one.url("a.js"), two.url("a.js"));
        assert_eq!(one.url("nope.js"), "/assets/missing");
        assert!(
            Assets::under("/admin/assets", &[&A])
                .url("a.js")
                .starts_with("/admin/assets/a.")
        );
    }
}

//! What both APIs' hand-history downloads share: the hand range a `.phhs` download may be
//! cut to, and the response (PHH is TOML text, gzip-compressed for clients that accept it).

use crate::error::{ApiError, ErrorCode};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserialize;
use std::io::Write as _;
use std::ops::RangeInclusive;
use utoipa::IntoParams;

/// PHH documents are TOML: served as UTF-8 text, so a browser shows a single hand.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Which hands a `.phhs` download holds, by number (inclusive): every finished hand unless
/// cut, so a long table can be fetched in parts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HandRange {
    /// The first hand (default 1).
    #[param(minimum = 1)]
    pub from: Option<i64>,
    /// The last hand (default: the last finished one); not before `from`.
    #[param(minimum = 1)]
    pub to: Option<i64>,
}

impl HandRange {
    /// The hand numbers asked for; 400 `invalid_query` when they make no range.
    pub fn numbers(&self) -> Result<RangeInclusive<i64>, ApiError> {
        let (from, to) = (self.from.unwrap_or(1), self.to.unwrap_or(i64::MAX));
        if from < 1 || to < 1 {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                "from and to are hand numbers, 1 or more",
            ));
        }
        if to < from {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("to ({to}) comes before from ({from})"),
            ));
        }
        Ok(from..=to)
    }
}

/// A download's body as sent, and whether it is gzip-compressed: it is when the request
/// accepts gzip. PHH compresses about tenfold, which keeps a long table's download under a
/// Lambda response's 6 MB.
pub fn encode(body: String, request: &HeaderMap) -> (Vec<u8>, bool) {
    let accepts_gzip = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let quality = parts.find_map(|p| p.strip_prefix("q="));
            coding.split(';').next().map(str::trim) == Some("gzip")
                && quality.is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0))
        });
    if !accepts_gzip {
        return (body.into_bytes(), false);
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::fast());
    encoder
        .write_all(body.as_bytes())
        .expect("writing to memory cannot fail");
    let bytes = encoder.finish().expect("writing to memory cannot fail");
    (bytes, true)
}

/// Adds what a download's response says about itself: that it depends on the request's
/// `Accept-Encoding`, its encoding, and the name it is saved under.
pub fn describe(response: &mut Response, gzip: bool, filename: &str) {
    let has_body = response.status() != StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip && has_body {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .expect("ids are header-safe"),
    );
}

/// A `.phhs` file for download as `filename` (not cached).
pub fn download(body: String, filename: &str, request: &HeaderMap) -> Response {
    let (bytes, gzip) = encode(body, request);
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        bytes,
    )
        .into_response();
    describe(&mut response, gzip, filename);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<i64>, to: Option<i64>) -> Result<RangeInclusive<i64>, ErrorCode> {
        HandRange { from, to }.numbers().map_err(|e| e.code())
    }

    #[test]
    fn a_range_defaults_to_every_hand_and_refuses_what_is_no_range() {
        assert_eq!(range(None, None), Ok(1..=i64::MAX));
        assert_eq!(range(Some(20), Some(40)), Ok(20..=40));
        assert_eq!(range(Some(5), Some(5)), Ok(5..=5));
        assert_eq!(range(Some(0), None), Err(ErrorCode::InvalidQuery));
        assert_eq!(range(None, Some(-3)), Err(ErrorCode::InvalidQuery));
        assert_eq!(range(Some(9), Some(8)), Err(ErrorCode::InvalidQuery));
    }

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn a_download_is_gzipped_only_for_clients_that_accept_gzip() {
        let body = "[1]\nvariant = \"NT\"\n".repeat(1_000);
        let (bytes, gzip) = encode(body.clone(), &accepting("br, gzip;q=0.8"));
        assert!(gzip && bytes.len() * 10 < body.len());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert_eq!(text, body);
        for refused in ["identity", "gzip;q=0", "br", "gzipped"] {
            assert_eq!(
                encode(body.clone(), &accepting(refused)),
                (body.clone().into_bytes(), false),
                "{refused}"
            );
        }
        assert!(!encode(body, &HeaderMap::new()).1);
    }
}

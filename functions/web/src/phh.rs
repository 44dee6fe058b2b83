//! What both APIs' hand-history downloads share: the hand range a `.phhs` download may be
//! cut to, and the response (PHH is TOML text).

use crate::error::{ApiError, ErrorCode};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
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

/// The `Content-Disposition` of a download saved as `filename` (an id and an extension).
pub fn attachment(filename: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .expect("ids are header-safe")
}

/// A `.phhs` file for download as `filename`.
pub fn download(body: String, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CONTENT_DISPOSITION, attachment(filename)),
        ],
        body,
    )
        .into_response()
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
}

//! Route handlers, a file per resource. Each handler is annotated with `#[utoipa::path]`
//! and registered through `utoipa_axum::routes!`, so the served routes and the OpenAPI
//! document come from the same code.

pub mod agents;
pub mod api_keys;
pub mod control;
pub mod health;
pub mod hosted;
pub mod metrics;
pub mod platforms;
pub mod runs;
pub mod simulations;
pub mod webhooks;

use crate::error::ApiError;
use serde::Deserialize;
use simrunner::store::{Cursor, PageRequest};
use utoipa::IntoParams;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

/// `limit` and `cursor` of a newest-first listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Checks `limit` and decodes `cursor`; `field` prefixes name them in errors.
pub fn page_request(
    limit: Option<i64>,
    cursor: Option<&str>,
    limit_field: &str,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::validation(
            limit_field,
            format!("must be from 1 to {MAX_PAGE_SIZE} (got {limit})"),
        ));
    }
    let after = cursor
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                ApiError::new(
                    crate::error::ErrorCode::InvalidCursor,
                    "the cursor is not one this API issued; start again without it",
                )
            })
        })
        .transpose()?;
    Ok(PageRequest { limit, after })
}

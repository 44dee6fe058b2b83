//! JSON responses.

use crate::error::{ApiError, ErrorCode};
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON response body, written into one `Vec` that starts big enough for a typical page.
///
/// axum's own `Json` writes through `bytes`' `Writer`, which clamps every write to the
/// buffer's remaining capacity: the length of each one-byte token (`"`, `:`, `,`) is then
/// unknown to the compiler, so each becomes a call to libc's `memset` or `memmove`, and the
/// buffer grows from 128 bytes by copies. For the admin list of 50 configs that was about a
/// tenth of the server's time (profiled for issue 20). `serde_json`'s `Vec` writer copies
/// tokens inline.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Where a body starts: most answers fit, a page of configs grows a few times.
const INITIAL_CAPACITY: usize = 4096;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match body(&self.0) {
            Ok(body) => response(body),
            Err(error) => error.into_response(),
        }
    }
}

/// `value` as the bytes of a JSON body, for an answer that is kept and sent again.
pub fn body<T: Serialize>(value: &T) -> Result<Bytes, ApiError> {
    let mut body = Vec::with_capacity(INITIAL_CAPACITY);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => Ok(body.into()),
        Err(error) => {
            tracing::error!(%error, "a response did not serialise");
            Err(ApiError::new(
                ErrorCode::Internal,
                "an internal error occurred; it has been logged",
            ))
        }
    }
}

/// A `200` with a JSON body made by [`body`].
pub fn response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

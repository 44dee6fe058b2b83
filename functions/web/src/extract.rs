//! Extractors whose rejections come back in the API's own error format.

use crate::error::{ApiError, ErrorCode};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Request bodies larger than this are refused with 413 `payload_too_large`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON object body: `application/json` only, at most [`MAX_BODY_BYTES`], deserialised with the
/// path of any offending field. Syntax errors are `invalid_json`; well-formed JSON of the
/// wrong shape (unknown field, wrong type) is `validation_failed` naming the field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "expected Content-Type: application/json, got {}",
                    if content_type.is_empty() {
                        "none".to_owned()
                    } else {
                        format!("{content_type:?}")
                    }
                ),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        format!(
                            "the request body is larger than {} KiB",
                            MAX_BODY_BYTES / 1024
                        ),
                    )
                }
                _ => ApiError::new(ErrorCode::InvalidJson, "the request body could not be read"),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the request body is empty; expected a JSON object",
            ));
        }
        // Every body of this API is an object; serde would otherwise read a struct from an
        // array by position and blame "[0]".
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            let starts_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
            return Err(if starts_json {
                ApiError::validation("body", "must be a JSON object")
            } else {
                ApiError::new(
                    ErrorCode::InvalidJson,
                    "the body is not valid JSON; expected an object",
                )
            });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_data() {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::validation(&field, strip_position(&inner.to_string()))
            } else {
                invalid_json(&inner)
            }
        })?;
        deserializer.end().map_err(|e| invalid_json(&e))?;
        Ok(Self(value))
    }
}

fn invalid_json(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidJson,
        format!(
            "the body is not valid JSON: {} (line {}, column {})",
            strip_position(&error.to_string()),
            error.line(),
            error.column()
        ),
    )
}

/// serde_json appends " at line L column C"; the API reports positions its own way.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a malformed query string is 400 `invalid_query` naming the problem.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("invalid query string: {detail}"),
                )
            })
    }
}

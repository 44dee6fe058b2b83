//! Errors of the agent routes: `{"error": {code, message, details?}}` with the protocol's
//! codes, which agents switch on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use simrunner::store::StoreError;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct AgentError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, for `429` and `503`.
    pub retry_after: Option<u64>,
    pub extra: Option<Box<Extra>>,
}

/// What only some errors carry.
#[derive(Debug, Default)]
pub struct Extra {
    pub details: Option<Value>,
    /// Refusals of the client's version carry the minimum and where to read up.
    pub skill_doc_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentErrorDetail {
    /// `UNAUTHORIZED`, `TABLE_FULL`, `TABLE_NOT_FOUND`, `TABLE_ENDED`, `ALREADY_SEATED`,
    /// `NOT_SEATED`, `OUTDATED_CLIENT`, `VALIDATION_ERROR`, `RATE_LIMIT_EXCEEDED`,
    /// `INTERNAL_ERROR`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_supported_protocol_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_doc_url: Option<String>,
}

/// The body of every agent-route error.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentErrorBody {
    pub error: AgentErrorDetail,
}

impl AgentError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            extra: None,
        }
    }

    pub fn with_skill_doc(mut self, url: String) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .skill_doc_url = Some(url);
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, message)
    }
}

/// The house extractors' rejections (content type, size, JSON shape), in protocol codes.
impl From<web::error::ApiError> for AgentError {
    fn from(error: web::error::ApiError) -> Self {
        use web::error::ErrorCode as House;
        let code = match error.code() {
            House::Unauthorized => ErrorCode::Unauthorized,
            House::NotFound => ErrorCode::TableNotFound,
            House::DatabaseUnavailable | House::Internal => ErrorCode::InternalError,
            _ => ErrorCode::ValidationError,
        };
        // The protocol's `details` is an object: the fields that were wrong go under `fields`.
        let details =
            (!error.details().is_empty()).then(|| serde_json::json!({"fields": error.details()}));
        Self {
            retry_after: (error.code() == House::DatabaseUnavailable).then_some(5),
            extra: details.map(|details| {
                Box::new(Extra {
                    details: Some(details),
                    skill_doc_url: None,
                })
            }),
            ..Self::new(error.status(), code, error.message())
        }
    }
}

impl From<simrunner::domain::ValidationErrors> for AgentError {
    fn from(errors: simrunner::domain::ValidationErrors) -> Self {
        web::error::ApiError::from(errors).into()
    }
}

impl From<StoreError> for AgentError {
    fn from(error: StoreError) -> Self {
        web::error::ApiError::from(error).into()
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let version = (self.code == ErrorCode::OutdatedClient)
            .then(|| protocol::MIN_SUPPORTED_PROTOCOL_VERSION.to_owned());
        let extra = self.extra.map(|e| *e).unwrap_or_default();
        let mut response = (
            self.status,
            axum::Json(AgentErrorBody {
                error: AgentErrorDetail {
                    code: self.code.as_str().to_owned(),
                    message: self.message,
                    details: extra.details,
                    min_supported_protocol_version: version,
                    skill_doc_url: extra.skill_doc_url,
                },
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        if self.code == ErrorCode::Unauthorized && self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

//! Every error the API answers with: `{"error":{"code","message","details?"}}`, a stable
//! machine-readable code, a message a person can act on, and the status that goes with it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use simrunner::domain::ValidationErrors;
use simrunner::schedule::ScheduleError;
use simrunner::store::StoreError;
use utoipa::ToSchema;

/// Stable error codes: clients switch on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ValidationFailed,
    InvalidJson,
    InvalidQuery,
    InvalidCursor,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    LogsExpired,
    MethodNotAllowed,
    SimulationRunning,
    /// A webhook endpoint a config's seat still names cannot be deleted.
    WebhookInUse,
    /// A platform a config plays at cannot be deleted.
    PlatformInUse,
    /// A hosted table that has ended cannot start again.
    TableEnded,
    MissingApiKey,
    /// A config names an agent or webhook endpoint that does not exist (`details` says where).
    UnknownReference,
    LaunchFailed,
    LauncherUnavailable,
    SchedulerFailed,
    SchedulerUnavailable,
    DatabaseUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationFailed
            | ErrorCode::InvalidJson
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidCursor => StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::LogsExpired => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::SimulationRunning
            | ErrorCode::WebhookInUse
            | ErrorCode::PlatformInUse
            | ErrorCode::TableEnded => StatusCode::CONFLICT,
            ErrorCode::MissingApiKey | ErrorCode::UnknownReference => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::LaunchFailed | ErrorCode::SchedulerFailed => StatusCode::BAD_GATEWAY,
            ErrorCode::LauncherUnavailable | ErrorCode::SchedulerUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorCode::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One rejected field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// Path of the field, e.g. `agent_slots[1].model` or `table_config.blinds.big`.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldErrorBody>,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Vec<FieldErrorBody>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<FieldErrorBody>) -> Self {
        self.details = details;
        self
    }

    /// The same message and details under another code.
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn details(&self) -> &[FieldErrorBody] {
        &self.details
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no {what} with id {id:?}"))
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ValidationErrors::single(field, message).into()
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        let message = match errors.0.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("the request has {} invalid fields; see details", many.len()),
        };
        Self::new(ErrorCode::ValidationFailed, message).with_details(
            errors
                .0
                .into_iter()
                .map(|e| FieldErrorBody {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database is unavailable; try again in a few seconds",
                )
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::new(
                    ErrorCode::Internal,
                    "an internal error occurred; it has been logged",
                )
            }
        }
    }
}

/// A scheduler call failed before the change committed: nothing was changed.
impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        tracing::warn!(%error, "scheduler call failed; the change was rolled back");
        let code = if error.unavailable {
            ErrorCode::SchedulerUnavailable
        } else {
            ErrorCode::SchedulerFailed
        };
        Self::new(
            code,
            format!("the schedule could not be updated, so nothing was changed: {error}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                    details: self.details,
                },
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match self.code {
            ErrorCode::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ErrorCode::DatabaseUnavailable | ErrorCode::SchedulerUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

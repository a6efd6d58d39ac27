//! [`ApiError`]: every failure of the API, rendered as JSON with the right status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcpsec_core::{ErrorCode, MAX_ERROR_DETAIL};
use serde::Serialize;
use std::time::Duration;

/// An API failure: a code, a message for people, an optional retry hint.
#[derive(Debug)]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
    /// Sent as `Retry-After` when set.
    pub retry_after: Option<Duration>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// Error details.
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Machine-readable code (`bad_request`, `unauthenticated`, `payload_too_large`, ...).
    #[schema(value_type = String)]
    code: ErrorCode,
    /// Human-readable message.
    message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 500, logging the cause but telling the client little.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; see the server log")
    }
}

impl From<mcpsec_store::StoreError> for ApiError {
    fn from(e: mcpsec_store::StoreError) -> Self {
        match e.code() {
            ErrorCode::Internal => ApiError::internal(e),
            code => ApiError::new(code, e.to_string()),
        }
    }
}

impl From<mcpsec_ingest::IngestError> for ApiError {
    fn from(e: mcpsec_ingest::IngestError) -> Self {
        let retry_after = e.retry_after();
        let mut err = match e.code() {
            ErrorCode::Internal => ApiError::internal(&e),
            code => ApiError::new(code, e.to_string()),
        };
        err.retry_after = retry_after;
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut message = self.message;
        if message.len() > MAX_ERROR_DETAIL {
            let mut cut = MAX_ERROR_DETAIL;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message,
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if let Some(after) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.code == ErrorCode::Unauthenticated {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

//! One error code shared by every crate, deciding the HTTP status (and later gRPC and MCP codes).

use serde::Serialize;

/// How long an error detail echoed back to a client may be; longer details are cut.
pub const MAX_ERROR_DETAIL: usize = 512;

/// The kind of failure, independent of transport. Each crate maps its own error enum onto
/// one of these; the server renders it as an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or violates a documented limit.
    BadRequest,
    /// Missing or invalid credentials.
    Unauthenticated,
    /// Valid credentials without the right to do this.
    Forbidden,
    /// The thing asked for does not exist (or is not visible to this tenant).
    NotFound,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The request conflicts with the current state (e.g. a stale version).
    Conflict,
    /// The thing existed but is no longer available (an expired or revoked link).
    Gone,
    /// The server is saturated; the client should retry later.
    Overloaded,
    /// The server is shutting down or not ready yet.
    Unavailable,
    /// A bug or an I/O failure on the server side.
    Internal,
}

impl ErrorCode {
    /// The HTTP status code for this kind of error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Overloaded => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_distinct_for_client_and_server_faults() {
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::Overloaded.http_status(), 429);
        assert!(ErrorCode::Internal.http_status() >= 500);
        assert!(ErrorCode::BadRequest.http_status() < 500);
    }
}

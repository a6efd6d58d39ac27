//! Serving files embedded in the binary (the dashboard, the API docs page).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// An embedded file with its content type, a Content-Security-Policy and `no-cache`
/// (so a new binary's assets are picked up at once).
pub(crate) fn embedded(
    body: &'static str,
    content_type: &'static str,
    csp: &'static str,
) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

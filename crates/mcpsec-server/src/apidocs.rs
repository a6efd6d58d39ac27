//! `/api/docs`: an interactive page over the OpenAPI document, with its assets embedded
//! in the binary (works offline, makes no external requests).

use axum::response::Response;

const INDEX: &str = include_str!("../assets/apidocs/index.html");
const SCRIPT: &str = include_str!("../assets/apidocs/app.js");
const STYLE: &str = include_str!("../assets/apidocs/app.css");
/// Only this origin's script, style and API; nothing inline, nothing external.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    crate::assets::embedded(body, content_type, CSP)
}

pub(crate) async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

pub(crate) async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

pub(crate) async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

//! The web dashboard at `/`: login with an API key, overview, event search, the alert
//! queue, the rules, reports, projects, risk and playbooks pages. Its assets
//! are embedded in the binary and served without authentication (they hold no data);
//! every figure they show comes from `/api/v1`, which requires a key.

use axum::response::Response;

const INDEX: &str = include_str!("../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../assets/dashboard/app.js");
const STYLE: &str = include_str!("../assets/dashboard/app.css");
const ALERTS: &str = include_str!("../assets/dashboard/alerts.js");
const RULES: &str = include_str!("../assets/dashboard/rules.js");
const REPORTS: &str = include_str!("../assets/dashboard/reports.js");
const PROJECTS: &str = include_str!("../assets/dashboard/projects.js");
const RISK: &str = include_str!("../assets/dashboard/risk.js");
const PLAYBOOKS: &str = include_str!("../assets/dashboard/playbooks.js");
/// Only this origin's script, style and API; nothing inline, nothing external. `blob:`
/// lets report downloads (fetched with the key) be saved.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

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

pub(crate) async fn alerts_script() -> Response {
    asset(ALERTS, "text/javascript; charset=utf-8")
}

pub(crate) async fn rules_script() -> Response {
    asset(RULES, "text/javascript; charset=utf-8")
}

pub(crate) async fn reports_script() -> Response {
    asset(REPORTS, "text/javascript; charset=utf-8")
}

pub(crate) async fn projects_script() -> Response {
    asset(PROJECTS, "text/javascript; charset=utf-8")
}

pub(crate) async fn risk_script() -> Response {
    asset(RISK, "text/javascript; charset=utf-8")
}

pub(crate) async fn playbooks_script() -> Response {
    asset(PLAYBOOKS, "text/javascript; charset=utf-8")
}

//! The HTTP API of mcpsec, built with axum: versioned under `/api/v1`, documented by an
//! OpenAPI document generated from the handlers.
//!
//! Key design decision: handlers are thin. They authenticate (middleware), move
//! CPU-bound work (decompression, parsing, search) off the async threads, and translate
//! every failure through one [`ApiError`], whose status comes from the shared
//! [`mcpsec_core::ErrorCode`].

mod alert_stream;
mod alerts_api;
mod alerts_histogram;
mod apidocs;
mod assets;
mod audit_api;
mod auth;
mod authz;
mod cert_names;
mod dashboard;
mod error;
mod events;
mod graphql;
mod graphql_alerts;
mod graphql_playbooks;
mod graphql_projects;
mod graphql_risk;
mod graphql_rules;
mod health;
mod limits;
pub mod live;
mod mcp;
mod mcp_alerts;
mod mcp_explain;
mod mcp_playbooks;
mod mcp_resources;
mod mcp_risk;
mod mcp_supply;
mod me;
mod metrics_http;
mod oidc;
mod openapi;
mod playbooks_api;
mod playbooks_manage;
mod projects_api;
mod projects_findings;
mod report_cache;
mod report_compliance;
mod report_data;
mod report_deliver;
mod report_jobs;
mod report_mail;
mod report_response;
mod report_risk;
mod report_s3;
mod report_schedules;
mod report_share;
mod report_supply;
mod report_targets;
mod reports;
mod risk_api;
mod rule_list;
mod rules_api;
mod run_stream;
mod state;
mod stream;
mod supply_eval;
mod timeparse;
pub mod tls;

pub use auth::{Principal, authenticate, authenticate_cert, hash_token};
pub use authz::{Action, Attributes, Authorizer, builtin_roles};
pub use error::ApiError;
pub use graphql::{MAX_COMPLEXITY, MAX_DEPTH};
pub use limits::RateLimits;
pub use mcp::{MAX_RESULT_BYTES, McpServer};
pub use mcp_supply::MAX_SBOM_BYTES;
pub use metrics_http::install_metrics;
pub use oidc::{OidcConfig, OidcError, OidcVerifier};
pub use openapi::ApiDoc;
pub use report_cache::ReportCacheLimits;
pub use report_compliance::ComplianceSources;
pub use report_data::{ReportSources, report_data};
pub use report_deliver::{ReportDelivery, signature as webhook_signature};
pub use report_mail::{SmtpSettings, SmtpTls};
pub use report_s3::S3Settings;
pub use report_supply::{LicencePolicy, SupplySources};
pub use reports::{Progress, build_report, report_alerts};
pub use state::{AppState, HttpLimits, HttpOptions};
pub use supply_eval::{GENERATION_CHECKPOINT, NEW_VULNERABILITY_RULE, spawn_vulndb_watch};
pub use timeparse::parse_time_param;
pub use tls::{CertIdentity, ClientAuth, TlsConfig};

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// CORS only for the configured origins; none configured means no CORS headers at all,
/// so browsers on other origins cannot call the API.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
        ])
        .max_age(std::time::Duration::from_secs(600))
}
use axum::middleware;
use axum::routing::get;

/// The whole HTTP surface: public probes plus the authenticated `/api/v1`.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.cors_origins);
    let api = Router::new()
        .route("/events", get(events::search).post(events::ingest))
        .route("/events/histogram", get(reports::histogram))
        .route("/events/{id}", get(events::get_one))
        .route("/reports/{kind}", get(reports::generate))
        .route("/reports", get(report_jobs::list).post(report_jobs::create))
        .route(
            "/reports/schedules",
            get(report_schedules::list).post(report_schedules::create),
        )
        .route(
            "/reports/schedules/{id}",
            axum::routing::delete(report_schedules::delete),
        )
        .route(
            "/reports/schedules/{id}/run",
            axum::routing::post(report_schedules::run_now),
        )
        .route(
            "/reports/jobs/{id}",
            get(report_jobs::get_one).delete(report_jobs::delete),
        )
        .route("/reports/jobs/{id}/file", get(report_jobs::download))
        .route(
            "/reports/jobs/{id}/share",
            axum::routing::post(report_share::create),
        )
        .route("/reports/jobs/{id}/shares", get(report_share::list))
        .route(
            "/reports/shares/{id}",
            axum::routing::delete(report_share::revoke),
        )
        .route("/stats", get(health::stats))
        .route("/me", get(me::me))
        .route("/audit", get(audit_api::list))
        .route("/alerts", get(alerts_api::list))
        .route("/alerts/summary", get(alerts_api::summary))
        .route("/alerts/histogram", get(alerts_histogram::histogram))
        .route("/alerts/stream", get(alert_stream::open))
        .route("/alerts/status", axum::routing::post(alerts_api::bulk))
        .route(
            "/alerts/{id}",
            get(alerts_api::get_one).patch(alerts_api::patch),
        )
        .route("/alerts/{id}/history", get(alerts_api::history))
        .route("/alerts/{id}/assess", axum::routing::post(risk_api::assess))
        .route(
            "/risk/assets",
            get(risk_api::assets)
                .put(risk_api::replace_inventory)
                .post(risk_api::merge_inventory),
        )
        .route("/risk/inventory", get(risk_api::inventory))
        .route("/risk/trends", get(risk_api::trends))
        .route("/risk/llm-calls", get(risk_api::llm_calls))
        .route("/rules", get(rules_api::list).post(rules_api::create))
        .route("/rules/validate", axum::routing::post(rules_api::validate))
        .route("/rules/backtest", axum::routing::post(rules_api::backtest))
        .route(
            "/rules/{id}",
            get(rules_api::get_one)
                .put(rules_api::update)
                .delete(rules_api::delete),
        )
        .route("/rules/{id}/versions", get(rules_api::versions))
        .route("/rules/{id}/enable", axum::routing::post(rules_api::enable))
        .route(
            "/rules/{id}/disable",
            axum::routing::post(rules_api::disable),
        )
        .route(
            "/playbooks",
            get(playbooks_api::list).post(playbooks_api::create),
        )
        .route(
            "/playbooks/{id}",
            get(playbooks_api::get_one)
                .put(playbooks_manage::update)
                .delete(playbooks_manage::delete),
        )
        .route(
            "/playbooks/{id}/enable",
            axum::routing::post(playbooks_manage::enable),
        )
        .route(
            "/playbooks/{id}/disable",
            axum::routing::post(playbooks_manage::disable),
        )
        .route(
            "/playbooks/{id}/run",
            axum::routing::post(playbooks_api::run),
        )
        .route("/runs", get(playbooks_api::runs))
        .route("/runs/{id}", get(playbooks_api::run_one))
        .route("/approvals", get(playbooks_api::approvals))
        .route(
            "/runs/{id}/steps/{step}/approve",
            axum::routing::post(playbooks_api::approve),
        )
        .route(
            "/runs/{id}/steps/{step}/reject",
            axum::routing::post(playbooks_api::reject),
        )
        .route("/stream", get(stream::open))
        .route(
            "/projects",
            get(projects_api::list).post(projects_api::create),
        )
        .route(
            "/projects/{id}",
            get(projects_api::get_one).delete(projects_api::delete),
        )
        .route(
            "/projects/{id}/sboms",
            get(projects_api::versions).post(projects_api::upload),
        )
        .route("/projects/{id}/sboms/{version}", get(projects_api::version))
        .route(
            "/projects/{id}/sboms/{version}/document",
            get(projects_api::document),
        )
        .route(
            "/projects/{id}/vex",
            get(projects_api::list_vex).post(projects_api::upload_vex),
        )
        .route("/projects/{id}/findings", get(projects_findings::findings))
        .route("/projects/{id}/diff", get(projects_findings::diff))
        .route("/vulndb", get(projects_findings::vulndb_status))
        .route(
            "/vulndb/reevaluate",
            axum::routing::post(projects_findings::reevaluate),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    let gql = Router::new()
        .route("/graphql", axum::routing::post(graphql::handler))
        .route("/graphql/ws", get(graphql::ws))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    let mcp_routes = Router::new()
        .nest_service("/mcp", mcp::http_service(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    Router::new()
        .merge(gql)
        .merge(mcp_routes)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/docs", get(apidocs::index))
        .route("/api/docs/app.js", get(apidocs::script))
        .route("/api/docs/app.css", get(apidocs::style))
        .route("/", get(dashboard::index))
        .route("/share/reports/{token}", get(report_share::open))
        .route("/ui/app.js", get(dashboard::script))
        .route("/ui/app.css", get(dashboard::style))
        .route("/ui/alerts.js", get(dashboard::alerts_script))
        .route("/ui/rules.js", get(dashboard::rules_script))
        .route("/ui/reports.js", get(dashboard::reports_script))
        .route("/ui/projects.js", get(dashboard::projects_script))
        .route("/ui/risk.js", get(dashboard::risk_script))
        .route("/ui/playbooks.js", get(dashboard::playbooks_script))
        .nest("/api/v1", api)
        .layer(middleware::from_fn(metrics_http::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors)
        .layer(
            // Spans carry the path, never the query string (it may hold an access token).
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

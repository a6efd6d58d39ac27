//! The HTTP API of mcpsec, built with axum: versioned under `/api/v1`, documented by an
//! OpenAPI document generated from the handlers.
//!
//! Key design decision: handlers are thin. They authenticate (middleware), move
//! CPU-bound work (decompression, parsing, search) off the async threads, and translate
//! every failure through one [`ApiError`], whose status comes from the shared
//! [`mcpsec_core::ErrorCode`].

mod alert_stream;
mod alerts_api;
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
mod graphql_rules;
mod health;
mod limits;
pub mod live;
mod mcp;
mod mcp_alerts;
mod mcp_explain;
mod mcp_resources;
mod mcp_supply;
mod metrics_http;
mod oidc;
mod openapi;
mod reports;
mod rule_list;
mod rules_api;
mod state;
mod stream;
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
pub use reports::{build_report, report_alerts};
pub use state::{AppState, HttpLimits, HttpOptions};
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
        .route("/stats", get(health::stats))
        .route("/audit", get(audit_api::list))
        .route("/alerts", get(alerts_api::list))
        .route("/alerts/summary", get(alerts_api::summary))
        .route("/alerts/stream", get(alert_stream::open))
        .route("/alerts/status", axum::routing::post(alerts_api::bulk))
        .route(
            "/alerts/{id}",
            get(alerts_api::get_one).patch(alerts_api::patch),
        )
        .route("/alerts/{id}/history", get(alerts_api::history))
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
        .route("/stream", get(stream::open))
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
        .route("/ui/app.js", get(dashboard::script))
        .route("/ui/app.css", get(dashboard::style))
        .route("/ui/alerts.js", get(dashboard::alerts_script))
        .route("/ui/rules.js", get(dashboard::rules_script))
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

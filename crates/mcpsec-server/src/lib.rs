//! The HTTP API of mcpsec, built with axum: versioned under `/api/v1`, documented by an
//! OpenAPI document generated from the handlers.
//!
//! Key design decision: handlers are thin. They authenticate (middleware), move
//! CPU-bound work (decompression, parsing, search) off the async threads, and translate
//! every failure through one [`ApiError`], whose status comes from the shared
//! [`mcpsec_core::ErrorCode`].

mod audit_api;
mod auth;
mod error;
mod events;
mod graphql;
mod health;
mod mcp;
mod metrics_http;
mod openapi;
mod state;
mod timeparse;

pub use auth::{Principal, hash_token, require_role};
pub use error::ApiError;
pub use graphql::{MAX_COMPLEXITY, MAX_DEPTH};
pub use mcp::{MAX_RESULT_BYTES, McpServer};
pub use metrics_http::install_metrics;
pub use openapi::ApiDoc;
pub use state::{AppState, HttpLimits};
pub use timeparse::parse_time_param;

use axum::Router;
use axum::middleware;
use axum::routing::get;

/// The whole HTTP surface: public probes plus the authenticated `/api/v1`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/events", get(events::search).post(events::ingest))
        .route("/events/{id}", get(events::get_one))
        .route("/stats", get(health::stats))
        .route("/audit", get(audit_api::list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    let gql = Router::new()
        .route("/graphql", axum::routing::post(graphql::handler))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    Router::new()
        .merge(gql)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .nest("/api/v1", api)
        .layer(middleware::from_fn(metrics_http::track))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

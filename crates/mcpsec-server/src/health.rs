//! Probes, metrics and a small stats endpoint.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: start-up finished and not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "Ready"), (status = 503, description = "Starting or stopping")))]
pub(crate) async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    if st.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

fn refresh_gauges(st: &AppState) {
    let bounds = st.log.bounds();
    let indexed = st.index.indexed_seq();
    metrics::gauge!("mcpsec_log_last_seq").set(bounds.last_seq as f64);
    metrics::gauge!("mcpsec_index_lag_events").set(bounds.last_seq.saturating_sub(indexed) as f64);
    metrics::gauge!("mcpsec_ingest_queue_depth").set(st.pipeline.queue_depth() as f64);
}

/// Prometheus text exposition of all `mcpsec_*` metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format")))]
pub(crate) async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    refresh_gauges(&st);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}

/// Store statistics.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Stats {
    /// Oldest retained log sequence number.
    log_first_seq: u64,
    /// Newest durable log sequence number.
    log_last_seq: u64,
    /// Last sequence number visible to search.
    indexed_seq: u64,
    /// Events waiting for the log writer.
    queue_depth: usize,
    /// Bytes of the event log.
    log_bytes: u64,
    /// Bytes of the search index.
    index_bytes: u64,
}

/// Store statistics (log bounds, index lag, sizes).
#[utoipa::path(get, path = "/api/v1/stats", tag = "ops",
    responses((status = 200, description = "Statistics", body = Stats)), security(("bearer" = [])))]
pub(crate) async fn stats(
    State(st): State<AppState>,
    axum::Extension(who): axum::Extension<crate::Principal>,
) -> Result<Json<Stats>, crate::ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsRead,
        &crate::events::http_attrs("GET", "/api/v1/stats", None),
    )?;
    refresh_gauges(&st);
    let b = st.log.bounds();
    Ok(Json(Stats {
        log_first_seq: b.first_seq,
        log_last_seq: b.last_seq,
        indexed_seq: st.index.indexed_seq(),
        queue_depth: st.pipeline.queue_depth(),
        log_bytes: st.log.size_bytes(),
        index_bytes: st.index.size_bytes(),
    }))
}

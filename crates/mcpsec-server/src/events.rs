//! `/api/v1/events`: ingest (POST) and search (GET).

use crate::{ApiError, AppState, Principal, parse_time_param};
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use mcpsec_core::{ErrorCode, SourceInfo};
use mcpsec_ingest::body::{self, Compression, Framing, LineError};
use mcpsec_normalize::Context;
use mcpsec_store::{MAX_LIMIT, SearchRequest, SortOrder};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Answer to an ingest request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IngestResponse {
    /// Events now durable in the event log.
    accepted: usize,
    /// Lines or items rejected.
    rejected: usize,
    /// Sequence number of the first accepted event (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seq: Option<u64>,
    /// Sequence number of the last accepted event.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seq: Option<u64>,
    /// The first 100 rejections, by line number.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    errors: Vec<LineError>,
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Ingests events: a JSON array, NDJSON (one object per line) or, with
/// `Content-Type: text/plain`, text lines (syslog, CEF, free text). `Content-Encoding:
/// gzip|zstd` is understood. 200 means every accepted event is durable; bad lines are
/// listed by number and the rest are kept.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body(content = String, description = "JSON array, NDJSON or text lines", content_type = "application/x-ndjson"),
    responses(
        (status = 200, description = "Accepted (possibly with some lines rejected)", body = IngestResponse),
        (status = 400, description = "Nothing could be read", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 429, description = "Ingest queue full; see Retry-After", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn ingest(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsWrite,
        &http_attrs("POST", "/api/v1/events", None),
    )?;
    let started = Instant::now();
    let limits = st.limits;
    if let Some(len) =
        header_str(&headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok())
        && len > limits.max_body_bytes
    {
        return Err(too_large(limits.max_body_bytes));
    }
    let compression = Compression::from_header(header_str(&headers, header::CONTENT_ENCODING))?;
    let framing = Framing::from_content_type(header_str(&headers, header::CONTENT_TYPE));
    let bytes = axum::body::to_bytes(body, limits.max_body_bytes)
        .await
        .map_err(|_| too_large(limits.max_body_bytes))?;
    metrics::counter!("mcpsec_ingest_bytes_total").increment(bytes.len() as u64);
    let ctx = Context::new(
        who.tenant.clone(),
        SourceInfo::new("http", who.key_id.clone()),
    );
    let parsed = tokio::task::spawn_blocking(move || {
        let raw = body::decompress(&bytes, compression, limits.max_decoded_bytes)?;
        let parsed = body::parse(&raw, framing, &ctx)?;
        let mut payloads = Vec::with_capacity(parsed.events.len());
        for ev in &parsed.events {
            payloads.push(serde_json::to_vec(ev).map_err(|e| {
                mcpsec_ingest::IngestError::BadBody(format!("cannot encode event: {e}"))
            })?);
        }
        Ok::<_, mcpsec_ingest::IngestError>((payloads, parsed.errors, parsed.rejected))
    })
    .await
    .map_err(ApiError::internal)?;
    let (payloads, errors, rejected) = match parsed {
        Ok(p) => p,
        Err(e) => {
            metrics::counter!("mcpsec_events_rejected_total").increment(1);
            return Err(e.into());
        }
    };
    let n = payloads.len();
    metrics::counter!("mcpsec_events_received_total").increment((n + rejected) as u64);
    metrics::counter!("mcpsec_events_rejected_total").increment(rejected as u64);
    let appended = st.pipeline.submit_encoded(payloads).await?;
    metrics::counter!("mcpsec_events_accepted_total").increment(n as u64);
    metrics::histogram!("mcpsec_ingest_latency_seconds").record(started.elapsed().as_secs_f64());
    let resp = IngestResponse {
        accepted: appended.count,
        rejected,
        first_seq: (appended.count > 0).then_some(appended.first_seq),
        last_seq: (appended.count > 0).then(|| appended.first_seq + appended.count as u64 - 1),
        errors,
    };
    let status = if resp.accepted == 0 && resp.rejected > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Json(resp)).into_response())
}

/// Decision attributes of a REST call.
pub(crate) fn http_attrs(method: &str, path: &str, id: Option<&str>) -> crate::Attributes {
    crate::Attributes {
        transport: "http",
        method: method.into(),
        path: path.into(),
        resource_id: id.map(str::to_owned),
    }
}

fn too_large(limit: usize) -> ApiError {
    metrics::counter!("mcpsec_ingest_too_large_total").increment(1);
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request body exceeds the {limit} byte limit; split it into smaller batches"),
    )
}

/// Search parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Lucene-style query: bare words search all text, `field.path:value` a field,
    /// `"a phrase"`, `AND`/`OR`/`NOT`, `field:(a b)`; `_format:`, `_source:`, `_id:`
    /// target event metadata. Empty or `*` matches everything.
    q: Option<String>,
    /// Events at or after this time (RFC 3339, epoch seconds, or `now-15m`).
    from: Option<String>,
    /// Events before this time.
    to: Option<String>,
    /// Page size (1–10000, default 100).
    limit: Option<usize>,
    /// Results to skip.
    offset: Option<usize>,
    /// `desc` (newest first, default) or `asc`.
    order: Option<String>,
}

/// A page of search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SearchResponse {
    /// Matching events in all pages.
    total: u64,
    /// Page size used.
    limit: usize,
    /// Results skipped.
    offset: usize,
    /// Last event-log sequence number visible to search.
    indexed_seq: u64,
    /// The events of this page, newest first unless `order=asc`.
    #[schema(value_type = Vec<Object>)]
    events: Vec<mcpsec_core::Event>,
}

/// Searches the caller's tenant's events.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(SearchParams),
    responses(
        (status = 200, description = "Results", body = SearchResponse),
        (status = 400, description = "Invalid query or parameter", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn search(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsRead,
        &http_attrs("GET", "/api/v1/events", None),
    )?;
    let now = Utc::now();
    let from = p
        .from
        .as_deref()
        .map(|s| parse_time_param(s, now))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let to =
        p.to.as_deref()
            .map(|s| parse_time_param(s, now))
            .transpose()
            .map_err(ApiError::bad_request)?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let offset = p.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(ApiError::bad_request(
            "offset must be at most 1000000; narrow the time range instead",
        ));
    }
    let order = match p.order.as_deref() {
        None | Some("desc") => SortOrder::Desc,
        Some("asc") => SortOrder::Asc,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "order must be asc or desc, not {o:?}"
            )));
        }
    };
    let q = p.q.unwrap_or_default();
    if q.len() > 8192 {
        return Err(ApiError::bad_request("query longer than 8192 bytes"));
    }
    let req = SearchRequest {
        query: q,
        from,
        to,
        limit,
        offset,
        order,
    };
    let index = st.index.clone();
    let started = Instant::now();
    let res = tokio::task::spawn_blocking(move || index.search(&who.tenant, &req))
        .await
        .map_err(ApiError::internal)??;
    metrics::histogram!("mcpsec_search_latency_seconds").record(started.elapsed().as_secs_f64());
    Ok(Json(SearchResponse {
        total: res.total,
        limit,
        offset,
        indexed_seq: st.index.indexed_seq(),
        events: res.events,
    }))
}

/// One event by id.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "Event id (ULID)")),
    responses(
        (status = 200, description = "The event", body = Object),
        (status = 404, description = "No such event in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<mcpsec_core::Event>, ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsRead,
        &http_attrs("GET", "/api/v1/events/{id}", Some(&id)),
    )?;
    if ulid::Ulid::from_string(&id).is_err() {
        return Err(ApiError::bad_request(format!(
            "{id:?} is not an event id (ULID)"
        )));
    }
    let index = st.index.clone();
    let found = tokio::task::spawn_blocking(move || index.get(&who.tenant, &id))
        .await
        .map_err(ApiError::internal)??;
    found
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such event"))
}

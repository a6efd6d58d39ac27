//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI description of the HTTP API.
#[derive(OpenApi)]
#[openapi(
    info(title = "mcpsec API", description = "Security platform API: ingest, search and operations."),
    paths(
        crate::events::ingest,
        crate::events::search,
        crate::events::get_one,
        crate::reports::histogram,
        crate::reports::generate,
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
        crate::health::stats,
        crate::audit_api::list,
        crate::stream::open,
    ),
    components(schemas(
        crate::events::IngestResponse,
        crate::events::SearchResponse,
        crate::reports::HistogramResponse,
        crate::reports::HistogramBucket,
        crate::health::Stats,
        crate::audit_api::AuditPage,
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
    )),
    modifiers(&BearerAuth),
    tags((name = "events", description = "Ingest and search events"), (name = "ops", description = "Health, metrics, stats"), (name = "reports", description = "Reports over the caller's tenant"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

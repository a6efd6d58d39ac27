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
        crate::alerts_api::list,
        crate::alerts_api::get_one,
        crate::alerts_api::patch,
        crate::alerts_api::bulk,
        crate::alerts_api::history,
        crate::alerts_api::summary,
        crate::alert_stream::open,
        crate::rules_api::list,
        crate::rules_api::create,
        crate::rules_api::get_one,
        crate::rules_api::update,
        crate::rules_api::delete,
        crate::rules_api::versions,
        crate::rules_api::enable,
        crate::rules_api::disable,
        crate::rules_api::validate,
        crate::rules_api::backtest,
        crate::risk_api::assess,
        crate::risk_api::assets,
        crate::risk_api::replace_inventory,
        crate::risk_api::merge_inventory,
        crate::risk_api::inventory,
        crate::risk_api::trends,
        crate::risk_api::llm_calls,
    ),
    components(schemas(
        crate::events::IngestResponse,
        crate::events::SearchResponse,
        crate::reports::HistogramResponse,
        crate::reports::HistogramBucket,
        crate::health::Stats,
        crate::audit_api::AuditPage,
        crate::alerts_api::AlertList,
        crate::alerts_api::StatusChange,
        crate::alerts_api::BulkChange,
        crate::alerts_api::BulkResult,
        crate::alerts_api::History,
        crate::rules_api::RuleInfo,
        crate::rules_api::RuleList,
        crate::rules_api::RuleBody,
        crate::rules_api::ValidateBody,
        crate::rules_api::BacktestBody,
        crate::rules_api::Deployed,
        crate::rules_api::Versions,
        crate::risk_api::AssessBody,
        crate::risk_api::AssetRiskList,
        crate::risk_api::InventoryLoaded,
        crate::risk_api::Trend,
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
    )),
    modifiers(&BearerAuth),
    tags((name = "events", description = "Ingest and search events"), (name = "ops", description = "Health, metrics, stats"), (name = "alerts", description = "Alert queue and triage"), (name = "rules", description = "Detection rules: deploy, version, validate, backtest"), (name = "reports", description = "Reports over the caller's tenant"), (name = "risk", description = "Risk scores, assessments, asset inventory and trends"))
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

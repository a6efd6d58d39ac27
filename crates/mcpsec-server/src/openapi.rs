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
        crate::projects_api::create,
        crate::projects_api::list,
        crate::projects_api::get_one,
        crate::projects_api::delete,
        crate::projects_api::upload,
        crate::projects_api::versions,
        crate::projects_api::version,
        crate::projects_api::document,
        crate::projects_api::upload_vex,
        crate::projects_api::list_vex,
        crate::projects_findings::findings,
        crate::projects_findings::diff,
        crate::projects_findings::vulndb_status,
        crate::projects_findings::reevaluate,
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
        crate::projects_api::NewProject,
        crate::projects_api::ProjectList,
        crate::projects_api::ProjectDetail,
        crate::projects_api::Uploaded,
        crate::projects_api::SbomList,
        crate::projects_api::SbomDetail,
        crate::projects_api::VexList,
        crate::projects_findings::Findings,
        crate::projects_findings::Diff,
        crate::projects_findings::DiffComponent,
        crate::projects_findings::VersionChange,
        crate::projects_findings::DiffVulnerability,
        crate::projects_findings::VulndbStatus,
        crate::supply_eval::Reevaluation,
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
    )),
    modifiers(&BearerAuth),
    tags((name = "events", description = "Ingest and search events"), (name = "ops", description = "Health, metrics, stats"), (name = "alerts", description = "Alert queue and triage"), (name = "rules", description = "Detection rules: deploy, version, validate, backtest"), (name = "reports", description = "Reports over the caller's tenant"), (name = "projects", description = "Supply chain: projects, SBOM versions, findings, diffs, VEX, vulnerability database"))
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

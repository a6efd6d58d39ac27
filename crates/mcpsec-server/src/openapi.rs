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
        crate::report_jobs::create,
        crate::report_jobs::list,
        crate::report_jobs::get_one,
        crate::report_jobs::download,
        crate::report_jobs::delete,
        crate::report_share::create,
        crate::report_share::list,
        crate::report_share::revoke,
        crate::report_schedules::create,
        crate::report_schedules::list,
        crate::report_schedules::delete,
        crate::report_schedules::run_now,
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
        crate::health::stats,
        crate::me::me,
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
        crate::playbooks_api::list,
        crate::playbooks_api::create,
        crate::playbooks_api::get_one,
        crate::playbooks_api::run,
        crate::playbooks_api::runs,
        crate::playbooks_api::run_one,
        crate::playbooks_api::approvals,
        crate::playbooks_api::approve,
        crate::playbooks_api::reject,
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
        crate::report_jobs::NewReport,
        crate::report_jobs::JobView,
        crate::report_jobs::JobList,
        crate::report_share::NewShare,
        crate::report_share::ShareView,
        crate::report_share::ShareList,
        crate::report_schedules::NewSchedule,
        crate::report_schedules::DeliveryTargets,
        crate::report_schedules::WebhookTarget,
        crate::report_schedules::ScheduleList,
        crate::health::Stats,
        crate::me::Me,
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
        crate::playbooks_api::PlaybookList,
        crate::playbooks_api::PlaybookDetail,
        crate::playbooks_api::PlaybookBody,
        crate::playbooks_api::DeployedPlaybook,
        crate::playbooks_api::RunBody,
        crate::playbooks_api::Started,
        crate::playbooks_api::RunList,
        crate::playbooks_api::RunDetail,
        crate::playbooks_api::ApprovalList,
        crate::playbooks_api::DecisionBody,
        crate::risk_api::AssessBody,
        crate::risk_api::AssetRiskList,
        crate::risk_api::InventoryLoaded,
        crate::risk_api::Trend,
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
    )),
    modifiers(&BearerAuth),
    tags((name = "events", description = "Ingest and search events"), (name = "ops", description = "Health, metrics, stats"), (name = "alerts", description = "Alert queue and triage"), (name = "rules", description = "Detection rules: deploy, version, validate, backtest"), (name = "reports", description = "Reports over the caller's tenant"), (name = "playbooks", description = "Response playbooks, runs and approvals"), (name = "risk", description = "Risk scores, assessments, asset inventory and trends"))
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

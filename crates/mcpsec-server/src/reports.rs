//! `/api/v1/reports/{kind}` (a report over the caller's tenant) and
//! `/api/v1/events/histogram` (event counts over time, for the dashboard).

use crate::{ApiError, AppState, Principal, parse_time_param};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::{ErrorCode, TenantId};
use mcpsec_report::{AlertSummary, Format, KINDS, ReportData, SummaryBuilder, Templates};
use mcpsec_store::{SearchIndex, SearchRequest, SortOrder, StoreError};
use serde::{Deserialize, Serialize};

/// The figures of a report over one tenant's events in `[from, to)`, read from the search
/// index in bounded memory. `alerts` comes from the caller, which knows where alerts are
/// stored (none are yet: pass [`AlertSummary::default`]).
pub fn build_report(
    index: &dyn SearchIndex,
    kind: &str,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    alerts: AlertSummary,
    now: DateTime<Utc>,
) -> Result<ReportData, StoreError> {
    build_report_with_progress(index, kind, tenant, from, to, alerts, now, None)
}

/// Reports progress as `(events read, events in the period)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// [`build_report`], telling `progress` every few thousand events.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report_with_progress(
    index: &dyn SearchIndex,
    kind: &str,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    alerts: AlertSummary,
    now: DateTime<Utc>,
    progress: Option<Progress<'_>>,
) -> Result<ReportData, StoreError> {
    let mut summary = SummaryBuilder::new(from, to);
    let total = match progress {
        Some(_) => count(index, tenant, "*", from, to, SortOrder::Desc)?.0,
        None => 0,
    };
    let mut read = 0u64;
    index.for_each_event(tenant, "*", from, to, &mut |ev| {
        summary.add(&ev);
        read += 1;
        if let Some(p) = progress
            && read.is_multiple_of(4096)
        {
            p(read, total);
        }
        Ok(())
    })?;
    Ok(summary.finish(
        kind,
        mcpsec_report::title(kind),
        tenant.as_str(),
        alerts,
        now,
    ))
}

/// A period with optional ends.
type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A rendered report as an HTTP answer: its media type, `attachment` under `filename`
/// when one is given, and for HTML a CSP that allows the report's own inline styles only.
pub(crate) fn document_response(
    bytes: Vec<u8>,
    format: Format,
    filename: Option<&str>,
) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Some(name) = filename
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if format == Format::Html {
        // The report's own inline styles, nothing else, even if opened from here.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        );
    }
    r
}

/// The deployed rules a report of `kind` needs: the tenant's, for `coverage`, `risk`
/// and `compliance`.
pub(crate) fn rules_for_report(
    detector: Option<&mcpsec_detect::Detector>,
    kind: &str,
    tenant: &TenantId,
) -> Result<Option<std::sync::Arc<mcpsec_detect::TenantRules>>, mcpsec_detect::DetectError> {
    match detector {
        Some(d) if matches!(kind, "coverage" | "risk" | "compliance") => {
            d.catalog().rules_for(tenant).map(Some)
        }
        _ => Ok(None),
    }
}

/// The action a report kind needs besides the one its endpoint checks: a supply report
/// shows projects, a risk report the risk model's scores, a response report the
/// playbook runs, a compliance report the state of the audit log.
pub(crate) fn kind_action(kind: &str) -> Option<crate::Action> {
    match kind {
        "supply" => Some(crate::Action::ProjectsRead),
        "risk" => Some(crate::Action::RiskRead),
        "response" => Some(crate::Action::PlaybooksRead),
        "compliance" => Some(crate::Action::AuditRead),
        _ => None,
    }
}

/// `[risk] window_days` when no assessor is configured.
pub(crate) const DEFAULT_WINDOW_DAYS: u32 = 7;

/// Checks what a report request names beyond its period: a known kind, SARIF for the
/// supply report only (it holds findings), and a project for the supply report only.
pub(crate) fn check_request(
    kind: &str,
    format: Format,
    project: Option<&str>,
) -> Result<(), ApiError> {
    if !KINDS.contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "unknown report kind {:?}: available: {}",
            kind.chars().take(50).collect::<String>(),
            KINDS.join(", ")
        )));
    }
    if format == Format::Sarif && kind != "supply" {
        return Err(ApiError::bad_request(
            "SARIF holds findings: only the supply report can be written as SARIF",
        ));
    }
    match project {
        Some(_) if kind != "supply" => Err(ApiError::bad_request(
            "project applies to the supply report only",
        )),
        Some(p) if p.is_empty() || p.len() > 200 => Err(ApiError::bad_request(
            "project must be a project id or name of 1 to 200 bytes",
        )),
        _ => Ok(()),
    }
}

impl AppState {
    /// Checks a report request the same way wherever one is made (now, as a job, on a
    /// schedule): what it names (see [`check_request`]), its compliance framework, and
    /// that the caller may read what the kind shows ([`kind_action`]). The framework
    /// comes back (`all` when none is named).
    pub(crate) fn admit_report(
        &self,
        who: &crate::Principal,
        kind: &str,
        format: Format,
        project: Option<&str>,
        framework: Option<&str>,
        attrs: &crate::Attributes,
    ) -> Result<String, ApiError> {
        check_request(kind, format, project)?;
        let framework = crate::report_compliance::check_framework(kind, framework)?;
        if let Some(action) = kind_action(kind) {
            self.authorize(who, action, attrs)?;
        }
        Ok(framework)
    }

    /// Where the supply report finds the vulnerability database and licence policy.
    pub(crate) fn supply_sources(&self) -> crate::SupplySources<'_> {
        crate::SupplySources {
            vulndb_dir: self.data_dir.as_deref(),
            policy: self.report_license_policy.as_deref(),
            git_repos: self.git_repos.as_deref(),
        }
    }

    /// Days of alerts the risk report's "now" counts: `[risk] window_days`.
    pub(crate) fn risk_window_days(&self) -> u32 {
        self.risk
            .as_ref()
            .map_or(DEFAULT_WINDOW_DAYS, |a| a.config().window_days)
    }

    /// What the compliance report needs from the server: the audit log to verify and
    /// whether OIDC and TLS are on.
    pub(crate) fn compliance_sources<'a>(
        &'a self,
        framework: &'a str,
    ) -> crate::ComplianceSources<'a> {
        crate::ComplianceSources {
            framework,
            audit: Some(self.audit.as_ref()),
            oidc: Some(self.oidc.is_some()),
            tls: Some(self.tls),
        }
    }

    /// The report templates: embedded, overridden from `[report] templates_dir`.
    pub(crate) fn templates(&self) -> Templates {
        match &self.report_templates {
            Some(dir) => Templates::with_overrides(dir),
            None => Templates::embedded(),
        }
    }
}

/// `from` and `to` parameters parsed, `from` before `to`.
pub(crate) fn times(from: Option<&str>, to: Option<&str>) -> Result<Span, ApiError> {
    let now = Utc::now();
    let parse = |s: Option<&str>| {
        s.map(|s| parse_time_param(s, now))
            .transpose()
            .map_err(ApiError::bad_request)
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::bad_request("from must be before to"));
    }
    Ok((from, to))
}

/// Report parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportParams {
    /// Start of the period (RFC 3339, epoch seconds, or `now-7d`); default: first event.
    from: Option<String>,
    /// End of the period, exclusive; default: last event.
    to: Option<String>,
    /// `json` (default), `html`, `pdf`, `csv`, `md`, `xlsx`, or `sarif` (supply only).
    format: Option<String>,
    /// The project (id or name) a `supply` report covers; default: every project.
    project: Option<String>,
    /// The framework a `compliance` report maps: `soc2`, `iso27001`, `nist80053`, `cis8`
    /// or `all` (default).
    framework: Option<String>,
    /// Must be the key's own tenant when given; a report never covers another tenant.
    tenant: Option<String>,
}

/// A report over the caller's tenant, in any format. Alerts are empty until alerts are
/// stored ("no alerts in this period").
#[utoipa::path(get, path = "/api/v1/reports/{kind}", tag = "reports",
    params(("kind" = String, Path, description = "Report kind: executive, triage, coverage, supply, risk, response or compliance"), ReportParams),
    responses(
        (status = 200, description = "The report (JSON, or a document with Content-Disposition)", body = Object),
        (status = 400, description = "Unknown kind, format or framework, bad time", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::error::ErrorBody),
        (status = 403, description = "Another tenant's report was asked for, or the kind needs a permission the key lacks", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn generate(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(kind): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsRead,
        &crate::events::http_attrs("GET", "/api/v1/reports/{kind}", Some(&kind)),
    )?;
    if let Some(t) = &p.tenant
        && t != who.tenant.as_str()
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "this key acts for tenant {:?}; a report covers only the key's own tenant, not {t:?}",
                who.tenant.as_str()
            ),
        ));
    }
    let format: Format = p
        .format
        .as_deref()
        .unwrap_or("json")
        .parse()
        .map_err(|e: mcpsec_report::ReportError| ApiError::bad_request(e.to_string()))?;
    let framework = st.admit_report(
        &who,
        &kind,
        format,
        p.project.as_deref(),
        p.framework.as_deref(),
        &crate::events::http_attrs("GET", "/api/v1/reports/{kind}", Some(&kind)),
    )?;
    let (from, to) = times(p.from.as_deref(), p.to.as_deref())?;
    let project = p.project;
    let index = st.index.clone();
    let templates = st.templates();
    let tenant = who.tenant.clone();
    let state = st.state.clone();
    let detector = st.detector.clone();
    let app = st.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let rules =
            rules_for_report(detector.as_deref(), &kind, &tenant).map_err(ApiError::internal)?;
        let src = crate::ReportSources {
            index: Some(index.as_ref()),
            state: state.as_ref(),
            rules: rules.as_deref(),
            progress: None,
            project: project.as_deref(),
            supply: app.supply_sources(),
            risk_window_days: app.risk_window_days(),
            compliance: app.compliance_sources(&framework),
        };
        let data = crate::report_cache::report_data(
            &app.report_cache,
            &src,
            &kind,
            &tenant,
            (from, to),
            Utc::now(),
        )?;
        mcpsec_report::render(&data, format, &templates).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    let name = format!("report-{}.{}", who.tenant.as_str(), format.as_str());
    let filename = (format != Format::Json).then_some(name.as_str());
    Ok(document_response(bytes, format, filename))
}

/// Histogram parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistogramParams {
    /// Query, as for `GET /api/v1/events`.
    q: Option<String>,
    /// Start (default: the oldest matching event).
    from: Option<String>,
    /// End, exclusive (default: just after the newest matching event).
    to: Option<String>,
    /// Number of buckets (1–200, default 40).
    buckets: Option<u32>,
}

/// One bucket of a histogram.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HistogramBucket {
    /// Bucket start.
    start: DateTime<Utc>,
    /// Matching events in `[start, start + bucket_seconds)`.
    count: u64,
}

/// Matching events over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HistogramResponse {
    /// Matching events in the whole range.
    total: u64,
    /// Width of each bucket.
    bucket_seconds: i64,
    /// Buckets, oldest first (empty when nothing matches).
    buckets: Vec<HistogramBucket>,
}

fn count(
    index: &dyn SearchIndex,
    tenant: &TenantId,
    q: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    order: SortOrder,
) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let r = index.search(
        tenant,
        &SearchRequest {
            query: q.to_owned(),
            from,
            to,
            limit: 1,
            offset: 0,
            order,
        },
    )?;
    Ok((r.total, r.events.first().map(|e| e.time)))
}

/// Counts of the caller's matching events over time, in equal buckets (one count query
/// per bucket, so the cost does not grow with the number of events).
#[utoipa::path(get, path = "/api/v1/events/histogram", tag = "events", params(HistogramParams),
    responses(
        (status = 200, description = "Counts", body = HistogramResponse),
        (status = 400, description = "Invalid query or parameter", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn histogram(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<HistogramParams>,
) -> Result<Json<HistogramResponse>, ApiError> {
    st.authorize(
        &who,
        crate::Action::EventsRead,
        &crate::events::http_attrs("GET", "/api/v1/events/histogram", None),
    )?;
    let n = i64::from(p.buckets.unwrap_or(40));
    if !(1..=200).contains(&n) {
        return Err(ApiError::bad_request("buckets must be between 1 and 200"));
    }
    let q = p.q.unwrap_or_default();
    if q.len() > 8192 {
        return Err(ApiError::bad_request("query longer than 8192 bytes"));
    }
    let (from, to) = times(p.from.as_deref(), p.to.as_deref())?;
    let index = st.index.clone();
    let tenant = who.tenant.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<HistogramResponse, StoreError> {
        let idx = index.as_ref();
        let (total, oldest) = count(idx, &tenant, &q, from, to, SortOrder::Asc)?;
        let empty = HistogramResponse {
            total,
            bucket_seconds: 0,
            buckets: Vec::new(),
        };
        let lo = match from.or(oldest) {
            Some(t) => t,
            None => return Ok(empty),
        };
        let hi = match to {
            Some(t) => t,
            None => match count(idx, &tenant, &q, from, to, SortOrder::Desc)?.1 {
                Some(t) => t + Duration::seconds(1),
                None => return Ok(empty),
            },
        };
        let span = (hi - lo).num_seconds().max(1);
        let width = ((span + n - 1) / n).max(1);
        let mut buckets = Vec::with_capacity(n as usize);
        let mut start = lo;
        while start < hi {
            let end = (start + Duration::seconds(width)).min(hi);
            let (c, _) = count(idx, &tenant, &q, Some(start), Some(end), SortOrder::Desc)?;
            buckets.push(HistogramBucket { start, count: c });
            start = end;
        }
        Ok(HistogramResponse {
            total,
            bucket_seconds: width,
            buckets,
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(res))
}

/// The alert figures of a period, from the alert store (counted there, not here).
pub fn report_alerts(
    state: &dyn mcpsec_store::StateStore,
    tenant: &mcpsec_core::TenantId,
    from: Option<chrono::DateTime<Utc>>,
    to: Option<chrono::DateTime<Utc>>,
) -> Result<AlertSummary, mcpsec_store::StoreError> {
    let s = state.alert_summary(tenant, from, to, 10)?;
    let count = |name: String, count: u64| mcpsec_report::Count { name, count };
    Ok(AlertSummary {
        total: s.total,
        by_level: s.by_level.into_iter().map(|(n, c)| count(n, c)).collect(),
        top_rules: s
            .top_rules
            .into_iter()
            .map(|(_, title, c)| count(title, c))
            .collect(),
    })
}

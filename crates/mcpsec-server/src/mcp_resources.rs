//! MCP resources of one tenant: its rules (`mcpsec://rules/{id}`, the YAML as written) and
//! reports (`mcpsec://reports/{kind}`, Markdown, or JSON with `?format=json`).

use crate::mcp::McpServer;
use mcpsec_core::TenantId;
use mcpsec_report::{AlertSummary, Format, KINDS, Templates};
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

/// Resources listed per page.
const PAGE: usize = 200;
/// Largest report text returned.
const MAX_REPORT_BYTES: usize = 512 * 1024;
const RULES: &str = "mcpsec://rules/";
const REPORTS: &str = "mcpsec://reports/";

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` for a broken escape or a result that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The resource URI of a rule.
pub(crate) fn rule_uri(id: &str) -> String {
    format!("{RULES}{}", encode(id))
}

fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!(
            "no such resource: {}",
            uri.chars().take(200).collect::<String>()
        ),
        None,
    )
}

fn internal(e: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(e.to_string(), None)
}

impl McpServer {
    async fn rules_of(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<crate::rule_list::TenantRule>, ErrorData> {
        let state = self.state.clone();
        let catalog = self.catalog.clone();
        tokio::task::spawn_blocking(move || {
            crate::rule_list::tenant_rules(state.as_deref(), catalog.as_deref(), &tenant)
        })
        .await
        .map_err(internal)?
        .map_err(internal)
    }

    /// `resources/list`: the tenant's rules (with `rules.read`) and reports (with
    /// `events.read`), 200 a page.
    pub(crate) async fn resource_list(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let may_rules = self.may(ctx, crate::Action::RulesRead);
        let may_reports = self.may(ctx, crate::Action::EventsRead);
        if !may_rules && !may_reports {
            // Audited refusal, with the reason.
            self.tenant_for(ctx, crate::Action::RulesRead)?;
        }
        let tenant = self.caller_tenant(ctx)?;
        let mut all = Vec::new();
        if may_reports {
            for kind in KINDS {
                let title = mcpsec_report::title(kind);
                all.push(
                    Resource::new(format!("{REPORTS}{kind}"), format!("report-{kind}"))
                        .with_title(format!("{title} (Markdown)"))
                        .with_description(
                            "The report over all of this tenant's events; add ?from=now-7d&to=now to narrow it",
                        )
                        .with_mime_type("text/markdown"),
                );
                all.push(
                    Resource::new(
                        format!("{REPORTS}{kind}?format=json"),
                        format!("report-{kind}-json"),
                    )
                    .with_title(format!("{title} (JSON)"))
                    .with_mime_type("application/json"),
                );
            }
        }
        if may_rules {
            for r in self.rules_of(tenant).await? {
                let state = if r.enabled { "enabled" } else { "disabled" };
                all.push(
                    Resource::new(rule_uri(&r.id), r.id.clone())
                        .with_title(r.title)
                        .with_description(format!(
                            "Sigma rule, {} level, from {}, {state}",
                            r.level.as_deref().unwrap_or("no"),
                            if r.source == "api" {
                                "the rules API"
                            } else {
                                "a rule file"
                            }
                        ))
                        .with_mime_type("application/yaml"),
                );
            }
        }
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| ErrorData::invalid_params("bad cursor", None))?,
        };
        let next = (start + PAGE < all.len()).then(|| (start + PAGE).to_string());
        let page: Vec<Resource> = all.into_iter().skip(start).take(PAGE).collect();
        let mut out = ListResourcesResult::with_all_items(page);
        out.next_cursor = next;
        Ok(out)
    }

    /// `resources/templates/list`.
    pub(crate) fn resource_templates() -> ListResourceTemplatesResult {
        ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{RULES}{{id}}"), "rule")
                .with_title("A detection rule of this tenant")
                .with_description("The Sigma YAML of a rule, by id (percent-encoded)")
                .with_mime_type("application/yaml"),
            ResourceTemplate::new(format!("{REPORTS}{{kind}}{{?format,from,to,project,framework}}"), "report")
                .with_title("A report over this tenant's events")
                .with_description(format!(
                    "kind: {}; format: md (default) or json; from/to: RFC 3339, epoch seconds or now-7d; project: id or name (supply only); framework: soc2, iso27001, nist80053, cis8 or all (compliance only)",
                    KINDS.join(", ")
                ))
                .with_mime_type("text/markdown"),
        ])
    }

    /// `resources/read`.
    pub(crate) async fn resource_read(
        &self,
        uri: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, ErrorData> {
        if let Some(id) = uri.strip_prefix(RULES) {
            let tenant = self.tenant_for(ctx, crate::Action::RulesRead)?;
            let id = decode(id).ok_or_else(|| not_found(uri))?;
            let text = self
                .rule_text(tenant, id)
                .await?
                .ok_or_else(|| not_found(uri))?;
            return Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, uri).with_mime_type("application/yaml"),
            ]));
        }
        if let Some(rest) = uri.strip_prefix(REPORTS) {
            let tenant = self.tenant_for(ctx, crate::Action::EventsRead)?;
            // as over HTTP: a supply, risk or response report also needs the right to
            // read what it shows
            let kind = rest.split_once('?').map_or(rest, |(k, _)| k);
            if let Some(action) = crate::reports::kind_action(kind) {
                self.tenant_for(ctx, action)?;
            }
            let (text, mime) = self.report(tenant, rest).await?;
            return Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, uri).with_mime_type(mime),
            ]));
        }
        Err(not_found(uri))
    }

    /// A rule's YAML: the tenant's API rule, else the file rule's document.
    async fn rule_text(&self, tenant: TenantId, id: String) -> Result<Option<String>, ErrorData> {
        if id.is_empty() || id.len() > 200 {
            return Ok(None);
        }
        let state = self.state.clone();
        let catalog = self.catalog.clone();
        let res = tokio::task::spawn_blocking(move || -> mcpsec_store::Result<Option<String>> {
            if let Some(s) = &state
                && let Some(r) = s.get_rule(&tenant, &id)?
            {
                return Ok(Some(r.yaml));
            }
            Ok(catalog.and_then(|c| c.file_rule_text(&id)))
        })
        .await
        .map_err(internal)?;
        res.map_err(internal)
    }

    /// Renders `kind?format=..&from=..&to=..` for the tenant.
    async fn report(
        &self,
        tenant: TenantId,
        rest: &str,
    ) -> Result<(String, &'static str), ErrorData> {
        let (kind, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !KINDS.contains(&kind) {
            return Err(ErrorData::resource_not_found(
                format!(
                    "unknown report kind {:?}: available: {}",
                    kind.chars().take(50).collect::<String>(),
                    KINDS.join(", ")
                ),
                None,
            ));
        }
        let (mut format, mut from, mut to, mut project) = (Format::Markdown, None, None, None);
        let mut framework = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v).ok_or_else(|| ErrorData::invalid_params("bad escape", None))?;
            match k {
                "format" => {
                    format = match v.as_str() {
                        "md" | "markdown" => Format::Markdown,
                        "json" => Format::Json,
                        other => {
                            return Err(ErrorData::invalid_params(
                                format!(
                                    "report format {:?}: use md or json",
                                    other.chars().take(20).collect::<String>()
                                ),
                                None,
                            ));
                        }
                    }
                }
                "from" => from = Some(v),
                "to" => to = Some(v),
                "project" if kind == "supply" && !v.is_empty() && v.len() <= 200 => {
                    project = Some(v)
                }
                "framework" if kind == "compliance" => framework = Some(v),
                other => {
                    return Err(ErrorData::invalid_params(
                        format!(
                            "unknown report parameter {:?}: use format, from, to (and project for supply, framework for compliance)",
                            other.chars().take(20).collect::<String>()
                        ),
                        None,
                    ));
                }
            }
        }
        let (from, to) = crate::timeparse::period(from.as_deref(), to.as_deref())
            .map_err(|e| ErrorData::invalid_params(e.message, None))?;
        let framework = mcpsec_report::parse_framework(framework.as_deref())
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let auditor = self.auditor.clone();
        let catalog = self.catalog.clone();
        let index = self.index.clone();
        let state = self.state.clone();
        let templates = match &self.report_templates {
            Some(dir) => Templates::with_overrides(dir),
            None => Templates::embedded(),
        };
        let kind = kind.to_owned();
        let vulndb = self.vulndb_dir.clone();
        let git_repos = self.git_repos.clone();
        let policy = self.license_policy.clone();
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            // Reports built from the state store rather than the events.
            if matches!(kind.as_str(), "supply" | "risk" | "response" | "compliance") {
                let Some(state) = &state else {
                    return Err(format!("the {kind} report needs the state store"));
                };
                let rules = match &catalog {
                    Some(c) if kind == "compliance" => {
                        Some(c.rules_for(&tenant).map_err(|e| e.to_string())?)
                    }
                    _ => None,
                };
                let src = crate::ReportSources {
                    index: Some(index.as_ref()),
                    state: state.as_ref(),
                    rules: rules.as_deref(),
                    progress: None,
                    project: project.as_deref(),
                    supply: crate::SupplySources {
                        vulndb_dir: vulndb.as_deref(),
                        policy: policy.as_deref(),
                        git_repos: git_repos.as_deref(),
                    },
                    risk_window_days: crate::reports::DEFAULT_WINDOW_DAYS,
                    // Over MCP the server's configuration is not at hand: OIDC and
                    // TLS show as not known, the chain is verified over stdio only.
                    compliance: crate::ComplianceSources {
                        framework: &framework,
                        audit: auditor.as_deref(),
                        oidc: None,
                        tls: None,
                    },
                };
                let data = crate::report_data(&src, &kind, &tenant, from, to, chrono::Utc::now())
                    .map_err(|e| e.to_string())?;
                return mcpsec_report::render(&data, format, &templates).map_err(|e| e.to_string());
            }
            let alerts = match &state {
                Some(s) => crate::report_alerts(s.as_ref(), &tenant, from, to)
                    .map_err(|e| e.to_string())?,
                None => AlertSummary::default(),
            };
            let data = crate::build_report(
                index.as_ref(),
                &kind,
                &tenant,
                from,
                to,
                alerts,
                chrono::Utc::now(),
            )
            .map_err(|e| e.to_string())?;
            mcpsec_report::render(&data, format, &templates).map_err(|e| e.to_string())
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if text.len() > MAX_REPORT_BYTES {
            let mut cut = MAX_REPORT_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("\n\n[report cut to 512 KiB]\n");
        }
        let mime = if format == Format::Json {
            "application/json"
        } else {
            "text/markdown"
        };
        Ok((text, mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_through_uris() {
        for id in [
            "9a1e2a36-0000-4000-8000-000000000001",
            "A title with spaces/and slashes?",
            "ünïcode & %",
        ] {
            let uri = rule_uri(id);
            assert!(!uri[RULES.len()..].contains(['/', ' ', '?', '&']), "{uri}");
            assert_eq!(decode(&uri[RULES.len()..]).as_deref(), Some(id));
        }
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%FF%FE"), None, "not UTF-8");
    }

    #[tokio::test]
    async fn compliance_report_resource_takes_a_checked_framework() {
        use mcpsec_store::{SqliteState, StateStore, TantivyIndex, TantivyOptions};
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("tmp");
        let index = Arc::new(
            TantivyIndex::open(&dir.path().join("index"), TantivyOptions::default())
                .expect("index"),
        );
        let state: Arc<dyn StateStore> = Arc::new(SqliteState::in_memory().expect("db"));
        let tenant = TenantId::new("acme").expect("tenant");
        state.create_tenant(&tenant).expect("tenant");
        let auditor = Arc::new(
            mcpsec_store::Auditor::new(state.clone(), &dir.path().join("audit.key"))
                .expect("auditor"),
        );
        let mcp = crate::McpServer::new(index, tenant.clone())
            .with_state(state)
            .with_auditor(auditor);
        let (text, mime) = mcp
            .report(tenant.clone(), "compliance?framework=SOC2&format=json")
            .await
            .expect("report");
        assert_eq!(mime, "application/json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["compliance"]["framework"], "soc2");
        assert_eq!(v["compliance"]["frameworks"][0]["id"], "soc2");
        let figure = |kind: &str| {
            v["compliance"]["evidence"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["kind"] == kind))
                .map(|e| (e["status"].to_string(), e["figure"].to_string()))
                .expect("evidence")
        };
        assert!(figure("tls").1.contains("not known"), "{v}");
        assert!(
            figure("audit_integrity").0.contains("partial"),
            "verifies, no checkpoint yet: {v}"
        );
        let bad = mcp
            .report(tenant.clone(), "compliance?framework=fedramp")
            .await
            .expect_err("unknown framework");
        assert!(
            bad.message.contains("unknown compliance framework"),
            "{}",
            bad.message
        );
        let other = mcp
            .report(tenant, "executive?framework=soc2")
            .await
            .expect_err("framework on another kind");
        assert!(
            other.message.contains("framework for compliance"),
            "{}",
            other.message
        );
    }
}

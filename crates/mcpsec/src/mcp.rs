//! `mcpsec mcp`: the MCP server over stdio, reading the data dir of a running or stopped
//! `serve` (read-only: it never takes the writer lock).

use crate::cli::McpArgs;
use crate::cmd::load_config;
use anyhow::{Context as _, Result};
use mcpsec_core::TenantId;
use mcpsec_server::McpServer;
use mcpsec_store::{DataDir, SearchIndex, SqliteState, StateStore, TantivyIndex, TantivyOptions};
use rmcp::ServiceExt;
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the stdio server until the client disconnects.
pub fn run(a: McpArgs) -> Result<ExitCode> {
    // stdout carries the protocol: logs go to stderr only, and quietly.
    crate::cmd::quiet_logging();
    let cfg = load_config(&a.store)?;
    let tenant = TenantId::new(&a.tenant).map_err(anyhow::Error::msg)?;
    let data = DataDir::new(&cfg.data_dir);
    let index: Arc<dyn SearchIndex> = match TantivyIndex::open_read_only(&data.index()) {
        Ok(i) => Arc::new(i),
        // A fresh data dir: create an empty index so the tools answer (with nothing).
        Err(mcpsec_store::StoreError::NotFound(_)) => {
            data.create()?;
            drop(TantivyIndex::open(
                &data.index(),
                TantivyOptions::default(),
            )?);
            Arc::new(TantivyIndex::open_read_only(&data.index())?)
        }
        Err(e) => return Err(e).context("cannot open the search index"),
    };
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteState::open(&data.state_db()).context("cannot open the state database")?);
    // Triage over stdio is a change like any other: audited in the data dir's log.
    let auditor = Arc::new(
        mcpsec_store::Auditor::new(state.clone(), &data.audit_key())
            .context("cannot open the audit log")?,
    );
    // The same rule files `serve` loads (with the demo rules when it runs `--demo`), for
    // rule resources and alert explanations.
    let catalog = Arc::new(mcpsec_detect::Catalog::new(
        state.clone(),
        mcpsec_detect::CatalogOptions {
            rule_paths: cfg.detection.rule_paths.clone(),
            embedded: crate::demo::served_rules(state.as_ref())?,
            mapping: crate::cmd::hunt::load_mapping(cfg.detection.mapping.as_deref())?,
        },
    ));
    // Alerts are assessed with the data dir's `[risk]` settings (providers, budgets).
    let assessor = Arc::new(
        mcpsec_risk::Assessor::new(cfg.risk.clone(), state.clone())
            .context("cannot start risk assessment ([risk])")?
            .with_index(index.clone()),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let service = McpServer::new(index, tenant)
            .with_state(state)
            .with_catalog(catalog)
            .with_vulndb_dir(cfg.data_dir.clone())
            .with_git_repos(cfg.supply.git_repos.clone())
            .with_report_templates(cfg.report.templates_dir.clone())
            .with_license_policy(cfg.report.license_policy()?)
            .with_auditor(auditor)
            .with_assessor(assessor)
            .serve(rmcp::transport::stdio())
            .await
            .context("MCP handshake failed")?;
        service.waiting().await.context("MCP session failed")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

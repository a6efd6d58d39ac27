//! `serve --demo`: sample events shipped in the binary, loaded once per data directory.

use anyhow::Result;
use mcpsec_core::{SourceInfo, TenantId};
use mcpsec_ingest::Pipeline;
use mcpsec_ingest::body::{self, Framing};
use mcpsec_normalize::Context;
use mcpsec_store::StateStore;

const JSON_EVENTS: &str = include_str!("../demo/events.ndjson");
const TEXT_EVENTS: &str = include_str!("../demo/syslog.log");
const CHECKPOINT: &str = "demo:loaded";

/// Sigma rules written for the demo events (deployed by `serve --demo`).
const RULES: &[(&str, &str)] = &[
    (
        "demo/rules/brute_force.yml",
        include_str!("../demo/rules/brute_force.yml"),
    ),
    (
        "demo/rules/encoded_powershell.yml",
        include_str!("../demo/rules/encoded_powershell.yml"),
    ),
    (
        "demo/rules/failed_logon.yml",
        include_str!("../demo/rules/failed_logon.yml"),
    ),
    (
        "demo/rules/lsass_minidump.yml",
        include_str!("../demo/rules/lsass_minidump.yml"),
    ),
    (
        "demo/rules/net_user_add.yml",
        include_str!("../demo/rules/net_user_add.yml"),
    ),
    (
        "demo/rules/schtasks_create.yml",
        include_str!("../demo/rules/schtasks_create.yml"),
    ),
    (
        "demo/rules/ssh_failed_password.yml",
        include_str!("../demo/rules/ssh_failed_password.yml"),
    ),
    (
        "demo/rules/web_probe.yml",
        include_str!("../demo/rules/web_probe.yml"),
    ),
    (
        "demo/rules/whoami.yml",
        include_str!("../demo/rules/whoami.yml"),
    ),
];

/// The demo rules as `(name, yaml)`.
pub fn rules() -> Vec<(String, String)> {
    RULES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// Loads the demo events unless this data directory has them already.
pub async fn load(pipeline: &Pipeline, state: &dyn StateStore) -> Result<()> {
    if state.checkpoint(CHECKPOINT)?.is_some() {
        tracing::info!("demo events were loaded before");
        return Ok(());
    }
    let ctx = Context::new(
        TenantId::default_tenant(),
        SourceInfo::new("demo", "mcpsec"),
    );
    let mut total = 0;
    for (text, framing) in [
        (JSON_EVENTS, Framing::Auto),
        (TEXT_EVENTS, Framing::TextLines),
    ] {
        let parsed = body::parse(text.as_bytes(), framing, &ctx)?;
        anyhow::ensure!(
            parsed.rejected == 0,
            "demo data has bad lines: {:?}",
            parsed.errors
        );
        total += pipeline.submit(&parsed.events).await?.count;
    }
    state.set_checkpoint(CHECKPOINT, &total.to_string())?;
    tracing::info!(events = total, "demo events loaded");
    Ok(())
}

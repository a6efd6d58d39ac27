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
/// Whether the last `serve` of the data dir ran with `--demo` (`1`) or not (`0`).
const SERVE_MODE: &str = "serve:demo";

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

/// Records whether this `serve` runs the demo rules, so that `mcpsec mcp` on the same
/// data dir lists the rules the server runs.
pub fn record_serve_mode(state: &dyn StateStore, demo: bool) -> Result<()> {
    state.set_checkpoint(SERVE_MODE, if demo { "1" } else { "0" })?;
    Ok(())
}

/// The embedded rules the data dir's `serve` runs: the demo rules when its last start had
/// `--demo` (or, for data dirs from before that was recorded, when it holds the demo
/// events), else none.
pub fn served_rules(state: &dyn StateStore) -> Result<Vec<(String, String)>> {
    let demo = match state.checkpoint(SERVE_MODE)?.as_deref() {
        Some(mode) => mode == "1",
        None => state.checkpoint(CHECKPOINT)?.is_some(),
    };
    Ok(if demo { rules() } else { Vec::new() })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_rules_follow_the_last_serve() {
        let s = mcpsec_store::SqliteState::in_memory().expect("store");
        assert!(served_rules(&s).expect("rules").is_empty(), "fresh: none");
        // A data dir that had the demo before the mode was recorded.
        s.set_checkpoint(CHECKPOINT, "42").expect("checkpoint");
        assert_eq!(served_rules(&s).expect("rules").len(), RULES.len());
        record_serve_mode(&s, false).expect("mode");
        assert!(
            served_rules(&s).expect("rules").is_empty(),
            "served without --demo"
        );
        record_serve_mode(&s, true).expect("mode");
        let rules = served_rules(&s).expect("rules");
        assert_eq!(rules.len(), RULES.len());
        assert!(
            rules
                .iter()
                .all(|(n, y)| n.starts_with("demo/rules/") && y.contains("title:"))
        );
    }
}

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

//! Backtests: a rule text run over a tenant's stored events in a time range.

use crate::{DetectError, Result};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use mcpsec_sigma::{FieldMapping, RuleSetBuilder};
use mcpsec_store::{SearchIndex, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Most events a backtest reads.
pub const MAX_BACKTEST_EVENTS: usize = 1_000_000;

/// What to test.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    /// The rule text (YAML).
    pub yaml: String,
    /// Events at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events before.
    pub to: Option<DateTime<Utc>>,
    /// Narrows the events read (search query language); all events when empty.
    pub query: String,
    /// Stop after reading this many events.
    pub max_events: usize,
    /// Matching events returned in full (the count covers all).
    pub max_matches: usize,
}

/// Matches of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleHits {
    /// The rule's id (else title).
    pub rule_id: String,
    /// Its title.
    pub title: String,
    /// Its level.
    pub level: Option<String>,
    /// Events it matched.
    pub matches: u64,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    /// Events read.
    pub scanned: u64,
    /// Events at least one rule matched.
    pub matched: u64,
    /// More events were in range than `max_events`.
    pub truncated: bool,
    /// Per rule.
    pub rules: Vec<RuleHits>,
    /// The first matching events, with the ids of the rules that matched them.
    pub events: Vec<serde_json::Value>,
    /// Wall time.
    pub took_ms: u64,
}

/// Runs the rule text over the tenant's indexed events.
pub fn backtest(
    index: &dyn SearchIndex,
    tenant: &TenantId,
    mapping: &FieldMapping,
    req: &BacktestRequest,
) -> Result<BacktestResult> {
    let started = Instant::now();
    let mut b = RuleSetBuilder::new(mapping.clone());
    b.add_text(&req.yaml, None);
    let report = b.build();
    if let Some(e) = report.errors.first() {
        return Err(DetectError::Rule(e.to_string()));
    }
    if report.ruleset.rules().is_empty() {
        return Err(DetectError::Rule(
            "the text holds no detection rule to test".into(),
        ));
    }
    let set = report.ruleset;
    let max_events = req.max_events.clamp(1, MAX_BACKTEST_EVENTS);
    let mut hits: BTreeMap<String, RuleHits> = BTreeMap::new();
    let mut out = BacktestResult {
        scanned: 0,
        matched: 0,
        truncated: false,
        rules: Vec::new(),
        events: Vec::new(),
        took_ms: 0,
    };
    let query = if req.query.trim().is_empty() {
        "*".to_owned()
    } else {
        req.query.clone()
    };
    // The index walk is streamed in bounded memory; reaching `max_events` stops it with
    // a marker error that is not a failure.
    const ENOUGH: &str = "backtest: enough events read";
    let walked = index.for_each_event(tenant, &query, req.from, req.to, &mut |ev| {
        if out.scanned as usize >= max_events {
            out.truncated = true;
            return Err(StoreError::Invalid(ENOUGH.into()));
        }
        out.scanned += 1;
        let mut matched = Vec::new();
        set.for_each_match(&ev.fields, |r| {
            let h = hits.entry(r.name().to_owned()).or_insert_with(|| RuleHits {
                rule_id: r.name().to_owned(),
                title: r.meta.title.clone(),
                level: r.meta.level.clone(),
                matches: 0,
            });
            h.matches += 1;
            matched.push(r.name().to_owned());
        });
        if !matched.is_empty() {
            out.matched += 1;
            if out.events.len() < req.max_matches {
                out.events
                    .push(serde_json::json!({ "rules": matched, "event": ev }));
            }
        }
        Ok(())
    });
    match walked {
        Ok(_) => {}
        Err(StoreError::Invalid(m)) if m == ENOUGH => {}
        Err(e) => return Err(e.into()),
    }
    out.rules = hits.into_values().collect();
    out.took_ms = started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
    Ok(out)
}

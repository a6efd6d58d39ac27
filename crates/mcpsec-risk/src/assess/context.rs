//! What is known around an alert: inventory assets, repetitions, related alerts, earlier
//! assessments; and the data block a model is shown.

use crate::asset::{Asset, AssetKind, Inventory};
use crate::model::{AlertFacts, RiskScore, alert_assets, read_vuln, score_alert, weights};
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{
    Alert, AlertFilter, SearchIndex, SearchRequest, SortOrder, StateStore, StoredAssessment,
};
use serde::Serialize;
use serde_json::{Value, json};

/// Most related alerts gathered.
const MAX_RELATED: usize = 20;
/// Most related events gathered from the search index.
const MAX_RELATED_EVENTS: usize = 20;
/// Window around the alert's event in which related events are searched.
const EVENT_WINDOW_MINUTES: i64 = 60;
/// Longest string of the data block; longer ones are cut.
const MAX_STRING: usize = 2000;

/// The context of one alert.
#[derive(Debug, Clone)]
pub struct AlertContext {
    /// The alert.
    pub alert: Alert,
    /// Its rule's Sigma status, when known.
    pub rule_status: Option<String>,
    /// The tenant's inventory.
    pub inventory: Inventory,
    /// Assets the alert touches.
    pub assets: Vec<(AssetKind, String)>,
    /// Earlier alerts of the same rule on the same host in the repetition window.
    pub repeats: u32,
    /// Other alerts on the same host within ±24 h.
    pub related: Vec<Alert>,
    /// Other events naming the same host (or, without a host, the same user) within
    /// ±1 h, from the search index when one is available.
    pub related_events: Vec<Value>,
    /// Earlier assessments of this alert.
    pub prior: Vec<StoredAssessment>,
    /// The deterministic score.
    pub risk: RiskScore,
}

/// A short description of the context, returned with an assessment.
#[derive(Debug, Clone, Serialize)]
pub struct ContextSummary {
    /// Assets the alert touches, as `kind:name`.
    pub assets: Vec<String>,
    /// Of those, the ones in the inventory.
    pub assets_in_inventory: usize,
    /// Earlier alerts of the same rule on the same host (24 h).
    pub repeats: u32,
    /// Related alerts on the same host (±24 h).
    pub related_alerts: usize,
    /// Related events on the same host or user (±1 h).
    pub related_events: usize,
    /// Earlier assessments of the alert.
    pub prior_assessments: usize,
    /// The rule's status, when known.
    pub rule_status: Option<String>,
}

impl AlertContext {
    /// Gathers the context from the store (blocking calls).
    pub fn gather(
        store: &dyn StateStore,
        index: Option<&dyn SearchIndex>,
        tenant: &TenantId,
        alert: Alert,
        rule_status: Option<String>,
        now: DateTime<Utc>,
    ) -> crate::Result<Self> {
        let inventory = Inventory::from_stored(&store.list_assets(tenant)?);
        let rule_status = match rule_status {
            Some(s) => Some(s),
            None => store
                .get_rule(tenant, &alert.rule_id)?
                .and_then(|r| r.status),
        };
        let assets = alert_assets(&alert, &inventory);
        let mut repeats = 0;
        let mut related = Vec::new();
        if let Some(host) = &alert.host {
            let window = Duration::hours(weights::REPEAT_WINDOW_HOURS);
            repeats = store
                .list_alerts(
                    tenant,
                    &AlertFilter {
                        rule_id: Some(alert.rule_id.clone()),
                        host: Some(host.clone()),
                        from: Some(alert.event_time - window),
                        to: Some(alert.event_time),
                        limit: 1,
                        ..AlertFilter::default()
                    },
                )?
                .total
                .min(u32::MAX as u64) as u32;
            related = store
                .list_alerts(
                    tenant,
                    &AlertFilter {
                        host: Some(host.clone()),
                        from: Some(alert.event_time - window),
                        to: Some(alert.event_time + window),
                        limit: MAX_RELATED + 1,
                        ..AlertFilter::default()
                    },
                )?
                .alerts
                .into_iter()
                .filter(|a| a.id != alert.id)
                .take(MAX_RELATED)
                .collect();
        }
        let prior = store.assessments(tenant, &alert.id)?;
        let related_events = match index {
            Some(ix) => related_events(ix, tenant, &alert, &assets),
            None => Vec::new(),
        };
        let risk = {
            let matched: Vec<&Asset> = assets
                .iter()
                .filter_map(|(k, n)| inventory.find(*k, n))
                .collect();
            score_alert(&AlertFacts {
                alert: &alert,
                rule_status: rule_status.as_deref(),
                assets: matched,
                repeats,
                now,
            })
        };
        Ok(AlertContext {
            alert,
            rule_status,
            inventory,
            assets,
            repeats,
            related,
            related_events,
            prior,
            risk,
        })
    }

    /// The summary returned with an assessment.
    pub fn summary(&self) -> ContextSummary {
        ContextSummary {
            assets: self
                .assets
                .iter()
                .map(|(k, n)| format!("{}:{n}", k.as_str()))
                .collect(),
            assets_in_inventory: self
                .assets
                .iter()
                .filter(|(k, n)| self.inventory.find(*k, n).is_some())
                .count(),
            repeats: self.repeats,
            related_alerts: self.related.len(),
            related_events: self.related_events.len(),
            prior_assessments: self.prior.len(),
            rule_status: self.rule_status.clone(),
        }
    }

    /// The data block for a model (not yet redacted), at most `max_bytes` when
    /// serialized (events are dropped from the end to fit).
    pub fn data(&self, max_events: usize, max_bytes: usize) -> Value {
        let a = &self.alert;
        let events: Vec<Value> = a
            .events
            .iter()
            .take(max_events)
            .map(|e| {
                let mut e = e.clone();
                if let Some(o) = e.as_object_mut() {
                    o.remove("tenant");
                }
                cut(&mut e);
                e
            })
            .collect();
        let assets: Vec<Value> = self
            .assets
            .iter()
            .map(|(k, n)| match self.inventory.find(*k, n) {
                Some(asset) => json!({
                    "kind": k.as_str(),
                    "name": asset.name,
                    "criticality": asset.criticality.map(|c| c.as_str()).unwrap_or("medium"),
                    "exposure": asset.exposure.map(|e| e.as_str()),
                    "owner": asset.owner,
                    "project": asset.project,
                    "vulnerabilities": asset.vulnerabilities.iter().map(|v| {
                        let r = read_vuln(v);
                        json!({"id": v.id, "component": v.component, "cvss_base": r.base,
                               "severity": r.severity.as_str(), "epss": v.epss, "kev": v.kev})
                    }).collect::<Vec<_>>(),
                }),
                None => json!({"kind": k.as_str(), "name": n, "in_inventory": false}),
            })
            .collect();
        let related: Vec<Value> = self
            .related
            .iter()
            .map(|r| {
                json!({"id": r.id, "rule_title": r.rule_title, "level": r.level,
                       "tactics": r.tactics, "techniques": r.techniques,
                       "event_time": r.event_time, "status": r.status})
            })
            .collect();
        let prior: Vec<Value> = self
            .prior
            .iter()
            .map(|p| {
                json!({"at": p.at, "source": p.source, "score": p.score,
                       "severity": p.doc["verdict"]["severity"]})
            })
            .collect();
        let mut data = json!({
            "alert": {
                "id": a.id, "rule_id": a.rule_id, "rule_title": a.rule_title, "level": a.level,
                "rule_status": self.rule_status, "kind": a.kind, "tags": a.tags,
                "techniques": a.techniques, "tactics": a.tactics, "host": a.host,
                "event_time": a.event_time, "event_count": a.event_count, "status": a.status,
                "group": a.group,
            },
            "events": events,
            "related_alerts": related,
            "related_events": self.related_events.iter().map(|e| {
                let mut e = e.clone();
                cut(&mut e);
                e
            }).collect::<Vec<_>>(),
            "assets": assets,
            "prior_assessments": prior,
            "deterministic_risk": {"score": self.risk.score, "band": self.risk.band,
                                   "factors": self.risk.factors},
        });
        cut(&mut data["alert"]);
        fit(&mut data, max_bytes);
        data
    }
}

/// Events of the tenant naming the alert's host (else its first user) within ±1 h,
/// other than the alert's own; a search failure leaves the list empty.
fn related_events(
    ix: &dyn SearchIndex,
    tenant: &TenantId,
    alert: &Alert,
    assets: &[(AssetKind, String)],
) -> Vec<Value> {
    let subject = alert.host.clone().or_else(|| {
        assets
            .iter()
            .find(|(k, _)| *k == AssetKind::User)
            .map(|(_, n)| n.clone())
    });
    let Some(subject) = subject.filter(|s| !s.trim().is_empty()) else {
        return Vec::new();
    };
    // A phrase of the name's words: the name comes from events, so nothing in it may
    // act as query syntax.
    let words: Vec<&str> = subject
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let window = Duration::minutes(EVENT_WINDOW_MINUTES);
    let req = SearchRequest {
        query: format!("\"{}\"", words.join(" ")),
        from: Some(alert.event_time - window),
        to: Some(alert.event_time + window),
        limit: MAX_RELATED_EVENTS + alert.event_ids.len().min(50),
        offset: 0,
        order: SortOrder::default(),
    };
    match ix.search(tenant, &req) {
        Ok(r) => r
            .events
            .into_iter()
            .filter(|e| !alert.event_ids.contains(&e.id.to_string()))
            .take(MAX_RELATED_EVENTS)
            .map(|e| json!({"id": e.id.to_string(), "time": e.time, "source": e.source, "fields": e.fields}))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "related events search failed");
            Vec::new()
        }
    }
}

/// Cuts long strings.
fn cut(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push_str("…[truncated]");
        }
        Value::Array(items) => items.iter_mut().for_each(cut),
        Value::Object(map) => map.values_mut().for_each(cut),
        _ => {}
    }
}

/// Drops events, then related alerts, from the end until the block fits.
fn fit(data: &mut Value, max_bytes: usize) {
    let size = |d: &Value| serde_json::to_string(d).map(|s| s.len()).unwrap_or(0);
    for key in [
        "related_events",
        "events",
        "related_alerts",
        "prior_assessments",
    ] {
        while size(data) > max_bytes {
            let Some(list) = data[key].as_array_mut() else {
                break;
            };
            if list.pop().is_none() {
                break;
            }
            data["omitted"][key] = json!(data["omitted"][key].as_u64().unwrap_or(0) + 1);
        }
    }
}

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
    /// Other events within ±1 h naming one of the alert's processes (its process tree)
    /// or its host (or, without a host, its user), from the search index when one is
    /// available; each carries `relation`.
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
    /// Related events of the same process tree, host or user (±1 h).
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

/// Events of the tenant within ±1 h related to the alert, other than its own: first
/// those naming one of the alert's processes (its process tree: Sysmon `ProcessGuid`,
/// `ParentProcessGuid`, `SourceProcessGuid`, `TargetProcessGuid`, ECS `entity_id`s, so a
/// child or parent on another host or user is found too), then those naming its host
/// (else its first user). Each carries `relation`: `process`, `host` or `user`. A search
/// failure leaves that part empty.
fn related_events(
    ix: &dyn SearchIndex,
    tenant: &TenantId,
    alert: &Alert,
    assets: &[(AssetKind, String)],
) -> Vec<Value> {
    let mut seen: std::collections::HashSet<String> = alert.event_ids.iter().cloned().collect();
    let mut out = Vec::new();
    let mut subjects: Vec<(String, &str)> = process_ids(alert)
        .into_iter()
        .map(|g| (g, "process"))
        .collect();
    match (
        &alert.host,
        assets.iter().find(|(k, _)| *k == AssetKind::User),
    ) {
        (Some(h), _) if !h.trim().is_empty() => subjects.push((h.clone(), "host")),
        (_, Some((_, u))) => subjects.push((u.clone(), "user")),
        _ => {}
    }
    for (subject, relation) in subjects {
        if out.len() >= MAX_RELATED_EVENTS {
            break;
        }
        for e in search_phrase(ix, tenant, alert, &subject) {
            let id = e.id.to_string();
            if out.len() < MAX_RELATED_EVENTS && seen.insert(id.clone()) {
                out.push(json!({"id": id, "time": e.time, "source": e.source,
                                "relation": relation, "fields": e.fields}));
            }
        }
    }
    out
}

/// Names of fields that identify a process across events (compared in lower case;
/// `entity_id` also as the end of a dotted ECS name).
const PROCESS_ID_FIELDS: [&str; 4] = [
    "processguid",
    "parentprocessguid",
    "sourceprocessguid",
    "targetprocessguid",
];

/// Most process identities followed per alert.
const MAX_PROCESS_IDS: usize = 4;

/// The process identities the alert's events carry (distinct, at most
/// [`MAX_PROCESS_IDS`], each with at least 8 letters or digits so a stray short value
/// cannot match half the index).
fn process_ids(alert: &Alert) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let k = k.to_ascii_lowercase();
                    let is_id = PROCESS_ID_FIELDS.contains(&k.as_str()) || k.ends_with("entity_id");
                    match x {
                        Value::String(s) if is_id => {
                            let s = s.trim();
                            if s.chars().filter(|c| c.is_alphanumeric()).count() >= 8
                                && !out.iter().any(|o| o == s)
                            {
                                out.push(s.to_string());
                            }
                        }
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(l) => l.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for e in &alert.events {
        walk(e, &mut out);
    }
    out.truncate(MAX_PROCESS_IDS);
    out
}

/// Events within ±1 h of the alert that contain `text` as a phrase of its words: the
/// text comes from events, so nothing in it may act as query syntax.
fn search_phrase(
    ix: &dyn SearchIndex,
    tenant: &TenantId,
    alert: &Alert,
    text: &str,
) -> Vec<mcpsec_core::Event> {
    let words: Vec<&str> = text
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
        Ok(r) => r.events,
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mcpsec_core::{Event, EventFormat, SourceInfo};
    use mcpsec_store::{IndexItem, TantivyIndex, TantivyOptions};

    const PARENT: &str = "{A98268C1-9C2E-5ACD-0000-0010396CAB00}";
    const CHILD: &str = "{A98268C1-1111-5ACD-0000-00102F7C0B00}";

    fn event(tenant: &TenantId, seq: u64, minute: u32, fields: Value) -> (Event, Vec<u8>) {
        let Value::Object(map) = fields else {
            panic!("object")
        };
        let mut ev = Event::new(
            tenant.clone(),
            SourceInfo::new("test", ""),
            EventFormat::Json,
            map,
        );
        ev.time = Utc
            .with_ymd_and_hms(2026, 1, 1, 10, minute, 0)
            .single()
            .expect("time");
        let raw = serde_json::to_vec(&ev).expect("encode");
        ev.seq = seq;
        (ev, raw)
    }

    fn alert(tenant: &TenantId, ev: &Event) -> Alert {
        let mut a = crate::model::test_alert("critical", &[]);
        a.id = "a1".into();
        a.tenant = tenant.clone();
        a.host = Some("WS042".into());
        a.event_ids = vec![ev.id.to_string()];
        a.events = vec![serde_json::to_value(ev).expect("event json")];
        a.event_time = ev.time;
        a.created_at = ev.time;
        a
    }

    #[test]
    fn related_events_follow_the_process_tree_across_hosts() {
        let dir = tempfile::tempdir().expect("tmp");
        let ix = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("index");
        let t = TenantId::new("a").expect("tenant");
        let other = TenantId::new("b").expect("tenant");
        let evs = vec![
            // the alert's event: rundll32 dumping LSASS, child of PARENT
            event(
                &t,
                1,
                0,
                json!({"Computer": "WS042", "EventData":
                {"ProcessGuid": CHILD, "ParentProcessGuid": PARENT, "Image": "rundll32.exe"}}),
            ),
            // its parent's creation, logged under another host name
            event(
                &t,
                2,
                1,
                json!({"Computer": "ws042-alias", "EventData":
                {"ProcessGuid": PARENT, "Image": "powershell.exe"}}),
            ),
            // a child of the dumping process, on a relay that names no host we know
            event(
                &t,
                3,
                2,
                json!({"Computer": "relay-9", "EventData":
                {"ParentProcessGuid": CHILD, "Image": "cmd.exe"}}),
            ),
            // same host, unrelated process
            event(
                &t,
                4,
                3,
                json!({"Computer": "WS042", "EventData":
                {"ProcessGuid": "{A98268C1-2222-5ACD-0000-001000000000}", "Image": "notepad.exe"}}),
            ),
            // another tenant's event naming the same process: never shown
            event(
                &other,
                5,
                2,
                json!({"Computer": "relay-9", "EventData":
                {"ParentProcessGuid": CHILD, "Image": "b-secret.exe"}}),
            ),
            // the same process two hours later: outside the window
            event(
                &t,
                6,
                0,
                json!({"Computer": "relay-9", "EventData":
                {"ParentProcessGuid": CHILD, "Image": "late.exe"}}),
            ),
        ];
        let mut evs = evs;
        evs[5].0.time += Duration::hours(2);
        let items: Vec<IndexItem<'_>> = evs
            .iter()
            .map(|(e, r)| IndexItem { event: e, raw: r })
            .collect();
        ix.add(&items, 6).expect("add");
        ix.commit().expect("commit");

        let a = alert(&t, &evs[0].0);
        let mut ids = process_ids(&a);
        ids.sort();
        let mut want = [CHILD, PARENT];
        want.sort();
        assert_eq!(ids, want);
        let got = related_events(&ix, &t, &a, &[]);
        let image = |e: &Value| {
            e["fields"]["EventData"]["Image"]
                .as_str()
                .map(str::to_string)
        };
        let by_relation = |rel: &str| -> Vec<String> {
            let mut l: Vec<String> = got
                .iter()
                .filter(|e| e["relation"] == rel)
                .filter_map(image)
                .collect();
            l.sort();
            l
        };
        assert_eq!(
            by_relation("process"),
            ["cmd.exe", "powershell.exe"],
            "{got:#?}"
        );
        assert_eq!(by_relation("host"), ["notepad.exe"], "{got:#?}");
        assert_eq!(
            got.len(),
            3,
            "each event once, the alert's own left out: {got:#?}"
        );
    }

    #[test]
    fn short_or_odd_process_values_are_not_followed() {
        let t = TenantId::new("a").expect("tenant");
        let (ev, _) = event(
            &t,
            1,
            0,
            json!({"EventData": {"ProcessGuid": "{0}", "ProcessId": 4102},
            "process": {"entity_id": "c2Vzc2lvbi0xMjM0NTY=", "parent": {"entity_id": 7}}}),
        );
        let a = alert(&t, &ev);
        assert_eq!(process_ids(&a), ["c2Vzc2lvbi0xMjM0NTY="]);
    }
}

//! The score of one alert.

use super::weights::{self as w, lookup};
use super::{Factor, RiskScore, finish, tactic_points, worst_vuln};
use crate::asset::{Asset, AssetKind, Inventory};
use chrono::{DateTime, Utc};
use mcpsec_core::get_path;
use mcpsec_store::{Alert, AlertKind, AlertStatus};
use serde_json::Value;

/// Event fields naming a user, most specific first.
const USER_FIELDS: &[&str] = &[
    "user.name",
    "TargetUserName",
    "SubjectUserName",
    "UserName",
    "User",
    "user",
    "username",
    "AccountName",
    "Event.EventData.TargetUserName",
    "Event.EventData.SubjectUserName",
];

/// Event fields naming a service or application.
const SERVICE_FIELDS: &[&str] = &[
    "service.name",
    "ServiceName",
    "service",
    "app",
    "appname",
    "program",
    "Event.EventData.ServiceName",
];

/// Values that name nobody.
const PLACEHOLDERS: &[&str] = &["-", "n/a", "none", "null", "unknown"];

/// What the model knows about one alert besides the alert itself.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// The Sigma status of its rule (`stable`, `test`...), when known.
    pub rule_status: Option<&'a str>,
    /// Inventory assets the alert touches (see [`alert_assets`]).
    pub assets: Vec<&'a Asset>,
    /// Earlier alerts of the same rule on the same host within the repetition window.
    pub repeats: u32,
    /// The time the score is computed for.
    pub now: DateTime<Utc>,
}

fn field_values(alert: &Alert, paths: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ev in alert.events.iter().take(50) {
        let Some(obj) = ev
            .get("fields")
            .and_then(Value::as_object)
            .or_else(|| ev.as_object())
        else {
            continue;
        };
        for p in paths {
            if let Some(Value::String(s)) = get_path(obj, p) {
                let s = s.trim();
                if !s.is_empty()
                    && s.len() <= 256
                    && !PLACEHOLDERS.iter().any(|x| x.eq_ignore_ascii_case(s))
                    && !out.iter().any(|o| o.eq_ignore_ascii_case(s))
                {
                    out.push(s.to_owned());
                }
                break;
            }
        }
    }
    out
}

/// The assets an alert names: its host, the users and services of its events, and the
/// projects the matching inventory assets belong to. Names not in the inventory are kept
/// (so per-asset aggregation covers them too, at the default weights).
pub fn alert_assets(alert: &Alert, inventory: &Inventory) -> Vec<(AssetKind, String)> {
    fn push(
        out: &mut Vec<(AssetKind, String)>,
        inventory: &Inventory,
        kind: AssetKind,
        name: String,
    ) {
        // The inventory's spelling, so that aliases aggregate onto one asset.
        let name = inventory
            .find(kind, &name)
            .map(|a| a.name.clone())
            .unwrap_or(name);
        if !out
            .iter()
            .any(|(k, n)| *k == kind && n.eq_ignore_ascii_case(&name))
        {
            out.push((kind, name));
        }
    }
    let mut out: Vec<(AssetKind, String)> = Vec::new();
    if let Some(h) = alert.host.as_ref().filter(|h| !h.trim().is_empty()) {
        push(&mut out, inventory, AssetKind::Host, h.clone());
    }
    for u in field_values(alert, USER_FIELDS) {
        push(&mut out, inventory, AssetKind::User, u);
    }
    for s in field_values(alert, SERVICE_FIELDS) {
        push(&mut out, inventory, AssetKind::Service, s);
    }
    let projects: Vec<String> = out
        .iter()
        .filter_map(|(k, n)| inventory.find(*k, n).and_then(|a| a.project.clone()))
        .collect();
    for p in projects {
        push(&mut out, inventory, AssetKind::Project, p);
    }
    out
}

/// The confidence multiplier of a rule status (unknown statuses: [`w::CONFIDENCE_UNKNOWN`]).
pub fn rule_confidence(status: Option<&str>) -> f64 {
    status
        .and_then(|s| lookup(w::CONFIDENCE, s.trim()))
        .unwrap_or(w::CONFIDENCE_UNKNOWN)
}

/// Scores one alert (see docs/risk.md for the model and its weights).
pub fn score_alert(f: &AlertFacts<'_>) -> RiskScore {
    let a = f.alert;
    let mut factors = Vec::new();

    let level = a.level.to_ascii_lowercase();
    let (level_name, sev) = match lookup(w::SEVERITY, &level) {
        Some(p) => (level.clone(), p),
        None => ("informational".to_owned(), 5.0),
    };
    let (status, conf, conf_reason) = match f.rule_status.map(|s| s.trim().to_ascii_lowercase()) {
        Some(s) => match lookup(w::CONFIDENCE, &s) {
            Some(c) => (s.clone(), c, format!("Sigma rule status {s}")),
            None => (s, w::CONFIDENCE_UNKNOWN, "unrecognised rule status".into()),
        },
        None => (
            "unknown".into(),
            w::CONFIDENCE_UNKNOWN,
            "rule status unknown".into(),
        ),
    };
    factors.push(Factor::points(
        "severity",
        level_name.clone(),
        sev * conf,
        format!(
            "{sev} points for level {level_name} × confidence {conf} ({conf_reason}: {status})"
        ),
    ));

    match tactic_points(&a.tactics) {
        Some((t, p)) => factors.push(Factor::points(
            "attack_stage",
            t.clone(),
            p,
            format!("latest ATT&CK tactic tagged is {t}"),
        )),
        None => factors.push(Factor::points(
            "attack_stage",
            "none",
            0.0,
            "no ATT&CK tactic tagged",
        )),
    }

    if f.repeats > 0 {
        let p = (f.repeats as f64 * w::REPEAT_POINTS).min(w::REPEAT_MAX);
        factors.push(Factor::points(
            "repetition",
            f.repeats.to_string(),
            p,
            format!(
                "{} earlier alert(s) of this rule on this host in {} h",
                f.repeats,
                w::REPEAT_WINDOW_HOURS
            ),
        ));
    }
    if a.kind == AlertKind::Correlation {
        factors.push(Factor::points(
            "correlation",
            a.event_count.to_string(),
            w::CORRELATION_POINTS,
            format!("correlation of {} events", a.event_count),
        ));
    }
    if let Some(v) = worst_vuln(f.assets.iter().flat_map(|a| &a.vulnerabilities)) {
        let mut why = format!("worst vulnerability {} base {}", v.id, v.base);
        if v.kev {
            why.push_str(", in CISA KEV");
        } else if let Some(e) = v.epss {
            why.push_str(&format!(", EPSS {e}"));
        }
        why.push_str(&format!(", risk {} × {}", v.risk, w::VULN_WEIGHT));
        factors.push(Factor::points(
            "vulnerability",
            v.id.clone(),
            v.risk * w::VULN_WEIGHT,
            why,
        ));
    }

    let crit = f
        .assets
        .iter()
        .map(|a| {
            let c = a.criticality.unwrap_or(crate::asset::Criticality::Medium);
            (c, a)
        })
        .max_by_key(|(c, _)| *c);
    match crit {
        Some((c, asset)) => factors.push(Factor::multiplier(
            "criticality",
            c.as_str(),
            lookup(w::CRITICALITY, c.as_str()).unwrap_or(w::CRITICALITY_UNKNOWN),
            format!(
                "{} {} is {} criticality",
                asset.kind.as_str(),
                asset.name,
                c.as_str()
            ),
        )),
        None => factors.push(Factor::multiplier(
            "criticality",
            "unknown",
            w::CRITICALITY_UNKNOWN,
            "no asset of the alert is in the inventory: medium assumed",
        )),
    }
    let exposure = f
        .assets
        .iter()
        .filter_map(|a| a.exposure.map(|e| (e, a)))
        .max_by_key(|(e, _)| *e);
    match exposure {
        Some((e, asset)) => factors.push(Factor::multiplier(
            "exposure",
            e.as_str(),
            lookup(w::EXPOSURE, e.as_str()).unwrap_or(w::EXPOSURE_UNKNOWN),
            format!(
                "{} {} is exposed: {}",
                asset.kind.as_str(),
                asset.name,
                e.as_str()
            ),
        )),
        None => factors.push(Factor::multiplier(
            "exposure",
            "unknown",
            w::EXPOSURE_UNKNOWN,
            "exposure unknown",
        )),
    }

    let age_h = (f.now - a.event_time).num_seconds().max(0) as f64 / 3600.0;
    let recency = if age_h <= w::FRESH_HOURS {
        1.0
    } else {
        0.5f64
            .powf((age_h - w::FRESH_HOURS) / w::HALF_LIFE_HOURS)
            .max(w::RECENCY_FLOOR)
    };
    factors.push(Factor::multiplier(
        "recency",
        format!("{age_h:.1} h"),
        recency,
        if recency >= 1.0 {
            format!("event is less than {} h old", w::FRESH_HOURS)
        } else {
            format!(
                "event is {age_h:.0} h old: halves every {} h after the first {}, floor {}",
                w::HALF_LIFE_HOURS,
                w::FRESH_HOURS,
                w::RECENCY_FLOOR
            )
        },
    ));
    match a.status {
        AlertStatus::Closed => factors.push(Factor::multiplier(
            "triage",
            "closed",
            w::CLOSED,
            "alert is closed",
        )),
        AlertStatus::FalsePositive => factors.push(Factor::multiplier(
            "triage",
            "false_positive",
            w::FALSE_POSITIVE,
            "alert is marked false positive",
        )),
        AlertStatus::Open | AlertStatus::Acknowledged => {}
    }
    finish(factors)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::asset::{AssetVuln, Criticality, Exposure};
    use chrono::Duration;
    use mcpsec_core::TenantId;
    use serde_json::json;

    /// An open alert of rule `r1` on `ws1.corp` (user alice), raised now.
    pub(crate) fn alert(level: &str, tactics: &[&str]) -> Alert {
        let now = Utc::now();
        Alert {
            id: "01A".into(),
            tenant: TenantId::default_tenant(),
            kind: AlertKind::Rule,
            rule_id: "r1".into(),
            rule_title: "Rule".into(),
            rule_version: 0,
            level: level.into(),
            tags: vec![],
            techniques: vec![],
            tactics: tactics.iter().map(|s| s.to_string()).collect(),
            host: Some("ws1.corp".into()),
            event_ids: vec![],
            events: vec![json!({"fields": {"TargetUserName": "alice", "program": "sshd"}})],
            event_count: 1,
            group: None,
            event_time: now,
            created_at: now,
            seq: 1,
            status: AlertStatus::Open,
            status_by: None,
            status_at: None,
        }
    }

    fn facts<'a>(a: &'a Alert, assets: Vec<&'a Asset>) -> AlertFacts<'a> {
        AlertFacts {
            alert: a,
            rule_status: Some("stable"),
            assets,
            repeats: 0,
            now: a.event_time,
        }
    }

    fn host(crit: Criticality, exp: Exposure, vulns: Vec<AssetVuln>) -> Asset {
        Asset {
            kind: AssetKind::Host,
            name: "ws1.corp".into(),
            aliases: vec![],
            criticality: Some(crit),
            exposure: Some(exp),
            owner: None,
            project: Some("payments".into()),
            tags: vec![],
            vulnerabilities: vulns,
        }
    }

    #[test]
    fn the_factors_explain_the_score_exactly() {
        let a = alert("critical", &["credential-access"]);
        let h = host(Criticality::High, Exposure::Internal, vec![]);
        let s = score_alert(&facts(&a, vec![&h]));
        // (80 × 1.0 + 12) × 1.0 × 0.9 × 1.0 = 82.8
        assert_eq!(s.score, 83, "{s:#?}");
        assert_eq!(s.band, "critical");
        let points: f64 = s.factors.iter().filter_map(|f| f.points).sum();
        let mult: f64 = s.factors.iter().filter_map(|f| f.multiplier).product();
        assert_eq!((points.min(100.0) * mult).round() as u8, s.score);
        let names: Vec<&str> = s.factors.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "severity",
                "attack_stage",
                "criticality",
                "exposure",
                "recency"
            ]
        );
    }

    #[test]
    fn scores_rise_with_severity_and_stay_within_0_to_100() {
        let h = host(
            Criticality::Critical,
            Exposure::Internet,
            vec![AssetVuln {
                id: "CVE-X".into(),
                component: None,
                cvss: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into()),
                score: None,
                epss: None,
                kev: true,
            }],
        );
        let plain = host(Criticality::Low, Exposure::Internal, vec![]);
        for assets in [vec![], vec![&plain], vec![&h]] {
            for tactics in [&[][..], &["impact"][..]] {
                let mut last = None;
                for level in ["informational", "low", "medium", "high", "critical"] {
                    let mut a = alert(level, tactics);
                    a.kind = AlertKind::Correlation;
                    let mut f = facts(&a, assets.clone());
                    f.repeats = 100;
                    let s = score_alert(&f).score;
                    assert!(s <= 100);
                    if let Some(prev) = last {
                        assert!(s >= prev, "{level}: {s} < {prev}");
                    }
                    last = Some(s);
                }
            }
        }
        // Below the cap, strictly rising.
        let levels = ["informational", "low", "medium", "high", "critical"];
        let scores: Vec<u8> = levels
            .iter()
            .map(|l| score_alert(&facts(&alert(l, &[]), vec![&plain])).score)
            .collect();
        assert!(scores.windows(2).all(|w| w[0] < w[1]), "{scores:?}");
        let maxed = score_alert(&{
            let a = Box::leak(Box::new(alert("critical", &["impact"])));
            let mut f = facts(a, vec![&h]);
            f.repeats = 9;
            f
        });
        assert_eq!(maxed.score, 100);
        assert!(maxed.threat_points > 100.0);
    }

    #[test]
    fn confidence_recency_triage_and_unknown_levels() {
        let base = alert("high", &[]);
        let stable = score_alert(&facts(&base, vec![])).score;
        let mut f = facts(&base, vec![]);
        f.rule_status = Some("experimental");
        assert!(score_alert(&f).score < stable);
        f.rule_status = None;
        let unknown = score_alert(&f);
        assert!(unknown.factors[0].reason.contains("unknown"));

        let mut old = alert("high", &[]);
        old.event_time -= Duration::days(60);
        let mut f = facts(&old, vec![]);
        f.now = base.event_time;
        let s = score_alert(&f);
        let rec = s
            .factors
            .iter()
            .find(|x| x.name == "recency")
            .expect("recency");
        assert_eq!(rec.multiplier, Some(0.3));

        let mut fp = alert("critical", &["impact"]);
        fp.status = AlertStatus::FalsePositive;
        assert_eq!(score_alert(&facts(&fp, vec![])).score, 0);
        let mut closed = alert("critical", &[]);
        closed.status = AlertStatus::Closed;
        assert!(
            score_alert(&facts(&closed, vec![])).score
                < score_alert(&facts(&alert("critical", &[]), vec![])).score
        );

        let weird = alert("URGENT!!", &["made-up"]);
        let s = score_alert(&facts(&weird, vec![]));
        assert_eq!(s.factors[0].input, "informational");
        let mut future = alert("low", &[]);
        future.event_time += Duration::days(3);
        let mut f = facts(&future, vec![]);
        f.now = base.event_time;
        assert!(score_alert(&f).score <= 100);
    }

    #[test]
    fn assets_come_from_host_users_services_and_projects() {
        let inv = Inventory::new(vec![host(Criticality::High, Exposure::Dmz, vec![])]);
        let mut a = alert("low", &[]);
        a.host = Some("WS1".into());
        a.events
            .push(json!({"fields": {"user": {"name": "ALICE"}}}));
        a.events.push(json!({"fields": {"TargetUserName": "-"}}));
        let got = alert_assets(&a, &inv);
        assert_eq!(
            got,
            vec![
                (AssetKind::Host, "ws1.corp".to_string()),
                (AssetKind::User, "alice".to_string()),
                (AssetKind::Service, "sshd".to_string()),
                (AssetKind::Project, "payments".to_string()),
            ]
        );
    }
}

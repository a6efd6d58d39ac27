//! The parts of a report beyond the executive summary's event figures: alert triage
//! (response times, what waits) and detection coverage (an ATT&CK matrix), and the
//! plain [`Table`]s every format draws them from.

use crate::model::{Count, ReportData};
use crate::templates::thousands;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Durations of one kind of response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Alerts measured.
    pub count: u64,
    /// Mean in seconds (`None`: nothing measured).
    pub mean_seconds: Option<f64>,
    /// Median in seconds.
    pub median_seconds: Option<f64>,
    /// 90th percentile in seconds.
    pub p90_seconds: Option<f64>,
}

/// An alert still waiting for someone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingAlert {
    /// Alert id.
    pub id: String,
    /// Rule title.
    pub rule: String,
    /// Level.
    pub level: String,
    /// Host, if named.
    pub host: Option<String>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
}

/// How alerts were handled in the period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Triage {
    /// Alerts by status (`open`, `acknowledged`, `closed`, `false_positive`).
    pub by_status: Vec<Count>,
    /// Hosts with most alerts.
    pub top_hosts: Vec<Count>,
    /// Raised → first answered (acknowledged, closed or false positive): MTTA.
    pub time_to_answer: Timing,
    /// Raised → closed or false positive: MTTR.
    pub time_to_resolve: Timing,
    /// Alerts called false positives.
    pub false_positives: u64,
    /// Open alerts, oldest first.
    pub oldest_open: Vec<WaitingAlert>,
}

/// One technique in a tactic's column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueCell {
    /// Technique id (`T1059`); sub-techniques roll up into their parent.
    pub id: String,
    /// Sub-techniques the rules name (`T1059.001`).
    pub subtechniques: Vec<String>,
    /// Deployed rules tagged with it.
    pub rules: u64,
    /// Alerts in the period that carry it.
    pub alerts: u64,
}

/// One tactic's column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TacticColumn {
    /// Short name (`credential-access`), or `unmapped` for techniques no rule places.
    pub id: String,
    /// Display name (`Credential Access`).
    pub name: String,
    /// Its techniques, most rules first.
    pub techniques: Vec<TechniqueCell>,
}

/// What the deployed rules can see, by ATT&CK tactic and technique.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Rules deployed for the tenant.
    pub rules: u64,
    /// Of those, rules with at least one ATT&CK technique tag.
    pub rules_with_technique: u64,
    /// Distinct (parent) techniques covered by some rule.
    pub techniques_covered: u64,
    /// Distinct (parent) techniques that raised an alert in the period.
    pub techniques_fired: u64,
    /// The matrix, tactics in kill-chain order, only those with a technique.
    pub tactics: Vec<TacticColumn>,
}

/// `credential-access` → `Credential Access`, `command-and-control` → `Command and Control`.
pub fn tactic_name(id: &str) -> String {
    id.split('-')
        .enumerate()
        .map(|(i, w)| match w {
            "and" if i > 0 => "and".to_owned(),
            _ => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `T1059.001` → `T1059`.
fn parent(technique: &str) -> &str {
    technique.split('.').next().unwrap_or(technique)
}

#[derive(Default)]
struct Cell {
    subs: BTreeSet<String>,
    rules: u64,
}

/// Builds a [`Coverage`] from the deployed rules' ATT&CK tags and the alert counts.
#[derive(Default)]
pub struct CoverageBuilder {
    order: Vec<String>,
    cells: BTreeMap<(String, String), Cell>,
    rules: u64,
    with_technique: u64,
}

impl CoverageBuilder {
    /// A builder whose tactic columns follow `tactic_order` (kill-chain order).
    pub fn new(tactic_order: &[&str]) -> Self {
        CoverageBuilder {
            order: tactic_order.iter().map(|s| (*s).to_owned()).collect(),
            ..CoverageBuilder::default()
        }
    }

    /// Adds one deployed rule by its technique ids and tactic names. A rule with
    /// techniques but no tactic lands in the `unmapped` column.
    pub fn add_rule(&mut self, techniques: &[String], tactics: &[String]) {
        self.rules += 1;
        if techniques.is_empty() {
            return;
        }
        self.with_technique += 1;
        let unmapped = ["unmapped".to_owned()];
        let tactics = if tactics.is_empty() {
            &unmapped[..]
        } else {
            tactics
        };
        // One count per (tactic, parent) per rule, whatever the number of sub-techniques.
        let mut seen = BTreeSet::new();
        for tactic in tactics {
            for t in techniques {
                let key = (tactic.clone(), parent(t).to_owned());
                let cell = self.cells.entry(key.clone()).or_default();
                if t.contains('.') {
                    cell.subs.insert(t.clone());
                }
                if seen.insert(key) {
                    cell.rules += 1;
                }
            }
        }
    }

    /// The matrix, with `alerts` (`(technique id, alerts)` as stored) counted into every
    /// cell of the technique's parent; techniques that fired without a deployed rule
    /// (a rule since removed) land in `unmapped`.
    pub fn finish(self, alerts: &[(String, u64)]) -> Coverage {
        let mut fired: BTreeMap<String, u64> = BTreeMap::new();
        for (t, n) in alerts {
            *fired.entry(parent(t).to_ascii_uppercase()).or_default() += n;
        }
        let mut cells = self.cells;
        let covered: BTreeSet<String> = cells.keys().map(|(_, t)| t.clone()).collect();
        for t in fired.keys() {
            if !covered.contains(t) {
                cells.insert(("unmapped".to_owned(), t.clone()), Cell::default());
            }
        }
        let mut columns: BTreeMap<String, Vec<TechniqueCell>> = BTreeMap::new();
        for ((tactic, id), cell) in cells {
            columns.entry(tactic).or_default().push(TechniqueCell {
                alerts: fired.get(&id).copied().unwrap_or(0),
                subtechniques: cell.subs.into_iter().collect(),
                rules: cell.rules,
                id,
            });
        }
        let rank = |t: &str| {
            self.order
                .iter()
                .position(|o| o == t)
                .unwrap_or(self.order.len())
        };
        let mut tactics: Vec<TacticColumn> = columns
            .into_iter()
            .map(|(id, mut techniques)| {
                techniques.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.id.cmp(&b.id)));
                TacticColumn {
                    name: tactic_name(&id),
                    id,
                    techniques,
                }
            })
            .collect();
        tactics.sort_by(|a, b| rank(&a.id).cmp(&rank(&b.id)).then(a.id.cmp(&b.id)));
        Coverage {
            rules: self.rules,
            rules_with_technique: self.with_technique,
            techniques_covered: covered.len() as u64,
            techniques_fired: fired.len() as u64,
            tactics,
        }
    }
}

/// A table of a report: every format but the HTML heat map draws from these.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Heading.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Whether each column holds numbers (right-aligned, numeric cells in XLSX).
    pub numeric: Vec<bool>,
    /// Rows of cell text.
    pub rows: Vec<Vec<String>>,
    /// What to say when there are no rows.
    pub empty: String,
}

impl Table {
    /// An empty table: `columns` are `(heading, numeric)`, `empty` what to say when no row
    /// is added.
    pub(crate) fn new(title: &str, columns: &[(&str, bool)], empty: &str) -> Self {
        Table {
            title: title.to_owned(),
            columns: columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
            numeric: columns.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
            empty: empty.to_owned(),
        }
    }

    fn counts(title: &str, head: (&str, &str), items: &[Count], empty: &str) -> Self {
        let mut t = Table::new(title, &[(head.0, false), (head.1, true)], empty);
        t.rows = items
            .iter()
            .map(|c| vec![c.name.clone(), thousands(c.count)])
            .collect();
        t
    }
}

/// `3725.0` seconds → `1 h 2 min`; `42.0` → `42 s`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn timing_row(name: &str, t: &Timing) -> Vec<String> {
    let show = |v: Option<f64>| v.map(human_duration).unwrap_or_else(|| "–".to_owned());
    vec![
        name.to_owned(),
        thousands(t.count),
        show(t.mean_seconds),
        show(t.median_seconds),
        show(t.p90_seconds),
    ]
}

/// The headline figures of a triage, coverage or supply report, as `(name, value)`.
pub fn key_figures(r: &ReportData) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let show = |v: Option<f64>| v.map(human_duration).unwrap_or_else(|| "–".to_owned());
    if let Some(t) = &r.triage {
        let open = t
            .by_status
            .iter()
            .find(|c| c.name == "open")
            .map_or(0, |c| c.count);
        out.push(("Alerts".to_owned(), thousands(r.alerts.total)));
        out.push(("Still open".to_owned(), thousands(open)));
        out.push((
            "Mean time to answer".to_owned(),
            show(t.time_to_answer.mean_seconds),
        ));
        out.push((
            "Mean time to resolve".to_owned(),
            show(t.time_to_resolve.mean_seconds),
        ));
        out.push(("False positives".to_owned(), thousands(t.false_positives)));
    }
    if let Some(c) = &r.coverage {
        out.push(("Rules deployed".to_owned(), thousands(c.rules)));
        out.push((
            "Rules with a technique".to_owned(),
            thousands(c.rules_with_technique),
        ));
        out.push((
            "Techniques covered".to_owned(),
            thousands(c.techniques_covered),
        ));
        out.push((
            "Techniques that fired".to_owned(),
            thousands(c.techniques_fired),
        ));
    }
    if let Some(s) = &r.supply {
        crate::supply::key_figures(s, &mut out);
    }
    if let Some(k) = &r.risk {
        crate::risk::key_figures(k, &mut out);
    }
    if let Some(x) = &r.response {
        crate::response::key_figures(x, &mut out);
    }
    if let Some(c) = &r.compliance {
        crate::compliance::key_figures(c, &mut out);
    }
    out
}

/// The tables of the report's triage, coverage and supply parts (empty for the executive
/// summary, whose layout each format draws itself).
pub fn tables(r: &ReportData) -> Vec<Table> {
    let mut out = Vec::new();
    let no_alerts = "No alerts in this period.";
    if let Some(t) = &r.triage {
        let mut times = Table::new(
            "Response times",
            &[
                ("Measure", false),
                ("Alerts", true),
                ("Mean", true),
                ("Median", true),
                ("90th percentile", true),
            ],
            no_alerts,
        );
        times.rows = vec![
            timing_row("Time to answer (MTTA)", &t.time_to_answer),
            timing_row("Time to resolve (MTTR)", &t.time_to_resolve),
        ];
        out.push(times);
        out.push(Table::counts(
            "Alerts by status",
            ("Status", "Alerts"),
            &t.by_status,
            no_alerts,
        ));
        out.push(Table::counts(
            "Alerts by level",
            ("Level", "Alerts"),
            &r.alerts.by_level,
            no_alerts,
        ));
        out.push(Table::counts(
            "Top rules",
            ("Rule", "Alerts"),
            &r.alerts.top_rules,
            no_alerts,
        ));
        out.push(Table::counts(
            "Top hosts",
            ("Host", "Alerts"),
            &t.top_hosts,
            "No alert named a host.",
        ));
        let mut wait = Table::new(
            "Open alerts waiting longest",
            &[
                ("Rule", false),
                ("Level", false),
                ("Host", false),
                ("Raised (UTC)", false),
            ],
            "No alert is waiting.",
        );
        wait.rows = t
            .oldest_open
            .iter()
            .map(|a| {
                vec![
                    a.rule.clone(),
                    a.level.clone(),
                    a.host.clone().unwrap_or_default(),
                    a.created_at.format("%Y-%m-%d %H:%M").to_string(),
                ]
            })
            .collect();
        out.push(wait);
    }
    if let Some(c) = &r.coverage {
        let mut t = Table::new(
            "Coverage by tactic",
            &[
                ("Tactic", false),
                ("Techniques", true),
                ("Rules", true),
                ("Alerts", true),
            ],
            "No deployed rule carries an ATT&CK technique tag.",
        );
        t.rows = c
            .tactics
            .iter()
            .map(|col| {
                vec![
                    col.name.clone(),
                    col.techniques.len().to_string(),
                    thousands(col.techniques.iter().map(|x| x.rules).sum()),
                    thousands(col.techniques.iter().map(|x| x.alerts).sum()),
                ]
            })
            .collect();
        out.push(t);
        let mut cells = Table::new(
            "Techniques",
            &[
                ("Tactic", false),
                ("Technique", false),
                ("Rules", true),
                ("Alerts", true),
            ],
            "No deployed rule carries an ATT&CK technique tag.",
        );
        for col in &c.tactics {
            for x in &col.techniques {
                cells.rows.push(vec![
                    col.name.clone(),
                    x.id.clone(),
                    thousands(x.rules),
                    thousands(x.alerts),
                ]);
            }
        }
        out.push(cells);
    }
    if let Some(s) = &r.supply {
        crate::supply::tables(s, &mut out);
    }
    if let Some(k) = &r.risk {
        crate::risk::tables(k, &mut out);
    }
    if let Some(x) = &r.response {
        crate::response::tables(x, &mut out);
    }
    if let Some(c) = &r.compliance {
        crate::compliance::tables(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn matrix_rolls_up_subtechniques_and_orders_tactics() {
        let mut b = CoverageBuilder::new(&["execution", "persistence", "credential-access"]);
        b.add_rule(&v(&["T1059.001", "T1059.003"]), &v(&["execution"]));
        b.add_rule(&v(&["T1059"]), &v(&["execution"]));
        b.add_rule(&v(&["T1003.001"]), &v(&["credential-access"]));
        b.add_rule(&v(&["T1547"]), &[]);
        b.add_rule(&[], &v(&["persistence"]));
        let c = b.finish(&[("T1059.001".into(), 3), ("T1021".into(), 2)]);
        assert_eq!(c.rules, 5);
        assert_eq!(c.rules_with_technique, 4);
        assert_eq!(c.techniques_covered, 3);
        assert_eq!(c.techniques_fired, 2);
        let ids: Vec<&str> = c.tactics.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["execution", "credential-access", "unmapped"]);
        let exec = &c.tactics[0].techniques[0];
        assert_eq!(exec.id, "T1059");
        assert_eq!(exec.rules, 2);
        assert_eq!(exec.alerts, 3);
        assert_eq!(exec.subtechniques, v(&["T1059.001", "T1059.003"]));
        // T1021 fired with no rule left that covers it; T1547 has no tactic tag.
        let unmapped: Vec<(&str, u64, u64)> = c.tactics[2]
            .techniques
            .iter()
            .map(|t| (t.id.as_str(), t.rules, t.alerts))
            .collect();
        assert_eq!(unmapped, [("T1547", 1, 0), ("T1021", 0, 2)]);
    }

    #[test]
    fn names_and_durations_read_well() {
        assert_eq!(tactic_name("command-and-control"), "Command and Control");
        assert_eq!(tactic_name("initial-access"), "Initial Access");
        assert_eq!(human_duration(42.4), "42 s");
        assert_eq!(human_duration(3725.0), "1 h 2 min");
        assert_eq!(human_duration(90_000.0), "1 d 1 h");
        assert_eq!(human_duration(-3.0), "0 s");
    }
}

//! CSV: one `section,name,value` row per figure, so one file holds every table and a
//! spreadsheet filter on `section` picks one out.

use crate::model::{Count, ReportData};
use crate::sections::{key_figures, tables};
use std::fmt::Write as _;

/// Quotes a field when it holds a separator, a quote or a line break, and defuses
/// leading `=`, `+`, `-`, `@` so spreadsheets do not run names as formulas.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn row(out: &mut String, section: &str, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{},{},{}", field(section), field(name), value);
}

fn counts(out: &mut String, section: &str, items: &[Count]) {
    for c in items {
        row(out, section, &c.name, c.count);
    }
}

/// The report as CSV text.
pub(crate) fn render(r: &ReportData) -> String {
    let mut out = String::from("section,name,value\n");
    let p = &r.period;
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    row(&mut out, "report", "kind", field(&r.kind));
    row(&mut out, "report", "tenant", field(&r.tenant));
    row(
        &mut out,
        "report",
        "generated_at",
        r.generated_at.to_rfc3339(),
    );
    row(&mut out, "period", "from", time(p.from));
    row(&mut out, "period", "to", time(p.to));
    row(&mut out, "period", "first_event", time(p.first_event));
    row(&mut out, "period", "last_event", time(p.last_event));
    if !crate::needs_events(&r.kind) {
        for (name, value) in key_figures(r) {
            row(&mut out, "figures", &name, field(&value));
        }
        // Wide tables give one row per cell: section `<table>: <column>`, name the
        // row's first cell.
        for t in tables(r) {
            for cells in &t.rows {
                let name = cells.first().map(String::as_str).unwrap_or_default();
                for (c, value) in cells.iter().enumerate().skip(1) {
                    let col = t.columns.get(c).map(String::as_str).unwrap_or_default();
                    let section = if t.columns.len() == 2 {
                        t.title.clone()
                    } else {
                        format!("{}: {col}", t.title)
                    };
                    let plain = value.replace(',', "");
                    let numeric = t.numeric.get(c).copied().unwrap_or(false);
                    if numeric && plain.parse::<f64>().is_ok() {
                        row(&mut out, &section, name, plain);
                    } else {
                        row(&mut out, &section, name, field(value));
                    }
                }
            }
        }
        return out;
    }
    let e = &r.events;
    row(&mut out, "totals", "events", e.total);
    row(&mut out, "totals", "distinct_hosts", e.distinct_hosts);
    row(&mut out, "totals", "events_without_host", e.without_host);
    row(&mut out, "totals", "alerts", r.alerts.total);
    counts(&mut out, "events_by_source", &e.by_source);
    counts(&mut out, "events_by_format", &e.by_format);
    counts(&mut out, "top_hosts", &e.top_hosts);
    counts(&mut out, "top_sources", &e.top_sources);
    for b in &e.histogram.buckets {
        row(&mut out, "histogram", &b.start.to_rfc3339(), b.count);
    }
    counts(&mut out, "alerts_by_level", &r.alerts.by_level);
    counts(&mut out, "top_rules", &r.alerts.top_rules);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        assert_eq!(field("-1,2"), "\"'-1,2\"");
    }
}

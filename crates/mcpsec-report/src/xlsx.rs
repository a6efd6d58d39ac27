//! XLSX output with `rust_xlsxwriter`: a summary sheet, one sheet per table and a
//! native column chart of the events over time.

use crate::error::ReportError;
use crate::model::{Count, ReportData};
use crate::sections::{Table, key_figures, tables};
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

fn err(e: XlsxError) -> ReportError {
    ReportError::Render(format!("xlsx: {e}"))
}

/// A sheet of names and counts. Names go in with `write_string`, so a name such as
/// `=cmd()` stays text and is never a formula.
fn counts_sheet(
    wb: &mut Workbook,
    name: &str,
    head: (&str, &str),
    items: &[Count],
    empty: &str,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet().set_name(name)?;
    ws.write_string_with_format(0, 0, head.0, &bold)?;
    ws.write_string_with_format(0, 1, head.1, &bold)?;
    ws.set_column_width(0, 48)?;
    ws.set_column_width(1, 14)?;
    if items.is_empty() {
        ws.write_string(1, 0, empty)?;
    }
    for (i, c) in items.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &c.name)?;
        ws.write_number(row, 1, c.count as f64)?;
    }
    Ok(())
}

fn summary(ws: &mut Worksheet, r: &ReportData) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    ws.set_column_width(0, 28)?;
    ws.set_column_width(1, 40)?;
    ws.write_string_with_format(0, 0, &r.title, &bold)?;
    let e = &r.events;
    let rows: [(&str, String); 9] = [
        ("Tenant", r.tenant.clone()),
        ("Period", r.period.label()),
        (
            "Generated",
            r.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("Events", e.total.to_string()),
        ("Distinct hosts", e.distinct_hosts.to_string()),
        ("Events that named no host", e.without_host.to_string()),
        ("Source kinds", e.by_source.len().to_string()),
        ("Alerts", r.alerts.total.to_string()),
        (
            "Note",
            match (e.total, r.alerts.total) {
                (0, _) => "No events in this period.".to_owned(),
                (_, 0) => "No alerts in this period.".to_owned(),
                _ => String::new(),
            },
        ),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_string_with_format(row, 0, *k, &bold)?;
        match v.parse::<u64>() {
            Ok(n) if *k != "Tenant" => ws.write_number(row, 1, n as f64)?,
            _ => ws.write_string(row, 1, v)?,
        };
    }
    Ok(())
}

/// A sheet from a [`Table`]; numeric columns hold numbers where the cell is one.
fn table_sheet(wb: &mut Workbook, name: &str, t: &Table) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet().set_name(name)?;
    for (c, head) in t.columns.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, head, &bold)?;
        ws.set_column_width(c, if c == 0 { 44 } else { 16 })?;
    }
    if t.rows.is_empty() {
        ws.write_string(1, 0, &t.empty)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let numeric = t.numeric.get(c).copied().unwrap_or(false);
            match cell.replace(',', "").parse::<f64>() {
                Ok(n) if numeric => ws.write_number(r, c as u16, n)?,
                _ => ws.write_string(r, c as u16, cell)?,
            };
        }
    }
    Ok(())
}

/// A workbook of a report made of key figures and tables (triage, coverage).
fn render_tables(r: &ReportData) -> Result<Vec<u8>, ReportError> {
    let mut wb = Workbook::new();
    {
        let bold = Format::new().set_bold();
        let ws = wb.add_worksheet().set_name("Summary").map_err(err)?;
        ws.set_column_width(0, 28).map_err(err)?;
        ws.set_column_width(1, 40).map_err(err)?;
        ws.write_string_with_format(0, 0, &r.title, &bold)
            .map_err(err)?;
        let head = [
            ("Tenant".to_owned(), r.tenant.clone()),
            ("Period".to_owned(), r.period.label()),
            (
                "Generated".to_owned(),
                r.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ),
        ];
        for (i, (k, v)) in head.iter().chain(key_figures(r).iter()).enumerate() {
            let row = i as u32 + 2;
            ws.write_string_with_format(row, 0, k, &bold).map_err(err)?;
            ws.write_string(row, 1, v).map_err(err)?;
        }
    }
    for t in tables(r) {
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = t
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        table_sheet(&mut wb, &name, &t).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

/// The report as an XLSX workbook.
pub(crate) fn render(r: &ReportData) -> Result<Vec<u8>, ReportError> {
    if !crate::needs_events(&r.kind) {
        return render_tables(r);
    }
    let mut wb = Workbook::new();
    summary(wb.add_worksheet().set_name("Summary").map_err(err)?, r).map_err(err)?;
    let e = &r.events;
    {
        let bold = Format::new().set_bold();
        let ws = wb.add_worksheet().set_name("Timeline").map_err(err)?;
        ws.write_string_with_format(0, 0, "Bucket start (UTC)", &bold)
            .map_err(err)?;
        ws.write_string_with_format(0, 1, "Events", &bold)
            .map_err(err)?;
        ws.set_column_width(0, 22).map_err(err)?;
        for (i, b) in e.histogram.buckets.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, b.start.format("%Y-%m-%d %H:%M").to_string())
                .map_err(err)?;
            ws.write_number(row, 1, b.count as f64).map_err(err)?;
        }
        let n = e.histogram.buckets.len() as u32;
        if n > 0 {
            let mut chart = Chart::new(ChartType::Column);
            chart
                .add_series()
                .set_name("Events")
                .set_categories(("Timeline", 1, 0, n, 0))
                .set_values(("Timeline", 1, 1, n, 1));
            chart.title().set_name("Events over time");
            chart.legend().set_hidden();
            ws.insert_chart(1, 3, &chart).map_err(err)?;
        }
    }
    let none = "No events in this period.";
    counts_sheet(
        &mut wb,
        "Sources",
        ("Source kind", "Events"),
        &e.by_source,
        none,
    )
    .map_err(err)?;
    counts_sheet(&mut wb, "Formats", ("Format", "Events"), &e.by_format, none).map_err(err)?;
    counts_sheet(&mut wb, "Top hosts", ("Host", "Events"), &e.top_hosts, none).map_err(err)?;
    counts_sheet(
        &mut wb,
        "Top sources",
        ("Source", "Events"),
        &e.top_sources,
        none,
    )
    .map_err(err)?;
    let no_alerts = "No alerts in this period.";
    counts_sheet(
        &mut wb,
        "Alerts by level",
        ("Level", "Alerts"),
        &r.alerts.by_level,
        no_alerts,
    )
    .map_err(err)?;
    counts_sheet(
        &mut wb,
        "Top rules",
        ("Rule", "Alerts"),
        &r.alerts.top_rules,
        no_alerts,
    )
    .map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

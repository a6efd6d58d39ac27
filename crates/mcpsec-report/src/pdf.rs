//! PDF output, laid out here with `pdf-writer`.
//!
//! Why `pdf-writer`: it is a small pure-Rust PDF serializer with no dependencies beyond
//! a few tiny crates, so it adds seconds, not minutes, to a clean build (typst would pull
//! in a whole typesetting system; printpdf brings font parsing we do not need). The
//! report uses the PDF base-14 fonts (Helvetica), which every reader has, so nothing is
//! embedded and text extracts cleanly (`pdftotext`). Charts are the same [`Chart`]
//! shapes as the SVG in HTML, drawn as vector paths.

use crate::chart::{self, Anchor, Chart, Shape};
use crate::model::{Count, ReportData};
use crate::sections::{Table, key_figures, tables};
use crate::templates::thousands;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BODY: f32 = 10.0;
const INK: (f32, f32, f32) = (0.13, 0.15, 0.17);
const MUTED: (f32, f32, f32) = (0.35, 0.38, 0.42);

/// Width of `c` in Helvetica, in thousandths of the font size (close enough for
/// aligning and wrapping; digits are exact, so numbers right-align).
fn glyph_width(c: char, bold: bool) -> f32 {
    let w = match c {
        '0'..='9' => 556.0,
        ' ' => 278.0,
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 250.0,
        'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' | '/' => 333.0,
        'm' | 'w' | 'M' | 'W' => 850.0,
        'A'..='Z' => 680.0,
        _ => 540.0,
    };
    if bold { w * 1.06 } else { w }
}

fn text_width(s: &str, size: f32, bold: bool) -> f32 {
    s.chars().map(|c| glyph_width(c, bold)).sum::<f32>() * size / 1000.0
}

/// Column widths of a grid: each column gets room in proportion to its longest cell
/// (between 4 and 40 characters), so ids and names are not cut while numbers stay narrow.
fn column_widths(t: &Table, total: f32, size: f32) -> Vec<f32> {
    let n = t.columns.len().max(1);
    let mut want: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
    want.resize(n, 4);
    for row in &t.rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            want[i] = want[i].max(cell.chars().count());
        }
    }
    let want: Vec<f32> = want.iter().map(|w| (*w).clamp(4, 40) as f32).collect();
    let sum: f32 = want.iter().sum();
    let natural = sum * size * 0.5 + 8.0 * n as f32;
    let scale = if natural > total {
        total / natural
    } else {
        // Spare room goes to the first column (names), as before.
        1.0
    };
    let mut out: Vec<f32> = want
        .iter()
        .map(|w| (w * size * 0.5 + 8.0) * scale)
        .collect();
    let used: f32 = out.iter().sum();
    if let Some(first) = out.first_mut() {
        *first += (total - used).max(0.0);
    }
    out
}

/// Encodes text for the fonts' WinAnsiEncoding; what it cannot show becomes `?`.
fn winansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            _ => b'?',
        })
        .collect()
}

/// Pages being filled top to bottom.
struct Layout {
    pages: Vec<Content>,
    page: Content,
    /// Baseline of the next line, from the bottom of the page.
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: Vec::new(),
            page: Content::new(),
            y: PAGE_H - MARGIN,
        }
    }

    fn new_page(&mut self) {
        let done = std::mem::replace(&mut self.page, Content::new());
        self.pages.push(done);
        self.y = PAGE_H - MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN + 20.0 {
            self.new_page();
        }
    }

    fn put(&mut self, x: f32, y: f32, size: f32, bold: bool, color: (f32, f32, f32), s: &str) {
        let font = if bold { Name(b"F2") } else { Name(b"F1") };
        self.page.set_fill_rgb(color.0, color.1, color.2);
        self.page.begin_text();
        self.page.set_font(font, size);
        self.page.next_line(x, y);
        self.page.show(Str(&winansi(s)));
        self.page.end_text();
    }

    /// A line of text at the left margin, wrapped at the right one.
    fn para(&mut self, s: &str, size: f32, bold: bool, color: (f32, f32, f32)) {
        let max = PAGE_W - 2.0 * MARGIN;
        let mut line = String::new();
        for word in s.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) > max && !line.is_empty() {
                self.need(size * 1.4);
                self.put(MARGIN, self.y, size, bold, color, &line);
                self.y -= size * 1.4;
                line = word.to_owned();
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            self.need(size * 1.4);
            self.put(MARGIN, self.y, size, bold, color, &line);
            self.y -= size * 1.4;
        }
    }

    fn heading(&mut self, s: &str) {
        self.need(60.0);
        self.y -= 12.0;
        self.put(MARGIN, self.y, 14.0, true, INK, s);
        self.y -= 6.0;
        self.page.set_stroke_rgb(0.78, 0.8, 0.82);
        self.page.set_line_width(0.5);
        self.page.move_to(MARGIN, self.y);
        self.page.line_to(PAGE_W - MARGIN, self.y);
        self.page.stroke();
        self.y -= 16.0;
    }

    /// A two-column table: names on the left, numbers right-aligned.
    fn table(&mut self, head: (&str, &str), rows: &[(String, String)]) {
        let right = PAGE_W - MARGIN;
        let line = BODY * 1.6;
        self.need(line * 2.0);
        self.put(MARGIN, self.y, BODY, true, INK, head.0);
        self.put(
            right - text_width(head.1, BODY, true),
            self.y,
            BODY,
            true,
            INK,
            head.1,
        );
        self.y -= line;
        for (name, value) in rows {
            self.need(line);
            self.put(MARGIN, self.y, BODY, false, INK, &chart::shorten(name, 70));
            self.put(
                right - text_width(value, BODY, false),
                self.y,
                BODY,
                false,
                INK,
                value,
            );
            self.y -= line;
        }
        self.y -= 6.0;
    }

    /// A table of any width: the first column takes what the others leave; numeric
    /// columns are right-aligned.
    fn grid(&mut self, t: &Table) {
        if t.rows.is_empty() {
            self.para(&t.empty, BODY, false, MUTED);
            return;
        }
        let n = t.columns.len().max(1);
        let total = PAGE_W - 2.0 * MARGIN;
        let size = if n > 3 { 9.0 } else { BODY };
        let widths = column_widths(t, total, size);
        let line = size * 1.6;
        let row_out = |l: &mut Layout, cells: &[String], bold: bool| {
            l.need(line);
            let mut x = MARGIN;
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0.0);
                // Helvetica averages about half an em per character.
                let fit = chart::shorten(cell, ((w - 6.0) / (size * 0.5)).max(4.0) as usize);
                let right = t.numeric.get(i).copied().unwrap_or(false) && i > 0;
                let at = if right {
                    // A gap before the next (left-aligned) column.
                    x + w - 6.0 - text_width(&fit, size, bold)
                } else {
                    x
                };
                l.put(at, l.y, size, bold, INK, &fit);
                x += w;
            }
            l.y -= line;
        };
        row_out(self, &t.columns, true);
        for r in &t.rows {
            row_out(self, r, false);
        }
        self.y -= 6.0;
    }

    fn counts(&mut self, head: (&str, &str), items: &[Count]) {
        let rows: Vec<(String, String)> = items
            .iter()
            .map(|c| (c.name.clone(), thousands(c.count)))
            .collect();
        self.table(head, &rows);
    }

    /// Draws a chart at the left margin, below the current line.
    fn chart(&mut self, c: &Chart) {
        self.need(c.height + 10.0);
        let top = self.y + 4.0;
        let x0 = MARGIN;
        for s in &c.shapes {
            match s {
                Shape::Rect { x, y, w, h, fill } => {
                    let (r, g, b) = rgb(*fill);
                    self.page.set_fill_rgb(r, g, b);
                    self.page.rect(x0 + x, top - y - h, *w, *h);
                    self.page.fill_nonzero();
                }
                Shape::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    stroke,
                } => {
                    let (r, g, b) = rgb(*stroke);
                    self.page.set_stroke_rgb(r, g, b);
                    self.page.set_line_width(0.5);
                    self.page.move_to(x0 + x1, top - y1);
                    self.page.line_to(x0 + x2, top - y2);
                    self.page.stroke();
                }
                Shape::Text {
                    x,
                    y,
                    size,
                    text,
                    anchor,
                    fill,
                } => {
                    let w = text_width(text, *size, false);
                    let left = match anchor {
                        Anchor::Start => *x,
                        Anchor::Middle => x - w / 2.0,
                        Anchor::End => x - w,
                    };
                    self.put(x0 + left, top - y, *size, false, rgb(*fill), text);
                }
            }
        }
        self.y = top - c.height - 14.0;
    }
}

fn rgb((r, g, b): (u8, u8, u8)) -> (f32, f32, f32) {
    (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0)
}

/// The report as a PDF document.
pub(crate) fn render(r: &ReportData) -> Vec<u8> {
    let mut l = Layout::new();
    let e = &r.events;
    let chart_w = PAGE_W - 2.0 * MARGIN;
    l.put(MARGIN, l.y - 10.0, 22.0, true, INK, &r.title);
    l.y -= 34.0;
    l.para(
        &format!(
            "Tenant {}. Period: {}. Generated {}.",
            r.tenant,
            r.period.label(),
            r.generated_at.format("%Y-%m-%d %H:%M UTC")
        ),
        BODY,
        false,
        MUTED,
    );
    l.heading("Key figures");
    if !crate::needs_events(&r.kind) {
        l.table(("Figure", "Value"), &key_figures(r));
        for t in tables(r) {
            l.heading(&t.title);
            l.grid(&t);
        }
        l.new_page();
        return assemble(r, l.pages);
    }
    let hosts = format!(
        "{}{}",
        thousands(e.distinct_hosts),
        if e.hosts_capped { "+" } else { "" }
    );
    l.table(
        ("Figure", "Value"),
        &[
            ("Events in the period".into(), thousands(e.total)),
            ("Distinct hosts".into(), hosts),
            ("Source kinds".into(), e.by_source.len().to_string()),
            (
                "Events that named no host".into(),
                e.without_host.to_string(),
            ),
            ("Alerts".into(), r.alerts.total.to_string()),
        ],
    );
    if e.total == 0 {
        l.para(
            "No events in this period: there is nothing to chart or rank.",
            BODY,
            false,
            MUTED,
        );
    }
    l.heading("Events over time");
    l.chart(&chart::histogram(&e.histogram, chart_w, 170.0));
    if e.total > 0 {
        l.heading("Events by source");
        l.chart(&chart::bars("Events by source", &e.by_source, chart_w));
        l.heading("Events by format");
        l.counts(("Format", "Events"), &e.by_format);
        l.heading("Top hosts");
        if e.top_hosts.is_empty() {
            l.para("No event named a host.", BODY, false, MUTED);
        } else {
            l.counts(("Host", "Events"), &e.top_hosts);
        }
        l.heading("Top sources");
        l.counts(("Source", "Events"), &e.top_sources);
    }
    l.heading("Alerts");
    if r.alerts.total == 0 {
        l.para("No alerts in this period.", BODY, false, MUTED);
    } else {
        l.counts(("Level", "Alerts"), &r.alerts.by_level);
        l.counts(("Rule", "Alerts"), &r.alerts.top_rules);
    }
    l.new_page();
    assemble(r, l.pages)
}

/// Writes the document: catalog, page tree, fonts, pages with their footers.
fn assemble(r: &ReportData, pages: Vec<Content>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut next = 6;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(p, _)| *p))
        .count(ids.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&format!("{} ({})", r.title, r.tenant)))
        .creator(TextStr("mcpsec"));
    let n = pages.len();
    for (i, (mut content, (page_id, content_id))) in pages.into_iter().zip(ids).enumerate() {
        let footer = winansi(&format!(
            "mcpsec {} report · {} · page {} of {}",
            r.kind,
            r.tenant,
            i + 1,
            n
        ));
        content.set_fill_rgb(MUTED.0, MUTED.1, MUTED.2);
        content.begin_text();
        content.set_font(Name(b"F1"), 8.0);
        content.next_line(MARGIN, MARGIN / 2.0);
        content.show(Str(&footer));
        content.end_text();
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        let mut res = page.resources();
        res.fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        res.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_winansi() {
        assert_eq!(winansi("a(b)é…→"), b"a(b)\xe9\x85?".to_vec());
    }

    #[test]
    fn numbers_measure_exactly() {
        assert!((text_width("1234", 10.0, false) - 22.24).abs() < 0.01);
    }
}

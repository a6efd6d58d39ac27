//! Charts as lists of shapes, so that the same drawing becomes SVG (HTML) and vector
//! graphics (PDF). Coordinates run right and down from the top-left corner, in points.

use crate::model::{Count, Histogram};
use std::fmt::Write as _;

/// Bar colour (an accessible blue on white).
const BAR: (u8, u8, u8) = (0x2b, 0x6c, 0xb0);
/// Axis and grid colour.
const GRID: (u8, u8, u8) = (0xc8, 0xcc, 0xd2);
/// Text colour.
const INK: (u8, u8, u8) = (0x22, 0x26, 0x2b);

/// Where a text's `x` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `x` is the left edge.
    Start,
    /// `x` is the centre.
    Middle,
    /// `x` is the right edge.
    End,
}

/// One drawing primitive.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle; `(x, y)` is its top-left corner.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill colour.
        fill: (u8, u8, u8),
    },
    /// A straight line.
    Line {
        /// Start x.
        x1: f32,
        /// Start y.
        y1: f32,
        /// End x.
        x2: f32,
        /// End y.
        y2: f32,
        /// Stroke colour.
        stroke: (u8, u8, u8),
    },
    /// A line of text; `y` is its baseline.
    Text {
        /// Anchor x.
        x: f32,
        /// Baseline y.
        y: f32,
        /// Font size in points.
        size: f32,
        /// The text.
        text: String,
        /// How `x` relates to the text.
        anchor: Anchor,
        /// Text colour.
        fill: (u8, u8, u8),
    },
}

/// A chart: a size, an accessible description and its shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// What the chart shows, for screen readers and as the SVG title.
    pub description: String,
    /// The drawing.
    pub shapes: Vec<Shape>,
}

fn text(x: f32, y: f32, size: f32, s: impl Into<String>, anchor: Anchor) -> Shape {
    Shape::Text {
        x,
        y,
        size,
        text: s.into(),
        anchor,
        fill: INK,
    }
}

/// A round axis maximum at or above `max` (1, 2 or 5 times a power of ten).
fn nice_max(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= max || v == u64::MAX {
                return v.max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Cuts a label to `max` characters, marking the cut with an ellipsis.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A column chart of a histogram. An empty one says so.
pub fn histogram(h: &Histogram, width: f32, height: f32) -> Chart {
    let total: u64 = h.buckets.iter().map(|b| b.count).sum();
    let mut shapes = Vec::new();
    let description = if h.buckets.is_empty() || total == 0 {
        shapes.push(text(
            width / 2.0,
            height / 2.0,
            11.0,
            "No events in this period",
            Anchor::Middle,
        ));
        "Events over time: no events in this period".to_owned()
    } else {
        let (left, right, top, bottom) = (44.0, 8.0, 8.0, 22.0);
        let pw = width - left - right;
        let ph = height - top - bottom;
        let max = nice_max(h.buckets.iter().map(|b| b.count).max().unwrap_or(1));
        for i in 0..=4u64 {
            let y = top + ph - ph * i as f32 / 4.0;
            shapes.push(Shape::Line {
                x1: left,
                y1: y,
                x2: left + pw,
                y2: y,
                stroke: GRID,
            });
            // Labels at 0, half and the top: round numbers whatever the maximum.
            if i % 2 == 0 {
                let v = max * i / 4;
                let label = crate::templates::thousands(v);
                shapes.push(text(left - 4.0, y + 3.0, 8.0, label, Anchor::End));
            }
        }
        let n = h.buckets.len() as f32;
        let slot = pw / n;
        for (i, b) in h.buckets.iter().enumerate() {
            let bh = ph * b.count as f32 / max as f32;
            if bh > 0.0 {
                shapes.push(Shape::Rect {
                    x: left + slot * i as f32 + slot * 0.1,
                    y: top + ph - bh,
                    w: (slot * 0.8).max(0.5),
                    h: bh,
                    fill: BAR,
                });
            }
        }
        let fmt = if h.bucket_seconds < 86_400 {
            "%m-%d %H:%M"
        } else {
            "%Y-%m-%d"
        };
        let last = h.buckets.len() - 1;
        let mut marks = vec![0, last / 2, last];
        marks.dedup();
        for i in marks {
            let x = left + slot * i as f32 + slot / 2.0;
            let anchor = match i {
                0 => Anchor::Start,
                i if i == last => Anchor::End,
                _ => Anchor::Middle,
            };
            let x = match anchor {
                Anchor::Start => left,
                Anchor::End => left + pw,
                Anchor::Middle => x,
            };
            let label = h.buckets[i].start.format(fmt).to_string();
            shapes.push(text(x, height - 6.0, 8.0, label, anchor));
        }
        format!(
            "Events over time: {total} events in {} buckets of {} minutes, at most {} in one",
            h.buckets.len(),
            h.bucket_seconds / 60,
            h.buckets.iter().map(|b| b.count).max().unwrap_or(0)
        )
    };
    Chart {
        width,
        height,
        description,
        shapes,
    }
}

/// Horizontal bars, one row per item, labels on the left and counts on the right.
pub fn bars(title: &str, items: &[Count], width: f32) -> Chart {
    let row = 16.0;
    let label_w = width * 0.38;
    let count_w = 48.0;
    let bar_w = width - label_w - count_w;
    let max = items.iter().map(|c| c.count).max().unwrap_or(0).max(1);
    let mut shapes = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let y = row * i as f32;
        shapes.push(text(
            label_w - 6.0,
            y + 11.0,
            9.0,
            shorten(&c.name, 30),
            Anchor::End,
        ));
        shapes.push(Shape::Rect {
            x: label_w,
            y: y + 3.0,
            w: (bar_w * c.count as f32 / max as f32).max(1.0),
            h: row - 6.0,
            fill: BAR,
        });
        shapes.push(text(
            width,
            y + 11.0,
            9.0,
            crate::templates::thousands(c.count),
            Anchor::End,
        ));
    }
    let listed: Vec<String> = items
        .iter()
        .map(|c| format!("{} {}", c.name, c.count))
        .collect();
    Chart {
        width,
        height: (row * items.len() as f32).max(row),
        description: format!("{title}: {}", listed.join(", ")),
        shapes,
    }
}

fn rgb((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Escapes text for XML content and attributes.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Chart {
    /// The chart as an inline SVG element (no external references).
    pub fn to_svg(&self) -> String {
        let mut s = String::with_capacity(256 + self.shapes.len() * 96);
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="Helvetica, Arial, sans-serif"><title>{t}</title>"#,
            w = self.width,
            h = self.height,
            t = xml_escape(&self.description)
        );
        for shape in &self.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => {
                    let _ = write!(
                        s,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#,
                        rgb(*fill)
                    );
                }
                Shape::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    stroke,
                } => {
                    let _ = write!(
                        s,
                        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="0.5"/>"#,
                        rgb(*stroke)
                    );
                }
                Shape::Text {
                    x,
                    y,
                    size,
                    text,
                    anchor,
                    fill,
                } => {
                    let a = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{a}" fill="{}">{}</text>"#,
                        rgb(*fill),
                        xml_escape(text)
                    );
                }
            }
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Bucket;
    use chrono::{TimeZone, Utc};

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(
            [0, 1, 3, 7, 10, 11, 4_500].map(nice_max),
            [1, 1, 5, 10, 10, 20, 5_000]
        );
        assert_eq!(nice_max(u64::MAX), u64::MAX);
    }

    #[test]
    fn svg_is_escaped_and_self_contained() {
        let items = vec![Count {
            name: "<script>&\"".into(),
            count: 3,
        }];
        let svg = bars("Hosts", &items, 300.0).to_svg();
        assert!(svg.contains("&lt;script&gt;&amp;&quot;"), "{svg}");
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("href"), "no external references");
    }

    #[test]
    fn histogram_draws_one_bar_per_non_empty_bucket() {
        let t = |m: i64| {
            Utc.timestamp_opt(1_700_000_000 + m * 60, 0)
                .single()
                .expect("t")
        };
        let h = Histogram {
            bucket_seconds: 60,
            buckets: vec![
                Bucket {
                    start: t(0),
                    count: 2,
                },
                Bucket {
                    start: t(1),
                    count: 0,
                },
                Bucket {
                    start: t(2),
                    count: 5,
                },
            ],
        };
        let c = histogram(&h, 400.0, 120.0);
        let rects = c
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Rect { .. }))
            .count();
        assert_eq!(rects, 2);
        assert!(c.description.contains("7 events"), "{}", c.description);
        let empty = histogram(&Histogram::default(), 400.0, 120.0);
        assert!(empty.description.contains("no events"));
    }
}

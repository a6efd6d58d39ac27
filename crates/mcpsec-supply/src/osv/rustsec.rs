//! RustSec's native advisory format: Markdown with a TOML front matter in a ```` ```toml ````
//! fence. `[versions] patched`/`unaffected` requirements are converted into OSV events:
//! the affected set is the complement of the union of those requirement intervals.

use super::model::{
    Advisory, Affected, Event, Package, Range, RangeKind, Reference, SeverityEntry,
};
use crate::version::SemVersion;
use serde::Deserialize;
use std::cmp::Ordering;

#[derive(Deserialize)]
struct Front {
    advisory: Meta,
    #[serde(default)]
    versions: Versions,
    #[serde(default)]
    affected: Option<toml::Value>,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    package: String,
    date: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    withdrawn: Option<String>,
    informational: Option<String>,
    cvss: Option<String>,
    url: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    title: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Parses one RustSec advisory file's text.
pub fn parse_rustsec(text: &str) -> Result<Advisory, String> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let body = t.strip_prefix("```toml").ok_or("no ```toml front matter")?;
    let end = body
        .find("\n```")
        .ok_or("unterminated ```toml front matter")?;
    let (front, rest) = (&body[..end], &body[end + 4..]);
    let f: Front = toml::from_str(front).map_err(|e| format!("front matter: {}", e.message()))?;
    let m = f.advisory;
    // Title: first Markdown heading; the rest is the description.
    let rest = rest.trim_start_matches('`').trim();
    let (title, details) = match rest.strip_prefix("# ") {
        Some(r) => match r.split_once('\n') {
            Some((t, d)) => (Some(t.trim().to_string()), d.trim().to_string()),
            None => (Some(r.trim().to_string()), String::new()),
        },
        None => (None, rest.to_string()),
    };
    let mut reqs = Vec::new();
    for r in f.versions.patched.iter().chain(&f.versions.unaffected) {
        reqs.push(parse_req(r).map_err(|e| format!("[versions] {r:?}: {e}"))?);
    }
    let events = complement(reqs);
    let mut affects = serde_json::Map::new();
    if let Some(a) = &f.affected {
        for k in ["arch", "os"] {
            if let Some(v) = a.get(k) {
                affects.insert(k.into(), serde_json::to_value(v).unwrap_or_default());
            }
        }
        if let Some(toml::Value::Table(funcs)) = a.get("functions") {
            let names: Vec<serde_json::Value> = funcs
                .keys()
                .map(|k| serde_json::Value::String(k.clone()))
                .collect();
            affects.insert("functions".into(), serde_json::Value::Array(names));
        }
    }
    let mut db = serde_json::Map::new();
    db.insert("source".into(), "rustsec-native".into());
    if let Some(i) = &m.informational {
        db.insert("informational".into(), i.clone().into());
    }
    if !m.categories.is_empty() {
        db.insert("categories".into(), m.categories.clone().into());
    }
    if !m.keywords.is_empty() {
        db.insert("keywords".into(), m.keywords.clone().into());
    }
    if let Some(c) = &m.cvss {
        db.insert("cvss".into(), c.clone().into());
    }
    let mut references: Vec<Reference> = m
        .url
        .iter()
        .chain(&m.references)
        .map(|u| Reference {
            kind: "WEB".into(),
            url: u.clone(),
        })
        .collect();
    references.push(Reference {
        kind: "ADVISORY".into(),
        url: format!("https://rustsec.org/advisories/{}.html", m.id),
    });
    let severity = m
        .cvss
        .iter()
        .map(|c| SeverityEntry {
            kind: if c.starts_with("CVSS:4") {
                "CVSS_V4".into()
            } else {
                "CVSS_V3".into()
            },
            score: c.clone(),
        })
        .collect();
    Ok(Advisory {
        id: m.id,
        modified: m.date.clone(),
        published: m.date,
        withdrawn: m.withdrawn,
        aliases: m.aliases,
        related: m.related,
        summary: m.title.or(title),
        details: m.description.or(Some(details)).filter(|d| !d.is_empty()),
        severity,
        affected: vec![Affected {
            package: Package {
                ecosystem: "crates.io".into(),
                name: m.package.clone(),
                purl: Some(format!("pkg:cargo/{}", m.package)),
            },
            ranges: vec![Range {
                kind: RangeKind::Semver,
                repo: None,
                events,
            }],
            versions: vec![],
            ecosystem_specific: if affects.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::json!({ "affects": affects })
            },
            database_specific: serde_json::Value::Null,
        }],
        references,
        database_specific: serde_json::Value::Object(db),
    })
}

/// A point between versions: just before `v` or just after `v`.
#[derive(Debug, Clone)]
enum Pos {
    Min,
    Before(SemVersion),
    After(SemVersion),
    Max,
}

fn pos_cmp(a: &Pos, b: &Pos) -> Ordering {
    use Pos::*;
    match (a, b) {
        (Min, Min) | (Max, Max) => Ordering::Equal,
        (Min, _) | (_, Max) => Ordering::Less,
        (_, Min) | (Max, _) => Ordering::Greater,
        (Before(x), Before(y)) | (After(x), After(y)) => x.cmp(y),
        (Before(x), After(y)) => x.cmp(y).then(Ordering::Less),
        (After(x), Before(y)) => x.cmp(y).then(Ordering::Greater),
    }
}

/// A requirement as an interval `[start, end)` in position space.
type Interval = (Pos, Pos);

fn sv(s: &str) -> Result<(SemVersion, usize), String> {
    // partial versions allowed: count given parts
    let core = s.split(['-', '+']).next().unwrap_or(s);
    let parts = core.split('.').count();
    let v = SemVersion::parse_lenient(s).map_err(|e| e.to_string())?;
    Ok((v, parts))
}

fn bump(v: &SemVersion, level: usize) -> SemVersion {
    let (mj, mn, pt) = match level {
        0 => (v.major.saturating_add(1), 0, 0),
        1 => (v.major, v.minor.saturating_add(1), 0),
        _ => (v.major, v.minor, v.patch.saturating_add(1)),
    };
    // "-0": the smallest pre-release, so pre-releases of the bound are excluded too
    SemVersion::parse(&format!("{mj}.{mn}.{pt}-0")).unwrap_or_else(|_| v.clone())
}

fn parse_req(req: &str) -> Result<Interval, String> {
    let mut lo = Pos::Min;
    let mut hi = Pos::Max;
    let mut tighten = |l: Pos, h: Pos| {
        if pos_cmp(&l, &lo) == Ordering::Greater {
            lo = l;
        }
        if pos_cmp(&h, &hi) == Ordering::Less {
            hi = h;
        }
    };
    for c in req.split(',') {
        let c = c.trim();
        if c.is_empty() || c == "*" {
            continue;
        }
        let (op, v) = ["<=", ">=", "<", ">", "=", "^", "~"]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("^", c));
        let v = v.trim_end_matches(".*").trim_end_matches(".x");
        let (ver, parts) = sv(v)?;
        match op {
            ">=" => tighten(Pos::Before(ver), Pos::Max),
            ">" => tighten(
                if parts >= 3 {
                    Pos::After(ver)
                } else {
                    Pos::Before(bump(&ver, parts - 1))
                },
                Pos::Max,
            ),
            "<" => tighten(Pos::Min, Pos::Before(ver)),
            "<=" => tighten(
                Pos::Min,
                if parts >= 3 {
                    Pos::After(ver)
                } else {
                    Pos::Before(bump(&ver, parts - 1))
                },
            ),
            "=" => {
                if parts >= 3 {
                    tighten(Pos::Before(ver.clone()), Pos::After(ver))
                } else {
                    let up = bump(&ver, parts - 1);
                    tighten(Pos::Before(ver), Pos::Before(up))
                }
            }
            "~" => {
                let level = if parts >= 2 { 1 } else { 0 };
                let up = bump(&ver, level);
                tighten(Pos::Before(ver), Pos::Before(up));
            }
            _ => {
                // caret
                let level = if ver.major > 0 || parts == 1 {
                    0
                } else if ver.minor > 0 || parts == 2 {
                    1
                } else {
                    2
                };
                let up = bump(&ver, level);
                tighten(Pos::Before(ver), Pos::Before(up));
            }
        }
    }
    Ok((lo, hi))
}

/// Affected events = complement of the union of the unaffected intervals.
fn complement(mut unaffected: Vec<Interval>) -> Vec<Event> {
    unaffected.retain(|(l, h)| pos_cmp(l, h) == Ordering::Less);
    unaffected.sort_by(|a, b| pos_cmp(&a.0, &b.0));
    let mut events = Vec::new();
    let mut cursor = Pos::Min;
    let mut push = |start: &Pos, end: &Pos| {
        events.push(match start {
            Pos::Min => Event::introduced("0.0.0-0"),
            Pos::Before(v) => Event::introduced(v.to_string()),
            Pos::After(v) => Event::introduced(v.successor()),
            Pos::Max => return,
        });
        match end {
            Pos::Before(v) => events.push(Event::fixed(v.to_string())),
            Pos::After(v) => events.push(Event::last_affected(v.to_string())),
            _ => {}
        }
    };
    for (l, h) in &unaffected {
        if pos_cmp(&cursor, l) == Ordering::Less {
            push(&cursor, l);
        }
        if pos_cmp(h, &cursor) == Ordering::Greater {
            cursor = h.clone();
        }
        if matches!(cursor, Pos::Max) {
            break;
        }
    }
    if !matches!(cursor, Pos::Max) {
        push(&cursor, &Pos::Max);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::match_affected;
    use crate::version::Ecosystem;

    fn adv(patched: &str, unaffected: &str) -> Advisory {
        let text = format!(
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = \"2020-01-31\"\n\n[versions]\npatched = [{patched}]\nunaffected = [{unaffected}]\n```\n\n# Title here\n\nBody text.\n"
        );
        parse_rustsec(&text).expect("test input")
    }

    fn hit(a: &Advisory, v: &str) -> bool {
        match_affected(Ecosystem::CratesIo, &a.affected[0], v)
            .expect("test input")
            .is_some()
    }

    #[test]
    fn template_example() {
        let a = adv("\">= 1.2.3, < 1.3.0\", \">= 1.3.4\"", "\"<= 0.1.2\"");
        assert_eq!(a.summary.as_deref(), Some("Title here"));
        assert!(!hit(&a, "0.1.2"));
        assert!(hit(&a, "0.1.3"));
        assert!(hit(&a, "1.2.2"));
        assert!(!hit(&a, "1.2.3"));
        assert!(!hit(&a, "1.2.9"));
        assert!(hit(&a, "1.3.0"));
        assert!(hit(&a, "1.3.3"));
        assert!(!hit(&a, "1.3.4"));
        assert!(!hit(&a, "2.0.0"));
    }

    #[test]
    fn caret_and_tilde() {
        let a = adv("\"^0.3.5\", \">= 0.4.2\"", "");
        assert!(hit(&a, "0.3.4"));
        assert!(!hit(&a, "0.3.9"));
        assert!(hit(&a, "0.4.0"));
        assert!(!hit(&a, "0.4.2"));
        let b = adv("\"~1.2.3\", \">= 2\"", "");
        assert!(!hit(&b, "1.2.5"));
        assert!(hit(&b, "1.3.0"));
        let none = adv("", "");
        assert!(hit(&none, "0.0.1"));
    }

    #[test]
    fn malformed() {
        assert!(parse_rustsec("no fence").is_err());
        assert!(parse_rustsec("```toml\n[advisory]\nid=1\n```").is_err());
        assert!(parse_rustsec("```toml\n[advisory]\nid=\"X\"\npackage=\"p\"\n[versions]\npatched=[\">= banana\"]\n```").is_err());
    }
}

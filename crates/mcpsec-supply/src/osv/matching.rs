//! Evaluating an affected entry against one version: OSV's range semantics (events sorted
//! by version; `introduced` opens an interval, `fixed` closes it before, `last_affected`
//! after the version; `limit` bounds the whole range) plus the explicit version list.

use super::model::{Affected, Event, RangeKind};
use crate::version::{Ecosystem, GoVersion, SemVersion, VersionError};
use std::cmp::Ordering;

/// Why and how a version is affected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedMatch {
    /// The version that closes the interval the version is in (the upgrade target), if
    /// the advisory names one.
    pub fixed: Option<String>,
    /// The interval, human-readable (`>=1.0.0, <1.2.3`), or `version list`.
    pub interval: String,
}

fn cmp(eco: Ecosystem, kind: RangeKind, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match kind {
        RangeKind::Semver if eco == Ecosystem::Go => {
            if a == "0" || b == "0" {
                return eco.compare(a, b);
            }
            Ok(GoVersion::parse(a)?.cmp(&GoVersion::parse(b)?))
        }
        RangeKind::Semver => {
            if a == "0" || b == "0" {
                return Ok(match (a == "0", b == "0") {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    _ => Ordering::Greater,
                });
            }
            Ok(SemVersion::parse_lenient(a)?.cmp(&SemVersion::parse_lenient(b)?))
        }
        _ => eco.compare(a, b),
    }
}

/// Evaluates `affected` for `version` under `eco`'s ordering. `Err` when the version or
/// an event version is invalid for the ecosystem (the caller reports it).
pub fn match_affected(
    eco: Ecosystem,
    affected: &Affected,
    version: &str,
) -> Result<Option<AffectedMatch>, VersionError> {
    for v in &affected.versions {
        if v == version || eco.compare(v, version).ok() == Some(Ordering::Equal) {
            return Ok(Some(AffectedMatch {
                fixed: next_fixed(eco, affected, version),
                interval: format!("listed version {v}"),
            }));
        }
    }
    for r in &affected.ranges {
        if r.kind == RangeKind::Git {
            continue;
        }
        let mut evs: Vec<&Event> = r.events.iter().filter(|e| e.version().is_some()).collect();
        // sort by version; an unparsable event version fails the whole range
        let mut err = None;
        evs.sort_by(|a, b| {
            let (x, y) = (a.version().unwrap_or("0"), b.version().unwrap_or("0"));
            match cmp(eco, r.kind, x, y) {
                Ok(o) => o,
                Err(e) => {
                    err.get_or_insert(e);
                    Ordering::Equal
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if let Some(limit) = evs.iter().find_map(|e| e.limit.as_deref())
            && cmp(eco, r.kind, version, limit)? != Ordering::Less
        {
            continue;
        }
        let mut open: Option<&str> = None;
        let mut hit: Option<(String, Option<String>)> = None;
        for e in &evs {
            if let Some(i) = e.introduced.as_deref() {
                if cmp(eco, r.kind, version, i)? != Ordering::Less {
                    open = Some(i);
                } else if hit.is_none() && open.is_none() {
                    break;
                }
            } else if let Some(f) = e.fixed.as_deref() {
                if let Some(o) = open {
                    if cmp(eco, r.kind, version, f)? == Ordering::Less {
                        hit = Some((interval(o, &format!("<{f}")), Some(f.to_string())));
                        break;
                    }
                    open = None;
                }
            } else if let Some(l) = e.last_affected.as_deref()
                && let Some(o) = open
            {
                if cmp(eco, r.kind, version, l)? != Ordering::Greater {
                    hit = Some((interval(o, &format!("<={l}")), None));
                    break;
                }
                open = None;
            }
        }
        if hit.is_none()
            && let Some(o) = open
        {
            hit = Some((interval(o, ""), None));
        }
        if let Some((interval, fixed)) = hit {
            return Ok(Some(AffectedMatch { fixed, interval }));
        }
    }
    Ok(None)
}

fn interval(start: &str, end: &str) -> String {
    match (start == "0" || start == "0.0.0-0", end.is_empty()) {
        (true, true) => "all versions".into(),
        (true, false) => end.into(),
        (false, true) => format!(">={start}"),
        (false, false) => format!(">={start}, {end}"),
    }
}

/// The smallest `fixed` event above `version` in any range (for listed-version matches).
fn next_fixed(eco: Ecosystem, affected: &Affected, version: &str) -> Option<String> {
    let mut best: Option<&str> = None;
    for r in &affected.ranges {
        for e in &r.events {
            if let Some(f) = e.fixed.as_deref()
                && cmp(eco, r.kind, f, version).ok() == Some(Ordering::Greater)
                && best.is_none_or(|b| cmp(eco, r.kind, f, b).ok() == Some(Ordering::Less))
            {
                best = Some(f);
            }
        }
    }
    best.map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Package, Range};
    use super::*;

    fn aff(events: Vec<Event>) -> Affected {
        Affected {
            package: Package {
                ecosystem: "crates.io".into(),
                name: "x".into(),
                purl: None,
            },
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn intervals() {
        let a = aff(vec![
            Event::introduced("0"),
            Event::fixed("1.0.0"),
            Event::introduced("1.2.0"),
            Event::fixed("1.2.5"),
            Event::introduced("2.0.0"),
            Event::last_affected("2.1.0"),
        ]);
        let m = |v: &str| match_affected(Ecosystem::CratesIo, &a, v).expect("test input");
        assert_eq!(
            m("0.9.0").expect("test input").fixed.as_deref(),
            Some("1.0.0")
        );
        assert!(m("1.0.0").is_none());
        assert!(m("1.1.9").is_none());
        assert_eq!(
            m("1.2.4").expect("test input").fixed.as_deref(),
            Some("1.2.5")
        );
        assert!(m("1.2.5").is_none());
        assert_eq!(m("2.1.0").expect("test input").fixed, None);
        assert!(m("2.1.1").is_none());
        assert!(match_affected(Ecosystem::CratesIo, &a, "not-a-version").is_err());
    }

    #[test]
    fn open_ended_and_list() {
        let mut a = aff(vec![Event::introduced("1.0.0")]);
        assert!(
            match_affected(Ecosystem::CratesIo, &a, "0.5.0")
                .expect("test input")
                .is_none()
        );
        assert!(
            match_affected(Ecosystem::CratesIo, &a, "9.0.0")
                .expect("test input")
                .is_some()
        );
        a.ranges.clear();
        a.versions = vec!["0.5.0".into()];
        assert!(
            match_affected(Ecosystem::CratesIo, &a, "0.5.0")
                .expect("test input")
                .is_some()
        );
    }
}

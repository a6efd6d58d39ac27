//! Version range specifiers (`vers:<scheme>/<constraint>|<constraint>…`), as CycloneDX
//! VEX `affects[].versions[].range` uses them. Containment follows the vers
//! specification's algorithm over constraints sorted by version; versions compare with
//! the scheme's ecosystem ordering (`vers:npm` → SemVer, `vers:pypi` → PEP 440…), and
//! `vers:generic` with the Maven-like generic ordering.

use crate::version::Ecosystem;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn scheme_ecosystem(scheme: &str) -> Option<Ecosystem> {
    Some(match scheme {
        "npm" | "semver" => Ecosystem::Npm,
        "pypi" => Ecosystem::PyPI,
        "maven" => Ecosystem::Maven,
        "cargo" => Ecosystem::CratesIo,
        "golang" => Ecosystem::Go,
        "gem" => Ecosystem::RubyGems,
        "nuget" => Ecosystem::NuGet,
        "composer" => Ecosystem::Packagist,
        "deb" => Ecosystem::Debian,
        "apk" | "alpine" => Ecosystem::Alpine,
        "rpm" => Ecosystem::Rpm,
        "pub" => Ecosystem::Pub,
        "hex" => Ecosystem::Hex,
        _ => return None,
    })
}

/// Whether `version` is in the `vers:` range. `fallback` orders versions when the scheme
/// is not an ecosystem (e.g. `generic`); without one the generic ordering is used.
pub fn contains(range: &str, version: &str, fallback: Option<Ecosystem>) -> Result<bool, String> {
    let rest = range
        .trim()
        .strip_prefix("vers:")
        .ok_or_else(|| format!("{range:?}: not a vers range"))?;
    let (scheme, cons) = rest
        .split_once('/')
        .ok_or_else(|| format!("{range:?}: missing '/' after the scheme"))?;
    let eco = scheme_ecosystem(&scheme.to_ascii_lowercase())
        .or(fallback)
        .unwrap_or(Ecosystem::Maven);
    let cons = cons.trim();
    if cons == "*" {
        return Ok(true);
    }
    let cmp = |a: &str, b: &str| eco.compare(a, b).map_err(|e| format!("{range:?}: {e}"));
    let mut list: Vec<(Cmp, String)> = Vec::new();
    for c in cons.split('|').map(str::trim).filter(|c| !c.is_empty()) {
        let (op, v) = if let Some(v) = c.strip_prefix(">=") {
            (Cmp::Ge, v)
        } else if let Some(v) = c.strip_prefix("<=") {
            (Cmp::Le, v)
        } else if let Some(v) = c.strip_prefix("!=") {
            (Cmp::Ne, v)
        } else if let Some(v) = c.strip_prefix('>') {
            (Cmp::Gt, v)
        } else if let Some(v) = c.strip_prefix('<') {
            (Cmp::Lt, v)
        } else if let Some(v) = c.strip_prefix('=') {
            (Cmp::Eq, v)
        } else {
            (Cmp::Eq, c)
        };
        let v = v.trim();
        if v.is_empty() {
            return Err(format!("{range:?}: constraint {c:?} has no version"));
        }
        list.push((op, v.to_string()));
    }
    if list.is_empty() {
        return Err(format!("{range:?}: no constraints"));
    }
    // sort by version (errors surface below)
    let mut err = None;
    list.sort_by(|a, b| {
        cmp(&a.1, &b.1).unwrap_or_else(|e| {
            err.get_or_insert(e);
            Ordering::Equal
        })
    });
    if let Some(e) = err {
        return Err(e);
    }
    for (op, v) in &list {
        let o = cmp(version, v)?;
        match op {
            Cmp::Eq if o == Ordering::Equal => return Ok(true),
            Cmp::Ne if o == Ordering::Equal => return Ok(false),
            _ => {}
        }
    }
    let ranges: Vec<&(Cmp, String)> = list
        .iter()
        .filter(|(op, _)| !matches!(op, Cmp::Eq | Cmp::Ne))
        .collect();
    if ranges.is_empty() {
        // only (in)equalities: `!=` alone means everything else
        return Ok(list.iter().all(|(op, _)| *op == Cmp::Ne));
    }
    let holds = |op: Cmp, o: Ordering| match op {
        Cmp::Lt => o == Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
        _ => false,
    };
    for (i, (op, v)) in ranges.iter().enumerate() {
        let o = cmp(version, v)?;
        if i == 0 && matches!(op, Cmp::Lt | Cmp::Le) && holds(*op, o) {
            return Ok(true);
        }
        if i + 1 == ranges.len() && matches!(op, Cmp::Gt | Cmp::Ge) && holds(*op, o) {
            return Ok(true);
        }
        if let Some((nop, nv)) = ranges.get(i + 1)
            && matches!(op, Cmp::Gt | Cmp::Ge)
            && matches!(nop, Cmp::Lt | Cmp::Le)
            && holds(*op, o)
            && holds(*nop, cmp(version, nv)?)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_and_ecosystem_ranges() {
        let r = "vers:generic/>=2.9|<=4.1";
        assert_eq!(contains(r, "3.0", None), Ok(true));
        assert_eq!(contains(r, "4.1", None), Ok(true));
        assert_eq!(contains(r, "4.2", None), Ok(false));
        assert_eq!(contains(r, "2.10", None), Ok(true), "numeric, not lexical");
        assert_eq!(contains("vers:npm/<1.2.0|>=2.0.0", "1.1.9", None), Ok(true));
        assert_eq!(
            contains("vers:npm/<1.2.0|>=2.0.0", "1.5.0", None),
            Ok(false)
        );
        assert_eq!(contains("vers:npm/<1.2.0|>=2.0.0", "2.0.0", None), Ok(true));
        assert_eq!(contains("vers:pypi/1.0|2.0", "2.0", None), Ok(true));
        assert_eq!(contains("vers:pypi/!=1.0", "2.0", None), Ok(true));
        assert_eq!(contains("vers:generic/*", "anything", None), Ok(true));
        assert_eq!(
            contains("vers:generic/>=1.0|<=2.3|=2.5", "2.5", None),
            Ok(true)
        );
    }

    #[test]
    fn malformed_ranges_are_errors() {
        assert!(contains("generic/>=1", "1", None).is_err());
        assert!(contains("vers:generic", "1", None).is_err());
        assert!(contains("vers:generic/>=", "1", None).is_err());
        assert!(contains("vers:generic/|", "1", None).is_err());
        assert!(contains("vers:npm/>=not a version", "1.0.0", None).is_err());
    }
}

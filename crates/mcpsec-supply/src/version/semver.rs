//! SemVer 2.0 (crates.io, npm, Pub, Hex) and Go module versions (SemVer with a `v`
//! prefix, pseudo-versions and `+incompatible`).

use super::{VersionError, cmp_digits};
use std::cmp::Ordering;

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreId {
    /// Digits only: compared numerically (kept as text, any length).
    Num(String),
    /// Anything else: compared as ASCII text.
    Alpha(String),
}

impl Ord for PreId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PreId::Num(a), PreId::Num(b)) => cmp_digits(a, b),
            (PreId::Num(_), PreId::Alpha(_)) => Ordering::Less,
            (PreId::Alpha(_), PreId::Num(_)) => Ordering::Greater,
            (PreId::Alpha(a), PreId::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for PreId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A SemVer 2.0 version. Build metadata is kept but ignored by the ordering, as the
/// specification requires.
#[derive(Debug, Clone)]
pub struct SemVersion {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release identifiers (empty for a release).
    pub pre: Vec<PreId>,
    /// Build metadata (after `+`), not part of the ordering.
    pub build: String,
}

const SCHEME: &str = "SemVer";

impl SemVersion {
    /// Parses strictly: `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no leading zeros.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        Self::parse_inner(s, false)
    }

    /// Parses with the leniency real-world data needs: surrounding spaces, a leading `v`
    /// or `=`, missing minor/patch (`1.2` = `1.2.0`) and leading zeros.
    pub fn parse_lenient(s: &str) -> Result<Self, VersionError> {
        let t = s.trim();
        let t = t.strip_prefix('=').unwrap_or(t).trim_start();
        let t = t
            .strip_prefix('v')
            .or_else(|| t.strip_prefix('V'))
            .unwrap_or(t);
        Self::parse_inner(t, true).map_err(|mut e| {
            e.input = s.chars().take(200).collect();
            e
        })
    }

    fn parse_inner(s: &str, lenient: bool) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new(SCHEME, s, r);
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => {
                if b.is_empty()
                    || b.split('.')
                        .any(|p| p.is_empty() || !p.chars().all(is_ident_char))
                {
                    return Err(err("bad build metadata"));
                }
                (r, b.to_string())
            }
            None => (s, String::new()),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut nums = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || (!lenient && parts.len() != 3) {
            return Err(err("expected MAJOR.MINOR.PATCH"));
        }
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("version numbers must be digits"));
            }
            if !lenient && p.len() > 1 && p.starts_with('0') {
                return Err(err("leading zero in a version number"));
            }
            nums[i] = p.parse().map_err(|_| err("version number too large"))?;
        }
        let mut ids = Vec::new();
        if let Some(pre) = pre {
            for id in pre.split('.') {
                if id.is_empty() || !id.chars().all(is_ident_char) {
                    return Err(err("bad pre-release identifier"));
                }
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    if !lenient && id.len() > 1 && id.starts_with('0') {
                        return Err(err("leading zero in a numeric pre-release identifier"));
                    }
                    ids.push(PreId::Num(id.to_string()));
                } else {
                    ids.push(PreId::Alpha(id.to_string()));
                }
            }
        }
        Ok(SemVersion {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: ids,
            build,
        })
    }

    /// Whether this is a pre-release.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The smallest version strictly greater than this one (ignoring build metadata):
    /// `1.2.3` → `1.2.4-0`, `1.2.3-alpha` → `1.2.3-alpha.0`.
    pub fn successor(&self) -> String {
        if self.pre.is_empty() {
            format!(
                "{}.{}.{}-0",
                self.major,
                self.minor,
                self.patch.saturating_add(1)
            )
        } else {
            format!("{}.0", self.core_and_pre())
        }
    }

    fn core_and_pre(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            let ids: Vec<&str> = self
                .pre
                .iter()
                .map(|p| match p {
                    PreId::Num(x) | PreId::Alpha(x) => x.as_str(),
                })
                .collect();
            s.push_str(&ids.join("."));
        }
        s
    }
}

impl std::fmt::Display for SemVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.core_and_pre())?;
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVersion {}

/// A Go module version: SemVer with an optional `v` (OSV writes it without), including
/// pseudo-versions (`v0.0.0-20210101000000-abcdef123456`, ordered as the pre-releases
/// they are) and `+incompatible` (build metadata, ignored by the ordering).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion(pub SemVersion);

impl GoVersion {
    /// Parses `v1.2.3`, `1.2.3`, `v0.0.0-2021...-abc`, `v2.0.0+incompatible`; Go toolchain
    /// spellings `go1.21` / `go1.21.3` / `go1.21rc2` are accepted for the `stdlib` module.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let t = s.trim();
        if let Some(go) = t.strip_prefix("go") {
            return Self::parse_toolchain(go)
                .map_err(|_| VersionError::new("Go", s, "bad Go toolchain version"));
        }
        let t = t.strip_prefix('v').unwrap_or(t);
        SemVersion::parse(t)
            .map(GoVersion)
            .map_err(|e| VersionError::new("Go", s, e.reason))
    }

    fn parse_toolchain(go: &str) -> Result<Self, VersionError> {
        // go1.21rc2 → 1.21.0-rc.2 (as the Go vulndb writes stdlib versions)
        let (num, pre) = match go.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => (&go[..i], Some(&go[i..])),
            None => (go, None),
        };
        let mut parts: Vec<&str> = num.split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        let mut v = parts.join(".");
        if let Some(pre) = pre {
            let (word, n) =
                pre.split_at(pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len()));
            v.push('-');
            v.push_str(word);
            if !n.is_empty() {
                v.push('.');
                v.push_str(n);
            }
        }
        SemVersion::parse(&v).map(GoVersion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(a: &str, b: &str) {
        let (x, y) = (
            SemVersion::parse(a).expect("test input"),
            SemVersion::parse(b).expect("test input"),
        );
        assert!(x < y, "{a} < {b}");
        assert!(y > x, "{b} > {a}");
    }

    #[test]
    fn spec_precedence_chain() {
        // SemVer 2.0 §11 example.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for w in chain.windows(2) {
            lt(w[0], w[1]);
        }
    }

    #[test]
    fn build_ignored() {
        assert_eq!(
            SemVersion::parse("1.0.0+a").expect("test input"),
            SemVersion::parse("1.0.0+b").expect("test input")
        );
    }

    #[test]
    fn invalid() {
        for s in [
            "",
            "1",
            "1.2",
            "01.2.3",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3+",
            "a.b.c",
            "1.2.3.4",
            "99999999999999999999.0.0",
        ] {
            assert!(SemVersion::parse(s).is_err(), "{s}");
        }
        assert!(SemVersion::parse_lenient("1.2").is_ok());
    }

    #[test]
    fn go_pseudo_versions() {
        let g = |s| GoVersion::parse(s).expect("test input");
        assert!(g("v0.0.0-20210101000000-abcdef123456") < g("v0.0.1"));
        assert!(g("v1.2.3") < g("v1.2.4-0.20210101000000-abcdef123456"));
        assert!(g("v1.2.4-0.20210101000000-abcdef123456") < g("v1.2.4"));
        assert!(
            g("v1.2.4-0.20200101000000-abcdef123456") < g("v1.2.4-0.20210101000000-000000000000")
        );
        assert_eq!(g("v2.0.0+incompatible"), g("2.0.0"));
        assert_eq!(g("go1.21"), g("1.21.0"));
        assert!(g("go1.21rc2") < g("go1.21.0"));
    }

    #[test]
    fn successor() {
        let s = SemVersion::parse("1.2.3").expect("test input").successor();
        assert_eq!(s, "1.2.4-0");
        assert!(
            SemVersion::parse(&s).expect("test input")
                > SemVersion::parse("1.2.3").expect("test input")
        );
    }
}

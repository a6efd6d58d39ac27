//! RubyGems versions (`Gem::Version`): segments of digits or letters; a segment with
//! letters makes a pre-release; `-` means `.pre.`; trailing zeros of the numeric and
//! the string part are not significant.

use super::{VersionError, cmp_digits};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(String),
    Str(String),
}

impl Seg {
    fn is_zero(&self) -> bool {
        matches!(self, Seg::Num(n) if n.is_empty())
    }
}

/// A RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    original: String,
    canonical: Vec<Seg>,
}

impl GemVersion {
    /// Parses per `Gem::Version::ANCHORED_VERSION_PATTERN`.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new("RubyGems", input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (main, pre) = match s.split_once('-') {
            Some((m, p)) => (m, Some(p)),
            None => (s, None),
        };
        let mut parts = main.split('.');
        let first = parts.next().unwrap_or("");
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("must start with a number"));
        }
        for p in parts {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err("bad segment"));
            }
        }
        if let Some(pre) = pre {
            for p in pre.split('.') {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(err("bad pre-release segment"));
                }
            }
        }
        let norm = s.replace('-', ".pre.");
        let mut segs = Vec::new();
        let b = norm.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let st = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                segs.push(Seg::Num(norm[st..i].trim_start_matches('0').to_string()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segs.push(Seg::Str(norm[st..i].to_string()));
            } else {
                i += 1;
            }
        }
        // canonical_segments: split at the first string, drop trailing zeros of each part.
        let split = segs
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segs.len());
        let mut strs = segs.split_off(split);
        while segs.last().is_some_and(Seg::is_zero) {
            segs.pop();
        }
        while strs.last().is_some_and(Seg::is_zero) {
            strs.pop();
        }
        segs.extend(strs);
        Ok(GemVersion {
            original: s.to_string(),
            canonical: segs,
        })
    }

    /// Whether any segment has letters.
    pub fn is_prerelease(&self) -> bool {
        self.canonical.iter().any(|s| matches!(s, Seg::Str(_)))
    }
}

impl std::fmt::Display for GemVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(String::new());
        let n = self.canonical.len().max(other.canonical.len());
        for i in 0..n {
            let l = self.canonical.get(i).unwrap_or(&zero);
            let r = other.canonical.get(i).unwrap_or(&zero);
            let o = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => cmp_digits(a, b),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> GemVersion {
        GemVersion::parse(s).expect("test input")
    }

    #[test]
    fn gem_orderings() {
        // From RubyGems' test_gem_version.rb.
        let chain = [
            "1.0.a", "1.0.a.2", "1.0.b", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.8.2", "1.9.0",
            "1.10.0",
        ];
        for w in chain.windows(2) {
            assert!(g(w[0]) < g(w[1]), "{} < {}", w[0], w[1]);
        }
        assert!(g("1.0.0-rc1") < g("1.0.0"));
        assert!(g("5.a") < g("5.0.0.rc2"));
        assert!(g("1.9.3") > g("1.9.2.99"));
        assert_eq!(g("1.0"), g("1.0.0"));
        assert_eq!(g("1.0.b1"), g("1.0.b.1"));
        assert_eq!(g("1.0-1"), g("1.0.pre.1"));
    }

    #[test]
    fn gem_invalid() {
        for s in [
            "",
            "junk",
            "1.0\n2.0",
            "1..2",
            "1.2 3.4",
            "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.",
        ] {
            assert!(GemVersion::parse(s).is_err(), "{s:?}");
        }
    }
}

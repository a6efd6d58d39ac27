//! NuGet versions: SemVer 2.0 with an optional fourth number (`1.2.3.4`), missing
//! numbers as zero, case-insensitive pre-release labels, metadata ignored.

use super::{VersionError, cmp_digits};
use std::cmp::Ordering;

/// A NuGet version.
#[derive(Debug, Clone)]
pub struct NugetVersion {
    original: String,
    nums: [u64; 4],
    pre: Vec<String>,
}

impl NugetVersion {
    /// Parses `1`, `1.2`, `1.2.3`, `1.2.3.4`, with `-pre.label` and `+metadata`.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new("NuGet", input, r);
        let s = input.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let (rest, meta) = match s.split_once('+') {
            Some((r, m)) => (r, Some(m)),
            None => (s, None),
        };
        if meta.is_some_and(|m| {
            m.is_empty()
                || m.split('.').any(|p| {
                    p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }) {
            return Err(err("bad metadata"));
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return Err(err("expected 1 to 4 numbers"));
        }
        let mut nums = [0u64; 4];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("version numbers must be digits"));
            }
            nums[i] = p.parse().map_err(|_| err("number too large"))?;
        }
        let mut labels = Vec::new();
        if let Some(pre) = pre {
            for l in pre.split('.') {
                if l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(err("bad pre-release label"));
                }
                labels.push(l.to_ascii_lowercase());
            }
        }
        Ok(NugetVersion {
            original: s.to_string(),
            nums,
            pre: labels,
        })
    }
}

impl std::fmt::Display for NugetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

fn cmp_label(a: &str, b: &str) -> Ordering {
    let an = a.bytes().all(|c| c.is_ascii_digit());
    let bn = b.bytes().all(|c| c.is_ascii_digit());
    match (an, bn) {
        (true, true) => cmp_digits(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl Ord for NugetVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        self.nums
            .cmp(&o.nums)
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&o.pre) {
                        let c = cmp_label(a, b);
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    self.pre.len().cmp(&o.pre.len())
                }
            })
    }
}

impl PartialOrd for NugetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NugetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NugetVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NugetVersion {
        NugetVersion::parse(s).expect("test input")
    }

    #[test]
    fn nuget_orderings() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-Beta",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.1",
        ];
        for w in chain.windows(2) {
            assert!(n(w[0]) < n(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(n("1.0"), n("1.0.0.0"));
        assert_eq!(n("1.0.0-BETA"), n("1.0.0-beta"));
        assert_eq!(n("1.0.0+abc"), n("1.0.0"));
        for s in ["", "1.2.3.4.5", "a", "1.0-", "1..0"] {
            assert!(NugetVersion::parse(s).is_err(), "{s}");
        }
    }
}

//! Alpine (apk) versions: `digits(.digits)*[letter](_suffix[N])*[~hash][-rN]`, with
//! `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`.

use super::{VersionError, cmp_digits};
use std::cmp::Ordering;

/// An apk version.
#[derive(Debug, Clone)]
pub struct AlpineVersion {
    original: String,
    numbers: Vec<String>,
    letter: Option<u8>,
    suffixes: Vec<(u8, String)>,
    hash: String,
    revision: String,
}

const NO_SUFFIX: u8 = 4;

fn suffix_rank(s: &str) -> Option<u8> {
    Some(match s {
        "alpha" => 0,
        "beta" => 1,
        "pre" => 2,
        "rc" => 3,
        "cvs" => 5,
        "svn" => 6,
        "git" => 7,
        "hg" => 8,
        "p" => 9,
        _ => return None,
    })
}

impl AlpineVersion {
    /// Parses an apk version string.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new("Alpine", input, r);
        let s = input.trim();
        let (main, revision) = match s.rsplit_once("-r") {
            Some((m, r)) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => {
                (m, r.trim_start_matches('0').to_string())
            }
            _ => (s, String::new()),
        };
        let (main, hash) = match main.split_once('~') {
            Some((m, h)) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (m, h.to_string())
            }
            Some(_) => return Err(err("bad ~hash")),
            None => (main, String::new()),
        };
        let b = main.as_bytes();
        let mut i = 0;
        let mut numbers = Vec::new();
        loop {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if st == i {
                return Err(err("expected a number"));
            }
            numbers.push(main[st..i].to_string());
            if i < b.len() && b[i] == b'.' {
                i += 1;
                continue;
            }
            break;
        }
        let mut letter = None;
        if i < b.len() && b[i].is_ascii_lowercase() {
            letter = Some(b[i]);
            i += 1;
        }
        let mut suffixes = Vec::new();
        while i < b.len() && b[i] == b'_' {
            i += 1;
            let st = i;
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
            let rank = suffix_rank(&main[st..i]).ok_or_else(|| err("unknown suffix"))?;
            let ns = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            suffixes.push((rank, main[ns..i].to_string()));
        }
        if i != b.len() {
            return Err(err("unexpected characters"));
        }
        Ok(AlpineVersion {
            original: s.to_string(),
            numbers,
            letter,
            suffixes,
            hash,
            revision,
        })
    }
}

impl std::fmt::Display for AlpineVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

fn cmp_component(first: bool, a: &str, b: &str) -> Ordering {
    // apk compares later components that start with 0 as decimal fractions (text).
    if !first && ((a.len() > 1 && a.starts_with('0')) || (b.len() > 1 && b.starts_with('0'))) {
        a.cmp(b)
    } else {
        cmp_digits(a, b)
    }
}

impl Ord for AlpineVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        for (k, (a, b)) in self.numbers.iter().zip(&o.numbers).enumerate() {
            let c = cmp_component(k == 0, a, b);
            if c != Ordering::Equal {
                return c;
            }
        }
        let c = self.numbers.len().cmp(&o.numbers.len());
        if c != Ordering::Equal {
            return c;
        }
        let c = self.letter.cmp(&o.letter);
        if c != Ordering::Equal {
            return c;
        }
        let n = self.suffixes.len().max(o.suffixes.len());
        let none = (NO_SUFFIX, String::new());
        for k in 0..n {
            let (ra, na) = self.suffixes.get(k).unwrap_or(&none);
            let (rb, nb) = o.suffixes.get(k).unwrap_or(&none);
            let c = ra.cmp(rb).then_with(|| cmp_digits(na, nb));
            if c != Ordering::Equal {
                return c;
            }
        }
        self.hash
            .cmp(&o.hash)
            .then_with(|| cmp_digits(&self.revision, &o.revision))
    }
}

impl PartialOrd for AlpineVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for AlpineVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for AlpineVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> AlpineVersion {
        AlpineVersion::parse(s).expect("test input")
    }

    #[test]
    fn apk_orderings() {
        let chain = [
            "1.0_alpha",
            "1.0_alpha1",
            "1.0_beta",
            "1.0_pre2",
            "1.0_rc1",
            "1.0",
            "1.0-r1",
            "1.0-r10",
            "1.0_git20200101",
            "1.0_p1",
            "1.0a",
            "1.0.1",
            "1.2",
            "1.10",
            "2.0",
        ];
        for w in chain.windows(2) {
            assert!(a(w[0]) < a(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(a("1.0-r0"), a("1.0"));
        for s in ["", "a1", "1.0_foo", "1..0", "1.0-", "1.0 x"] {
            assert!(AlpineVersion::parse(s).is_err(), "{s:?}");
        }
    }
}

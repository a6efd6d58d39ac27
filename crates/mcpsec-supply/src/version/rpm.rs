//! RPM versions (`[epoch:]version[-release]`) ordered by `rpmvercmp`: alternating
//! digit/letter segments, digits beat letters, `~` sorts before the end of the string
//! and `^` after it but before anything else.

use super::VersionError;
use std::cmp::Ordering;

/// An RPM EVR.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    /// Epoch (0 when absent).
    pub epoch: u64,
    /// Version.
    pub version: String,
    /// Release ("" when absent).
    pub release: String,
}

impl RpmVersion {
    /// Parses `[epoch:]version[-release]`.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new("RPM", input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("whitespace in version"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("epoch must be a number"));
                }
                (e.parse().map_err(|_| err("epoch too large"))?, r)
            }
            None => (0, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, r),
            None => (rest, ""),
        };
        if version.is_empty() || (rest.contains('-') && release.is_empty()) {
            return Err(err("empty version or release"));
        }
        Ok(RpmVersion {
            epoch,
            version: version.into(),
            release: release.into(),
        })
    }
}

/// `rpmvercmp` from rpm's `rpmio/rpmvercmp.c`.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    let bt = |i: usize| b.get(i).copied().unwrap_or(0);
    let sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while at(i) != 0 || bt(j) != 0 {
        while sep(at(i)) {
            i += 1;
        }
        while sep(bt(j)) {
            j += 1;
        }
        if at(i) == b'~' || bt(j) == b'~' {
            if at(i) != b'~' {
                return Ordering::Greater;
            }
            if bt(j) != b'~' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if at(i) == b'^' || bt(j) == b'^' {
            if at(i) == 0 {
                return Ordering::Less;
            }
            if bt(j) == 0 {
                return Ordering::Greater;
            }
            if at(i) != b'^' {
                return Ordering::Greater;
            }
            if bt(j) != b'^' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if at(i) == 0 || bt(j) == 0 {
            break;
        }
        let (si, sj) = (i, j);
        let isnum = at(i).is_ascii_digit();
        if isnum {
            while at(i).is_ascii_digit() {
                i += 1;
            }
            while bt(j).is_ascii_digit() {
                j += 1;
            }
        } else {
            while at(i).is_ascii_alphabetic() {
                i += 1;
            }
            while bt(j).is_ascii_alphabetic() {
                j += 1;
            }
        }
        if sj == j {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (x, y) = (&a[si..i], &b[sj..j]);
        let rc = if isnum {
            let x = trim_zeros(x);
            let y = trim_zeros(y);
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            x.cmp(y)
        };
        if rc != Ordering::Equal {
            return rc;
        }
    }
    match (at(i) == 0, bt(j) == 0) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}

impl std::fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::fmt_epoch_version_release(f, self.epoch, &self.version, &self.release)
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        self.epoch
            .cmp(&o.epoch)
            .then_with(|| rpmvercmp(&self.version, &o.version))
            .then_with(|| match (self.release.is_empty(), o.release.is_empty()) {
                (false, false) => rpmvercmp(&self.release, &o.release),
                // a missing release matches any release (rpm's EVR semantics); for a
                // total order we sort it first
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_table() {
        // From rpm's tests/rpmvercmp.at.
        use Ordering::*;
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.6p1", "5.5p2", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("1b.fc17", "1.fc17", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc1~git123", Greater),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("a", "1", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("1.0010", "1.9", Greater),
            ("1.05", "1.5", Equal),
            ("fc4", "fc.4", Equal),
            ("FC5", "fc4", Less),
            ("2a", "2.0", Less),
            ("1.0", "1.fc4", Greater),
        ];
        for (a, b, o) in cases {
            assert_eq!(rpmvercmp(a, b), o, "{a} vs {b}");
        }
        let p = |s| RpmVersion::parse(s).expect("test input");
        assert!(p("1:1.0-1") > p("2.0-1"));
        assert!(p("1.0-1.el8") < p("1.0-2.el8"));
        assert!(RpmVersion::parse("x:1").is_err());
    }
}

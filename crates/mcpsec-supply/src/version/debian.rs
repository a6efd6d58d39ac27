//! Debian package versions (`[epoch:]upstream[-revision]`) ordered by dpkg's `verrevcmp`:
//! `~` sorts before everything, even the end of the string; letters before other symbols.

use super::VersionError;
use std::cmp::Ordering;

/// A Debian version.
#[derive(Debug, Clone)]
pub struct DebianVersion {
    /// Epoch (0 when absent).
    pub epoch: u64,
    /// Upstream version.
    pub upstream: String,
    /// Debian revision ("" when absent).
    pub revision: String,
}

impl DebianVersion {
    /// Parses per Debian Policy §5.6.12.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new("Debian", input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
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
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("empty upstream version"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(err("upstream version must start with a digit"));
        }
        let ok = |c: u8| c.is_ascii_alphanumeric() || b".+~-:".contains(&c);
        if !upstream.bytes().all(ok)
            || !revision
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".+~".contains(&c))
        {
            return Err(err("invalid character"));
        }
        if rest.contains('-') && revision.is_empty() {
            return Err(err("empty revision"));
        }
        Ok(DebianVersion {
            epoch,
            upstream: upstream.into(),
            revision: revision.into(),
        })
    }
}

fn order(c: u8) -> i32 {
    if c.is_ascii_digit() {
        0
    } else if c.is_ascii_alphabetic() {
        i32::from(c)
    } else if c == b'~' {
        -1
    } else if c != 0 {
        i32::from(c) + 256
    } else {
        0
    }
}

/// dpkg's `verrevcmp`.
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    let bt = |i: usize| b.get(i).copied().unwrap_or(0);
    let (mut i, mut j) = (0usize, 0usize);
    while at(i) != 0 || bt(j) != 0 {
        while (at(i) != 0 && !at(i).is_ascii_digit()) || (bt(j) != 0 && !bt(j).is_ascii_digit()) {
            let (ac, bc) = (order(at(i)), order(bt(j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(i) == b'0' {
            i += 1;
        }
        while bt(j) == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while at(i).is_ascii_digit() && bt(j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = at(i).cmp(&bt(j));
            }
            i += 1;
            j += 1;
        }
        if at(i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if bt(j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl std::fmt::Display for DebianVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::fmt_epoch_version_release(f, self.epoch, &self.upstream, &self.revision)
    }
}

impl Ord for DebianVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        self.epoch
            .cmp(&o.epoch)
            .then_with(|| verrevcmp(&self.upstream, &o.upstream))
            .then_with(|| verrevcmp(&self.revision, &o.revision))
    }
}

impl PartialOrd for DebianVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebianVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebianVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DebianVersion {
        DebianVersion::parse(s).expect("test input")
    }

    #[test]
    fn dpkg_orderings() {
        // Debian Policy §5.6.12 and dpkg's t-version tests.
        let chain = [
            "1.0~~",
            "1.0~~a",
            "1.0~",
            "1.0",
            "1.0-1",
            "1.0-1ubuntu1",
            "1.0-2",
            "1.0a",
            "1.0+b1",
            "1.1",
            "1:0.1",
        ];
        for w in chain.windows(2) {
            assert!(d(w[0]) < d(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(d("0:1.0"), d("1.0"));
        assert_eq!(d("1.0-0"), d("1.0"));
        assert_eq!(d("1.001"), d("1.1"));
        assert!(d("2.30-3") > d("2.3-10"));
    }

    #[test]
    fn dpkg_invalid() {
        for s in ["", "a1.0", "x:1.0", "1.0-", "1.0 2", ":1.0", "1:"] {
            assert!(DebianVersion::parse(s).is_err(), "{s:?}");
        }
    }
}

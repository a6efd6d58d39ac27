//! PEP 440 (Python packages): epochs, pre/post/dev releases, local versions and the
//! normalisation rules (case, separators, spelling variants, implicit numbers).

use super::VersionError;
use std::cmp::Ordering;

const SCHEME: &str = "PEP 440";

/// A parsed PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    /// `N!` epoch (0 when absent).
    pub epoch: u64,
    /// Release numbers.
    pub release: Vec<u64>,
    /// Pre-release: 0 = a, 1 = b, 2 = rc, with its number.
    pub pre: Option<(u8, u64)>,
    /// Post-release number.
    pub post: Option<u64>,
    /// Development release number.
    pub dev: Option<u64>,
    /// Local version segments (after `+`).
    pub local: Vec<LocalSeg>,
}

/// One segment of a local version label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocalSeg {
    /// Letters (lower-cased); sorts before any number.
    Alpha(String),
    /// A number.
    Num(u64),
}

struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat_sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn num(&mut self) -> Option<Result<u64, ()>> {
        let st = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if st == self.i {
            return None;
        }
        let t = std::str::from_utf8(&self.s[st..self.i]).map_err(|_| ());
        Some(t.and_then(|t| t.parse::<u64>().map_err(|_| ())))
    }
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        // longest match first
        let mut best: Option<(usize, usize)> = None;
        for (k, w) in words.iter().enumerate() {
            if self.s[self.i..].starts_with(w.as_bytes()) && best.is_none_or(|(_, l)| w.len() > l) {
                best = Some((k, w.len()));
            }
        }
        let (k, l) = best?;
        self.i += l;
        Some(k)
    }
}

impl Pep440Version {
    /// Parses and normalises a version string.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |r: &str| VersionError::new(SCHEME, input, r);
        let lower = input.trim().to_ascii_lowercase();
        let mut c = Cur {
            s: lower.as_bytes(),
            i: 0,
        };
        if c.peek() == Some(b'v') {
            c.i += 1;
        }
        let bad_num = |_| err("number too large");
        let first = c
            .num()
            .ok_or_else(|| err("must start with a number"))?
            .map_err(bad_num)?;
        let mut epoch = 0;
        let mut release = vec![first];
        if c.peek() == Some(b'!') {
            c.i += 1;
            epoch = first;
            release.clear();
            release.push(
                c.num()
                    .ok_or_else(|| err("release expected after epoch"))?
                    .map_err(bad_num)?,
            );
        }
        while c.peek() == Some(b'.') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            release.push(
                c.num()
                    .ok_or_else(|| err("bad release"))?
                    .map_err(bad_num)?,
            );
        }
        // pre-release
        let mut pre = None;
        let save = c.i;
        c.eat_sep();
        const PRE: [&str; 8] = ["alpha", "a", "beta", "b", "preview", "pre", "rc", "c"];
        if let Some(k) = c.word(&PRE) {
            let kind = match PRE[k] {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            let save2 = c.i;
            c.eat_sep();
            let n = match c.num() {
                Some(n) => n.map_err(bad_num)?,
                None => {
                    c.i = save2;
                    0
                }
            };
            pre = Some((kind, n));
        } else {
            c.i = save;
        }
        // post-release
        let mut post = None;
        let save = c.i;
        if c.peek() == Some(b'-') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            post = Some(c.num().ok_or_else(|| err("bad post"))?.map_err(bad_num)?);
        } else {
            c.eat_sep();
            if c.word(&["post", "rev", "r"]).is_some() {
                let save2 = c.i;
                c.eat_sep();
                post = Some(match c.num() {
                    Some(n) => n.map_err(bad_num)?,
                    None => {
                        c.i = save2;
                        0
                    }
                });
            } else {
                c.i = save;
            }
        }
        // dev release
        let mut dev = None;
        let save = c.i;
        c.eat_sep();
        if c.word(&["dev"]).is_some() {
            let save2 = c.i;
            c.eat_sep();
            dev = Some(match c.num() {
                Some(n) => n.map_err(bad_num)?,
                None => {
                    c.i = save2;
                    0
                }
            });
        } else {
            c.i = save;
        }
        // local
        let mut local = Vec::new();
        if c.peek() == Some(b'+') {
            c.i += 1;
            let rest = std::str::from_utf8(&c.s[c.i..]).map_err(|_| err("not UTF-8"))?;
            for seg in rest.split(['.', '-', '_']) {
                if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err("bad local version label"));
                }
                if seg.bytes().all(|b| b.is_ascii_digit()) {
                    local.push(LocalSeg::Num(
                        seg.parse().map_err(|_| err("number too large"))?,
                    ));
                } else {
                    local.push(LocalSeg::Alpha(seg.to_string()));
                }
            }
            c.i = c.s.len();
        }
        if c.i != c.s.len() {
            return Err(err("unexpected trailing text"));
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// Whether this is a pre-release or development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn release_trimmed(&self) -> &[u64] {
        let mut n = self.release.len();
        while n > 1 && self.release[n - 1] == 0 {
            n -= 1;
        }
        &self.release[..n]
    }
}

impl std::fmt::Display for Pep440Version {
    /// The normalised form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let r: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&r.join("."))?;
        if let Some((k, n)) = self.pre {
            write!(f, "{}{n}", ["a", "b", "rc"][usize::from(k.min(2))])?;
        }
        if let Some(p) = self.post {
            write!(f, ".post{p}")?;
        }
        if let Some(d) = self.dev {
            write!(f, ".dev{d}")?;
        }
        if !self.local.is_empty() {
            let l: Vec<String> = self
                .local
                .iter()
                .map(|s| match s {
                    LocalSeg::Alpha(a) => a.clone(),
                    LocalSeg::Num(n) => n.to_string(),
                })
                .collect();
            write!(f, "+{}", l.join("."))?;
        }
        Ok(())
    }
}

/// Sort key of the pre-release part: dev-only releases before all pre-releases, finals
/// after them.
fn pre_key(v: &Pep440Version) -> (i8, u8, u64) {
    match v.pre {
        None if v.post.is_none() && v.dev.is_some() => (-1, 0, 0),
        None => (1, 0, 0),
        Some((k, n)) => (0, k, n),
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, o: &Self) -> Ordering {
        let rel = {
            let (a, b) = (self.release_trimmed(), o.release_trimmed());
            let n = a.len().max(b.len());
            let mut ord = Ordering::Equal;
            for i in 0..n {
                ord = a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0));
                if ord != Ordering::Equal {
                    break;
                }
            }
            ord
        };
        self.epoch
            .cmp(&o.epoch)
            .then(rel)
            .then_with(|| pre_key(self).cmp(&pre_key(o)))
            .then_with(|| match (self.post, o.post) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            })
            .then_with(|| match (self.dev, o.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(&b),
            })
            .then_with(|| {
                // no local < any local; segments: alpha < numeric (derive order), shorter first
                self.local.cmp(&o.local)
            })
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pep440Version {
        Pep440Version::parse(s).expect("test input")
    }

    #[test]
    fn spec_ordering() {
        // PEP 440 "Summary of permitted suffixes and relative ordering".
        let chain = [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for w in chain.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{} < {}", w[0], w[1]);
        }
        assert!(p("1!0.1") > p("2.0"));
    }

    #[test]
    fn normalization() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-beta.2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0-pre", "1.0rc0"),
            ("1.0-1", "1.0.post1"),
            ("1.0rev", "1.0.post0"),
            ("v1.0", "1.0"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0.preview-2", "1.0rc2"),
        ] {
            assert_eq!(p(a), p(b), "{a} == {b}");
        }
        assert_eq!(p("1.0-Beta.2").to_string(), "1.0b2");
    }

    #[test]
    fn invalid() {
        for s in ["", "abc", "1.0+", "1.0+a..b", "1.0 foo", "1.0.x", "!1"] {
            assert!(Pep440Version::parse(s).is_err(), "{s}");
        }
    }
}

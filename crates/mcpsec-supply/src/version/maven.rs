//! Maven versions, ordered like Maven's `ComparableVersion`: items split on `.`, `-` and
//! letter/digit transitions; qualifiers `alpha < beta < milestone < rc = cr < snapshot <
//! "" = ga = final = release < sp`, unknown qualifiers after them alphabetically; trailing
//! "null" items (`0`, `""`, `final`...) dropped.

use super::{VersionError, cmp_digits};
use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let mut v = s.to_string();
    if followed_by_digit && s.len() == 1 {
        v = match s {
            "a" => "alpha".into(),
            "b" => "beta".into(),
            "m" => "milestone".into(),
            _ => v,
        };
    }
    let v = match v.as_str() {
        "ga" | "final" | "release" => String::new(),
        "cr" => "rc".into(),
        _ => v,
    };
    Item::Str(v)
}

fn parse_item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        let t = s.trim_start_matches('0');
        Item::Int(if t.is_empty() { "0".into() } else { t.into() })
    } else {
        string_item(s, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(v) => v == "0",
            Item::Str(s) => comparable_qualifier(s) == RELEASE_INDEX,
            Item::List(l) => l.is_empty(),
        }
    }

    /// Compares with an absent item (`None`).
    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(v), None) => {
                if v == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => cmp_digits(a, b),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(s), None) => comparable_qualifier(s).as_str().cmp(RELEASE_INDEX),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => match l.first() {
                None => Ordering::Equal,
                Some(f) => f.cmp_opt(None),
            },
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => {
                let n = a.len().max(b.len());
                for i in 0..n {
                    let r = match (a.get(i), b.get(i)) {
                        (None, None) => Ordering::Equal,
                        (Some(x), y) => x.cmp_opt(y),
                        (None, Some(y)) => y.cmp_opt(None).reverse(),
                    };
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

fn normalize(list: &mut Vec<Item>) {
    while let Some(last) = list.last() {
        if last.is_null() {
            list.pop();
        } else {
            break;
        }
    }
}

/// A Maven version (any non-empty string is one, as in Maven).
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: String,
    items: Item,
}

impl MavenVersion {
    /// Parses a version; only empty strings and control characters are rejected.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(VersionError::new("Maven", input, "empty"));
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(VersionError::new(
                "Maven",
                input,
                "contains whitespace or control characters",
            ));
        }
        let lower = s.to_lowercase();
        // A stack of lists, as in ComparableVersion.parseVersion.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let chars: Vec<char> = lower.chars().collect();
        let mut is_digit = false;
        let mut start = 0usize;
        let sub = |a: usize, b: usize| -> String { chars[a..b].iter().collect() };
        let top = |st: &mut Vec<Vec<Item>>| -> usize { st.len() - 1 };
        for (i, &c) in chars.iter().enumerate() {
            if c == '.' {
                let t = top(&mut stack);
                if i == start {
                    stack[t].push(Item::Int("0".into()));
                } else {
                    stack[t].push(parse_item(is_digit, &sub(start, i)));
                }
                start = i + 1;
            } else if c == '-' {
                let t = top(&mut stack);
                if i == start {
                    stack[t].push(Item::Int("0".into()));
                } else {
                    stack[t].push(parse_item(is_digit, &sub(start, i)));
                }
                start = i + 1;
                stack.push(Vec::new());
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    let t = top(&mut stack);
                    stack[t].push(string_item(&sub(start, i), true));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    let t = top(&mut stack);
                    stack[t].push(parse_item(true, &sub(start, i)));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
        if chars.len() > start {
            let t = top(&mut stack);
            stack[t].push(parse_item(is_digit, &sub(start, chars.len())));
        }
        // Fold the stack: each list is the last element of the one below it.
        let mut cur = stack.pop().unwrap_or_default();
        normalize(&mut cur);
        while let Some(mut parent) = stack.pop() {
            parent.push(Item::List(cur));
            normalize(&mut parent);
            cur = parent;
        }
        Ok(MavenVersion {
            original: s.to_string(),
            items: Item::List(cur),
        })
    }
}

impl std::fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.items.cmp_opt(Some(&other.items))
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> MavenVersion {
        MavenVersion::parse(s).expect("test input")
    }

    #[test]
    fn maven_documented_orderings() {
        // From Maven's ComparableVersionTest (VERSIONS_QUALIFIER / VERSIONS_NUMBER).
        let q = [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ];
        for w in q.windows(2) {
            assert!(m(w[0]) < m(w[1]), "{} < {}", w[0], w[1]);
        }
        let n = [
            "2.0", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1",
            "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a",
            "11b", "11c", "11m",
        ];
        for w in n.windows(2) {
            assert!(m(w[0]) < m(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn maven_equalities() {
        for (a, b) in [
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1.0-ga", "1"),
            ("1-final", "1"),
            ("1-release", "1"),
            ("1a1", "1-alpha-1"),
            ("1cr", "1rc"),
            ("1.0.RC1", "1.0.rc1"),
            ("1ga", "1.0"),
        ] {
            assert_eq!(m(a), m(b), "{a} == {b}");
        }
        assert!(MavenVersion::parse("").is_err());
    }
}

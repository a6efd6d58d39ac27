//! CVSS v4.0 scores (FIRST CVSS v4.0 specification §8): the vector's MacroVector
//! (equivalence classes EQ1–EQ6) selects a score from the specification's lookup table,
//! which is then lowered by the vector's mean proportional severity distance from the
//! highest-severity vectors of its MacroVector, relative to the next lower MacroVectors.
//! Threat (`E`) and environmental (`CR`/`IR`/`AR`, `M*`) metrics are honoured when present;
//! supplemental metrics are validated but do not change the score.

use crate::cvss::CvssError;
use crate::cvss4_table::LOOKUP;
use std::collections::HashMap;

fn err(v: &str, r: &str) -> CvssError {
    CvssError {
        vector: v.chars().take(200).collect(),
        reason: r.into(),
    }
}

/// Allowed values per metric (`X` = not defined, where allowed).
fn allowed(metric: &str) -> Option<&'static [&'static str]> {
    Some(match metric {
        "AV" => &["N", "A", "L", "P"],
        "AC" => &["L", "H"],
        "AT" => &["N", "P"],
        "PR" => &["N", "L", "H"],
        "UI" => &["N", "P", "A"],
        "VC" | "VI" | "VA" | "SC" | "SI" | "SA" => &["H", "L", "N"],
        "E" => &["X", "A", "P", "U"],
        "CR" | "IR" | "AR" => &["X", "H", "M", "L"],
        "MAV" => &["X", "N", "A", "L", "P"],
        "MAC" => &["X", "L", "H"],
        "MAT" => &["X", "N", "P"],
        "MPR" => &["X", "N", "L", "H"],
        "MUI" => &["X", "N", "P", "A"],
        "MVC" | "MVI" | "MVA" | "MSC" => &["X", "H", "L", "N"],
        "MSI" | "MSA" => &["X", "S", "H", "L", "N"],
        "S" => &["X", "N", "P"],
        "AU" => &["X", "N", "Y"],
        "R" => &["X", "A", "U", "I"],
        "V" => &["X", "D", "C"],
        "RE" => &["X", "L", "M", "H"],
        "U" => &["X", "Clear", "Green", "Amber", "Red"],
        _ => return None,
    })
}

const BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// A parsed, validated v4.0 vector.
struct Vector<'a> {
    m: HashMap<&'a str, &'a str>,
}

impl<'a> Vector<'a> {
    fn parse(v: &'a str) -> Result<Vector<'a>, CvssError> {
        let mut parts = v.split('/');
        if parts.next() != Some("CVSS:4.0") {
            return Err(err(v, "not a CVSS v4.0 vector"));
        }
        let mut m = HashMap::new();
        for p in parts {
            let (k, val) = p
                .split_once(':')
                .ok_or_else(|| err(v, "metric without ':'"))?;
            let ok = allowed(k).ok_or_else(|| err(v, &format!("unknown metric {k}")))?;
            if !ok.contains(&val) {
                return Err(err(v, &format!("bad value for {k}")));
            }
            if m.insert(k, val).is_some() {
                return Err(err(v, &format!("metric {k} given twice")));
            }
        }
        for k in BASE {
            if !m.contains_key(k) {
                return Err(err(v, &format!("missing {k}")));
            }
        }
        Ok(Vector { m })
    }

    /// The effective value: modified metrics override base ones; `E` defaults to `A`,
    /// `CR`/`IR`/`AR` to `H` (the worst case).
    fn get(&self, k: &str) -> &str {
        let raw = self.m.get(k).copied().unwrap_or("X");
        match k {
            "E" if raw == "X" => return "A",
            "CR" | "IR" | "AR" if raw == "X" => return "H",
            _ => {}
        }
        let modified = format!("M{k}");
        match self.m.get(modified.as_str()) {
            Some(&x) if x != "X" => x,
            _ => raw,
        }
    }

    /// EQ1..EQ6.
    fn macro_vector(&self) -> [u8; 6] {
        let g = |k| self.get(k);
        let (av, pr, ui) = (g("AV"), g("PR"), g("UI"));
        let eq1 = if av == "N" && pr == "N" && ui == "N" {
            0
        } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
            1
        } else {
            2
        };
        let eq2 = if g("AC") == "L" && g("AT") == "N" {
            0
        } else {
            1
        };
        let (vc, vi, va) = (g("VC"), g("VI"), g("VA"));
        let eq3 = if vc == "H" && vi == "H" {
            0
        } else if vc == "H" || vi == "H" || va == "H" {
            1
        } else {
            2
        };
        let eq4 = if g("SI") == "S" || g("SA") == "S" {
            0
        } else if g("SC") == "H" || g("SI") == "H" || g("SA") == "H" {
            1
        } else {
            2
        };
        let eq5 = match g("E") {
            "A" => 0,
            "P" => 1,
            _ => 2,
        };
        let eq6 = if (g("CR") == "H" && vc == "H")
            || (g("IR") == "H" && vi == "H")
            || (g("AR") == "H" && va == "H")
        {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

/// Severity level of a metric value (distance unit 0.1 per step).
fn level(metric: &str, value: &str) -> f64 {
    let steps: &[&str] = match metric {
        "AV" => &["N", "A", "L", "P"],
        "PR" => &["N", "L", "H"],
        "UI" => &["N", "P", "A"],
        "AC" => &["L", "H"],
        "AT" => &["N", "P"],
        "VC" | "VI" | "VA" => &["H", "L", "N"],
        "SC" => &["-", "H", "L", "N"],
        "SI" | "SA" => &["S", "H", "L", "N"],
        "CR" | "IR" | "AR" => &["H", "M", "L"],
        "E" => &["A", "P", "U"],
        _ => &[],
    };
    steps
        .iter()
        .position(|s| *s == value)
        .map_or(0.0, |i| i as f64 / 10.0)
}

fn lookup(mv: [u8; 6]) -> Option<f64> {
    let key: String = mv.iter().map(|d| char::from(b'0' + d)).collect();
    LOOKUP
        .binary_search_by(|(k, _)| (*k).cmp(key.as_str()))
        .ok()
        .map(|i| LOOKUP[i].1)
}

/// Highest-severity vectors of each EQ level (from the specification).
fn max_vectors(eq: usize, level: u8, eq6: u8) -> &'static [&'static str] {
    match (eq, level, eq6) {
        (1, 0, _) => &["AV:N/PR:N/UI:N"],
        (1, 1, _) => &["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
        (1, 2, _) => &["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
        (2, 0, _) => &["AC:L/AT:N"],
        (2, 1, _) => &["AC:H/AT:N", "AC:L/AT:P"],
        (3, 0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
        (3, 0, 1) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M",
        ],
        (3, 1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H",
        ],
        (3, 1, 1) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ],
        (3, 2, _) => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
        (4, 0, _) => &["SC:H/SI:S/SA:S"],
        (4, 1, _) => &["SC:H/SI:H/SA:H"],
        (4, 2, _) => &["SC:L/SI:L/SA:L"],
        (5, 0, _) => &["E:A"],
        (5, 1, _) => &["E:P"],
        (5, 2, _) => &["E:U"],
        _ => &[],
    }
}

/// Depth of each MacroVector level in severity steps (+1), from the specification.
fn max_severity(eq: usize, level: u8, eq6: u8) -> f64 {
    let steps = match (eq, level, eq6) {
        (1, 0, _) => 1,
        (1, 1, _) => 4,
        (1, 2, _) => 5,
        (2, 0, _) => 1,
        (2, 1, _) => 2,
        (3, 0, 0) => 7,
        (3, 0, 1) => 6,
        (3, 1, _) => 8,
        (3, 2, _) => 10,
        (4, 0, _) => 6,
        (4, 1, _) => 5,
        (4, 2, _) => 4,
        _ => 1,
    };
    f64::from(steps) * 0.1
}

/// Computes the CVSS v4.0 score of a vector (`CVSS:4.0/AV:N/...`): CVSS-B, or CVSS-BT /
/// CVSS-BE / CVSS-BTE when threat or environmental metrics are given.
pub fn score_v4(vector: &str) -> Result<f64, CvssError> {
    let v = vector.trim();
    let vec = Vector::parse(v)?;
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|k| vec.get(k) == "N")
    {
        return Ok(0.0);
    }
    let mv = vec.macro_vector();
    let [eq1, eq2, eq3, eq4, eq5, eq6] = mv;
    let value = lookup(mv).ok_or_else(|| err(v, "MacroVector not in the table"))?;

    // scores of the next lower MacroVectors (None where there is none)
    let lower = |i: usize| {
        let mut m = mv;
        m[i] += 1;
        lookup(m)
    };
    let next_eq3eq6 = match (eq3, eq6) {
        (0, 0) => {
            let left = lookup([eq1, eq2, eq3, eq4, eq5, eq6 + 1]);
            let right = lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6]);
            match (left, right) {
                (Some(l), Some(r)) => Some(l.max(r)),
                (l, r) => l.or(r),
            }
        }
        (1, 0) => lookup([eq1, eq2, eq3, eq4, eq5, eq6 + 1]),
        (0, 1) | (1, 1) => lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6]),
        _ => None,
    };

    // the first highest-severity vector the scored vector does not exceed
    let mut candidates: Vec<Vec<&str>> = vec![vec![]];
    for (eq, lvl) in [(1, eq1), (2, eq2), (3, eq3), (4, eq4), (5, eq5)] {
        let options = max_vectors(eq, lvl, eq6);
        let mut next = Vec::with_capacity(candidates.len() * options.len());
        for c in &candidates {
            for o in options {
                let mut x = c.clone();
                x.push(*o);
                next.push(x);
            }
        }
        candidates = next;
    }
    let dist = |parts: &[&str], metric: &str| -> f64 {
        let max_val = parts
            .iter()
            .flat_map(|p| p.split('/'))
            .find_map(|kv| kv.strip_prefix(metric).and_then(|r| r.strip_prefix(':')))
            .unwrap_or("");
        level(metric, vec.get(metric)) - level(metric, max_val)
    };
    const ALL: [&str; 15] = [
        "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR", "E",
    ];
    let eps = 1e-9;
    let chosen = candidates
        .iter()
        .find(|c| ALL.iter().all(|m| dist(c, m) >= -eps))
        .ok_or_else(|| err(v, "no highest-severity vector for its MacroVector"))?;
    let d = |ms: &[&str]| ms.iter().map(|m| dist(chosen, m)).sum::<f64>();
    let distances = [
        (d(&["AV", "PR", "UI"]), lower(0), max_severity(1, eq1, eq6)),
        (d(&["AC", "AT"]), lower(1), max_severity(2, eq2, eq6)),
        (
            d(&["VC", "VI", "VA", "CR", "IR", "AR"]),
            next_eq3eq6,
            max_severity(3, eq3, eq6),
        ),
        (d(&["SC", "SI", "SA"]), lower(3), max_severity(4, eq4, eq6)),
        // EQ5 has no intra-MacroVector distance
        (0.0, lower(4), max_severity(5, eq5, eq6)),
    ];
    let mut n = 0u32;
    let mut sum = 0.0;
    for (current, next, depth) in distances {
        if let Some(next) = next {
            n += 1;
            sum += (value - next) * (current / depth);
        }
    }
    let mean = if n == 0 { 0.0 } else { sum / f64::from(n) };
    let s = (value - mean).clamp(0.0, 10.0);
    Ok(((s + 1e-6) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors and scores published with the specification (FIRST "CVSS v4.0 Examples")
    /// and produced by FIRST's calculator.
    #[test]
    fn official_examples() {
        for (v, s) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:H",
                7.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U",
                9.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MVI:L/MSA:S",
                9.8,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                7.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                7.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
                5.2,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N",
                8.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L",
                8.1,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
                4.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
                5.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:N/SA:N",
                5.9,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                9.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D",
                8.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N/E:A",
                8.7,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H",
                6.4,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/R:I",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:H/SI:H/SA:H",
                9.3,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                8.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
                7.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
                8.2,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P",
                8.2,
            ),
        ] {
            assert_eq!(score_v4(v), Ok(s), "{v}");
        }
    }

    #[test]
    fn malformed_vectors_are_errors() {
        for v in [
            "",
            "CVSS:4.0",
            "CVSS:4.0/AV:N",
            "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/ZZ:1",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/",
            "CVSS:4.0/AVN/AC:L",
        ] {
            assert!(score_v4(v).is_err(), "{v}");
        }
    }
}

#[cfg(test)]
mod advisory_tests {
    use crate::cvss::Severity;
    use crate::osv::{Advisory, SeverityEntry};

    fn adv(entries: &[(&str, &str)]) -> Advisory {
        Advisory {
            id: "GHSA-x".into(),
            severity: entries
                .iter()
                .map(|(k, s)| SeverityEntry {
                    kind: (*k).into(),
                    score: (*s).into(),
                })
                .collect(),
            database_specific: serde_json::json!({"severity": "LOW"}),
            ..Default::default()
        }
    }

    #[test]
    fn v4_only_advisories_get_their_severity_from_v4() {
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let a = adv(&[("CVSS_V4", v4)]);
        let c = a.cvss().expect("scored");
        assert_eq!((c.version, c.score), ("4.0", Some(9.3)));
        assert_eq!(a.severity_rating(), Severity::Critical, "not the LOW word");
        // with a v3 vector too, v3 decides (as before)
        let both = adv(&[
            ("CVSS_V4", v4),
            ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
        ]);
        assert_eq!(both.cvss().map(|c| c.version), Some("3.1"));
        assert_eq!(both.severity_rating(), Severity::High);
        // a broken v4 vector falls back to the word
        let bad = adv(&[("CVSS_V4", "CVSS:4.0/AV:N")]);
        assert_eq!(bad.severity_rating(), Severity::Low);
    }
}

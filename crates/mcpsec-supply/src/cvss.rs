//! CVSS base scores computed from vectors: v3.0/v3.1 (FIRST specification §7), v2
//! (§3.2.1) and v4.0 ([`crate::cvss4`], the specification's MacroVector table).

use std::collections::HashMap;

/// A qualitative severity rating (CVSS v3 bands; `Unknown` when nothing is known).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No severity information.
    Unknown,
    /// 0.0 (CVSS "None").
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl Severity {
    /// The band of a v3/v4 base score.
    pub fn from_score(score: f64) -> Severity {
        if score <= 0.0 {
            Severity::None
        } else if score < 4.0 {
            Severity::Low
        } else if score < 7.0 {
            Severity::Medium
        } else if score < 9.0 {
            Severity::High
        } else {
            Severity::Critical
        }
    }

    /// Parses a word such as `HIGH`, `moderate`, `important`.
    pub fn from_word(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => Severity::None,
            "low" | "negligible" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    /// The vector.
    pub vector: String,
    /// What is wrong.
    pub reason: String,
}

fn err(v: &str, r: &str) -> CvssError {
    CvssError {
        vector: v.chars().take(200).collect(),
        reason: r.into(),
    }
}

fn metrics<'a>(
    v: &'a str,
    parts: impl Iterator<Item = &'a str>,
) -> Result<HashMap<&'a str, &'a str>, CvssError> {
    let mut m = HashMap::new();
    for p in parts {
        let (k, val) = p
            .split_once(':')
            .ok_or_else(|| err(v, "metric without ':'"))?;
        if m.insert(k, val).is_some() {
            return Err(err(v, "metric given twice"));
        }
    }
    Ok(m)
}

/// v3 "round up to one decimal" as specified in CVSS 3.1 Appendix A.
fn roundup(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) as f64 + 1.0) / 10.0
    }
}

/// Computes the base score of a CVSS v3.0/v3.1 vector (`CVSS:3.1/AV:N/...`).
pub fn base_score_v3(vector: &str) -> Result<f64, CvssError> {
    let v = vector.trim();
    let mut parts = v.split('/');
    let head = parts.next().unwrap_or("");
    if head != "CVSS:3.0" && head != "CVSS:3.1" {
        return Err(err(v, "not a CVSS v3 vector"));
    }
    let m = metrics(v, parts)?;
    let get = |k: &str| {
        m.get(k)
            .copied()
            .ok_or_else(|| err(v, &format!("missing {k}")))
    };
    let bad = |k: &str| err(v, &format!("bad value for {k}"));
    let scope_changed = match get("S")? {
        "U" => false,
        "C" => true,
        _ => return Err(bad("S")),
    };
    let av = match get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return Err(bad("AV")),
    };
    let ac = match get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return Err(bad("AC")),
    };
    let pr = match (get("PR")?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return Err(bad("PR")),
    };
    let ui = match get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return Err(bad("UI")),
    };
    let cia = |k: &str| -> Result<f64, CvssError> {
        Ok(match get(k)? {
            "H" => 0.56,
            "L" => 0.22,
            "N" => 0.0,
            _ => return Err(bad(k)),
        })
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    Ok(if scope_changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    })
}

/// Computes the base score of a CVSS v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, with or
/// without a `(...)` wrapper or `CVSS:2.0/` prefix).
pub fn base_score_v2(vector: &str) -> Result<f64, CvssError> {
    let v = vector.trim().trim_start_matches('(').trim_end_matches(')');
    let v = v.strip_prefix("CVSS:2.0/").unwrap_or(v);
    let m = metrics(v, v.split('/'))?;
    let get = |k: &str| {
        m.get(k)
            .copied()
            .ok_or_else(|| err(v, &format!("missing {k}")))
    };
    let bad = |k: &str| err(v, &format!("bad value for {k}"));
    let av = match get("AV")? {
        "L" => 0.395,
        "A" => 0.646,
        "N" => 1.0,
        _ => return Err(bad("AV")),
    };
    let ac = match get("AC")? {
        "H" => 0.35,
        "M" => 0.61,
        "L" => 0.71,
        _ => return Err(bad("AC")),
    };
    let au = match get("Au")? {
        "M" => 0.45,
        "S" => 0.56,
        "N" => 0.704,
        _ => return Err(bad("Au")),
    };
    let cia = |k: &str| -> Result<f64, CvssError> {
        Ok(match get(k)? {
            "N" => 0.0,
            "P" => 0.275,
            "C" => 0.660,
            _ => return Err(bad(k)),
        })
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let expl = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let score = ((0.6 * impact) + (0.4 * expl) - 1.5) * f;
    Ok((score * 10.0).round() / 10.0)
}

/// A scored vector.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scored {
    /// CVSS version ("2.0", "3.0", "3.1", "4.0").
    pub version: &'static str,
    /// Base score, when computable.
    pub score: Option<f64>,
    /// The severity band.
    pub severity: Severity,
    /// The vector as given.
    pub vector: String,
}

/// Scores any supported vector. v2 scores are banded with the v2 NVD bands
/// (low < 4, medium < 7, high ≥ 7).
pub fn score(vector: &str) -> Result<Scored, CvssError> {
    let v = vector.trim();
    if v.starts_with("CVSS:3.") {
        let s = base_score_v3(v)?;
        let version = if v.starts_with("CVSS:3.0") {
            "3.0"
        } else {
            "3.1"
        };
        Ok(Scored {
            version,
            score: Some(s),
            severity: Severity::from_score(s),
            vector: v.into(),
        })
    } else if v.starts_with("CVSS:4.") {
        let s = crate::cvss4::score_v4(v)?;
        Ok(Scored {
            version: "4.0",
            score: Some(s),
            severity: Severity::from_score(s),
            vector: v.into(),
        })
    } else {
        let s = base_score_v2(v)?;
        let sev = if s < 4.0 {
            Severity::Low
        } else if s < 7.0 {
            Severity::Medium
        } else {
            Severity::High
        };
        Ok(Scored {
            version: "2.0",
            score: Some(s),
            severity: sev,
            vector: v.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_known_scores() {
        for (v, s) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
        ] {
            assert_eq!(base_score_v3(v), Ok(s), "{v}");
        }
        assert!(base_score_v3("CVSS:3.1/AV:X/AC:L").is_err());
        assert!(base_score_v3("garbage").is_err());
    }

    #[test]
    fn v2_known_scores() {
        assert_eq!(base_score_v2("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Ok(7.5));
        assert_eq!(base_score_v2("AV:N/AC:M/Au:N/C:N/I:P/A:N"), Ok(4.3));
        assert_eq!(base_score_v2("AV:N/AC:L/Au:N/C:C/I:C/A:C"), Ok(10.0));
    }
}

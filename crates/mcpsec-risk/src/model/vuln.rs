//! Vulnerability risk of a component on an asset, with the supply-chain module's CVSS
//! scoring and the same severity × likelihood shape as its finding risk
//! (docs/supply-chain.md): `base × (0.4 + 0.6 × likelihood)`, where likelihood is 1 for a
//! KEV entry, else the EPSS probability lifted to at least 0.1, else 0.3.

use crate::asset::AssetVuln;
use mcpsec_supply::cvss::{self, Severity};
use serde::Serialize;

/// One vulnerability as the model reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnReading {
    /// Vulnerability id.
    pub id: String,
    /// Base score 0–10 (computed from the vector, else given, else 5.5 = medium).
    pub base: f64,
    /// Severity band of the base score.
    pub severity: Severity,
    /// CVSS version of the vector, when there was one.
    pub cvss_version: Option<&'static str>,
    /// Likelihood of exploitation 0–1.
    pub likelihood: f64,
    /// In KEV.
    pub kev: bool,
    /// EPSS probability, when known.
    pub epss: Option<f64>,
    /// base × (0.4 + 0.6 × likelihood), 0–10.
    pub risk: f64,
}

/// Reads one vulnerability.
pub fn read_vuln(v: &AssetVuln) -> VulnReading {
    let scored = v.cvss.as_deref().and_then(|s| cvss::score(s).ok());
    let base = scored
        .as_ref()
        .and_then(|s| s.score)
        .or(v.score)
        .unwrap_or(5.5)
        .clamp(0.0, 10.0);
    let likelihood = if v.kev {
        1.0
    } else if let Some(e) = v.epss {
        e.clamp(0.0, 1.0).max(0.1)
    } else {
        0.3
    };
    VulnReading {
        id: v.id.clone(),
        base,
        severity: scored
            .as_ref()
            .map(|s| s.severity)
            .unwrap_or_else(|| Severity::from_score(base)),
        cvss_version: scored.map(|s| s.version),
        likelihood,
        kev: v.kev,
        epss: v.epss,
        risk: super::round2((base * (0.4 + 0.6 * likelihood)).clamp(0.0, 10.0)),
    }
}

/// The riskiest of the vulnerabilities.
pub fn worst_vuln<'a>(vulns: impl IntoIterator<Item = &'a AssetVuln>) -> Option<VulnReading> {
    vulns
        .into_iter()
        .map(read_vuln)
        .max_by(|a, b| a.risk.total_cmp(&b.risk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(cvss: Option<&str>, epss: Option<f64>, kev: bool) -> AssetVuln {
        AssetVuln {
            id: "CVE-1".into(),
            component: None,
            cvss: cvss.map(str::to_owned),
            score: None,
            epss,
            kev,
        }
    }

    #[test]
    fn kev_and_epss_raise_the_risk_of_the_computed_base_score() {
        let vec = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let kev = read_vuln(&v(Some(vec), None, true));
        assert_eq!(
            (kev.base, kev.risk, kev.cvss_version),
            (9.8, 9.8, Some("3.1"))
        );
        let unknown = read_vuln(&v(Some(vec), None, false));
        assert!((unknown.risk - 9.8 * 0.58).abs() < 0.01, "{unknown:?}");
        let epss = read_vuln(&v(Some(vec), Some(0.5), false));
        assert!(epss.risk > unknown.risk && epss.risk < kev.risk);
        let none = read_vuln(&v(None, None, false));
        assert_eq!(none.base, 5.5);
        let worst = worst_vuln(&[v(None, None, false), v(Some(vec), None, true)]).expect("some");
        assert_eq!(worst.risk, 9.8);
    }
}

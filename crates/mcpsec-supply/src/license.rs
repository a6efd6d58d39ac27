//! Licence policy: SPDX licence expressions (parsed with the `spdx` crate, lax mode:
//! `AND`, `OR`, `WITH`, parentheses, `+`, `LicenseRef-`, `/` as `OR`, common imprecise
//! names) evaluated per component against a policy of allowed, denied and to-review
//! licence ids and families.
//!
//! Evaluation: each licence in an expression gets a verdict (its id or `id WITH exception`
//! in a list, else its family in a family list, else the policy's `unlisted` verdict; a
//! `LicenseRef-` or unparsable licence gets `unknown`); `OR` takes the best branch (an
//! expression passes when some branch is allowed), `AND` the worst; several licence
//! entries on one component (a CycloneDX `licenses` array) must all pass. A component
//! with no licence gets the `missing` verdict.

use crate::inventory::Inventory;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A licence family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// MIT, BSD, Apache, ISC, Zlib, public-domain dedications...
    Permissive,
    /// File- or library-scoped copyleft: LGPL, MPL, EPL, CDDL...
    WeakCopyleft,
    /// GPL, EUPL, CC-BY-SA...
    StrongCopyleft,
    /// Copyleft triggered by network use: AGPL, SSPL, OSL, RPL.
    NetworkCopyleft,
}

impl Family {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Permissive => "permissive",
            Family::WeakCopyleft => "weak-copyleft",
            Family::StrongCopyleft => "strong-copyleft",
            Family::NetworkCopyleft => "network-copyleft",
        }
    }
}

/// A policy verdict; ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Not allowed: fails the gate.
    Deny,
    /// Needs a human look.
    Review,
    /// Allowed.
    Allow,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Deny => "deny",
            Verdict::Review => "review",
            Verdict::Allow => "allow",
        }
    }
}

fn review() -> Verdict {
    Verdict::Review
}

/// A licence policy (TOML; see `docs/license-policy.example.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Allowed licence ids (`MIT`, `GPL-2.0-only WITH Classpath-exception-2.0`,
    /// `LicenseRef-Acme`); compared ASCII case-insensitively.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Denied licence ids (win over every other rule).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Licence ids to review.
    #[serde(default)]
    pub review: Vec<String>,
    /// Allowed families.
    #[serde(default)]
    pub allow_families: Vec<Family>,
    /// Denied families.
    #[serde(default)]
    pub deny_families: Vec<Family>,
    /// Families to review.
    #[serde(default)]
    pub review_families: Vec<Family>,
    /// Verdict for a known SPDX licence that no list or family rule names.
    #[serde(default = "review")]
    pub unlisted: Verdict,
    /// Verdict for `LicenseRef-`/non-SPDX names and unparsable expressions.
    #[serde(default = "review")]
    pub unknown: Verdict,
    /// Verdict for components without licence data.
    #[serde(default = "review")]
    pub missing: Verdict,
}

impl Default for Policy {
    /// Permissive licences allowed, everything else to review, nothing denied.
    fn default() -> Self {
        Policy {
            allow: vec![],
            deny: vec![],
            review: vec![],
            allow_families: vec![Family::Permissive],
            deny_families: vec![],
            review_families: vec![],
            unlisted: Verdict::Review,
            unknown: Verdict::Review,
            missing: Verdict::Review,
        }
    }
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PolicyError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl Policy {
    /// Reads a TOML policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Policy::parse(&file, &text)
    }

    /// Parses a TOML policy; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let p: Policy = toml::from_str(text).map_err(|e| PolicyError {
            file: file.to_string(),
            message: format!("invalid licence policy: {}", e.message()),
        })?;
        for (list, name) in [
            (&p.allow, "allow"),
            (&p.deny, "deny"),
            (&p.review, "review"),
        ] {
            if let Some(bad) = list.iter().find(|x| x.trim().is_empty()) {
                return Err(PolicyError {
                    file: file.to_string(),
                    message: format!("`{name}` has an empty entry {bad:?}"),
                });
            }
        }
        Ok(p)
    }

    fn listed(list: &[String], names: &[String]) -> bool {
        list.iter()
            .any(|l| names.iter().any(|n| n.eq_ignore_ascii_case(l.trim())))
    }

    /// The verdict for one licence, given the names it goes by and its family.
    fn leaf(&self, names: &[String], family: Option<Family>, known: bool) -> (Verdict, String) {
        let n = &names[0];
        if Policy::listed(&self.deny, names) {
            return (Verdict::Deny, format!("{n}: denied"));
        }
        if Policy::listed(&self.allow, names) {
            return (Verdict::Allow, format!("{n}: allowed"));
        }
        if Policy::listed(&self.review, names) {
            return (Verdict::Review, format!("{n}: to review"));
        }
        if let Some(f) = family {
            for (list, v, what) in [
                (&self.deny_families, Verdict::Deny, "denied"),
                (&self.allow_families, Verdict::Allow, "allowed"),
                (&self.review_families, Verdict::Review, "to review"),
            ] {
                if list.contains(&f) {
                    return (v, format!("{n}: {} family {what}", f.as_str()));
                }
            }
        }
        if known {
            (
                self.unlisted,
                format!("{n}: not named by the policy ({})", self.unlisted.as_str()),
            )
        } else {
            (
                self.unknown,
                format!("{n}: unknown licence ({})", self.unknown.as_str()),
            )
        }
    }
}

/// Strips `-only`, `-or-later` and `+` from a licence id.
fn base_id(id: &str) -> &str {
    let id = id.trim_end_matches('+');
    id.strip_suffix("-only")
        .or_else(|| id.strip_suffix("-or-later"))
        .unwrap_or(id)
}

/// The family of an SPDX licence id (by its base id, so `GPL-2.0+`, `GPL-2.0-only` and
/// `GPL-2.0-or-later` are one), or `None` when not classified.
pub fn family(id: &str) -> Option<Family> {
    let b = base_id(id);
    let strong = [
        "GPL-1.0",
        "GPL-2.0",
        "GPL-3.0",
        "EUPL-1.0",
        "EUPL-1.1",
        "EUPL-1.2",
        "Sleepycat",
        "CC-BY-SA-1.0",
        "CC-BY-SA-2.0",
        "CC-BY-SA-2.5",
        "CC-BY-SA-3.0",
        "CC-BY-SA-4.0",
        "QPL-1.0",
        "CECILL-2.0",
        "CECILL-2.1",
        "ODbL-1.0",
    ];
    let network = [
        "AGPL-1.0", "AGPL-3.0", "SSPL-1.0", "OSL-1.0", "OSL-2.0", "OSL-2.1", "OSL-3.0", "RPL-1.1",
        "RPL-1.5", "CPAL-1.0",
    ];
    let weak = [
        "LGPL-2.0",
        "LGPL-2.1",
        "LGPL-3.0",
        "LGPLLR",
        "MPL-1.0",
        "MPL-1.1",
        "MPL-2.0",
        "MPL-2.0-no-copyleft-exception",
        "EPL-1.0",
        "EPL-2.0",
        "CDDL-1.0",
        "CDDL-1.1",
        "CPL-1.0",
        "IPL-1.0",
        "Ms-RL",
        "APSL-2.0",
        "CECILL-C",
        "ErlPL-1.1",
        "LGPL-2.1-or-later",
    ];
    let permissive = [
        "MIT",
        "MIT-0",
        "MIT-CMU",
        "X11",
        "Apache-1.0",
        "Apache-1.1",
        "Apache-2.0",
        "BSD-1-Clause",
        "BSD-2-Clause",
        "BSD-2-Clause-Patent",
        "BSD-3-Clause",
        "BSD-3-Clause-Clear",
        "BSD-4-Clause",
        "0BSD",
        "ISC",
        "Zlib",
        "zlib-acknowledgement",
        "Unlicense",
        "CC0-1.0",
        "BSL-1.0",
        "PSF-2.0",
        "Python-2.0",
        "Python-2.0.1",
        "NCSA",
        "Unicode-DFS-2015",
        "Unicode-DFS-2016",
        "Unicode-3.0",
        "WTFPL",
        "BlueOak-1.0.0",
        "PostgreSQL",
        "CC-BY-3.0",
        "CC-BY-4.0",
        "OpenSSL",
        "curl",
        "libpng-2.0",
        "Libpng",
        "MulanPSL-2.0",
        "UPL-1.0",
        "AFL-2.1",
        "AFL-3.0",
        "bzip2-1.0.6",
        "ICU",
        "HPND",
        "Artistic-2.0",
        "Ruby",
        "Ms-PL",
        "W3C",
        "BSD-Source-Code",
        "Beerware",
        "OFL-1.1",
        "Zope-2.1",
        "ZPL-2.1",
        "EFL-2.0",
        "JSON",
        "SSLeay-standalone",
        "OpenSSL-standalone",
    ];
    let has = |l: &[&str]| {
        l.iter()
            .any(|x| x.eq_ignore_ascii_case(b) || x.eq_ignore_ascii_case(id))
    };
    if has(&network) {
        Some(Family::NetworkCopyleft)
    } else if has(&strong) {
        Some(Family::StrongCopyleft)
    } else if has(&weak) {
        Some(Family::WeakCopyleft)
    } else if has(&permissive) {
        Some(Family::Permissive)
    } else {
        None
    }
}

/// The verdict for one licence requirement and its explanation.
fn eval_req(policy: &Policy, req: &spdx::LicenseReq) -> (Verdict, String, Option<Family>) {
    let mut names = vec![req.to_string()];
    let (fam, known) = match &req.license {
        spdx::LicenseItem::Spdx { id, or_later } => {
            let n = id.name;
            names.push(n.to_string());
            let b = base_id(n);
            if *or_later {
                names.push(format!("{b}+"));
                names.push(format!("{b}-or-later"));
            } else if b == n && id.is_deprecated() {
                // deprecated `GPL-2.0` means `GPL-2.0-only`
                names.push(format!("{b}-only"));
            }
            (family(n), true)
        }
        spdx::LicenseItem::Other(r) => {
            names.push(format!("LicenseRef-{}", r.lic_ref));
            (None, false)
        }
    };
    let (v, why) = policy.leaf(&names, fam, known);
    (v, why, fam)
}

/// The verdict for one licence expression.
pub fn evaluate(policy: &Policy, expression: &str) -> LicenseEval {
    let trimmed = expression.trim();
    if trimmed.is_empty()
        || trimmed.eq_ignore_ascii_case("NOASSERTION")
        || trimmed.eq_ignore_ascii_case("NONE")
    {
        return LicenseEval {
            verdict: policy.missing,
            reasons: vec![format!(
                "{trimmed:?}: no licence ({})",
                policy.missing.as_str()
            )],
            families: vec![],
            unknown: false,
        };
    }
    let expr = match spdx::Expression::parse_mode(trimmed, spdx::ParseMode::LAX) {
        Ok(e) => e,
        Err(e) => {
            return LicenseEval {
                verdict: policy.unknown,
                reasons: vec![format!(
                    "{:?}: not an SPDX expression ({}) ({})",
                    trimmed.chars().take(120).collect::<String>(),
                    e.reason,
                    policy.unknown.as_str()
                )],
                families: vec![],
                unknown: true,
            };
        }
    };
    let mut stack: Vec<Verdict> = Vec::new();
    let mut reasons = Vec::new();
    let mut families = Vec::new();
    let mut unknown = false;
    for node in expr.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => {
                let (v, why, fam) = eval_req(policy, &r.req);
                unknown |= r.req.license.id().is_none() && v == policy.unknown;
                families.extend(fam);
                reasons.push(why);
                stack.push(v);
            }
            spdx::expression::ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    break;
                };
                stack.push(match op {
                    spdx::expression::Operator::And => a.min(b),
                    spdx::expression::Operator::Or => a.max(b),
                });
            }
        }
    }
    families.sort();
    families.dedup();
    LicenseEval {
        verdict: stack.pop().unwrap_or(policy.unknown),
        reasons,
        families,
        unknown,
    }
}

/// The result of evaluating one expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenseEval {
    /// The verdict.
    pub verdict: Verdict,
    /// One line per licence in the expression.
    pub reasons: Vec<String>,
    /// Families of the licences in it.
    pub families: Vec<Family>,
    /// Whether some licence could not be identified.
    pub unknown: bool,
}

/// One component's licence verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentLicense {
    /// Input file.
    pub file: String,
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Licence expressions as the input gives them.
    pub licenses: Vec<String>,
    /// The verdict (the worst of its expressions).
    pub verdict: Verdict,
    /// Families of the licences.
    pub families: Vec<Family>,
    /// No licence data.
    pub missing: bool,
    /// Some licence could not be identified.
    pub unknown: bool,
    /// Explanations.
    pub reasons: Vec<String>,
    /// Where in the input.
    pub location: String,
}

/// All components' verdicts.
#[derive(Debug, Default, Serialize)]
pub struct LicenseReport {
    /// Components, denied first.
    pub components: Vec<ComponentLicense>,
    /// Components allowed.
    pub allowed: usize,
    /// Components to review.
    pub review: usize,
    /// Components denied.
    pub denied: usize,
    /// Components without licence data.
    pub missing: usize,
    /// Components with an unidentified licence.
    pub unknown: usize,
    /// Input warnings.
    pub warnings: Vec<String>,
}

/// Evaluates every component of the inventories, including SBOM components that have no
/// purl (those only licence checks see).
pub fn check(policy: &Policy, inventories: &[Inventory]) -> LicenseReport {
    let mut r = LicenseReport::default();
    for inv in inventories {
        r.warnings
            .extend(inv.warnings.iter().map(|w| format!("{}: {w}", inv.file)));
        for c in inv.components.iter().chain(&inv.unmatched) {
            let mut cl = ComponentLicense {
                file: inv.file.clone(),
                package: c.name.clone(),
                version: c.version.clone(),
                purl: c.purl.clone(),
                licenses: c.licenses.clone(),
                verdict: Verdict::Allow,
                families: vec![],
                missing: c.licenses.is_empty(),
                unknown: false,
                reasons: vec![],
                location: c.location.clone(),
            };
            if cl.missing {
                cl.verdict = policy.missing;
                cl.reasons
                    .push(format!("no licence data ({})", policy.missing.as_str()));
            }
            for l in &c.licenses {
                let e = evaluate(policy, l);
                cl.verdict = cl.verdict.min(e.verdict);
                cl.families.extend(e.families);
                cl.unknown |= e.unknown;
                cl.reasons.extend(e.reasons);
            }
            cl.families.sort();
            cl.families.dedup();
            match cl.verdict {
                Verdict::Allow => r.allowed += 1,
                Verdict::Review => r.review += 1,
                Verdict::Deny => r.denied += 1,
            }
            r.missing += usize::from(cl.missing);
            r.unknown += usize::from(cl.unknown);
            r.components.push(cl);
        }
    }
    r.components.sort_by(|a, b| {
        (a.verdict, &a.file, &a.package, &a.version)
            .cmp(&(b.verdict, &b.file, &b.package, &b.version))
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Policy {
        Policy::parse(
            "p.toml",
            r#"
allow = ["LicenseRef-Acme-Internal", "GPL-2.0-only WITH Classpath-exception-2.0"]
deny = ["WTFPL"]
review = ["MPL-2.0"]
allow_families = ["permissive"]
review_families = ["weak-copyleft"]
deny_families = ["strong-copyleft", "network-copyleft"]
unknown = "deny"
"#,
        )
        .expect("policy")
    }

    #[test]
    fn expressions() {
        let p = strict();
        let v = |e: &str| evaluate(&p, e).verdict;
        assert_eq!(v("MIT"), Verdict::Allow);
        assert_eq!(
            v("MIT OR GPL-3.0-only"),
            Verdict::Allow,
            "some OR branch allowed"
        );
        assert_eq!(v("MIT AND GPL-3.0-only"), Verdict::Deny);
        assert_eq!(
            v("(MIT OR Apache-2.0) AND LGPL-2.1-or-later"),
            Verdict::Review
        );
        assert_eq!(v("GPL-2.0+"), Verdict::Deny, "family of GPL-2.0");
        assert_eq!(
            v("GPL-2.0-only WITH Classpath-exception-2.0"),
            Verdict::Allow
        );
        assert_eq!(v("GPL-2.0-only"), Verdict::Deny);
        assert_eq!(v("AGPL-3.0-or-later"), Verdict::Deny);
        assert_eq!(v("MPL-2.0"), Verdict::Review, "id list beats family");
        assert_eq!(v("WTFPL OR MIT"), Verdict::Allow);
        assert_eq!(v("WTFPL"), Verdict::Deny, "id deny beats permissive family");
        assert_eq!(v("LicenseRef-Acme-Internal"), Verdict::Allow);
        assert_eq!(v("LicenseRef-Other"), Verdict::Deny, "unknown = deny");
        assert!(evaluate(&p, "LicenseRef-Other").unknown);
        assert_eq!(v("MIT/Apache-2.0"), Verdict::Allow, "lax: slash is OR");
        assert_eq!(v("apache 2.0"), Verdict::Allow, "lax: imprecise names");
        assert_eq!(
            v("Some Proprietary Terms"),
            Verdict::Deny,
            "unparsable is unknown"
        );
        assert!(evaluate(&p, "Some Proprietary Terms").unknown);
        assert_eq!(v("NOASSERTION"), Verdict::Review, "missing");
        assert_eq!(v("MIT AND (Apache-2.0 OR"), Verdict::Deny);
        assert_eq!(v(&"(".repeat(10_000)), Verdict::Deny);
        assert_eq!(
            v("Glide"),
            Verdict::Review,
            "SPDX id without a family: unlisted"
        );
    }

    #[test]
    fn families() {
        assert_eq!(family("GPL-3.0-or-later"), Some(Family::StrongCopyleft));
        assert_eq!(family("LGPL-2.1-only"), Some(Family::WeakCopyleft));
        assert_eq!(family("SSPL-1.0"), Some(Family::NetworkCopyleft));
        assert_eq!(family("Apache-2.0"), Some(Family::Permissive));
        assert_eq!(family("Nope"), None);
    }

    #[test]
    fn bad_policies_are_named() {
        for text in [
            "allow = \"MIT\"",
            "allow_families = [\"copyleft\"]",
            "frobnicate = 1",
            "allow = [\"\"]",
            "unknown = \"maybe\"",
            "allow = [",
        ] {
            let e = Policy::parse("bad.toml", text).expect_err(text);
            assert!(e.to_string().starts_with("bad.toml: "), "{e}");
        }
        assert_eq!(
            Policy::parse("empty.toml", "").expect("empty").unlisted,
            Verdict::Review
        );
    }
}

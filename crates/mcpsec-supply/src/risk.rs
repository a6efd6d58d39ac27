//! Risk and hygiene signals on top of the findings: known-malicious packages (OSV `MAL-`
//! advisories), names one or two edits away from a popular package (possible typosquats),
//! and a 0–10 risk score per finding, per component and per project that combines
//! severity, known exploitation (KEV), exploitation probability (EPSS) and dependency
//! depth. The formulas are documented in docs/supply-chain.md.

use crate::cvss::Severity;
use crate::inventory::Inventory;
use crate::scan::{Finding, ScanReport};
use crate::version::Ecosystem;
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether a finding comes from a malicious-package advisory (OSV `MAL-` ids).
pub fn is_malicious(f: &Finding) -> bool {
    f.id.starts_with("MAL-")
        || f.aliases.iter().any(|a| a.starts_with("MAL-"))
        || f.advisories.iter().any(|a| a.starts_with("MAL-"))
}

/// Severity as a 0–10 number: the CVSS score when there is one, else the band's middle
/// (unknown counts as medium).
fn severity_points(f: &Finding) -> f64 {
    if let Some(s) = f.cvss.as_ref().and_then(|c| c.score) {
        return s;
    }
    match f.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium | Severity::Unknown => 5.5,
        Severity::Low => 2.0,
        Severity::None => 0.0,
    }
}

/// Likelihood of exploitation in 0–1: 1 when in KEV, else the EPSS score lifted to at
/// least 0.1, else 0.3 when nothing is known.
fn likelihood(f: &Finding) -> f64 {
    if f.kev.is_some() {
        1.0
    } else if let Some(e) = &f.epss {
        e.score.max(0.1)
    } else {
        0.3
    }
}

/// Dependency depth factor: 1 for a direct dependency, 0.85 at depth 2, 0.7 at 3, 0.6
/// deeper; 0.85 when the input records no edges and no direct flag.
fn depth_factor(f: &Finding) -> f64 {
    if f.direct == Some(true) || f.path.len() == 2 {
        return 1.0;
    }
    match f.path.len() {
        0 | 1 | 3 => 0.85,
        4 => 0.7,
        _ => 0.6,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A finding's risk, 0–10: 10 for a malicious package; else
/// severity × (0.4 + 0.6 × likelihood) × depth factor.
pub fn finding_risk(f: &Finding) -> f64 {
    if is_malicious(f) {
        return 10.0;
    }
    if f.suppressed || f.informational.is_some() {
        return 0.0;
    }
    round1((severity_points(f) * (0.4 + 0.6 * likelihood(f)) * depth_factor(f)).clamp(0.0, 10.0))
}

/// One component's risk.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentRisk {
    /// Input file.
    pub file: String,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Risk 0–10: 10 × (1 − Π(1 − rᵢ/10)) over its findings' risks rᵢ.
    pub risk: f64,
    /// Findings counted (not suppressed, not informational).
    pub findings: usize,
    /// Some finding is a malicious-package advisory.
    pub malicious: bool,
    /// Some finding is in KEV.
    pub kev: bool,
}

/// Risk of a whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RiskSummary {
    /// Project risk 0–10: the highest component risk.
    pub project: f64,
    /// Components with a risk, highest first.
    pub components: Vec<ComponentRisk>,
    /// Components at 7 or more.
    pub high_risk_components: usize,
}

/// Scores every finding (sets [`Finding::risk`]) and sums up per component and project.
pub fn assess(report: &mut ScanReport) -> RiskSummary {
    let mut by: BTreeMap<(usize, usize), ComponentRisk> = BTreeMap::new();
    let mut keep: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for f in &mut report.findings {
        f.malicious = is_malicious(f);
        f.risk = finding_risk(f);
        if f.risk <= 0.0 {
            continue;
        }
        let key = (f.inventory, f.component);
        let c = by.entry(key).or_insert_with(|| ComponentRisk {
            file: f.file.clone(),
            package: f.package.clone(),
            version: f.version.clone(),
            purl: f.purl.clone(),
            risk: 0.0,
            findings: 0,
            malicious: false,
            kev: false,
        });
        c.findings += 1;
        c.malicious |= f.malicious;
        c.kev |= f.kev.is_some();
        let p = keep.entry(key).or_insert(1.0);
        *p *= 1.0 - f.risk / 10.0;
    }
    let mut components: Vec<ComponentRisk> = by
        .into_iter()
        .map(|(k, mut c)| {
            c.risk = round1(10.0 * (1.0 - keep.get(&k).copied().unwrap_or(1.0)));
            c
        })
        .collect();
    components.sort_by(|a, b| {
        b.risk
            .partial_cmp(&a.risk)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| (&a.package, &a.version).cmp(&(&b.package, &b.version)))
    });
    RiskSummary {
        project: components.first().map_or(0.0, |c| c.risk),
        high_risk_components: components.iter().filter(|c| c.risk >= 7.0).count(),
        components,
    }
}

/// A name close to a popular package's.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Typosquat {
    /// Input file.
    pub file: String,
    /// Ecosystem.
    pub ecosystem: String,
    /// The component's name.
    pub package: String,
    /// Version.
    pub version: String,
    /// The popular name it resembles.
    pub resembles: String,
    /// Edit distance (Damerau–Levenshtein, optimal string alignment).
    pub distance: usize,
    /// Where in the input.
    pub location: String,
}

/// A small embedded list of very popular package names per ecosystem.
fn popular(eco: Ecosystem) -> &'static [&'static str] {
    match eco {
        Ecosystem::Npm => &[
            "react",
            "react-dom",
            "lodash",
            "express",
            "axios",
            "chalk",
            "commander",
            "debug",
            "moment",
            "request",
            "webpack",
            "typescript",
            "eslint",
            "prettier",
            "jquery",
            "vue",
            "angular",
            "next",
            "uuid",
            "dotenv",
            "yargs",
            "async",
            "bluebird",
            "underscore",
            "classnames",
            "body-parser",
            "cross-env",
            "mongoose",
            "socket.io",
            "jsonwebtoken",
            "node-fetch",
            "colors",
            "minimist",
            "glob",
            "rimraf",
            "mkdirp",
            "semver",
            "inquirer",
            "babel-core",
            "core-js",
            "tslib",
            "rxjs",
            "redux",
            "electron",
            "nodemon",
            "jest",
            "mocha",
            "chai",
            "eslint-scope",
            "event-stream",
            "ua-parser-js",
            "coa",
            "rc",
            "vuex",
            "preact",
            "ws",
            "qs",
            "ms",
            "cors",
        ],
        Ecosystem::PyPI => &[
            "requests",
            "numpy",
            "pandas",
            "urllib3",
            "setuptools",
            "six",
            "python-dateutil",
            "boto3",
            "botocore",
            "certifi",
            "idna",
            "charset-normalizer",
            "pyyaml",
            "django",
            "flask",
            "jinja2",
            "cryptography",
            "pytest",
            "pip",
            "wheel",
            "scipy",
            "matplotlib",
            "pillow",
            "sqlalchemy",
            "beautifulsoup4",
            "selenium",
            "tensorflow",
            "torch",
            "scikit-learn",
            "colorama",
            "click",
            "attrs",
            "pydantic",
            "fastapi",
            "openai",
            "aiohttp",
            "lxml",
            "psycopg2",
            "pymongo",
            "redis",
            "docutils",
            "paramiko",
        ],
        Ecosystem::CratesIo => &[
            "serde",
            "serde_json",
            "tokio",
            "rand",
            "syn",
            "quote",
            "proc-macro2",
            "clap",
            "regex",
            "log",
            "anyhow",
            "thiserror",
            "reqwest",
            "hyper",
            "futures",
            "chrono",
            "libc",
            "bytes",
            "once_cell",
            "lazy_static",
            "itertools",
            "base64",
            "url",
            "tracing",
            "rayon",
            "crossbeam",
            "parking_lot",
            "time",
            "uuid",
            "sha2",
            "hex",
            "bitflags",
            "cfg-if",
            "memchr",
            "smallvec",
            "indexmap",
            "hashbrown",
            "toml",
        ],
        Ecosystem::RubyGems => &[
            "rails",
            "rack",
            "nokogiri",
            "rake",
            "bundler",
            "json",
            "activesupport",
            "rspec",
            "puma",
            "sinatra",
            "devise",
            "thor",
            "minitest",
            "faraday",
            "httparty",
            "rest-client",
            "aws-sdk",
            "sidekiq",
            "pry",
            "rubocop",
            "strong_migrations",
            "bootstrap-sass",
        ],
        Ecosystem::Packagist => &[
            "laravel/framework",
            "symfony/console",
            "guzzlehttp/guzzle",
            "monolog/monolog",
            "phpunit/phpunit",
            "doctrine/orm",
            "symfony/http-foundation",
            "league/flysystem",
        ],
        Ecosystem::Go => &[
            "github.com/gin-gonic/gin",
            "github.com/sirupsen/logrus",
            "github.com/spf13/cobra",
            "github.com/stretchr/testify",
            "github.com/gorilla/mux",
            "github.com/pkg/errors",
            "github.com/google/uuid",
            "golang.org/x/crypto",
            "golang.org/x/net",
            "github.com/golang/protobuf",
            "google.golang.org/grpc",
            "github.com/spf13/viper",
        ],
        Ecosystem::NuGet => &[
            "Newtonsoft.Json",
            "Serilog",
            "AutoMapper",
            "Dapper",
            "Polly",
            "NUnit",
            "xunit",
            "Moq",
            "FluentValidation",
            "MediatR",
            "Swashbuckle.AspNetCore",
        ],
        _ => &[],
    }
}

/// Edit distance with transpositions (optimal string alignment) over ASCII-lower-cased
/// bytes; stops early once it exceeds `max` (then returns `max + 1`).
pub fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    osa(&a, &b, max, &mut Rows::default())
}

/// Reusable rows for [`osa`].
#[derive(Default)]
struct Rows {
    prev2: Vec<usize>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

fn osa(a: &[u8], b: &[u8], max: usize, r: &mut Rows) -> usize {
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let m = b.len();
    r.prev2.clear();
    r.prev2.resize(m + 1, 0);
    r.prev.clear();
    r.prev.extend(0..=m);
    r.cur.clear();
    r.cur.resize(m + 1, 0);
    for i in 1..=a.len() {
        r.cur[0] = i;
        let mut row_min = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (r.prev[j] + 1)
                .min(r.cur[j - 1] + 1)
                .min(r.prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(r.prev2[j - 2] + 1);
            }
            r.cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut r.prev2, &mut r.prev);
        std::mem::swap(&mut r.prev, &mut r.cur);
    }
    r.prev[m].min(max + 1)
}

/// Components whose name is within 2 edits (1 for names of 5 characters or fewer) of a
/// popular package of their ecosystem, without being that package or another popular
/// one. Names are compared as the ecosystem normalises them (PyPI `-`/`_`/`.`).
pub fn typosquats(inventories: &[Inventory]) -> Vec<Typosquat> {
    let mut out = Vec::new();
    let mut normalized: std::collections::HashMap<Ecosystem, Vec<(Vec<u8>, &'static str)>> =
        std::collections::HashMap::new();
    let mut rows = Rows::default();
    let mut seen = std::collections::HashSet::new();
    for inv in inventories {
        for c in &inv.components {
            let Some(eco) = c.ecosystem else { continue };
            if c.local {
                continue;
            }
            let list = normalized.entry(eco).or_insert_with(|| {
                popular(eco)
                    .iter()
                    .map(|p| (eco.normalize_name(p).to_ascii_lowercase().into_bytes(), *p))
                    .collect()
            });
            if list.is_empty() {
                continue;
            }
            let name = eco.normalize_name(&c.name).to_ascii_lowercase();
            if list.iter().any(|(p, _)| p.as_slice() == name.as_bytes())
                || !seen.insert((inv.file.as_str(), eco, name.clone()))
            {
                continue;
            }
            let max = if name.chars().count() <= 5 { 1 } else { 2 };
            let best = list
                .iter()
                .map(|(p, orig)| (osa(name.as_bytes(), p, max, &mut rows), *orig))
                .filter(|(d, _)| *d <= max)
                .min();
            if let Some((distance, p)) = best {
                out.push(Typosquat {
                    file: inv.file.clone(),
                    ecosystem: eco.osv_name().to_string(),
                    package: c.name.clone(),
                    version: c.version.clone(),
                    resembles: p.to_string(),
                    distance,
                    location: c.location.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.file, &a.package).cmp(&(&b.file, &b.package)));
    out.dedup_by(|a, b| a.file == b.file && a.package == b.package);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Component;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("lodash", "lodahs", 2), 1, "transposition");
        assert_eq!(edit_distance("reqeusts", "requests", 2), 1);
        assert_eq!(edit_distance("expresss", "express", 2), 1);
        assert_eq!(edit_distance("abc", "xyzxyz", 2), 3, "capped");
        assert_eq!(edit_distance("", "", 2), 0);
        assert_eq!(edit_distance("Serde", "serde", 2), 0);
    }

    #[test]
    fn typosquat_candidates() {
        let mut inv = Inventory::new("f", "t");
        for (e, n) in [
            (Ecosystem::Npm, "lodahs"),
            (Ecosystem::Npm, "lodash"),
            (Ecosystem::Npm, "react-dom"),
            (Ecosystem::Npm, "left-pad"),
            (Ecosystem::PyPI, "python_dateutil"),
            (Ecosystem::PyPI, "reqeusts"),
            (Ecosystem::CratesIo, "serd"),
            (Ecosystem::CratesIo, "tokio-util"),
            (Ecosystem::Npm, "vuex"),
        ] {
            inv.push(Component::new(e, n, "1.0.0", n.to_string()));
        }
        let t = typosquats(&[inv]);
        let names: Vec<(&str, &str)> = t
            .iter()
            .map(|x| (x.package.as_str(), x.resembles.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("lodahs", "lodash"),
                ("reqeusts", "requests"),
                ("serd", "serde")
            ],
            "exact and normalised matches are not flagged; short names allow one edit"
        );
    }
}

//! "Find at least what they find": the package/version/vulnerability triples in other
//! scanners' reports (cargo-audit, osv-scanner, Trivy, Grype, from the shared
//! scanner-reports fixtures) are rebuilt as an SBOM and scanned against the shared
//! advisory fixtures. Every reported vulnerability that the local database knows (by id
//! or alias) must be found for that package.

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::scan::{read_input, scan};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const TD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

type Expect = BTreeMap<(String, String, String), Vec<BTreeSet<String>>>; // (purl type, name, version) → id sets

fn add(e: &mut Expect, ty: &str, name: &str, version: &str, ids: BTreeSet<String>) {
    if !name.is_empty() && !version.is_empty() && !ids.is_empty() {
        e.entry((ty.into(), name.into(), version.into()))
            .or_default()
            .push(ids);
    }
}

fn purl_type(kind: &str) -> Option<&'static str> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "cargo" | "rust-crate" | "crates.io" | "rustbinary" => "cargo",
        "gomod" | "go-module" | "gobinary" | "go" => "golang",
        "pip" | "python" | "poetry" | "pipenv" | "pypi" | "python-pkg" | "uv" => "pypi",
        _ => return None,
    })
}

fn collect(root: &Path) -> Expect {
    let mut e = Expect::new();
    let read = |p: &Path| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    for f in [
        "cargo_audit/many_findings.json",
        "cargo_audit/many_findings_cvss.json",
    ] {
        let Some(v) = read(&root.join(f)) else {
            continue;
        };
        for x in v["vulnerabilities"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let mut ids: BTreeSet<String> =
                [x["advisory"]["id"].as_str().unwrap_or("").to_string()].into();
            ids.extend(
                x["advisory"]["aliases"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string)),
            );
            add(
                &mut e,
                "cargo",
                x["package"]["name"].as_str().unwrap_or(""),
                x["package"]["version"].as_str().unwrap_or(""),
                ids,
            );
        }
    }
    if let Some(v) = read(&root.join("osv_scanner/many_findings.json")) {
        for r in v["results"].as_array().into_iter().flatten() {
            for p in r["packages"].as_array().into_iter().flatten() {
                let Some(ty) = purl_type(p["package"]["ecosystem"].as_str().unwrap_or("")) else {
                    continue;
                };
                for vu in p["vulnerabilities"].as_array().into_iter().flatten() {
                    let mut ids: BTreeSet<String> =
                        [vu["id"].as_str().unwrap_or("").to_string()].into();
                    ids.extend(
                        vu["aliases"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a.as_str().map(str::to_string)),
                    );
                    add(
                        &mut e,
                        ty,
                        p["package"]["name"].as_str().unwrap_or(""),
                        p["package"]["version"].as_str().unwrap_or(""),
                        ids,
                    );
                }
            }
        }
    }
    for dir in ["trivy", "anchore_grype"] {
        for ent in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Some(v) = read(&ent.path()) else { continue };
            for r in v["Results"].as_array().into_iter().flatten() {
                let Some(ty) = purl_type(r["Type"].as_str().unwrap_or("")) else {
                    continue;
                };
                for vu in r["Vulnerabilities"].as_array().into_iter().flatten() {
                    let ids: BTreeSet<String> =
                        [vu["VulnerabilityID"].as_str().unwrap_or("").to_string()].into();
                    add(
                        &mut e,
                        ty,
                        vu["PkgName"].as_str().unwrap_or(""),
                        vu["InstalledVersion"].as_str().unwrap_or(""),
                        ids,
                    );
                }
            }
            for m in v["matches"].as_array().into_iter().flatten() {
                let Some(ty) = purl_type(m["artifact"]["type"].as_str().unwrap_or("")) else {
                    continue;
                };
                let mut ids: BTreeSet<String> =
                    [m["vulnerability"]["id"].as_str().unwrap_or("").to_string()].into();
                ids.extend(
                    m["relatedVulnerabilities"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["id"].as_str().map(str::to_string)),
                );
                add(
                    &mut e,
                    ty,
                    m["artifact"]["name"].as_str().unwrap_or(""),
                    m["artifact"]["version"].as_str().unwrap_or(""),
                    ids,
                );
            }
        }
    }
    e
}

/// Whether the local advisories for these ids name the package but exclude the version.
fn names_package_but_not_version(
    db: &mut VulnDb,
    ids: &BTreeSet<String>,
    name: &str,
    version: &str,
) -> bool {
    for id in ids {
        for aid in db.resolve_alias(id).unwrap_or_default() {
            let Ok(Some(a)) = db.advisory(&aid) else {
                continue;
            };
            for af in &a.affected {
                let Some(eco) = mcpsec_supply::version::Ecosystem::from_osv(&af.package.ecosystem)
                else {
                    continue;
                };
                if eco.normalize_name(&af.package.name) == eco.normalize_name(name)
                    && matches!(
                        mcpsec_supply::osv::match_affected(eco, af, version),
                        Ok(None)
                    )
                {
                    return true;
                }
            }
        }
    }
    false
}

#[test]
fn finds_at_least_what_other_scanners_find() {
    let root = Path::new(TD);
    if !root.join("scanner-reports").is_dir() || !root.join("osv").is_dir() {
        eprintln!("skipping: shared testdata absent");
        return;
    }
    let expect = collect(&root.join("scanner-reports"));
    assert!(expect.len() > 20, "{}", expect.len());
    let tmp = tempfile::tempdir().expect("tmp");
    let mut db = VulnDb::open_dir(tmp.path()).expect("db");
    for src in ["rustsec-advisory-db", "pypa", "go-vulndb"] {
        db.import(&root.join("osv").join(src)).expect("import");
    }
    let comps: Vec<Value> = expect
        .keys()
        .map(|(ty, n, v)| {
            let purl = if ty == "golang" {
                format!("pkg:golang/{n}@{v}")
            } else {
                format!("pkg:{ty}/{n}@{v}")
            };
            serde_json::json!({"type": "library", "name": n, "version": v, "purl": purl})
        })
        .collect();
    let bom = tmp.path().join("bom.cdx.json");
    std::fs::write(
        &bom,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": comps})
            .to_string(),
    )
    .expect("write");
    let report = scan(&mut db, vec![read_input(&bom).expect("read")]).expect("scan");
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in &report.findings {
        found
            .entry((f.package.clone(), f.version.clone()))
            .or_default()
            .extend(f.aliases.iter().cloned());
    }
    let (mut known, mut hit, mut missed, mut disputed) = (0, 0, Vec::new(), Vec::new());
    for ((_, n, v), sets) in &expect {
        for ids in sets {
            // only vulnerabilities the local database has (and not withdrawn)
            let in_db = ids
                .iter()
                .any(|id| db.resolve_alias(id).is_ok_and(|r| !r.is_empty()));
            if !in_db {
                continue;
            }
            known += 1;
            let got = found
                .get(&(n.clone(), v.clone()))
                .is_some_and(|s| ids.iter().any(|i| s.contains(i)));
            if got {
                hit += 1;
            } else if names_package_but_not_version(&mut db, ids, n, v) {
                // e.g. Grype matching NVD CPE data: the OSV record of the same CVE says
                // this version is not affected
                disputed.push(format!("{n} {v}: {ids:?}"));
            } else {
                missed.push(format!("{n} {v}: {ids:?}"));
            }
        }
    }
    eprintln!(
        "{} reported (package, version) pairs; {known} reported vulnerabilities are in the local db; {hit} found",
        expect.len()
    );
    eprintln!(
        "mcpsec reports {} findings (aliases merged) for these components",
        report.findings.len()
    );
    for m in &disputed {
        eprintln!("  not affected per the OSV record of the same id: {m}");
    }
    for m in &missed {
        eprintln!("  missed: {m}");
    }
    assert!(known > 20, "too few comparable findings: {known}");
    assert!(missed.is_empty(), "{} missed", missed.len());
}

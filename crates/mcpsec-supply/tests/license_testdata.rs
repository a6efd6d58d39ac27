//! Licences read from the shared SBOM and lockfile examples (in place) and checked
//! against a policy.

use mcpsec_supply::license::{Policy, Verdict, check};
use mcpsec_supply::scan::read_input;
use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel);
    p.exists().then_some(p)
}

#[test]
fn cyclonedx_json_and_xml_agree_on_licences() {
    let (Some(j), Some(x)) = (
        testdata("sbom/cyclonedx/bom-examples/SBOM/laravel-7.12.0/bom.1.4.json"),
        testdata("sbom/cyclonedx/bom-examples/SBOM/laravel-7.12.0/bom.1.4.xml"),
    ) else {
        eprintln!("shared test data missing: skipped");
        return;
    };
    let j = read_input(&j).expect("json");
    let x = read_input(&x).expect("xml");
    let lic = |i: &mcpsec_supply::inventory::Inventory| {
        i.components
            .iter()
            .map(|c| (c.purl.clone(), c.licenses.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(lic(&j), lic(&x));
    let with = j
        .components
        .iter()
        .filter(|c| !c.licenses.is_empty())
        .count();
    assert!(with >= 60, "{with} components with licences");
    let r = check(&Policy::default(), &[j]);
    assert_eq!(r.denied, 0);
    assert!(r.allowed >= 60);
}

#[test]
fn spdx_and_composer_licences() {
    if let Some(p) = testdata(
        "sbom/spdx/spdx-examples/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json",
    ) {
        let inv = read_input(&p).expect("spdx");
        let l: Vec<&str> = inv
            .components
            .iter()
            .flat_map(|c| c.licenses.iter().map(String::as_str))
            .collect();
        assert!(l.contains(&"MIT") && l.contains(&"Apache-2.0"), "{l:?}");
    }
    if let Some(p) = testdata("lockfiles/packagist/composer-lock/osv-scanner/two-packages.json") {
        let text = std::fs::read_to_string(&p).expect("read");
        let reader = mcpsec_supply::lockfile::reader_for("composer.lock").expect("reader");
        let inv = reader("composer.lock", &text).expect("composer");
        assert!(inv.components.iter().all(|c| c.licenses.len() == 1));
        let strict = Policy::parse("p.toml", "allow = [\"MIT\"]\nunlisted = \"deny\"").expect("p");
        let r = check(&strict, &[inv]);
        assert_eq!(r.denied, 1, "BSD-3-Clause is not listed");
        assert_eq!(r.components[0].verdict, Verdict::Deny);
    }
}

#[test]
fn composer_alternatives_and_hostile_licence_fields() {
    let reader = mcpsec_supply::lockfile::reader_for("composer.lock").expect("reader");
    let inv = reader(
        "composer.lock",
        r#"{"packages": [
            {"name": "a/dual", "version": "1.0.0", "license": ["GPL-3.0-only", "MIT"]},
            {"name": "a/weird", "version": "1.0.0", "license": "MIT"},
            {"name": "a/nums", "version": "1.0.0", "license": [1, null, ""]}]}"#,
    )
    .expect("composer");
    assert_eq!(inv.components[0].licenses, vec!["(GPL-3.0-only) OR (MIT)"]);
    assert!(
        inv.components[1].licenses.is_empty(),
        "not an array: ignored"
    );
    assert!(inv.components[2].licenses.is_empty());
    let p = Policy::parse(
        "p.toml",
        "allow_families = [\"permissive\"]\ndeny_families = [\"strong-copyleft\"]",
    )
    .expect("p");
    let r = check(&p, &[inv]);
    let dual = r
        .components
        .iter()
        .find(|c| c.package == "a/dual")
        .expect("dual");
    assert_eq!(
        dual.verdict,
        Verdict::Allow,
        "MIT is an allowed alternative"
    );

    let text = r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"name": "x", "purl": "pkg:npm/x@1", "licenses": [{"license": {}}, {"expression": 7}, "MIT", {"license": {"id": "MIT"}}]},
        {"name": "y", "purl": "pkg:npm/y@1", "licenses": {"license": {"id": "MIT"}}}]}"#;
    let inv = mcpsec_supply::sbom::parse_cyclonedx_json("bom.json", text).expect("cdx");
    assert_eq!(inv.components[0].licenses, vec!["MIT"]);
    assert!(inv.components[1].licenses.is_empty());
}

#[test]
fn components_without_a_purl_still_get_licence_verdicts() {
    let Some(p) =
        testdata("sbom/spdx/spdx-examples/software/example8/spdx2.3/examplemaven-0.0.1.spdx.json")
    else {
        return;
    };
    let inv = read_input(&p).expect("spdx");
    assert!(
        inv.components.is_empty(),
        "nothing to match against advisories"
    );
    assert!(inv.unmatched.len() >= 5, "{}", inv.unmatched.len());
    let r = check(&Policy::default(), &[inv]);
    assert_eq!(r.components.len(), r.allowed + r.review + r.denied);
    assert!(
        r.allowed >= 1,
        "{:?}",
        r.components
            .iter()
            .map(|c| (&c.package, &c.licenses))
            .collect::<Vec<_>>()
    );
}

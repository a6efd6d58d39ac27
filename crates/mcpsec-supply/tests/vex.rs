//! VEX: OpenVEX and CycloneDX VEX statements applied to scan findings (the shared VEX
//! examples, read in place), hostile documents, and the CycloneDX VEX output.

use mcpsec_supply::cdx_vex::{CdxVersion, to_cyclonedx_vex};
use mcpsec_supply::db::VulnDb;
use mcpsec_supply::scan::{ScanReport, read_input, scan};
use mcpsec_supply::vex::{VexStatus, apply, load_vex, parse_vex};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel);
    p.exists().then_some(p)
}

fn adv(id: &str, aliases: &[&str], eco: &str, name: &str, fixed: &str) -> Value {
    json!({"id": id, "modified": "2025-01-01T00:00:00Z", "aliases": aliases, "summary": format!("{id} summary"),
           "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
           "affected": [{"package": {"ecosystem": eco, "name": name},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})
}

/// Imports the advisories and scans a CycloneDX JSON SBOM built from `bom`.
fn scan_bom(advisories: &[Value], bom: &Value) -> ScanReport {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("adv");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (i, a) in advisories.iter().enumerate() {
        std::fs::write(dir.join(format!("a{i}.json")), a.to_string()).expect("write");
    }
    let mut db = VulnDb::open_dir(&tmp.path().join("data")).expect("db");
    db.import(&dir).expect("import");
    let sbom = tmp.path().join("bom.json");
    std::fs::write(&sbom, bom.to_string()).expect("write");
    let inv = read_input(&sbom).expect("sbom");
    scan(&mut db, vec![inv]).expect("scan")
}

fn bom(product: Value, components: &[(&str, &str)]) -> Value {
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"component": product},
           "components": components.iter().map(|(r, p)| json!({"type": "library", "name": r, "bom-ref": r, "purl": p})).collect::<Vec<_>>()})
}

fn alpine_report() -> ScanReport {
    let names = [
        ("apk-tools", "2.10.6-r0", "CVE-2024-10001"),
        ("busybox", "1.30.1-r3", "CVE-2024-10002"),
        ("alpine-baselayout", "3.1.2-r0", "CVE-2024-10003"),
        ("musl", "1.1.22-r3", "CVE-2024-10004"),
        ("zlib", "1.2.11-r1", "GHSA-jfh8-c2jp-5v3q"),
        ("openssl", "1.1.1k-r0", "CVE-2024-10006"),
        ("expat", "2.2.8-r0", "CVE-2024-10007"),
    ];
    let advs: Vec<Value> = names
        .iter()
        .map(|(n, _, id)| adv(id, &[], "Alpine:v3.10", n, "99.0-r0"))
        .collect();
    let purls: Vec<String> = names
        .iter()
        .map(|(n, v, _)| format!("pkg:apk/alpine/{n}@{v}?arch=x86_64&distro=alpine-3.10.9"))
        .collect();
    let comps: Vec<(&str, &str)> = names
        .iter()
        .zip(&purls)
        .map(|((n, _, _), p)| (*n, p.as_str()))
        .collect();
    let r = scan_bom(&advs, &bom(json!({"name": "image"}), &comps));
    assert_eq!(r.findings.len(), 7, "{:?}", r.warnings);
    r
}

fn finding<'a>(r: &'a ScanReport, pkg: &str) -> &'a mcpsec_supply::scan::Finding {
    r.findings
        .iter()
        .find(|f| f.package == pkg)
        .unwrap_or_else(|| panic!("no finding for {pkg}"))
}

#[test]
fn openvex_statements_suppress_and_annotate() {
    let Some(p) = testdata("scanner-reports/openvex/openvex_many_vuln.json") else {
        eprintln!("shared test data missing: skipped");
        return;
    };
    let doc = load_vex(&p).expect("openvex");
    assert_eq!(doc.format, "OpenVEX");
    assert_eq!(doc.statements.len(), 6);
    let mut r = alpine_report();
    let sum = apply(&mut r, &[doc]);
    assert_eq!((sum.suppressed, sum.annotated), (4, 2));
    let f = finding(&r, "apk-tools");
    assert!(f.suppressed);
    let v = f.vex.as_ref().expect("vex");
    assert_eq!(v.status, VexStatus::NotAffected);
    assert_eq!(
        v.justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert!(v.source.ends_with("openvex_many_vuln.json statements[0]"));
    assert_eq!(
        finding(&r, "busybox").vex.as_ref().map(|v| v.status),
        Some(VexStatus::Affected)
    );
    assert!(!finding(&r, "busybox").suppressed);
    assert!(finding(&r, "alpine-baselayout").suppressed, "fixed");
    assert_eq!(
        finding(&r, "musl").vex.as_ref().map(|v| v.status),
        Some(VexStatus::UnderInvestigation)
    );
    assert!(finding(&r, "zlib").suppressed, "matched by alias");
    assert!(
        finding(&r, "openssl").suppressed,
        "statement purl without qualifiers matches the component's"
    );
    assert!(finding(&r, "expat").vex.is_none());
    // JSON keeps suppressed findings with their statement
    let j = serde_json::to_value(&r).expect("json");
    let z = j["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["package"] == "zlib")
        .expect("zlib");
    assert_eq!(z["suppressed"], true);
    assert_eq!(
        z["vex"]["justification"],
        "inline_mitigations_already_exist"
    );
}

#[test]
fn purl_versions_must_agree_when_given() {
    let mut r = alpine_report();
    let doc = parse_vex(
        "v.json",
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-2024-10001"}, "products": [{"@id": "pkg:apk/alpine/apk-tools@9.9.9"}], "status": "not_affected", "justification": "component_not_present"},
            {"vulnerability": {"name": "CVE-2024-10007"}, "products": [{"@id": "pkg:apk/alpine/EXPAT"}], "status": "fixed"}]}"#,
    )
    .expect("doc");
    apply(&mut r, &[doc]);
    assert!(finding(&r, "apk-tools").vex.is_none(), "other version");
    assert!(finding(&r, "expat").suppressed, "no version: any version");
}

#[test]
fn newest_statement_wins() {
    let mut r = alpine_report();
    let older = parse_vex("a.json", r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": "CVE-2024-10007", "products": ["pkg:apk/alpine/expat"], "status": "under_investigation", "timestamp": "2025-01-01T00:00:00Z"},
        {"vulnerability": "CVE-2024-10007", "products": ["pkg:apk/alpine/expat"], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path", "timestamp": "2025-03-01T00:00:00Z"}]}"#).expect("a");
    let newer = parse_vex("b.json", r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": "CVE-2024-10007", "products": ["pkg:apk/alpine/expat"], "status": "affected", "timestamp": "2025-02-01T00:00:00Z"}]}"#).expect("b");
    apply(&mut r, &[older, newer]);
    let v = finding(&r, "expat").vex.as_ref().expect("vex");
    assert_eq!(v.status, VexStatus::NotAffected);
    assert_eq!(v.source, "a.json statements[1]");
}

fn jackson_report(product: Value) -> ScanReport {
    scan_bom(
        &[
            adv(
                "GHSA-288c-cq4h-88gq",
                &["CVE-2020-25649"],
                "Maven",
                "com.fasterxml.jackson.core:jackson-databind",
                "2.10.5.1",
            ),
            adv(
                "GHSA-jfh8-c2jp-5v3q",
                &["CVE-2021-44228"],
                "Maven",
                "org.apache.logging.log4j:log4j-core",
                "2.15.0",
            ),
        ],
        &bom(
            product,
            &[
                (
                    "jd",
                    "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
                ),
                (
                    "log4j",
                    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                ),
            ],
        ),
    )
}

#[test]
fn cyclonedx_vex_bom_link_and_product_level_statements() {
    let (Some(vex), Some(case1), Some(case7)) = (
        testdata("sbom/cyclonedx/bom-examples/VEX/vex.json"),
        testdata("sbom/cyclonedx/bom-examples/VEX/CISA-Use-Cases/Case-1/vex-not_affected.json"),
        testdata("sbom/cyclonedx/bom-examples/VEX/CISA-Use-Cases/Case-7/vex.json"),
    ) else {
        eprintln!("shared test data missing: skipped");
        return;
    };
    // a BOM-link to the component's purl bom-ref
    let mut r = jackson_report(json!({"name": "ABC", "bom-ref": "product-ABC", "version": "4.2"}));
    let doc = load_vex(&vex).expect("cdx vex");
    assert_eq!(doc.format, "CycloneDX 1.4");
    apply(&mut r, &[doc]);
    let f = finding(&r, "com.fasterxml.jackson.core:jackson-databind");
    assert!(f.suppressed);
    assert_eq!(
        f.vex.as_ref().and_then(|v| v.justification.as_deref()),
        Some("code_not_reachable")
    );
    assert!(!finding(&r, "org.apache.logging.log4j:log4j-core").suppressed);

    // the product itself is not affected: every CVE-2021-44228 finding in its SBOM
    apply(&mut r, &[load_vex(&case1).expect("case 1")]);
    assert!(finding(&r, "org.apache.logging.log4j:log4j-core").suppressed);

    // versioned statements: 4.2 is unaffected, 3.0 is in an exploitable range
    let case7 = load_vex(&case7).expect("case 7");
    let mut r = jackson_report(json!({"name": "ABC", "bom-ref": "product-ABC", "version": "4.2"}));
    apply(&mut r, std::slice::from_ref(&case7));
    let f = finding(&r, "org.apache.logging.log4j:log4j-core");
    assert!(f.suppressed, "{:?}", f.vex);
    let mut r = jackson_report(json!({"name": "ABC", "bom-ref": "product-ABC", "version": "3.0"}));
    apply(&mut r, &[case7]);
    let f = finding(&r, "org.apache.logging.log4j:log4j-core");
    assert!(!f.suppressed);
    assert_eq!(f.vex.as_ref().map(|v| v.status), Some(VexStatus::Affected));
}

#[test]
fn every_shared_vex_example_parses_or_fails_cleanly() {
    let Some(root) = testdata("sbom/cyclonedx/bom-examples/VEX") else {
        return;
    };
    let mut stack = vec![root];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let doc = load_vex(&p).expect("CycloneDX example");
                n += doc.statements.len();
            }
        }
    }
    assert!(n >= 20, "{n} statements");
    if let Some(p) = testdata("scanner-reports/openvex/openvex_not_a_document.json") {
        let e = load_vex(&p).expect_err("an array");
        assert!(e.to_string().contains("openvex_not_a_document.json"), "{e}");
    }
    if let Some(p) = testdata("scanner-reports/openvex/openvex_no_vuln.json") {
        assert!(load_vex(&p).expect("empty").statements.is_empty());
    }
}

#[test]
fn hostile_and_malformed_documents() {
    for (text, needle) in [
        ("", "invalid JSON"),
        (
            "{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statem",
            "invalid JSON",
        ),
        ("42", "not a VEX document"),
        ("{\"hello\": 1}", "not a VEX document"),
        (
            "{\"@context\": \"https://openvex.dev/ns\", \"statements\": {}}",
            "statements",
        ),
        (
            "<bom xmlns=\"http://example.com/other\"/>",
            "not a CycloneDX",
        ),
        (
            "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"><vulner",
            "invalid XML",
        ),
        ("<!DOCTYPE bom [<!ENTITY x \"y\">]><bom/>", "invalid XML"),
    ] {
        let e = parse_vex("bad.json", text).expect_err(text);
        let m = e.to_string();
        assert!(m.starts_with("bad.json: ") && m.contains(needle), "{m}");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_vex("deep.json", &deep).is_err());
    let deep_xml = format!(
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\">{}{}</bom>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    assert!(
        parse_vex("deep.xml", &deep_xml).is_err(),
        "nesting limit, no stack overflow"
    );
    let empty = parse_vex(
        "e.xml",
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>",
    )
    .expect("an empty BOM is a document without statements");
    assert!(empty.statements.is_empty() && empty.warnings.len() == 1);
    // bad statements are named and skipped; good ones are kept
    let doc = parse_vex(
        "s.json",
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-1"}, "products": ["pkg:npm/a"], "status": "maybe"},
            {"vulnerability": {}, "products": ["pkg:npm/a"], "status": "fixed"},
            {"vulnerability": "CVE-2", "status": "fixed"},
            7,
            {"vulnerability": "CVE-3", "products": [{"identifiers": {"purl": "pkg:npm/b"}}], "status": "not_affected"}]}"#,
    )
    .expect("doc");
    assert_eq!(doc.statements.len(), 1);
    assert_eq!(doc.statements[0].products, vec!["pkg:npm/b"]);
    let w = doc.warnings.join("\n");
    for at in [
        "statements[0]",
        "statements[1]",
        "statements[2]",
        "statements[3]",
        "statements[4]",
    ] {
        assert!(w.contains(&format!("s.json: {at}")), "{at} in {w}");
    }
    let doc = parse_vex(
        "c.json",
        r#"{"bomFormat": "CycloneDX", "vulnerabilities": [
            {"id": "CVE-1", "analysis": {"state": "bogus"}, "affects": [{"ref": "x"}]},
            {"analysis": {"state": "not_affected"}},
            {"id": "CVE-2", "analysis": {"state": "not_affected"}},
            {"id": "CVE-3", "analysis": {"state": "false_positive"}, "affects": [{"ref": "x", "versions": [{"range": "vers:generic/>=1|<2"}]}]}]}"#,
    )
    .expect("doc");
    assert_eq!(doc.statements.len(), 1);
    assert_eq!(doc.statements[0].status, VexStatus::NotAffected);
    assert_eq!(doc.warnings.len(), 3, "{:?}", doc.warnings);
}

#[test]
fn cyclonedx_vex_output_is_well_formed_and_round_trips() {
    let Some(p) = testdata("scanner-reports/openvex/openvex_many_vuln.json") else {
        return;
    };
    let mut r = alpine_report();
    apply(&mut r, &[load_vex(&p).expect("openvex")]);
    for ver in [CdxVersion::V1_5, CdxVersion::V1_6] {
        let out = to_cyclonedx_vex(
            &r,
            ver,
            "0.1.0",
            "3e671687-395b-41f5-a30f-a58921a69b79",
            "2026-01-01T00:00:00Z",
        );
        check_cyclonedx_vex(&out);
        let spec = out["specVersion"].as_str().expect("spec");
        assert!(spec == "1.5" || spec == "1.6");
        let states: Vec<&str> = out["vulnerabilities"]
            .as_array()
            .expect("vulns")
            .iter()
            .filter_map(|v| v["analysis"]["state"].as_str())
            .collect();
        for s in ["not_affected", "resolved", "exploitable", "in_triage"] {
            assert!(states.contains(&s), "{s} in {states:?}");
        }
        // what we write we can read back and apply to the same findings
        let back = parse_vex("out.json", &out.to_string()).expect("round trip");
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        let mut again = alpine_report();
        let sum = apply(&mut again, &[back]);
        assert_eq!(sum.suppressed, 4);
        assert_eq!(sum.annotated, 3, "the unassessed one is now in triage");
    }
}

/// Structural checks following the CycloneDX 1.5/1.6 JSON schema for what we emit.
fn check_cyclonedx_vex(v: &Value) {
    assert_eq!(v["bomFormat"], "CycloneDX");
    let serial = v["serialNumber"].as_str().expect("serial");
    let hex = serial.strip_prefix("urn:uuid:").expect("urn:uuid");
    let parts: Vec<&str> = hex.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(v["version"].as_u64().is_some_and(|n| n >= 1));
    let refs: Vec<&str> = v["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            assert!(matches!(
                c["type"].as_str(),
                Some("library" | "application")
            ));
            assert!(c["name"].is_string());
            c["bom-ref"].as_str().expect("bom-ref")
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for x in v["vulnerabilities"].as_array().expect("vulnerabilities") {
        assert!(
            seen.insert(x["bom-ref"].as_str().expect("bom-ref")),
            "unique bom-refs"
        );
        assert!(x["id"].is_string());
        for r in x["ratings"].as_array().expect("ratings") {
            assert!(matches!(
                r["severity"].as_str(),
                Some("critical" | "high" | "medium" | "low" | "info" | "none" | "unknown")
            ));
            if let Some(m) = r["method"].as_str() {
                assert!(matches!(
                    m,
                    "CVSSv2" | "CVSSv3" | "CVSSv31" | "CVSSv4" | "OWASP" | "SSVC" | "other"
                ));
            }
        }
        let a = &x["analysis"];
        assert!(matches!(
            a["state"].as_str(),
            Some(
                "resolved"
                    | "resolved_with_pedigree"
                    | "exploitable"
                    | "in_triage"
                    | "false_positive"
                    | "not_affected"
            )
        ));
        if let Some(j) = a["justification"].as_str() {
            assert!(matches!(
                j,
                "code_not_present"
                    | "code_not_reachable"
                    | "requires_configuration"
                    | "requires_dependency"
                    | "requires_environment"
                    | "protected_by_compiler"
                    | "protected_at_runtime"
                    | "protected_at_perimeter"
                    | "protected_by_mitigating_control"
            ));
        }
        for af in x["affects"].as_array().expect("affects") {
            assert!(
                refs.contains(&af["ref"].as_str().expect("ref")),
                "affects names a component"
            );
            for ver in af["versions"].as_array().into_iter().flatten() {
                assert!(matches!(
                    ver["status"].as_str(),
                    Some("affected" | "unaffected" | "unknown")
                ));
            }
        }
    }
}

#[test]
fn cyclonedx_xml_vex_matches_the_json_form() {
    let (Some(x), Some(j)) = (
        testdata("sbom/cyclonedx/spec-tests/1.6/valid-vulnerability-1.6.xml"),
        testdata("sbom/cyclonedx/spec-tests/1.6/valid-vulnerability-1.6.json"),
    ) else {
        return;
    };
    let (x, j) = (load_vex(&x).expect("xml"), load_vex(&j).expect("json"));
    assert_eq!(x.format, "CycloneDX 1.6 XML");
    assert_eq!(x.statements.len(), j.statements.len());
    assert!(!x.statements.is_empty());
    for (a, b) in x.statements.iter().zip(&j.statements) {
        assert_eq!(
            (
                &a.vulnerability,
                &a.aliases,
                &a.products,
                &a.versions,
                a.status,
                &a.justification
            ),
            (
                &b.vulnerability,
                &b.aliases,
                &b.products,
                &b.versions,
                b.status,
                &b.justification
            )
        );
    }
    // the scanner reports' XML exports read too
    if let Some(p) = testdata("scanner-reports/cyclonedx/log4j.xml") {
        let d = load_vex(&p).expect("log4j.xml");
        assert!(
            d.statements
                .iter()
                .all(|s| s.status == VexStatus::UnderInvestigation)
        );
        assert!(!d.statements.is_empty());
    }
}

#[test]
fn deeply_nested_xml_sboms_and_poms_are_refused_not_a_crash() {
    let deep = format!(
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"><components>{}{}</components></bom>",
        "<component>".repeat(50_000),
        "</component>".repeat(50_000)
    );
    let e = mcpsec_supply::sbom::parse_cyclonedx_xml("deep.xml", &deep).expect_err("too deep");
    assert!(
        e.to_string().contains("deep.xml") && e.to_string().contains("nested"),
        "{e}"
    );
    let pom = format!(
        "<project>{}{}</project>",
        "<x>".repeat(50_000),
        "</x>".repeat(50_000)
    );
    let reader = mcpsec_supply::lockfile::reader_for("pom.xml").expect("pom reader");
    assert!(reader("pom.xml", &pom).is_err());
}

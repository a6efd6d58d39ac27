//! Malicious-package advisories, risk scores (severity × exploitation × depth) and
//! typosquat-like names in a real scan.

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::exploit::parse_kev;
use mcpsec_supply::scan::{read_input, scan};

#[test]
fn malicious_first_and_risk_ranks_exploited_direct_dependencies_higher() {
    let tmp = tempfile::tempdir().expect("tmp");
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).expect("mkdir");
    let osv = |id: &str, name: &str, sev: Option<&str>, alias: &str| {
        let mut v = serde_json::json!({"id": id, "aliases": [alias], "modified": "2025-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": name},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]});
        if let Some(s) = sev {
            v["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": s}]);
        }
        v.to_string()
    };
    let high = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"; // 7.5
    std::fs::write(
        adv.join("m.json"),
        osv("MAL-2025-1", "lodahs", None, "GHSA-mal"),
    )
    .expect("w");
    std::fs::write(
        adv.join("a.json"),
        osv("GHSA-a", "direct-kev", Some(high), "CVE-2025-1000"),
    )
    .expect("w");
    std::fs::write(
        adv.join("b.json"),
        osv("GHSA-b", "deep", Some(high), "CVE-2025-2000"),
    )
    .expect("w");
    let mut db = VulnDb::open_dir(&tmp.path().join("data")).expect("db");
    db.import(&adv).expect("import");
    let kev = parse_kev(
        "kev.json",
        r#"{"vulnerabilities": [{"cveID": "CVE-2025-1000", "dateAdded": "2025-02-01"}]}"#,
    )
    .expect("kev");
    db.store_kev("kev.json", &kev).expect("store");
    let lock = tmp.path().join("package-lock.json");
    std::fs::write(
        &lock,
        r#"{"name": "app", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "dependencies": {"direct-kev": "1", "lodahs": "1", "mid": "1"}},
            "node_modules/direct-kev": {"version": "1.0.0"},
            "node_modules/lodahs": {"version": "1.0.0"},
            "node_modules/mid": {"version": "1.0.0", "dependencies": {"mid2": "1"}},
            "node_modules/mid2": {"version": "1.0.0", "dependencies": {"deep": "1"}},
            "node_modules/deep": {"version": "1.0.0"}}}"#,
    )
    .expect("write");
    let r = scan(&mut db, vec![read_input(&lock).expect("lock")]).expect("scan");
    assert_eq!(r.findings.len(), 3);
    let f0 = &r.findings[0];
    assert!(
        f0.malicious && f0.package == "lodahs",
        "malicious first: {f0:?}"
    );
    assert_eq!(f0.risk, 10.0);
    let get = |n: &str| r.findings.iter().find(|f| f.package == n).expect(n);
    let (a, b) = (get("direct-kev"), get("deep"));
    // 7.5 × (0.4 + 0.6 × 1) × 1 = 7.5 ; 7.5 × (0.4 + 0.6 × 0.3) × depth factor < 4.4
    assert_eq!(a.risk, 7.5);
    assert!(b.risk < 4.4 && b.risk > 0.0, "{}", b.risk);
    assert_eq!(r.risk.project, 10.0);
    assert_eq!(r.risk.components[0].package, "lodahs");
    assert_eq!(r.risk.high_risk_components, 2);
    assert_eq!(r.typosquats.len(), 1);
    assert_eq!(r.typosquats[0].resembles, "lodash");
}

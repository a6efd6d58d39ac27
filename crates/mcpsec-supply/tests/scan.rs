//! End-to-end matching: alias merging, withdrawn advisories, zip sources with a malformed
//! entry, several ecosystems, and the SARIF shape.

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::scan::{read_input, scan};
use std::io::Write;
use std::path::Path;

fn osv(
    id: &str,
    aliases: &[&str],
    eco: &str,
    name: &str,
    introduced: &str,
    fixed: &str,
    extra: serde_json::Value,
) -> String {
    let mut v = serde_json::json!({
        "id": id, "modified": "2025-01-01T00:00:00Z", "aliases": aliases, "summary": format!("{id} summary"),
        "affected": [{"package": {"ecosystem": eco, "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}]}]
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    v.to_string()
}

fn write_zip(path: &Path, entries: &[(&str, String)]) {
    let f = std::fs::File::create(path).expect("zip");
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, body) in entries {
        z.start_file(*n, opts).expect("entry");
        z.write_all(body.as_bytes()).expect("write");
    }
    z.finish().expect("finish");
}

#[test]
fn aliases_merge_withdrawn_ignored_and_bad_entries_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip_path = tmp.path().join("PyPI-all.zip");
    write_zip(
        &zip_path,
        &[
            ("PYSEC-1.json", osv("PYSEC-1", &["CVE-2024-1", "GHSA-aaaa"], "PyPI", "Django", "3.0", "3.2.5", serde_json::json!({}))),
            (
                "GHSA-aaaa.json",
                osv("GHSA-aaaa", &["CVE-2024-1"], "PyPI", "django", "3.0", "3.2.4", serde_json::json!({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]})),
            ),
            ("PYSEC-2.json", osv("PYSEC-2", &[], "PyPI", "django", "0", "9.0", serde_json::json!({"withdrawn": "2025-02-01T00:00:00Z"}))),
            ("PYSEC-3.json", osv("PYSEC-3", &[], "PyPI", "requests", "2.0", "2.31.0", serde_json::json!({"database_specific": {"severity": "MODERATE"}}))),
            ("broken.json", "{\"id\": \"X\", \"affected\": [{\"package\": {\"name\": \"a\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": []}]}]}".into()),
            ("truncated.json", "{\"id\": \"Y\", \"aff".into()),
        ],
    );
    let mut db = VulnDb::open_dir(&tmp.path().join("data")).expect("db");
    let r = db.import(&zip_path).expect("import");
    assert_eq!(r.advisories, 4);
    assert_eq!(r.withdrawn, 1);
    assert_eq!(r.warnings.len(), 2);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.file.ends_with("PyPI-all.zip!broken.json") && w.message.contains("events")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.file.ends_with("!truncated.json"))
    );

    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "Django==3.1.0 ; python_version > '3'\nrequests[socks]==2.25.1 \\\n  --hash=sha256:abc\nflask>=2\n").expect("write");
    let inv = read_input(&req).expect("read");
    assert_eq!(inv.components.len(), 2);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings); // flask is unpinned
    let report = scan(&mut db, vec![inv]).expect("scan");
    assert_eq!(report.findings.len(), 2, "{:#?}", report.findings);
    let dj = report
        .findings
        .iter()
        .find(|f| f.package == "django")
        .expect("django");
    assert_eq!(dj.advisories, vec!["PYSEC-1", "GHSA-aaaa"]);
    assert!(dj.aliases.contains(&"CVE-2024-1".to_string()));
    assert_eq!(
        dj.fixed.as_deref(),
        Some("3.2.5"),
        "the upgrade must fix both advisories"
    );
    assert_eq!(dj.severity, mcpsec_supply::cvss::Severity::Critical);
    let rq = report
        .findings
        .iter()
        .find(|f| f.package == "requests")
        .expect("requests");
    assert_eq!(rq.severity, mcpsec_supply::cvss::Severity::Medium);

    // SARIF shape
    let s = mcpsec_supply::sarif::to_sarif(&report, "0.1.0");
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mcpsec");
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(run["results"].as_array().map(Vec::len), Some(2));
    assert!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("requirements.txt"))
    );
    assert_eq!(run["results"][0]["level"], "error");
}

#[test]
fn go_mod_against_go_vulndb() {
    let db_src = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/osv/go-vulndb"
    ));
    if !db_src.is_dir() {
        eprintln!("skipping: go-vulndb fixtures absent");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let mut db = VulnDb::open_dir(tmp.path()).expect("db");
    db.import(db_src).expect("import");
    let gomod = tmp.path().join("go.mod");
    std::fs::write(
        &gomod,
        "module example.com/app\n\ngo 1.20\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.4.0\n\tgolang.org/x/net v0.0.0-20210405180319-a5a99cb37ef4 // indirect\n\tgithub.com/sirupsen/logrus v1.9.3\n)\n",
    )
    .expect("write");
    let report = scan(&mut db, vec![read_input(&gomod).expect("read")]).expect("scan");
    let pkgs: std::collections::BTreeSet<&str> =
        report.findings.iter().map(|f| f.package.as_str()).collect();
    assert!(pkgs.contains("github.com/gin-gonic/gin"), "{pkgs:?}");
    assert!(
        pkgs.contains("golang.org/x/net"),
        "pseudo-version must match: {pkgs:?}"
    );
    assert!(
        pkgs.contains("stdlib"),
        "go 1.20 standard library: {pkgs:?}"
    );
    assert!(
        !pkgs.contains("github.com/sirupsen/logrus"),
        "logrus 1.9.3 is fixed: {pkgs:?}"
    );
    let gin = report
        .findings
        .iter()
        .find(|f| f.id == "GO-2020-0001")
        .expect("GO-2020-0001");
    assert_eq!(gin.fixed.as_deref(), Some("1.6.0"));
}

#[test]
fn git_ranges_match_equal_commits_and_listed_revisions_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).expect("mkdir");
    let intro = "0123456789abcdef0123456789abcdef01234567";
    let fix = "fedcba9876543210fedcba9876543210fedcba98";
    // OSS-Fuzz style: no package, a GIT range and the tags it affects
    std::fs::write(
        adv.join("OSV-2099-1.json"),
        serde_json::json!({
            "id": "OSV-2099-1", "modified": "2025-01-01T00:00:00Z", "summary": "heap overflow",
            "affected": [{"ranges": [{"type": "GIT", "repo": "https://github.com/example/libfoo.git",
                "events": [{"introduced": intro}, {"fixed": fix}]}],
                "versions": ["v1.2.0", "v1.2.1"]}]
        })
        .to_string(),
    )
    .expect("write");
    std::fs::write(
        adv.join("GHSA-git-1.json"),
        serde_json::json!({
            "id": "GHSA-git-1", "modified": "2025-01-01T00:00:00Z", "aliases": ["OSV-2099-1"],
            "affected": [{"package": {"ecosystem": "npm", "name": "libfoo-bindings"},
                "ranges": [{"type": "GIT", "repo": "git@github.com:Example/libfoo.git",
                    "events": [{"introduced": intro}, {"fixed": fix}]}]}]
        })
        .to_string(),
    )
    .expect("write");
    let db_dir = tmp.path().join("db");
    let mut db = VulnDb::open_dir(&db_dir).expect("db");
    let r = db.import(&adv).expect("import");
    assert_eq!(r.advisories, 2, "{:?}", r.warnings);
    let sbom = tmp.path().join("bom.json");
    let comp = |name: &str, purl: String| serde_json::json!({"type": "library", "name": name, "purl": purl});
    std::fs::write(
        &sbom,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            comp("tag", "pkg:github/example/libfoo@v1.2.1".into()),
            comp("tag-unlisted", "pkg:github/example/libfoo@v1.3.0".into()),
            comp("short", format!("pkg:generic/libfoo@x?vcs_url=git%2Bhttps://github.com/example/libfoo%40{}", &intro[..8])),
            comp("fixed", format!("pkg:github/example/libfoo@{fix}")),
            comp("between", "pkg:github/example/libfoo@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
            comp("other-repo", format!("pkg:github/example/other@{intro}")),
        ]})
        .to_string(),
    )
    .expect("write");
    let inv = read_input(&sbom).expect("read");
    assert!(
        !inv.warnings.iter().any(|w| w.contains("github")),
        "repository purls are matchable: {:?}",
        inv.warnings
    );
    let report = scan(&mut db, vec![inv]).expect("scan");
    let mut hits: Vec<(String, String, Vec<String>)> = report
        .findings
        .iter()
        .map(|f| (f.version.clone(), f.package.clone(), f.advisories.clone()))
        .collect();
    hits.sort();
    assert_eq!(
        hits,
        [
            (
                intro[..8].to_string(),
                "github.com/example/libfoo".to_string(),
                vec!["GHSA-git-1".to_string(), "OSV-2099-1".to_string()]
            ),
            (
                "v1.2.1".to_string(),
                "github.com/example/libfoo".to_string(),
                vec!["OSV-2099-1".to_string()]
            ),
        ],
        "the introducing commit (abbreviated) and a listed tag; aliases merge"
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.version == "v1.2.1")
        .expect("tag");
    assert_eq!(f.ecosystem, "GIT");
    assert_eq!(f.fixed.as_deref(), Some(fix));
}

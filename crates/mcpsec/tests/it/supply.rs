//! `mcpsec vulndb` and `mcpsec sbom scan`: exit codes and output formats.

use crate::common::bin;
use std::process::Command;

#[test]
fn vulndb_import_status_and_sbom_scan() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let adv = dir.path().join("advisories");
    std::fs::create_dir_all(&adv).expect("mkdir");
    std::fs::write(
        adv.join("GHSA-test-0001.json"),
        r#"{"id":"GHSA-test-0001","modified":"2025-03-01T00:00:00Z","aliases":["CVE-2025-0001"],
            "summary":"Test advisory","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "affected":[{"package":{"ecosystem":"crates.io","name":"demo"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}"#,
    )
    .expect("write");
    std::fs::write(adv.join("broken.json"), "{not json").expect("write");
    let d = data.to_str().expect("utf8");

    // scanning before importing: a clear error, exit 2
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"demo\"]\n\n[[package]]\nname = \"demo\"\nversion = \"1.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", d])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vulndb import"));

    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&adv)
        .args(["--data-dir", d])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 advisories imported"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.json"),
        "the malformed file is named"
    );

    let out = Command::new(bin())
        .args(["vulndb", "status", "--json", "--data-dir", d])
        .output()
        .expect("run");
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(st["advisories"], 1);
    assert_eq!(st["newest_modified"], "2025-03-01T00:00:00Z");

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", d])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("GHSA-test-0001")
            && table.contains("1.2.0")
            && table.contains("CVE-2025-0001"),
        "{table}"
    );
    assert!(table.contains("app@0.1.0 → demo@1.1.0"), "{table}");

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", d, "--fail-on", "critical"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a HIGH finding does not fail --fail-on critical"
    );

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", d, "--format", "sarif"])
        .output()
        .expect("run");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "GHSA-test-0001");
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "7.5"
    );
}

#[test]
fn sbom_why_lists_every_path_and_the_blast_radius() {
    let dir = tempfile::tempdir().expect("tmp");
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["web", "log"]

[[package]]
name = "web"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["zlib"]

[[package]]
name = "log"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["zlib"]

[[package]]
name = "zlib"
version = "3.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#,
    )
    .expect("write");
    let out = std::process::Command::new(crate::common::bin())
        .args(["sbom", "why", "zlib", "--json"])
        .arg(&lock)
        .output()
        .expect("why");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["paths"].as_array().map(Vec::len), Some(2));
    assert_eq!(v[0]["blast_radius"], 3);
    assert_eq!(v[0]["affected_roots"][0], "app@0.1.0");
    let out = std::process::Command::new(crate::common::bin())
        .args(["sbom", "why", "pkg:cargo/nothere"])
        .arg(&lock)
        .output()
        .expect("why");
    assert_eq!(out.status.code(), Some(1));
}

/// Imports one advisory for `demo` 1.1.0 and writes a Cargo.lock using it; returns
/// (tempdir, data dir, lockfile).
fn demo_db() -> (tempfile::TempDir, String, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let adv = dir.path().join("adv.json");
    std::fs::write(
        &adv,
        r#"{"id":"GHSA-test-0001","modified":"2025-03-01T00:00:00Z","aliases":["CVE-2025-0001"],
            "summary":"Test advisory","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "affected":[{"package":{"ecosystem":"crates.io","name":"demo"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}"#,
    )
    .expect("write");
    let d = data.to_str().expect("utf8").to_string();
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&adv)
        .args(["--data-dir", &d])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"demo\"]\n\n[[package]]\nname = \"demo\"\nversion = \"1.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .expect("write");
    (dir, d, lock)
}

#[test]
fn sbom_scan_vex_suppresses_and_cyclonedx_vex_output() {
    let (dir, d, lock) = demo_db();
    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
            {"vulnerability":{"name":"CVE-2025-0001"},"products":[{"@id":"pkg:cargo/demo@1.1.0"}],
             "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
            {"vulnerability":{"name":"CVE-9"},"products":["pkg:cargo/demo"]}]}"#,
    )
    .expect("write");
    let broken = dir.path().join("broken-vex.json");
    std::fs::write(&broken, "{\"statements\": [").expect("write");
    let run = |extra: &[&str]| {
        Command::new(bin())
            .args(["sbom", "scan"])
            .arg(&lock)
            .args(["--data-dir", &d, "--vex"])
            .arg(&vex)
            .args(["--vex"])
            .arg(&broken)
            .args(extra)
            .output()
            .expect("run")
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "suppressed findings do not fail: {stderr}"
    );
    assert!(
        stderr.contains("broken-vex.json") && stderr.contains("statements[1]"),
        "{stderr}"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("suppressed by VEX")
            && table.contains("vulnerable_code_not_in_execute_path"),
        "{table}"
    );

    let out = run(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["suppressed"], true);
    assert_eq!(v["findings"][0]["vex"]["status"], "not_affected");
    assert!(
        v["findings"][0]["vex"]["source"]
            .as_str()
            .expect("source")
            .ends_with("vex.json statements[0]")
    );

    let out = run(&["--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif");
    assert_eq!(
        v["runs"][0]["results"][0]["suppressions"][0]["kind"],
        "external"
    );

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args([
            "--data-dir",
            &d,
            "--format",
            "cyclonedx-vex",
            "--cyclonedx-version",
            "1.5",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "unsuppressed: still fails");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cdx");
    assert_eq!(v["specVersion"], "1.5");
    let serial = v["serialNumber"].as_str().expect("serial");
    assert_eq!(serial.len(), "urn:uuid:".len() + 36, "{serial}");
    assert_eq!(&serial[23..24], "4", "version 4 UUID: {serial}");
    assert_eq!(v["vulnerabilities"][0]["id"], "GHSA-test-0001");
    assert_eq!(v["vulnerabilities"][0]["analysis"]["state"], "in_triage");
    assert_eq!(
        v["vulnerabilities"][0]["affects"][0]["ref"],
        v["components"][0]["bom-ref"]
    );
    // the emitted document is itself a VEX input
    let emitted = dir.path().join("emitted.cdx.json");
    std::fs::write(&emitted, &out.stdout).expect("write");
    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", &d, "--format", "json", "--vex"])
        .arg(&emitted)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["vex"]["status"], "under_investigation");
}

#[test]
fn sbom_licenses_policy_gate() {
    let dir = tempfile::tempdir().expect("tmp");
    let bom = dir.path().join("bom.json");
    std::fs::write(
        &bom,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"type":"library","name":"a","version":"1.0.0","purl":"pkg:npm/a@1.0.0","licenses":[{"license":{"id":"MIT"}}]},
            {"type":"library","name":"b","version":"1.0.0","purl":"pkg:npm/b@1.0.0","licenses":[{"expression":"GPL-3.0-only OR Apache-2.0"}]},
            {"type":"library","name":"c","version":"1.0.0","purl":"pkg:npm/c@1.0.0","licenses":[{"expression":"LGPL-2.1-or-later"}]},
            {"type":"library","name":"d","version":"1.0.0","purl":"pkg:npm/d@1.0.0"},
            {"type":"library","name":"e","version":"1.0.0","purl":"pkg:npm/e@1.0.0","licenses":[{"license":{"name":"Acme EULA"}}]}]}"#,
    )
    .expect("write");
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/license-policy.example.toml");
    let run = |extra: &[&str]| {
        Command::new(bin())
            .args(["sbom", "licenses"])
            .arg(&bom)
            .args(extra)
            .output()
            .expect("run")
    };
    let out = run(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "default policy denies nothing");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["allowed"].as_u64(), v["review"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        (v["missing"].as_u64(), v["unknown"].as_u64()),
        (Some(1), Some(1))
    );

    let out = run(&["--policy", policy.to_str().expect("utf8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("weak-copyleft family to review"), "{table}");

    let strict = dir.path().join("strict.toml");
    std::fs::write(&strict, "allow_families = [\"permissive\"]\ndeny_families = [\"weak-copyleft\"]\nunknown = \"deny\"\n").expect("write");
    let out = run(&[
        "--policy",
        strict.to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "a deny fails the gate");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["denied"], 2);
    assert_eq!(v["components"][0]["verdict"], "deny");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "allow_families = [\"copyleft-ish\"]\n").expect("write");
    let out = run(&["--policy", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
}

#[test]
fn vulndb_import_epss_and_kev_then_fail_on_kev() {
    let (dir, d, lock) = demo_db();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcpsec-supply/tests/fixtures");
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(fixtures.join("epss_scores-sample.csv"))
        .arg(fixtures.join("known_exploited_vulnerabilities-sample.json"))
        .args(["--data-dir", &d])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("3 EPSS scores imported") && stdout.contains("2 KEV entries imported"),
        "{stdout}"
    );
    assert!(
        stderr.contains("epss_scores-sample.csv: line 6"),
        "bad rows are named: {stderr}"
    );

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args(["--data-dir", &d, "--fail-on", "critical"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "HIGH < critical");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("KEV: known exploited (added 2025-03-01, due 2025-03-22)"),
        "{table}"
    );
    assert!(table.contains("EPSS 0.000 (percentile 12)"), "{table}");

    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .args([
            "--data-dir",
            &d,
            "--fail-on",
            "critical",
            "--fail-on-kev",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "--fail-on-kev");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["kev"]["due_date"], "2025-03-22");
    assert_eq!(v["findings"][0]["epss"]["percentile"], 0.12001);

    let out = Command::new(bin())
        .args(["vulndb", "status", "--data-dir", &d])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("EPSS scores: 3, KEV entries: 2"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "hello,world\n").expect("write");
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&bad)
        .args(["--data-dir", &d])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.csv: line 1"));
}

#[test]
fn sbom_scan_malicious_packages_fail_and_risk_is_shown() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().join("data");
    let adv = dir.path().join("MAL-2025-1.json");
    std::fs::write(
        &adv,
        r#"{"id":"MAL-2025-1","modified":"2025-03-01T00:00:00Z","summary":"Malicious code in serd (crates.io)",
            "affected":[{"package":{"ecosystem":"crates.io","name":"serd"},"versions":["0.1.0"]}]}"#,
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&adv)
        .arg("--data-dir")
        .arg(&d)
        .output()
        .expect("run");
    assert!(out.status.success());
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"serd\"\nversion = \"0.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["sbom", "scan"])
        .arg(&lock)
        .arg("--data-dir")
        .arg(&d)
        .args(["--fail-on", "critical"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "malicious fails whatever the severity"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("MALICIOUS") && table.contains("project risk 10.0/10"),
        "{table}"
    );
    assert!(
        table.contains("serd 0.1.0 (crates.io) resembles serde"),
        "{table}"
    );
}

/// Runs `git` in `dir` with a fixed identity; returns its trimmed stdout.
pub(crate) fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn sbom_scan_git_repos_places_a_commit_inside_a_git_range() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("clones/example/libfoo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    let mut commits = Vec::new();
    for msg in ["intro", "mid", "fix"] {
        std::fs::write(repo.join("f"), msg).expect("write");
        git(&repo, &["add", "f"]);
        git(&repo, &["commit", "-q", "-m", msg]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    let adv = dir.path().join("adv.json");
    std::fs::write(
        &adv,
        serde_json::json!({"id": "OSV-2099-9", "modified": "2025-01-01T00:00:00Z",
            "affected": [{"ranges": [{"type": "GIT", "repo": "https://github.com/example/libfoo",
                "events": [{"introduced": commits[0]}, {"fixed": commits[2]}]}]}]})
        .to_string(),
    )
    .expect("write");
    let d = dir.path().join("data");
    let d = d.to_str().expect("utf8");
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&adv)
        .args(["--data-dir", d])
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let bom = dir.path().join("bom.json");
    std::fs::write(
        &bom,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"type": "library", "name": "libfoo", "purl": format!("pkg:github/example/libfoo@{}", commits[1])}]})
        .to_string(),
    )
    .expect("write");
    let scan = |extra: &[&str]| {
        Command::new(bin())
            .args(["sbom", "scan", "--format", "json", "--data-dir", d])
            .args(extra)
            .arg(&bom)
            .output()
            .expect("run")
    };
    let out = scan(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no clone: the middle commit cannot be placed"
    );
    let clones = dir.path().join("clones");
    let out = scan(&["--git-repos", clones.to_str().expect("utf8")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["id"], "OSV-2099-9", "{v:#}");
    assert_eq!(v["findings"][0]["fixed"], commits[2].as_str());
}

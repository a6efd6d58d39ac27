//! OSV `GIT` ranges placed with a real local clone: a revision between the introducing
//! and the fixing commit is found, one on a branch that never had the bug or after the
//! fix is not, a tag resolves to its commit, and a scan without the clone falls back to
//! exact commits with a warning.

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::osv::GitHistory;
use mcpsec_supply::scan::{ScanOptions, read_input, scan_with};
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, msg: &str) -> String {
    std::fs::write(dir.join("f.txt"), msg).expect("write");
    git(dir, &["add", "f.txt"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn a_clone_places_revisions_between_introduced_and_fixed() {
    let tmp = tempfile::tempdir().expect("tmp");
    // clones/github.com/example/libfoo: root → intro → mid (tag v1.1) → fix → after;
    // and a branch from root that never had the bug.
    let repo = tmp.path().join("clones/github.com/example/libfoo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    let root = commit(&repo, "root");
    let intro = commit(&repo, "introduce the overflow");
    let mid = commit(&repo, "unrelated work");
    git(&repo, &["tag", "v1.1"]);
    let fix = commit(&repo, "fix the overflow");
    let after = commit(&repo, "later work");
    git(&repo, &["checkout", "-q", "-b", "old", &root]);
    let side = commit(&repo, "maintenance branch");

    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).expect("mkdir");
    std::fs::write(
        adv.join("OSV-2099-7.json"),
        serde_json::json!({
            "id": "OSV-2099-7", "modified": "2025-01-01T00:00:00Z", "summary": "heap overflow",
            "affected": [{"ranges": [{"type": "GIT", "repo": "https://github.com/example/libfoo",
                "events": [{"introduced": intro}, {"fixed": fix}]}]}]
        })
        .to_string(),
    )
    .expect("write");
    let mut db = VulnDb::open_dir(&tmp.path().join("db")).expect("db");
    db.import(&adv).expect("import");

    let sbom = tmp.path().join("bom.json");
    let comp = |name: &str, rev: &str| {
        serde_json::json!({"type": "library", "name": name,
            "purl": format!("pkg:github/example/libfoo@{rev}")})
    };
    std::fs::write(
        &sbom,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            comp("root", &root), comp("mid", &mid), comp("tag", "v1.1"), comp("short", &mid[..9]),
            comp("fix", &fix), comp("after", &after), comp("side", &side),
            comp("hostile", "--output=x"),
        ]})
        .to_string(),
    )
    .expect("write");

    let opts = ScanOptions {
        git_history: Some(GitHistory::new(tmp.path().join("clones"))),
    };
    let report = scan_with(&mut db, vec![read_input(&sbom).expect("read")], &opts).expect("scan");
    let mut hits: Vec<&str> = report.findings.iter().map(|f| f.version.as_str()).collect();
    hits.sort();
    // mid, its tag and its abbreviation lie between intro and fix; root is before the
    // bug, fix and after carry the fix, side never had it
    let mut want = vec![mid.as_str(), "v1.1", &mid[..9]];
    want.sort();
    assert_eq!(hits, want, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.fixed.as_deref(), Some(fix.as_str()));
    assert!(
        f.affected_ranges[0].contains("local clone"),
        "{:?}",
        f.affected_ranges
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("--output=x") && w.contains("not in the clone")),
        "a hostile revision is refused, not run: {:?}",
        report.warnings
    );

    // without the clone: nothing between the commits is found, and the scan says why
    let opts = ScanOptions {
        git_history: Some(GitHistory::new(tmp.path().join("elsewhere"))),
    };
    let report = scan_with(&mut db, vec![read_input(&sbom).expect("read")], &opts).expect("scan");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no full clone of github.com/example/libfoo")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn last_affected_bounds_a_range_and_shallow_clones_are_not_used() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("clones/libbar");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    let a = commit(&repo, "a");
    let b = commit(&repo, "b");
    let c = commit(&repo, "c");
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).expect("mkdir");
    std::fs::write(
        adv.join("OSV-2099-8.json"),
        serde_json::json!({
            "id": "OSV-2099-8", "modified": "2025-01-01T00:00:00Z",
            "affected": [{"ranges": [{"type": "GIT", "repo": "https://git.example.org/team/libbar.git",
                "events": [{"introduced": "0"}, {"last_affected": b}]}]}]
        })
        .to_string(),
    )
    .expect("write");
    let mut db = VulnDb::open_dir(&tmp.path().join("db")).expect("db");
    db.import(&adv).expect("import");
    let sbom = tmp.path().join("bom.json");
    let comp = |rev: &str| {
        serde_json::json!({"type": "library", "name": rev,
            "purl": format!("pkg:generic/libbar@{rev}?vcs_url=git%2Bhttps://git.example.org/team/libbar.git")})
    };
    std::fs::write(
        &sbom,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [comp(&a), comp(&b), comp(&c)]})
        .to_string(),
    )
    .expect("write");
    let scan = |db: &mut VulnDb| {
        let opts = ScanOptions {
            git_history: Some(GitHistory::new(tmp.path().join("clones"))),
        };
        scan_with(db, vec![read_input(&sbom).expect("read")], &opts).expect("scan")
    };
    let report = scan(&mut db);
    let mut hits: Vec<String> = report.findings.iter().map(|f| f.version.clone()).collect();
    hits.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(hits, want, "every commit up to last_affected, not after");

    std::fs::write(repo.join(".git/shallow"), format!("{a}\n")).expect("mark shallow");
    let report = scan(&mut db);
    let hits: Vec<&str> = report.findings.iter().map(|f| f.version.as_str()).collect();
    assert_eq!(
        hits,
        [b.as_str()],
        "a shallow clone is ignored: only the exact last_affected commit matches"
    );
}

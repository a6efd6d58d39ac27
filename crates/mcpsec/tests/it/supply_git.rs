//! `serve` places commits inside OSV `GIT` ranges with the clones of `supply.git_repos`:
//! in uploads, findings and re-evaluations (which raise the alerts), as `sbom scan` does.

use crate::common::*;
use crate::projects::{create_project, get, import, upload};
use crate::supply::git;
use serde_json::{Value, json};
use std::path::Path;

/// A repository `clones/example/libfoo` of three commits (introduced, middle, fix).
fn libfoo(root: &Path) -> Vec<String> {
    let repo = root.join("clones/example/libfoo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    let mut commits = Vec::new();
    for msg in ["intro", "mid", "fix"] {
        std::fs::write(repo.join("f"), msg).expect("write");
        git(&repo, &["add", "f"]);
        git(&repo, &["commit", "-q", "-m", msg]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    commits
}

fn git_advisory(commits: &[String]) -> String {
    json!({"id": "OSV-2099-9", "modified": "2025-01-01T00:00:00Z", "summary": "libfoo overflow",
        "affected": [{"ranges": [{"type": "GIT", "repo": "https://github.com/example/libfoo",
            "events": [{"introduced": commits[0]}, {"fixed": commits[2]}]}]}]})
    .to_string()
}

/// A CycloneDX SBOM holding libfoo at the middle commit.
fn bom(commit: &str) -> String {
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "library", "name": "libfoo", "purl": format!("pkg:github/example/libfoo@{commit}")}]})
    .to_string()
}

fn finding_ids(s: &Server, key: &str, project: &str) -> Vec<(String, String)> {
    let (st, f) = get(s, key, &format!("/api/v1/projects/{project}/findings"));
    assert_eq!(st, 200, "{f}");
    f["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (s(&x["id"]), s(&x["fixed"]))
        })
        .collect()
}

#[test]
fn serve_uses_supply_git_repos_for_uploads_findings_and_reevaluation() {
    let dir = tempfile::tempdir().expect("tmp");
    let commits = libfoo(dir.path());
    let clones = dir.path().join("clones");
    let advisories = [("git", git_advisory(&commits))];

    // Without the setting the middle commit cannot be placed: no finding.
    let plain = dir.path().join("plain");
    import(&plain, &dir.path().join("adv-plain"), &advisories);
    let s = Server::start_with(&plain, &[], &[]);
    let key = tenant_key(&plain, "default", "analyst");
    let p = create_project(&s, &key, "firmware");
    let (st, up) = upload(&s, &key, &p, &bom(&commits[1]), "", "application/json");
    assert_eq!((st, up["findings"].as_u64()), (201, Some(0)), "{up}");
    assert!(finding_ids(&s, &key, &p).is_empty());
    drop(s);

    // With it, the upload made before any database is found affected once one is
    // imported: the re-evaluation places the commit and raises the alert.
    let data = dir.path().join("data");
    let s = Server::start_with(
        &data,
        &[],
        &[
            ("MCPSEC_SUPPLY__GIT_REPOS", clones.to_str().expect("utf8")),
            ("MCPSEC_SUPPLY__VULNDB_CHECK_SECS", "0"),
        ],
    );
    let key = tenant_key(&data, "default", "analyst");
    let admin = tenant_key(&data, "default", "admin");
    let p = create_project(&s, &key, "firmware");
    let (st, up) = upload(&s, &key, &p, &bom(&commits[1]), "", "application/json");
    assert_eq!(
        (st, up["findings"].as_u64()),
        (201, Some(0)),
        "no database yet"
    );
    import(&data, &dir.path().join("adv"), &advisories);
    let r: Value = client()
        .post(s.url("/api/v1/vulndb/reevaluate"))
        .bearer_auth(&admin)
        .send()
        .and_then(|r| r.json())
        .expect("reevaluate");
    assert_eq!(r["projects"], 1, "{r}");
    assert_eq!(r["alerts"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["errors"], json!([]), "{r}");
    let (_, alerts) = get(&s, &key, "/api/v1/alerts?rule=supply:new-vulnerability");
    assert_eq!(alerts["total"], 1, "{alerts}");
    assert!(
        alerts["alerts"][0]["rule_title"]
            .as_str()
            .unwrap_or("")
            .contains("OSV-2099-9"),
        "{alerts}"
    );
    // Findings and a new upload place it too; the fix commit itself is not affected.
    assert_eq!(
        finding_ids(&s, &key, &p),
        vec![("OSV-2099-9".to_owned(), commits[2].clone())]
    );
    // The supply report places it as the findings do.
    let (st, report) = get(&s, &key, &format!("/api/v1/reports/supply?project={p}"));
    assert_eq!(st, 200, "{report}");
    let found: Vec<&str> = report["supply"]["projects"][0]["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(found, vec!["OSV-2099-9"], "{report}");
    let (st, up) = upload(&s, &key, &p, &bom(&commits[1]), "", "application/json");
    assert_eq!((st, up["findings"].as_u64()), (201, Some(1)), "{up}");
    let (st, up) = upload(&s, &key, &p, &bom(&commits[2]), "", "application/json");
    assert_eq!((st, up["findings"].as_u64()), (201, Some(0)), "{up}");
}

//! `serve`'s supply-chain API: projects, SBOM versions, findings, diffs, VEX, bad
//! uploads, and re-evaluation alerts when the vulnerability database changes.

use crate::common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// An OSV advisory for an npm package, fixed in `fixed`.
pub(crate) fn advisory(
    id: &str,
    aliases: &[&str],
    package: &str,
    fixed: &str,
    vector: &str,
) -> String {
    json!({
        "id": id, "modified": "2025-06-01T00:00:00Z", "aliases": aliases,
        "summary": format!("{package} is vulnerable"),
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [{"package": {"ecosystem": "npm", "name": package},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
    .to_string()
}

pub(crate) const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H";
pub(crate) const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MEDIUM: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H";

/// Imports advisories (written into a fresh directory) with the CLI.
pub(crate) fn import(data: &Path, dir: &Path, advisories: &[(&str, String)]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for (name, body) in advisories {
        std::fs::write(dir.join(format!("{name}.json")), body).expect("write");
    }
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(dir)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CycloneDX 1.5 JSON SBOM of npm packages, `app` depending on all of them.
fn cdx(components: &[(&str, &str)]) -> String {
    let comps: Vec<Value> = components
        .iter()
        .map(|(n, v)| json!({"type": "library", "bom-ref": format!("{n}@{v}"), "name": n, "version": v, "purl": format!("pkg:npm/{n}@{v}")}))
        .collect();
    let deps: Vec<String> = components.iter().map(|(n, v)| format!("{n}@{v}")).collect();
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"component": {"type": "application", "bom-ref": "app", "name": "app", "version": "1.0.0"}},
        "components": comps,
        "dependencies": [{"ref": "app", "dependsOn": deps}]
    })
    .to_string()
}

pub(crate) fn create_project(s: &Server, key: &str, name: &str) -> String {
    let r = client()
        .post(s.url("/api/v1/projects"))
        .bearer_auth(key)
        .json(&json!({"name": name, "description": "test"}))
        .send()
        .expect("create");
    assert_eq!(r.status().as_u16(), 201);
    let p: Value = r.json().expect("json");
    p["id"].as_str().expect("id").to_owned()
}

pub(crate) fn upload(
    s: &Server,
    key: &str,
    id: &str,
    body: &str,
    query: &str,
    ct: &str,
) -> (u16, Value) {
    let r = client()
        .post(s.url(&format!("/api/v1/projects/{id}/sboms{query}")))
        .bearer_auth(key)
        .header("content-type", ct)
        .body(body.to_owned())
        .send()
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

pub(crate) fn get(s: &Server, key: &str, path: &str) -> (u16, Value) {
    let r = client()
        .get(s.url(path))
        .bearer_auth(key)
        .send()
        .expect("get");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|c| match field {
            "change" => format!(
                "{}:{}->{}",
                c["name"].as_str().unwrap_or(""),
                c["from"].as_str().unwrap_or(""),
                c["to"].as_str().unwrap_or("")
            ),
            "component" => format!(
                "{}@{}",
                c["name"].as_str().unwrap_or(""),
                c["version"].as_str().unwrap_or("")
            ),
            _ => c[field].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

#[test]
fn projects_versions_findings_vex_and_diff() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    import(
        &data,
        &dir.path().join("adv"),
        &[
            (
                "lodash",
                advisory(
                    "GHSA-lodash-0001",
                    &["CVE-2099-0001"],
                    "lodash",
                    "4.17.21",
                    HIGH,
                ),
            ),
            (
                "express",
                advisory("GHSA-express-0001", &[], "express", "4.5.0", CRITICAL),
            ),
            (
                "minimist",
                advisory("GHSA-minimist-0001", &[], "minimist", "1.2.6", MEDIUM),
            ),
        ],
    );
    let s = Server::start(&data);
    let id = create_project(&s, TOKEN, "web-shop");
    let dup = client()
        .post(s.url("/api/v1/projects"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "web-shop"}))
        .send()
        .expect("dup");
    assert_eq!(dup.status().as_u16(), 409);

    let v1 = cdx(&[
        ("lodash", "4.17.20"),
        ("minimist", "1.2.5"),
        ("left-pad", "1.3.0"),
        ("debug", "4.3.4"),
    ]);
    let (st, up) = upload(&s, TOKEN, &id, &v1, "", "application/vnd.cyclonedx+json");
    assert_eq!(st, 201, "{up}");
    assert_eq!(up["sbom"]["version"], 1);
    assert_eq!(up["sbom"]["format"], "CycloneDX 1.5 JSON");
    assert_eq!(up["findings"], 2);
    let v2 = cdx(&[
        ("lodash", "4.17.21"),
        ("left-pad", "1.3.0"),
        ("express", "4.0.0"),
        ("debug", "4.3.1"),
    ]);
    let (st, up) = upload(&s, TOKEN, &id, &v2, "", "application/json");
    assert_eq!(st, 201, "{up}");
    assert_eq!(
        (
            up["sbom"]["version"].as_u64(),
            up["critical_or_high"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let (_, versions) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/sboms"));
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(2));
    let (_, one) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/sboms/1"));
    assert_eq!(
        one["inventory"]["components"].as_array().map(Vec::len),
        Some(4)
    );
    let doc = client()
        .get(s.url(&format!("/api/v1/projects/{id}/sboms/1/document")))
        .bearer_auth(TOKEN)
        .send()
        .expect("doc")
        .text()
        .expect("text");
    assert_eq!(doc, v1, "the document is kept byte for byte");
    assert_eq!(
        get(&s, TOKEN, &format!("/api/v1/projects/{id}/sboms/9")).0,
        404
    );
    let (_, p) = get(&s, TOKEN, &format!("/api/v1/projects/{id}"));
    assert_eq!(p["project"]["latest_version"], 2);

    // findings of the latest version, with the version to upgrade to
    let (_, f) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings"));
    assert_eq!(f["version"], 2);
    assert_eq!(names(&f["findings"], "id"), ["GHSA-express-0001"]);
    assert_eq!(f["findings"][0]["fixed"], "4.5.0");
    let (_, f1) = get(
        &s,
        TOKEN,
        &format!("/api/v1/projects/{id}/findings?version=1&min_severity=high"),
    );
    assert_eq!(
        names(&f1["findings"], "id"),
        ["GHSA-lodash-0001"],
        "medium minimist filtered out"
    );
    assert_eq!(
        get(
            &s,
            TOKEN,
            &format!("/api/v1/projects/{id}/findings?min_severity=urgent")
        )
        .0,
        400
    );

    // diff of the two handcrafted versions
    let (st, d) = get(
        &s,
        TOKEN,
        &format!("/api/v1/projects/{id}/diff?from=1&to=2"),
    );
    assert_eq!(st, 200, "{d}");
    assert_eq!(names(&d["added"], "component"), ["express@4.0.0"]);
    assert_eq!(names(&d["removed"], "component"), ["minimist@1.2.5"]);
    assert_eq!(names(&d["upgraded"], "change"), ["lodash:4.17.20->4.17.21"]);
    assert_eq!(names(&d["downgraded"], "change"), ["debug:4.3.4->4.3.1"]);
    assert_eq!(
        names(&d["new_vulnerabilities"], "id"),
        ["GHSA-express-0001"]
    );
    assert_eq!(
        names(&d["fixed_vulnerabilities"], "id"),
        ["GHSA-lodash-0001", "GHSA-minimist-0001"]
    );
    assert_eq!(d["unchanged_vulnerabilities"], 0);
    let (_, d_default) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/diff"));
    assert_eq!(
        d_default["from"], 1,
        "default: the version before the latest"
    );
    assert_eq!(
        get(
            &s,
            TOKEN,
            &format!("/api/v1/projects/{id}/diff?from=2&to=2")
        )
        .0,
        400
    );

    // the same over GraphQL
    let q = format!(
        "{{ project(id: \"{id}\") {{ name latestVersion }} \
         high: findings(projectId: \"{id}\", minSeverity: \"critical\", version: 1) {{ total }} \
         all: findings(projectId: \"{id}\") {{ total version findings {{ id fixed severity package }} }} }}"
    );
    let r: Value = client()
        .post(s.url("/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({"query": q}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert_eq!(r["data"]["project"]["latestVersion"], 2, "{r}");
    assert_eq!(
        r["data"]["high"]["total"], 0,
        "v1 has no critical finding: {r}"
    );
    assert_eq!(r["data"]["all"]["findings"][0]["id"], "GHSA-express-0001");
    assert_eq!(r["data"]["all"]["findings"][0]["severity"], "critical");
    let r: Value = client()
        .post(s.url("/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({"query": format!("{{ findings(projectId: \"{id}\", minSeverity: \"urgent\") {{ total }} }}")}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("urgent")),
        "{r}"
    );

    // an OpenVEX statement suppresses the express finding
    let vex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
        "author": "sec team", "timestamp": "2025-06-02T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "GHSA-express-0001"},
            "products": [{"@id": "pkg:npm/express@4.0.0"}],
            "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]
    });
    let r = client()
        .post(s.url(&format!(
            "/api/v1/projects/{id}/vex?filename=app.openvex.json"
        )))
        .bearer_auth(TOKEN)
        .body(vex.to_string())
        .send()
        .expect("vex");
    assert_eq!(r.status().as_u16(), 201);
    let (_, f) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings"));
    assert_eq!(f["findings"], json!([]), "{f}");
    assert_eq!(f["suppressed"], 1);
    let (_, f) = get(
        &s,
        TOKEN,
        &format!("/api/v1/projects/{id}/findings?include_suppressed=true"),
    );
    assert_eq!(f["findings"][0]["suppressed"], true);
    assert_eq!(f["findings"][0]["vex"]["status"], "not_affected");

    // a lockfile, named by `filename`
    let lock = "{\"name\":\"x\",\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"x\"},\"node_modules/minimist\":{\"version\":\"1.2.0\"}}}";
    let (st, up) = upload(
        &s,
        TOKEN,
        &id,
        lock,
        "?filename=package-lock.json",
        "application/json",
    );
    assert_eq!(st, 201, "{up}");
    assert_eq!(
        up["sbom"]["format"]
            .as_str()
            .map(|f| f.contains("package-lock")),
        Some(true),
        "{up}"
    );
    assert_eq!(up["findings"], 1);

    // SPDX 3 JSON-LD is read too
    let spdx3 = json!({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [
        {"type": "software_Package", "spdxId": "urn:x:1", "name": "lodash", "software_packageVersion": "4.17.15",
         "software_packageUrl": "pkg:npm/lodash@4.17.15"}]});
    let (st, up) = upload(
        &s,
        TOKEN,
        &id,
        &spdx3.to_string(),
        "",
        "application/spdx+json",
    );
    assert_eq!(st, 201, "{up}");
    assert_eq!(up["findings"], 1);

    // another scanner's report: its findings keep their tool, its packages are matched too
    let trivy = json!({"SchemaVersion": 2, "ArtifactName": "shop", "Results": [{"Target": "package-lock.json",
        "Type": "npm", "Vulnerabilities": [{"VulnerabilityID": "CVE-2099-0001", "PkgName": "lodash",
        "InstalledVersion": "4.17.20", "FixedVersion": "4.17.21", "Severity": "HIGH", "Title": "proto pollution"}]}]});
    let (st, up) = upload(&s, TOKEN, &id, &trivy.to_string(), "", "application/json");
    assert_eq!(st, 201, "{up}");
    assert_eq!(up["sbom"]["format"], "Trivy JSON report");
    let (_, f) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings"));
    assert_eq!(f["reported"][0]["tool"], "Trivy", "{f}");
    assert_eq!(f["reported"][0]["fixed"], "4.17.21");
    assert_eq!(
        names(&f["findings"], "id"),
        ["GHSA-lodash-0001"],
        "matched locally as well: {f}"
    );

    // deleting removes every version
    let r = client()
        .delete(s.url(&format!("/api/v1/projects/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .expect("delete");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        get(&s, TOKEN, &format!("/api/v1/projects/{id}/sboms")).0,
        404
    );

    // every change is audited
    let (_, audit) = get(&s, TOKEN, "/api/v1/audit?limit=1000");
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for a in [
        "projects.create",
        "projects.upload",
        "projects.vex",
        "projects.delete",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
    // a viewer reads but cannot write
    let viewer = tenant_key(&data, "default", "viewer");
    assert_eq!(get(&s, &viewer, "/api/v1/projects").0, 200);
    let r = client()
        .post(s.url("/api/v1/projects"))
        .bearer_auth(&viewer)
        .json(&json!({"name": "nope"}))
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 403);
}

#[test]
fn bad_uploads_get_a_clear_4xx_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(
        &data,
        &[],
        &[
            ("MCPSEC_HTTP__MAX_BODY_BYTES", "65536"),
            ("MCPSEC_HTTP__MAX_DECODED_BYTES", "262144"),
        ],
    );
    let id = create_project(&s, TOKEN, "bad");
    let good = cdx(&[("lodash", "4.17.20")]);
    let truncated = &good[..good.len() / 2];
    let huge = format!(
        "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":[{}]}}",
        vec![r#"{"type":"library","name":"x","version":"1","purl":"pkg:npm/x@1"}"#; 2000].join(",")
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "truncated",
            truncated.as_bytes().to_vec(),
            "",
            400,
            "invalid",
        ),
        ("empty", Vec::new(), "", 400, "empty"),
        (
            "not an sbom",
            b"hello world\n".to_vec(),
            "",
            400,
            "not a recognised",
        ),
        (
            "binary",
            vec![0xff, 0xfe, 0x00, 0x01, 0x80],
            "",
            400,
            "UTF-8",
        ),
        ("huge", huge.into_bytes(), "", 413, "limit"),
        (
            "deep json",
            deep.into_bytes(),
            "?filename=bom.json",
            413,
            "limit",
        ),
        (
            "path name",
            good.clone().into_bytes(),
            "?filename=../../etc/passwd",
            400,
            "plain file name",
        ),
        (
            "bad lockfile",
            b"not = [toml".to_vec(),
            "?filename=Cargo.lock",
            400,
            "Cargo.lock",
        ),
    ];
    for (what, body, query, want, says) in cases {
        let r = client()
            .post(s.url(&format!("/api/v1/projects/{id}/sboms{query}")))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .expect("upload");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        assert_eq!(status, want, "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
    }
    // a gzip bomb: small on the wire, over the decoded limit
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![b' '; 1 << 20]).expect("gz");
    let bomb = gz.finish().expect("gz");
    let r = client()
        .post(s.url(&format!("/api/v1/projects/{id}/sboms")))
        .bearer_auth(TOKEN)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .expect("upload");
    assert_eq!(r.status().as_u16(), 413);
    // a deeply nested JSON under the limit is refused, not a crash
    let nested = format!(
        "{{\"bomFormat\":\"CycloneDX\",\"x\":{}{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let (st, v) = upload(&s, TOKEN, &id, &nested, "", "application/json");
    assert_eq!(st, 400, "{v}");
    // VEX documents: unreadable or without a usable statement are refused
    for (body, says) in [
        ("{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": [".to_string(), "VEX"),
        (
            json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "bogus"}]}).to_string(),
            "no usable VEX statement",
        ),
        ("\u{0}\u{1}".to_string(), ""),
    ] {
        let r = client()
            .post(s.url(&format!("/api/v1/projects/{id}/vex")))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .expect("vex");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(says), "{text}");
    }
    assert_eq!(
        get(&s, TOKEN, &format!("/api/v1/projects/{id}/vex")).1["documents"],
        json!([])
    );
    // unknown project: 404 before anything is read
    let (st, _) = upload(
        &s,
        TOKEN,
        "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        &good,
        "",
        "application/json",
    );
    assert_eq!(st, 404);
    let (_, versions) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/sboms"));
    assert_eq!(versions["versions"], json!([]), "nothing stored");
    let (_, p) = get(&s, TOKEN, &format!("/api/v1/projects/{id}"));
    assert_eq!(p["project"]["latest_version"], 0);
    // and the server still works
    let (st, _) = upload(&s, TOKEN, &id, &good, "", "application/json");
    assert_eq!(st, 201);
    assert_eq!(
        get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings")).1["warnings"][0]
            .as_str()
            .map(|w| w.contains("vulndb import")),
        Some(true)
    );
}

fn supply_alerts(s: &Server, key: &str) -> Value {
    get(s, key, "/api/v1/alerts?rule=supply:new-vulnerability").1
}

fn wait_alerts(s: &Server, key: &str, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = supply_alerts(s, key);
        if v["total"].as_u64() == Some(want) || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_new_advisory_alerts_the_affected_tenant_once() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    import(
        &data,
        &dir.path().join("adv1"),
        &[(
            "lodash",
            advisory("GHSA-lodash-0001", &[], "lodash", "4.17.21", HIGH),
        )],
    );
    let env = [("MCPSEC_SUPPLY__VULNDB_CHECK_SECS", "1")];
    let mut s = Server::start_with(&data, &[], &env);
    let a = tenant_key(&data, "tenant-a", "analyst");
    let b = tenant_key(&data, "tenant-b", "admin");
    let pa = create_project(&s, &a, "a-app");
    let pb = create_project(&s, &b, "b-app");
    let (st, up) = upload(
        &s,
        &a,
        &pa,
        &cdx(&[("lodash", "4.17.20"), ("left-pad", "1.3.0")]),
        "",
        "application/json",
    );
    assert_eq!((st, up["findings"].as_u64()), (201, Some(1)));
    let (st, _) = upload(
        &s,
        &b,
        &pb,
        &cdx(&[("lodash", "4.17.21"), ("express", "4.0.0")]),
        "",
        "application/json",
    );
    assert_eq!(st, 201);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        supply_alerts(&s, &a)["total"],
        0,
        "an upload itself raises nothing"
    );

    let ws = s.base.replace("http://", "ws://");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (mut stream_a, _) = rt
        .block_on(tokio_tungstenite::connect_async(format!(
            "{ws}/api/v1/alerts/stream?access_token={a}"
        )))
        .expect("ws");
    // a new advisory for left-pad, imported next to the running server
    import(
        &data,
        &dir.path().join("adv2"),
        &[(
            "left-pad",
            advisory(
                "GHSA-leftpad-0001",
                &["CVE-2099-7777"],
                "left-pad",
                "1.3.1",
                CRITICAL,
            ),
        )],
    );
    let got = wait_alerts(&s, &a, 1);
    assert_eq!(got["total"], 1, "{got}");
    let alert = &got["alerts"][0];
    assert_eq!(alert["kind"], "supply");
    assert_eq!(alert["level"], "critical");
    assert!(
        alert["rule_title"]
            .as_str()
            .is_some_and(|t| t.contains("GHSA-leftpad-0001") && t.contains("a-app")),
        "{alert}"
    );
    assert_eq!(alert["group"]["project"], pa.as_str());
    assert_eq!(alert["group"]["advisories"], json!(["GHSA-leftpad-0001"]));
    assert_eq!(alert["events"][0]["package"], "left-pad");
    assert_eq!(alert["events"][0]["fixed"], "1.3.1");
    let frame = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), stream_a.next()).await })
        .expect("no alert streamed")
        .expect("stream ended")
        .expect("frame");
    let streamed: Value = serde_json::from_str(frame.to_text().expect("text")).expect("json");
    assert_eq!(streamed["id"], alert["id"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(supply_alerts(&s, &a)["total"], 1, "raised once");
    assert_eq!(
        supply_alerts(&s, &b)["total"],
        0,
        "tenant B is not affected"
    );

    // an advisory that only adds another id for the same vulnerability is not news
    import(
        &data,
        &dir.path().join("adv3"),
        &[(
            "alias",
            advisory(
                "OSV-2099-1",
                &["CVE-2099-7777"],
                "left-pad",
                "1.3.1",
                CRITICAL,
            ),
        )],
    );
    let r = client()
        .post(s.url("/api/v1/vulndb/reevaluate"))
        .bearer_auth(&b)
        .send()
        .expect("reevaluate");
    assert_eq!(r.status().as_u16(), 200);
    let re: Value = r.json().expect("json");
    assert_eq!(
        (re["projects"].as_u64(), re["alerts"].clone()),
        (Some(1), json!([])),
        "B sees its own figures only: {re}"
    );
    let r = client()
        .post(s.url("/api/v1/vulndb/reevaluate"))
        .bearer_auth(&a)
        .send()
        .expect("reevaluate");
    assert_eq!(r.status().as_u16(), 403, "analysts may not trigger it");
    assert_eq!(supply_alerts(&s, &a)["total"], 1);

    // a restart raises nothing again
    assert_eq!(s.terminate(), Some(0));
    let s = Server::start_with(&data, &[], &env);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        supply_alerts(&s, &a)["total"],
        1,
        "not re-raised after a restart"
    );
    assert_eq!(supply_alerts(&s, &b)["total"], 0);
    let (_, st) = get(&s, &a, "/api/v1/vulndb");
    assert_eq!(st["present"], true);
    assert!(
        st["generation"]
            .as_u64()
            .is_some_and(|g| g > 1_700_000_000_000),
        "{st}"
    );
    assert!(st.get("path").is_none());
}

#[test]
fn findings_come_in_pages_of_a_stable_order_with_a_total() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    // 30 vulnerable packages of three severities, so the order has ties to break.
    let advisories: Vec<(String, String)> = (0..30)
        .map(|i| {
            let vector = [CRITICAL, HIGH, MEDIUM][i % 3];
            let name = format!("pkg{i:02}");
            let id = format!("GHSA-page-{i:04}");
            (name.clone(), advisory(&id, &[], &name, "2.0.0", vector))
        })
        .collect();
    let refs: Vec<(&str, String)> = advisories
        .iter()
        .map(|(n, a)| (n.as_str(), a.clone()))
        .collect();
    import(&data, &dir.path().join("adv"), &refs);
    let s = Server::start(&data);
    let id = create_project(&s, TOKEN, "paged");
    let comps: Vec<(String, &str)> = (0..30).map(|i| (format!("pkg{i:02}"), "1.0.0")).collect();
    let comps: Vec<(&str, &str)> = comps.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let (st, up) = upload(&s, TOKEN, &id, &cdx(&comps), "", "application/json");
    assert_eq!((st, up["findings"].as_u64()), (201, Some(30)), "{up}");

    let (_, all) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings"));
    assert_eq!(all["total"], 30);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["next_offset"], Value::Null, "one page holds all: {all}");
    let everything = names(&all["findings"], "id");
    assert_eq!(everything.len(), 30);
    let severities = names(&all["findings"], "severity");
    assert_eq!(severities[..10], ["critical"; 10], "most severe first");

    // Walking the pages gives the same list, each finding once, in the same order.
    let mut walked = Vec::new();
    let mut offset = Some(0u64);
    let mut pages = 0;
    while let Some(o) = offset {
        let (st, p) = get(
            &s,
            TOKEN,
            &format!("/api/v1/projects/{id}/findings?limit=7&offset={o}"),
        );
        assert_eq!(st, 200, "{p}");
        assert_eq!(p["total"], 30);
        assert_eq!(p["offset"], o);
        walked.extend(names(&p["findings"], "id"));
        offset = p["next_offset"].as_u64();
        pages += 1;
        assert!(pages <= 5, "paging does not end: {p}");
    }
    assert_eq!(pages, 5, "30 findings in pages of 7");
    assert_eq!(walked, everything);

    // Filters apply before paging, so the total is the filtered one.
    let (_, c) = get(
        &s,
        TOKEN,
        &format!("/api/v1/projects/{id}/findings?min_severity=critical&limit=4&offset=8"),
    );
    assert_eq!(
        (c["total"].as_u64(), c["next_offset"].as_u64()),
        (Some(10), None)
    );
    assert_eq!(names(&c["findings"], "id"), everything[8..10]);

    // Past the end: an empty page, not an error.
    let (st, past) = get(
        &s,
        TOKEN,
        &format!("/api/v1/projects/{id}/findings?offset=1000"),
    );
    assert_eq!(
        (st, past["findings"].clone(), past["total"].as_u64()),
        (200, json!([]), Some(30))
    );
    for bad in [
        "limit=0",
        "limit=5001",
        "limit=-1",
        "offset=x",
        &format!("limit={}", u64::MAX),
    ] {
        let (st, e) = get(&s, TOKEN, &format!("/api/v1/projects/{id}/findings?{bad}"));
        assert_eq!(st, 400, "{bad}: {e}");
    }
}

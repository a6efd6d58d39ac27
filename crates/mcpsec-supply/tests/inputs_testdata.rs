//! Every lockfile and SBOM fixture: readers never panic; known files give known counts;
//! bad inputs give an error naming the file.

use mcpsec_supply::lockfile::reader_for;
use mcpsec_supply::scan::read_input;
use std::path::{Path, PathBuf};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

fn root() -> Option<PathBuf> {
    let p = Path::new(TESTDATA);
    if p.join("lockfiles").is_dir() && p.join("sbom").is_dir() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skipping: {TESTDATA} not present");
        None
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Reads a fixture with the reader its directory implies (fixture names vary).
fn read_as(path: &Path, as_name: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let r = reader_for(as_name).ok_or("no reader")?;
    r(&path.display().to_string(), &text)
        .map(|i| i.components.len())
        .map_err(|e| e.to_string())
}

#[test]
fn every_lockfile_fixture_reads_or_fails_cleanly() {
    let Some(root) = root() else { return };
    let kinds = [
        ("cargo/cargo-lock", "Cargo.lock"),
        ("npm/package-lock", "package-lock.json"),
        ("pypi/requirements-txt", "requirements.txt"),
        ("go/go-mod", "go.mod"),
        ("pypi/poetry-lock", "poetry.lock"),
        ("pypi/uv-lock", "uv.lock"),
        ("pypi/pdm-lock", "pdm.lock"),
        ("pypi/pipfile-lock", "Pipfile.lock"),
        ("rubygems/gemfile-lock", "Gemfile.lock"),
        ("packagist/composer-lock", "composer.lock"),
        ("pub/pubspec-lock", "pubspec.lock"),
        ("maven/gradle-lockfile", "gradle.lockfile"),
        ("nuget/packages-lock-json", "packages.lock.json"),
        ("npm/yarn-lock", "yarn.lock"),
        ("npm/pnpm-lock", "pnpm-lock.yaml"),
        ("maven/pom-xml", "pom.xml"),
        ("hex/mix-lock", "mix.lock"),
        ("debian/dpkg-status", "status"),
        ("alpine/apk-installed", "installed"),
    ];
    let mut total = 0;
    for (dir, name) in kinds {
        if reader_for(name).is_none() {
            eprintln!("{name}: no reader yet");
            continue;
        }
        let mut fs = Vec::new();
        files(&root.join("lockfiles").join(dir), &mut fs);
        let (mut ok, mut err, mut comps) = (0, 0, 0);
        for f in &fs {
            match read_as(f, name) {
                Ok(n) => {
                    ok += 1;
                    comps += n;
                }
                Err(e) => {
                    err += 1;
                    assert!(
                        e.contains(&f.display().to_string()),
                        "error must name the file: {e}"
                    );
                }
            }
        }
        total += ok;
        eprintln!(
            "{name:<20} {} files: {ok} read ({comps} components), {err} rejected",
            fs.len()
        );
        assert!(ok > 0, "{name}: nothing readable");
    }
    assert!(total > 100);
}

#[test]
fn known_counts() {
    let Some(root) = root() else { return };
    let l = root.join("lockfiles");
    let cases = [
        (
            "cargo/cargo-lock/osv-scanner/two-packages.lock",
            "Cargo.lock",
            2,
        ),
        (
            "cargo/cargo-lock/osv-scalibr/two-packages-with-local.lock",
            "Cargo.lock",
            2,
        ),
        ("cargo/cargo-lock/osv-scanner/empty.lock", "Cargo.lock", 0),
    ];
    for (f, name, n) in cases {
        assert_eq!(read_as(&l.join(f), name), Ok(n), "{f}");
    }
    assert!(
        read_as(
            &l.join("cargo/cargo-lock/osv-scanner/not-toml.txt"),
            "Cargo.lock"
        )
        .is_err()
    );
}

#[test]
fn every_sbom_fixture_reads_or_fails_cleanly() {
    let Some(root) = root() else { return };
    let mut fs = Vec::new();
    files(&root.join("sbom"), &mut fs);
    let (mut ok, mut err, mut comps) = (0, 0, 0);
    for f in &fs {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.ends_with(".json") || name.ends_with(".xml") || name.ends_with(".spdx")) {
            continue;
        }
        match read_input(f) {
            Ok(inv) => {
                ok += 1;
                comps += inv.components.len();
            }
            Err(e) => {
                err += 1;
                assert!(e.to_string().contains(&f.display().to_string()));
            }
        }
    }
    eprintln!("sbom fixtures: {ok} read ({comps} components), {err} rejected");
    assert!(ok > 300);
    // large real-world SBOMs
    let keycloak =
        read_input(&root.join("sbom/cyclonedx/bom-examples/SBOM/keycloak-10.0.2/bom.json"))
            .expect("keycloak");
    assert!(
        keycloak.components.len() > 500,
        "{}",
        keycloak.components.len()
    );
    assert!(!keycloak.edges.is_empty());
    let x = read_input(&root.join("sbom/cyclonedx/bom-examples/SBOM/dropwizard-1.3.15/bom.xml"))
        .expect("xml");
    let j = read_input(&root.join("sbom/cyclonedx/bom-examples/SBOM/dropwizard-1.3.15/bom.json"))
        .expect("json");
    assert_eq!(x.components.len(), j.components.len());
    let spdx =
        read_input(&root.join("sbom/spdx/spdx-examples/software/example11/spdx2.3/sbom.spdx.json"))
            .expect("spdx");
    assert!(spdx.components.iter().any(|c| c.name == "hyper"));
    assert!(!spdx.edges.is_empty());
}

#[test]
fn bad_inputs_fail_cleanly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cases: [(&str, &str); 6] = [
        (
            "bom.json",
            "{\"bomFormat\": \"CycloneDX\", \"components\": [{\"name\": \"x\", \"purl\": \"pkg:npm/x@1\"",
        ),
        ("Cargo.lock", "[[package]]\nname = 1"),
        (
            "sbom.spdx.json",
            "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": 5}",
        ),
        ("deep.cdx.json", &("[".repeat(10_000))),
        ("package-lock.json", "[]"),
        ("random.bin", "\u{0}\u{1}"),
    ];
    for (name, text) in cases {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).expect("write");
        match read_input(&p) {
            Ok(inv) => assert!(
                inv.components.is_empty() || !inv.warnings.is_empty(),
                "{name}"
            ),
            Err(e) => assert!(e.to_string().contains(name), "{e}"),
        }
    }
    // cycles and unknown purl types
    let p = tmp.path().join("cyc.cdx.json");
    std::fs::write(
        &p,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
        {"bom-ref":"a","name":"a","version":"1.0.0","purl":"pkg:npm/a@1.0.0"},
        {"bom-ref":"b","name":"b","version":"1.0.0","purl":"pkg:npm/b@1.0.0"},
        {"bom-ref":"c","name":"c","version":"1","purl":"pkg:weird/c@1"},
        {"bom-ref":"d","name":"d","version":"1"}],
        "dependencies":[{"ref":"a","dependsOn":["b"]},{"ref":"b","dependsOn":["a"]}]}"#,
    )
    .expect("write");
    let inv = read_input(&p).expect("cyclic");
    assert_eq!(inv.components.len(), 2);
    assert_eq!(inv.warnings.len(), 2, "{:?}", inv.warnings);
    assert!(!inv.path_to(1).is_empty());
}

#[test]
fn every_spdx3_fixture_reads_with_purls_edges_and_licences() {
    let Some(root) = root() else { return };
    let mut fs = Vec::new();
    files(&root.join("sbom/spdx"), &mut fs);
    let mut read = 0;
    for f in &fs {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !text.contains("spdx.org/rdf/3") || !text.trim_start().starts_with('{') {
            continue;
        }
        let inv = read_input(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(inv.format.starts_with("SPDX-3"), "{}", inv.format);
        read += 1;
    }
    assert!(read >= 25, "only {read} SPDX 3 fixtures");
    let ex = root.join("sbom/spdx/spdx-examples/software/example11");
    let v3 = read_input(&ex.join("spdx3.0/sbom.spdx3.json")).expect("spdx3");
    let v2 = read_input(&ex.join("spdx2.3/sbom.spdx.json")).expect("spdx2");
    let names = |i: &mcpsec_supply::inventory::Inventory| {
        let mut n: Vec<String> = i
            .components
            .iter()
            .map(|c| format!("{}@{}", c.name, c.version))
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&v3), names(&v2), "the same SBOM in SPDX 3 and 2.3");
    assert!(!v3.edges.is_empty());
    let maven = read_input(
        &root.join("sbom/spdx/spdx-examples/software/example9/spdx3.0/appbomination.spdx3.json"),
    )
    .expect("maven");
    let junit = maven
        .components
        .iter()
        .find(|c| c.name == "junit:junit")
        .expect("junit");
    assert_eq!(junit.version, "4.12");
    assert!(
        maven.components.iter().any(|c| !c.licenses.is_empty()),
        "licences from hasConcludedLicense / hasDeclaredLicense"
    );
}

#[test]
fn scanner_reports_read_as_findings_with_their_tool() {
    let Some(root) = root() else { return };
    let base = root.join("scanner-reports");
    let mut per_tool: std::collections::BTreeMap<String, usize> = Default::default();
    for dir in [
        "trivy",
        "anchore_grype",
        "osv_scanner",
        "npm_audit",
        "npm_audit_7_plus",
        "dependency_check",
        "sarif",
        "cargo_audit",
    ] {
        let mut fs = Vec::new();
        files(&base.join(dir), &mut fs);
        for f in fs {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if mcpsec_supply::reports::sniff(&text).is_none() {
                continue;
            }
            match mcpsec_supply::reports::parse_report(&f.display().to_string(), &text) {
                Ok(inv) => {
                    for r in &inv.reported {
                        assert!(!r.id.is_empty(), "{}", f.display());
                        *per_tool.entry(r.tool.clone()).or_default() += 1;
                    }
                }
                Err(e) => assert!(e.to_string().contains(&f.display().to_string())),
            }
        }
    }
    eprintln!("reported findings per tool: {per_tool:?}");
    for tool in [
        "Trivy",
        "Grype",
        "osv-scanner",
        "npm audit",
        "Dependency-Check",
        "cargo-audit",
    ] {
        assert!(
            per_tool.get(tool).is_some_and(|n| *n > 0),
            "{tool}: {per_tool:?}"
        );
    }
    assert!(per_tool.len() > 6, "SARIF drivers too: {per_tool:?}");
    // a Trivy report's packages become components the local database can match
    let inv = read_input(&base.join("trivy/scheme_2_many_vulns.json")).expect("trivy");
    assert!(!inv.components.is_empty() && !inv.reported.is_empty());
}

//! Format detection by content over every lockfile fixture: a text that its named reader
//! reads into components is recognised as that format without its file name, and reads
//! into the same components.

use mcpsec_supply::lockfile::reader_for;
use mcpsec_supply::sniff::{detect, read_text};
use std::path::{Path, PathBuf};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

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

#[test]
fn lockfiles_are_recognised_by_content() {
    let root = Path::new(TESTDATA).join("lockfiles");
    if !root.is_dir() {
        eprintln!("skipping: {TESTDATA} not present");
        return;
    }
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
    let (mut total, mut same, mut misses) = (0, 0, Vec::new());
    for (dir, name) in kinds {
        let Some(reader) = reader_for(name) else {
            continue;
        };
        let mut fs = Vec::new();
        files(&root.join(dir), &mut fs);
        for f in fs {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let label = f.display().to_string();
            let Ok(want) = reader(&label, &text) else {
                continue;
            };
            if want.components.is_empty() {
                continue;
            }
            total += 1;
            let got = detect(None, &text).map(|d| d.format);
            let read = read_text(&label, None, &text).map(|i| i.components.len());
            if read.as_ref().ok() == Some(&want.components.len()) {
                same += 1;
            } else {
                misses.push(format!("{label}: {name} detected as {got:?}"));
            }
        }
    }
    eprintln!("{same} of {total} lockfile fixtures recognised by content; misses: {misses:#?}");
    assert!(total > 150, "{total}");
    // Only fixtures that are not really of their format (osv-scalibr's requirements
    // `invalid.txt`, read leniently by name) may be missed.
    assert!(misses.len() <= 1, "{same}/{total}: {misses:#?}");
}

#[test]
fn sbom_fixtures_are_recognised_by_content() {
    let root = Path::new(TESTDATA).join("sbom");
    if !root.is_dir() {
        return;
    }
    let mut fs = Vec::new();
    files(&root, &mut fs);
    let mut n = 0;
    for f in fs {
        let Ok(inv) = mcpsec_supply::scan::read_input(&f) else {
            continue;
        };
        if inv.components.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("utf-8: read_input read it");
        let got = read_text("pasted", None, &text).expect("recognised");
        assert_eq!(
            got.components.len(),
            inv.components.len(),
            "{}",
            f.display()
        );
        n += 1;
    }
    assert!(n > 100, "{n}");
}

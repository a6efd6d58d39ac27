//! Parity with cargo-audit: the same advisories for the same Cargo.lock and RustSec
//! advisory-db. Expectations were recorded by running cargo-audit 0.22.2
//! (`cargo audit --db <advisory-db as git repo> --no-fetch --stale --file Cargo.lock --json`)
//! against ../shared/testdata/osv/rustsec-advisory-db (commit bf5c0d2).

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::lockfile::reader_for;
use mcpsec_supply::scan::scan;
use std::collections::BTreeSet;
use std::path::Path;

const ADVISORY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/osv/rustsec-advisory-db"
);
const LOCKFILES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/lockfiles"
);

/// Crates pinned at versions with known advisories (the lockfile is written by the test).
const SYNTH: &[(&str, &str)] = &[
    ("smallvec", "0.6.9"),
    ("time", "0.1.43"),
    ("chrono", "0.4.19"),
    ("tokio", "1.8.0"),
    ("regex", "1.5.4"),
    ("openssl", "0.10.30"),
    ("net2", "0.2.33"),
    ("hyper", "0.14.9"),
    ("crossbeam-channel", "0.5.7"),
    ("rustls", "0.20.0"),
    ("h2", "0.3.15"),
    ("libsqlite3-sys", "0.25.0"),
    ("ansi_term", "0.12.1"),
    ("atty", "0.2.14"),
    ("idna", "0.4.0"),
    ("openssl-src", "111.25.0+1.1.1t"),
    ("git2", "0.14.0"),
    ("bumpalo", "3.11.0"),
    ("tar", "0.4.35"),
    ("lock_api", "0.4.1"),
    ("generic-array", "0.14.4"),
    ("serde", "1.0.100"),
    ("hashbrown", "0.15.0"),
    ("ring", "0.16.20"),
    ("zip", "0.6.6"),
    ("protobuf", "2.27.0"),
    ("shlex", "1.1.0"),
    ("mio", "0.8.10"),
    ("rustix", "0.37.10"),
    ("sqlx", "0.7.3"),
];

/// cargo-audit's `vulnerabilities.list` for SYNTH.
const EXPECTED_VULNS: &[(&str, &str)] = &[
    ("chrono", "RUSTSEC-2020-0159"),
    ("h2", "RUSTSEC-2023-0034"),
    ("h2", "RUSTSEC-2024-0003"),
    ("h2", "RUSTSEC-2024-0332"),
    ("h2", "RUSTSEC-2026-0258"),
    ("hashbrown", "RUSTSEC-2024-0402"),
    ("hyper", "RUSTSEC-2021-0078"),
    ("hyper", "RUSTSEC-2021-0079"),
    ("idna", "RUSTSEC-2024-0421"),
    ("libsqlite3-sys", "RUSTSEC-2022-0090"),
    ("mio", "RUSTSEC-2024-0019"),
    ("openssl", "RUSTSEC-2023-0022"),
    ("openssl", "RUSTSEC-2023-0023"),
    ("openssl", "RUSTSEC-2023-0024"),
    ("openssl", "RUSTSEC-2023-0044"),
    ("openssl", "RUSTSEC-2024-0357"),
    ("openssl", "RUSTSEC-2025-0004"),
    ("protobuf", "RUSTSEC-2024-0437"),
    ("regex", "RUSTSEC-2022-0013"),
    ("ring", "RUSTSEC-2025-0009"),
    ("rustls", "RUSTSEC-2024-0336"),
    ("shlex", "RUSTSEC-2024-0006"),
    ("smallvec", "RUSTSEC-2019-0009"),
    ("smallvec", "RUSTSEC-2019-0012"),
    ("smallvec", "RUSTSEC-2021-0003"),
    ("sqlx", "RUSTSEC-2024-0363"),
    ("tar", "RUSTSEC-2021-0080"),
    ("tar", "RUSTSEC-2026-0067"),
    ("tar", "RUSTSEC-2026-0068"),
    ("time", "RUSTSEC-2020-0071"),
    ("tokio", "RUSTSEC-2021-0072"),
    ("tokio", "RUSTSEC-2021-0124"),
    ("tokio", "RUSTSEC-2023-0001"),
];

/// cargo-audit's `warnings` (unmaintained/unsound) for SYNTH.
const EXPECTED_WARNINGS: &[(&str, &str)] = &[
    ("ansi_term", "RUSTSEC-2021-0139"),
    ("atty", "RUSTSEC-2024-0375"),
    ("atty", "RUSTSEC-2021-0145"),
    ("bumpalo", "RUSTSEC-2022-0078"),
    ("git2", "RUSTSEC-2026-0008"),
    ("git2", "RUSTSEC-2026-0183"),
    ("git2", "RUSTSEC-2026-0184"),
    ("hyper", "RUSTSEC-2022-0022"),
    ("lock_api", "RUSTSEC-2020-0070"),
    ("net2", "RUSTSEC-2020-0016"),
    ("net2", "RUSTSEC-2020-0078"),
    ("openssl", "RUSTSEC-2023-0072"),
    ("ring", "RUSTSEC-2025-0010"),
    ("smallvec", "RUSTSEC-2018-0018"),
    ("tokio", "RUSTSEC-2023-0005"),
    ("tokio", "RUSTSEC-2025-0023"),
];

type Pairs = BTreeSet<(String, String)>;

fn audit(db: &mut VulnDb, lock: &Path) -> (Pairs, Pairs) {
    // fixtures are not all named Cargo.lock: use the Cargo.lock reader explicitly
    let text = std::fs::read_to_string(lock).expect("read");
    let reader = reader_for("Cargo.lock").expect("reader");
    let inv = match reader(&lock.display().to_string(), &text) {
        Ok(i) => i,
        Err(e) => {
            // not-TOML / empty fixtures: cargo-audit refuses them too
            eprintln!("{e}");
            return (Pairs::new(), Pairs::new());
        }
    };
    let r = scan(db, vec![inv]).expect("scan");
    let (mut vulns, mut warns) = (Pairs::new(), Pairs::new());
    for f in &r.findings {
        for id in &f.advisories {
            let set = if f.informational.is_some() {
                &mut warns
            } else {
                &mut vulns
            };
            set.insert((f.package.clone(), id.clone()));
        }
    }
    (vulns, warns)
}

fn pairs(x: &[(&str, &str)]) -> Pairs {
    x.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn open_db(tmp: &Path) -> Option<VulnDb> {
    if !Path::new(ADVISORY_DB).is_dir() {
        eprintln!("skipping: {ADVISORY_DB} not present");
        return None;
    }
    let mut db = VulnDb::open_dir(tmp).expect("open db");
    let r = db.import(Path::new(ADVISORY_DB)).expect("import");
    assert!(
        r.advisories > 1000 && r.warnings.is_empty(),
        "{} {:?}",
        r.advisories,
        r.warnings.first()
    );
    Some(db)
}

#[test]
fn same_advisories_as_cargo_audit_on_vulnerable_lockfile() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(mut db) = open_db(tmp.path()) else {
        return;
    };
    let mut lock = String::from(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n",
    );
    for (n, _) in SYNTH {
        lock.push_str(&format!(" \"{n}\",\n"));
    }
    lock.push_str("]\n");
    for (n, v) in SYNTH {
        lock.push_str(&format!("\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"));
    }
    let path = tmp.path().join("Cargo.lock");
    std::fs::write(&path, lock).expect("write");
    let (vulns, warns) = audit(&mut db, &path);
    assert_eq!(
        vulns,
        pairs(EXPECTED_VULNS),
        "vulnerabilities differ from cargo-audit"
    );
    assert_eq!(
        warns,
        pairs(EXPECTED_WARNINGS),
        "informational warnings differ from cargo-audit"
    );
}

#[test]
fn same_advisories_as_cargo_audit_on_fixture_lockfiles() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(mut db) = open_db(tmp.path()) else {
        return;
    };
    let root = Path::new(LOCKFILES);
    // cargo-audit: no vulnerabilities in any of these; the deprecated-vuln fixture has
    // two informational warnings for net2 0.2.33.
    let mut files: Vec<_> = std::fs::read_dir(root.join("cargo/cargo-lock/osv-scanner"))
        .into_iter()
        .chain(std::fs::read_dir(root.join("cargo/cargo-lock/osv-scalibr")))
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lock"))
        .collect();
    files.sort();
    assert!(files.len() >= 12);
    for f in files {
        let (v, _) = audit(&mut db, &f);
        assert!(v.is_empty(), "{}: {v:?}", f.display());
    }
    let dep = root
        .join("multi/osv-scanner-scan-dirs/exp-plugins-pkgdeprecate/deprecated-vuln/Cargo.lock");
    let (v, w) = audit(&mut db, &dep);
    assert!(v.is_empty());
    assert_eq!(
        w,
        pairs(&[("net2", "RUSTSEC-2020-0016"), ("net2", "RUSTSEC-2020-0078")])
    );
}

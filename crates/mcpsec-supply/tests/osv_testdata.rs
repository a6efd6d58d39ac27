//! Loading the shared advisory fixtures; RustSec native and RustSec OSV must agree.

use mcpsec_supply::osv::{Advisory, load_path, match_affected};
use mcpsec_supply::version::Ecosystem;
use std::collections::HashMap;
use std::path::Path;

const OSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/osv");

fn fixtures() -> Option<&'static Path> {
    let p = Path::new(OSV);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {OSV} not present");
        None
    }
}

#[test]
fn loads_every_source() {
    let Some(root) = fixtures() else { return };
    for (dir, min) in [
        ("rustsec-advisory-db", 1200),
        ("rustsec-osv", 1200),
        ("pypa", 2600),
        ("go-vulndb", 1990),
    ] {
        let t = std::time::Instant::now();
        let r = load_path(&root.join(dir));
        eprintln!(
            "{dir}: {} advisories, {} warnings, {} ignored in {:?}",
            r.advisories.len(),
            r.warnings.len(),
            r.ignored,
            t.elapsed()
        );
        for w in r.warnings.iter().take(5) {
            eprintln!("  warning: {w}");
        }
        assert!(r.advisories.len() >= min, "{dir}: {}", r.advisories.len());
        assert!(
            r.warnings.len() < 5,
            "{dir}: {:?}",
            &r.warnings[..r.warnings.len().min(5)]
        );
    }
}

#[test]
fn rustsec_native_and_osv_agree() {
    let Some(root) = fixtures() else { return };
    let native = load_path(&root.join("rustsec-advisory-db"));
    let osv = load_path(&root.join("rustsec-osv"));
    let by_id: HashMap<&str, &Advisory> =
        osv.advisories.iter().map(|a| (a.id.as_str(), a)).collect();
    let probes: Vec<String> = (0..6)
        .flat_map(|ma| {
            (0..25).flat_map(move |mi| [0u32, 1, 2, 5, 9, 15].map(|p| format!("{ma}.{mi}.{p}")))
        })
        .collect();
    let (mut checked, mut differ) = (0, Vec::new());
    for n in &native.advisories {
        let Some(o) = by_id.get(n.id.as_str()) else {
            continue;
        };
        assert_eq!(n.withdrawn.is_some(), o.withdrawn.is_some(), "{}", n.id);
        if n.withdrawn.is_some() {
            continue;
        }
        let (Some(na), Some(oa)) = (n.affected.first(), o.affected.first()) else {
            continue;
        };
        for v in &probes {
            let a = match_affected(Ecosystem::CratesIo, na, v)
                .ok()
                .flatten()
                .is_some();
            let b = match_affected(Ecosystem::CratesIo, oa, v)
                .ok()
                .flatten()
                .is_some();
            checked += 1;
            if a != b {
                differ.push(format!("{} {v}: native {a} osv {b}", n.id));
            }
        }
    }
    eprintln!(
        "checked {checked} (advisory, version) pairs, {} differ",
        differ.len()
    );
    for d in differ.iter().take(20) {
        eprintln!("  {d}");
    }
    assert!(checked > 100_000);
    assert!(differ.is_empty());
}

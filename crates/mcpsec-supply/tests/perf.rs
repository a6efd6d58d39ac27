//! Throughput check (ignored by default; run in release):
//! `cargo test -p mcpsec-supply --release --test perf -- --ignored --nocapture`.
//! Generates 100,000 OSV advisories as one zip (as OSV publishes them) and a
//! 2,000-component CycloneDX SBOM, then times import and scans (cold and warm).
//! Set `MCPSEC_PERF_DIR` to keep the generated files (for timing the CLI on them).

use mcpsec_supply::db::VulnDb;
use mcpsec_supply::scan::{read_input, scan};
use std::io::Write;
use std::time::Instant;

const ADVISORIES: usize = 100_000;
const PACKAGES: usize = 25_000;
const COMPONENTS: usize = 2_000;

fn advisory(i: usize) -> String {
    let pkg = format!("pkg-{}", i % PACKAGES);
    let major = i % 7;
    serde_json::json!({
        "id": format!("GHSA-perf-{i:06}"),
        "modified": "2026-01-01T00:00:00Z",
        "published": "2025-01-01T00:00:00Z",
        "aliases": [format!("CVE-2025-{i:06}")],
        "summary": format!("Synthetic advisory {i}"),
        "details": "Generated for the throughput test. ".repeat(8),
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{
            "package": {"ecosystem": "npm", "name": pkg, "purl": format!("pkg:npm/{pkg}")},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": format!("{major}.0.0")}, {"fixed": format!("{major}.{}.0", 1 + i % 5)}]}],
            "database_specific": {"severity": "HIGH"}
        }],
        "references": [{"type": "ADVISORY", "url": format!("https://example.invalid/{i}")}]
    })
    .to_string()
}

#[test]
#[ignore]
fn import_100k_and_scan_2000() {
    let keep = std::env::var_os("MCPSEC_PERF_DIR").map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("dir");
    let zip_path = dir.join("npm-all.zip");
    let t = Instant::now();
    {
        let f = std::fs::File::create(&zip_path).expect("zip");
        let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..ADVISORIES {
            z.start_file(format!("GHSA-perf-{i:06}.json"), opts)
                .expect("entry");
            z.write_all(advisory(i).as_bytes()).expect("write");
        }
        z.finish().expect("finish");
    }
    eprintln!("generated {ADVISORIES} advisories in {:?}", t.elapsed());
    // SBOM: 2,000 npm components, every 10th at a vulnerable version
    let comps: Vec<serde_json::Value> = (0..COMPONENTS)
        .map(|i| {
            let name = format!("pkg-{}", i * 7 % PACKAGES);
            let v = if i % 10 == 0 { "0.0.5" } else { "9.9.9" };
            serde_json::json!({"type": "library", "bom-ref": format!("c{i}"), "name": name, "version": v, "purl": format!("pkg:npm/{name}@{v}")})
        })
        .collect();
    let deps: Vec<serde_json::Value> = (1..COMPONENTS)
        .map(|i| serde_json::json!({"ref": format!("c{}", i / 2), "dependsOn": [format!("c{i}")]}))
        .collect();
    let bom = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps, "dependencies": deps});
    let bom_path = dir.join("bom.cdx.json");
    std::fs::write(&bom_path, bom.to_string()).expect("bom");

    let dbdir = dir.join("data");
    let _ = std::fs::remove_file(dbdir.join("vulndb.sqlite"));
    let mut db = VulnDb::open_dir(&dbdir).expect("db");
    let t = Instant::now();
    let r = db.import(&zip_path).expect("import");
    let import_s = t.elapsed().as_secs_f64();
    eprintln!(
        "import: {} advisories in {import_s:.2}s ({} warnings)",
        r.advisories,
        r.warnings.len()
    );
    assert_eq!(r.advisories, ADVISORIES);
    drop(db);

    // cold: open the database, read the SBOM, match
    let t = Instant::now();
    let mut db = VulnDb::open_existing(&dbdir).expect("open");
    let inv = read_input(&bom_path).expect("read");
    let report = scan(&mut db, vec![inv]).expect("scan");
    let cold = t.elapsed().as_secs_f64() * 1000.0;
    // warm: same handle (page cache and advisory cache hot)
    let t = Instant::now();
    let inv = read_input(&bom_path).expect("read");
    eprintln!(
        "reading the SBOM: {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let report2 = scan(&mut db, vec![inv]).expect("scan");
    let warm = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "scan of {COMPONENTS} components: cold {cold:.1} ms, warm {warm:.1} ms; {} findings",
        report.findings.len()
    );
    let inv = read_input(&bom_path).expect("read");
    let t = Instant::now();
    let ts = mcpsec_supply::risk::typosquats(std::slice::from_ref(&inv));
    eprintln!(
        "typosquat check of {COMPONENTS} components: {:.1} ms ({} flagged)",
        t.elapsed().as_secs_f64() * 1000.0,
        ts.len()
    );
    assert_eq!(report.findings.len(), report2.findings.len());
    assert!(!report.findings.is_empty());
    assert!(import_s < 30.0, "import took {import_s:.1}s");
    assert!(warm < 200.0, "warm scan took {warm:.1} ms");
}

//! Every CVSS v4.0 vector in the shared advisory data (read in place) scores, in 0–10 and
//! with the severity band the score implies.

use std::path::Path;

#[test]
fn every_v4_vector_in_the_shared_advisories_scores() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/osv");
    if !root.exists() {
        eprintln!("shared test data missing: skipped");
        return;
    }
    let mut vectors = std::collections::BTreeSet::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let mut rest = text.as_str();
            while let Some(i) = rest.find("CVSS:4.0/") {
                let v: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || ":/.".contains(*c))
                    .collect();
                vectors.insert(v);
                rest = &rest[i + 9..];
            }
        }
    }
    assert!(vectors.len() >= 30, "{} vectors", vectors.len());
    for v in &vectors {
        let s = mcpsec_supply::cvss::score(v).unwrap_or_else(|e| panic!("{e}"));
        let x = s.score.expect("scored");
        assert!((0.0..=10.0).contains(&x), "{v}: {x}");
        assert_eq!(s.severity, mcpsec_supply::cvss::Severity::from_score(x));
    }
}

//! ATT&CK tactic stage points.

use super::weights::{TACTIC, lookup};

/// The highest-weighted tactic among `tactics` (`credential-access` or `credential_access`,
/// any case) and its points; `None` when none is known.
pub fn tactic_points(tactics: &[String]) -> Option<(String, f64)> {
    tactics
        .iter()
        .filter_map(|t| {
            let norm = t.trim().to_ascii_lowercase().replace('_', "-");
            lookup(TACTIC, &norm).map(|p| (norm, p))
        })
        .fold(None, |best: Option<(String, f64)>, (t, p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((t, p)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_stage_wins() {
        let t = |v: &[&str]| tactic_points(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            t(&["execution", "Credential_Access"]),
            Some(("credential-access".into(), 12.0))
        );
        assert_eq!(t(&["impact", "execution"]), Some(("impact".into(), 20.0)));
        assert_eq!(t(&["bogus"]), None);
        assert_eq!(t(&[]), None);
    }
}

//! Offline supply-chain vulnerability matching: advisories (OSV, RustSec) are normalised
//! into one model and stored in a local SQLite index keyed by (ecosystem, package name);
//! inventories (SBOMs and lockfiles) become purl-identified components; a scan is one
//! indexed lookup per component followed by range evaluation with the ecosystem's own
//! version ordering.
//!
//! The key design decision: **every version comparison goes through the ecosystem's real
//! ordering** ([`version`]), never through a generic "looks like SemVer" comparison, and
//! every range is kept in OSV's event form (introduced/fixed/last_affected/limit) so that
//! native formats (RustSec's `patched`/`unaffected` requirements) are converted once, at
//! load time, and matched by the same code as everything else.
//!
//! Modules: [`version`] (orderings), [`osv`] (advisory model and loaders), [`cvss`]
//! (base scores), [`purl`] (package URLs), [`inventory`] (components and edges),
//! [`sbom`] and [`lockfile`] (readers), [`db`] (the SQLite store), [`scan`] (matching),
//! [`sarif`] (SARIF 2.1.0 output), [`vex`] (applying OpenVEX / CycloneDX VEX statements)
//! [`vers`] (`vers:` version ranges) and [`cdx_vex`] (CycloneDX VEX output), [`license`] (SPDX expressions against a licence
//! policy), [`exploit`] (EPSS and CISA KEV files), [`risk`] (malicious packages, typosquat-like
//! names, risk scores), [`reports`] (other scanners' reports as findings with their tool),
//! [`sniff`] (the format of a text without a file name).

pub mod cdx_vex;
pub mod cvss;
pub mod cvss4;
mod cvss4_table;
pub mod db;
pub mod exploit;
mod exploit_db;
pub mod graph;
pub mod inventory;
pub mod license;
pub mod lockfile;
pub mod osv;
pub mod purl;
pub mod reports;
pub mod risk;
pub mod sarif;
pub mod sbom;
pub mod scan;
pub mod sniff;
pub mod vers;
pub mod version;
pub mod vex;
mod xml_guard;

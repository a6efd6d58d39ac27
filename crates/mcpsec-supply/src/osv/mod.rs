//! Advisories: the normalised model (OSV's, which every source is converted into), the
//! loaders (OSV JSON/YAML files, directory trees, zip archives as OSV publishes them per
//! ecosystem, and RustSec's native `crates/*/*.md` layout), and range evaluation.

mod git;
mod history;
mod load;
mod matching;
mod model;
mod rustsec;

pub use git::{GitRef, git_ref, is_commit, match_git, normalize_repo};
pub use history::GitHistory;
pub use load::{LoadReport, LoadWarning, load_path, parse_osv};
pub use matching::{AffectedMatch, match_affected};
pub use model::{Advisory, Affected, Event, Package, Range, RangeKind, Reference, SeverityEntry};
pub use rustsec::parse_rustsec;

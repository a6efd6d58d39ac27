//! Detection in `mcpsec serve`.
//!
//! ```text
//! event log ──▶ Detector (from its stored offset) ──▶ Catalog::rules_for(tenant)
//!                    │                                   (file rules + the tenant's API rules)
//!                    └──▶ alerts + new offset, one SQLite transaction ──▶ subscribers
//! ```
//!
//! - [`Catalog`]: the rules deployed for each tenant. Rules loaded from files (the
//!   `detection.rule_paths` setting, the demo rules) are compiled once and shared; each
//!   tenant adds the rules it deployed through the API and may switch file rules off.
//!   A change is compiled and swapped in while the consumer runs: no restart.
//! - [`Detector`]: reads the event log from the offset stored with the last alerts, so a
//!   crash neither loses nor repeats an alert, and publishes new alerts to subscribers.
//! - [`check_rule_text`] and [`backtest`]: what the rule API offers authors before a
//!   rule is deployed.

mod alert;
mod backtest;
mod catalog;
mod consumer;
mod correlations;
mod error;
mod rule_text;
mod stats;
mod validate;

pub use alert::{alert_for, correlation_alert, event_host};
pub use backtest::{BacktestRequest, BacktestResult, RuleHits, backtest};
pub use catalog::{Catalog, CatalogOptions, FileRules, TenantRules};
pub use consumer::{CONSUMER, Detector, DetectorOptions};
pub use correlations::{Origin, Role, SavedWindows};
pub use error::{DetectError, Result};
pub use rule_text::document_at;
pub use stats::{RuleStats, RuleStatsSnapshot};
pub use validate::{DocumentInfo, RuleCheck, RuleProblem, check_rule_text};

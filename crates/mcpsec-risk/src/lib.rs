//! Risk assessment for mcpsec.
//!
//! Key design decision: the **deterministic model** ([`model`]) is the source of every
//! score. It is documented weight by weight in docs/risk.md, lists the factors behind
//! each number, and works with no language model configured. A language model, when one
//! is configured, adds a second opinion whose answer must pass a strict schema; an answer
//! that does not is retried once and then replaced by the deterministic verdict, and the
//! result always says which path produced it.
//!
//! Modules: [`asset`] (the inventory), [`model`] (scores per alert, asset and tenant),
//! [`llm`] (provider clients), [`prompt`] (templates and redaction), [`verdict`] (the
//! answer schema and the deterministic verdict).

pub mod assess;
pub mod asset;
pub mod asset_scan;
mod config;
mod csv;
mod error;
pub mod llm;
pub mod model;
pub mod prompt;
pub mod verdict;

pub use assess::{AssessRequest, Assessment, Assessor, Source};
pub use config::RiskConfig;
pub use error::{Result, RiskError};

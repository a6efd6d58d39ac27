//! Sigma rules for mcpsec: loading, compiling and matching.
//!
//! Key design decision: rules are **compiled once** into a matcher tree whose field
//! lookups are resolved ahead of time (through a data-driven logsource/field mapping)
//! and whose literals are case-folded once; an event is then matched without parsing or
//! allocating per rule. Each distinct field (a list of candidate paths, first present
//! wins) is interned into a table, looked up at most once per event and cached, and the
//! logsource conditions that many rules share (e.g. "Sysmon EventID 1") are evaluated once
//! per event and cached too, which rejects most rules after one cached lookup.
//!
//! Pipeline: YAML text → [`parse`] ([`SigmaDocument`]: rules, filters, correlations,
//! with `action: global/repeat/reset` collections merged) → [`RuleSetBuilder`] (compile
//! per logsource branch of the [`FieldMapping`], attach filters) → [`RuleSet::matches`].
//!
//! Matchers are enums (`Equals`/`Prefix`/`Suffix`/`Contains`/`Regex`/`Cidr`/`Numeric`…);
//! regular expressions use the `regex` crate (linear time, size-limited), so hostile
//! patterns cannot backtrack catastrophically. All `contains` needles on a field, across
//! all rules, share one Aho-Corasick automaton ([`prefilter`]) that runs once per event
//! over the field's lowercased text; each `contains` test is then a bit lookup.
//!
//! **Rules an event cannot match are not evaluated.** Each rule gets a *gate* when it is
//! compiled: literals derived from its condition's AND/OR structure, one of which must
//! occur in its field's lowercased text for the rule to match (an AND keeps its cheapest
//! member's literals, an OR the union, `not` gives no gate; `equals`, `startswith`,
//! `endswith`, `contains`, a regex's prefix or suffix literals and keywords all qualify).
//! The gate literals join the per-field automata, and an inverted index turns the
//! literals an event contains into the few rules worth evaluating, in rule order; the
//! 1% of SigmaHQ rules without a gate are evaluated as before. Fields are looked up
//! through an index of the event built once (interned paths form a tree of segments, and
//! each node gets an array slot), and a field whose rules' logsources all fail for the
//! event is not looked at. Logsource groups are not evaluated one by one: most have a key
//! (all-`equals` strings on one field, e.g. `Channel`), so one lookup of the event's value
//! lists the few groups that may hold. Once they are known, each field is scanned only
//! for the needles of the rules of those groups (automata narrowed per group set, built
//! on first use and shared; small sets get a SIMD first look that rules most texts out).
//! The candidate pass reuses per-thread buffers from event to event.
//! [`RuleSet::matches_json`] decides which rules match from a selective parse of a JSON
//! text (only the values of interned paths are built, plus the keyword text), so `hunt`
//! builds whole events only for the lines some rule matches (for their detections) or
//! that it cannot decide, and matches whole events only for the latter.
//! Correlation rules are linked to the rules they reference when the set is built and
//! evaluated by a [`correlate::Engine`] fed with the matches, in event-time order.

pub mod compile;
pub mod condition;
pub mod correlate;
pub mod correlation;
pub mod error;
pub mod fields;
mod gate;
mod groups;
pub mod lazy_regex;
pub mod mapping;
pub mod matcher;
pub mod modifiers;
pub mod parse;
pub mod prefilter;
pub mod rule;
pub mod ruleset;
mod sparse;

pub use correlate::{CorrelationHit, CorrelationState, Engine, EngineStats, Limits};
pub use correlation::{CorrelationRule, CorrelationType};
pub use error::{Location, Result, SigmaError};
pub use mapping::FieldMapping;
pub use parse::parse_documents;
pub use rule::{
    ATTACK_TACTICS, FilterRule, LogSource, RuleMeta, SigmaDocument, SigmaRule, SigmaValue,
};
pub use ruleset::{BuildReport, CompiledRule, RuleSet, RuleSetBuilder};

//! Correlation rules: parsed and validated now, evaluated in a later step.
//!
//! The model is complete (type, referenced rules, group-by, timespan, condition,
//! aliases, generate) so an evaluator can be added without reshaping it.

use crate::error::{Result, invalid};
use crate::parse::{scalar_text, string_list};
use crate::rule::RuleMeta;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The kind of correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// Count events per group within the timespan.
    EventCount,
    /// Count distinct values of a field per group within the timespan.
    ValueCount,
    /// All referenced rules match within the timespan (any order).
    Temporal,
    /// All referenced rules match within the timespan, in the order listed.
    TemporalOrdered,
}

/// A comparison of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
}

/// `condition:` of a correlation: all comparisons must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrelationCondition {
    /// Comparisons against the count.
    pub comparisons: Vec<(CountOp, u64)>,
    /// The field whose distinct values are counted (`value_count`).
    pub field: Option<String>,
}

impl CorrelationCondition {
    /// Whether a count satisfies every comparison.
    pub fn holds(&self, count: u64) -> bool {
        self.comparisons.iter().all(|(op, v)| match op {
            CountOp::Gt => count > *v,
            CountOp::Gte => count >= *v,
            CountOp::Lt => count < *v,
            CountOp::Lte => count <= *v,
            CountOp::Eq => count == *v,
            CountOp::Neq => count != *v,
        })
    }
}

/// A correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// The type.
    pub kind: CorrelationType,
    /// Ids or names of the rules correlated.
    pub rules: Vec<String>,
    /// Fields (or aliases) the events are grouped by.
    pub group_by: Vec<String>,
    /// The time window.
    pub timespan: Duration,
    /// The count condition (default for temporal types: all rules seen).
    pub condition: Option<CorrelationCondition>,
    /// Alias name → (rule id/name → field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the referenced rules also produce matches of their own.
    pub generate: bool,
}

/// Parses a timespan such as `5m`, `1h`, `90s`, `2d`, `1w`.
pub fn parse_timespan(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| invalid(format!("timespan {s:?} has no unit (s, m, h, d, w, M, y)")))?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| invalid(format!("timespan {s:?} has no valid number")))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        "M" => 2_592_000,
        "y" => 31_536_000,
        _ => {
            return Err(invalid(format!(
                "timespan {s:?} has an unknown unit {unit:?}"
            )));
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Parses and validates a `correlation:` section.
pub(crate) fn parse(v: &Value, meta: RuleMeta) -> Result<CorrelationRule> {
    let Value::Mapping(m) = v else {
        return Err(invalid("correlation must be a mapping"));
    };
    let kind = match m.get("type").and_then(scalar_text).as_deref() {
        Some("event_count") => CorrelationType::EventCount,
        Some("value_count") => CorrelationType::ValueCount,
        Some("temporal") => CorrelationType::Temporal,
        Some("temporal_ordered") => CorrelationType::TemporalOrdered,
        Some(other) => return Err(invalid(format!("unknown correlation type {other:?}"))),
        None => return Err(invalid("correlation without type")),
    };
    let rules = string_list(m.get("rules"), "correlation.rules")?;
    if rules.is_empty() {
        return Err(invalid("correlation.rules must name at least one rule"));
    }
    if matches!(
        kind,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    ) && rules.len() < 2
    {
        return Err(invalid("a temporal correlation needs at least two rules"));
    }
    let group_by = string_list(m.get("group-by"), "correlation.group-by")?;
    let span = m
        .get("timespan")
        .or_else(|| m.get("timeframe"))
        .and_then(scalar_text)
        .ok_or_else(|| invalid("correlation without timespan"))?;
    let timespan = parse_timespan(&span)?;
    let condition = match m.get("condition") {
        None | Some(Value::Null) => None,
        Some(Value::Mapping(c)) => {
            let mut cond = CorrelationCondition::default();
            for (k, v) in c {
                let key = scalar_text(k).unwrap_or_default();
                if key == "field" {
                    cond.field = scalar_text(v);
                    continue;
                }
                let op = match key.as_str() {
                    "gt" => CountOp::Gt,
                    "gte" => CountOp::Gte,
                    "lt" => CountOp::Lt,
                    "lte" => CountOp::Lte,
                    "eq" => CountOp::Eq,
                    "neq" => CountOp::Neq,
                    _ => {
                        return Err(invalid(format!(
                            "unknown correlation condition operator {key:?}"
                        )));
                    }
                };
                let n = v
                    .as_u64()
                    .ok_or_else(|| invalid(format!("condition {key:?} needs a whole number")))?;
                cond.comparisons.push((op, n));
            }
            if cond.comparisons.is_empty() {
                return Err(invalid("correlation condition has no comparison"));
            }
            Some(cond)
        }
        Some(_) => return Err(invalid("correlation condition must be a mapping")),
    };
    match kind {
        CorrelationType::EventCount if condition.is_none() => {
            return Err(invalid("event_count correlation needs a condition"));
        }
        CorrelationType::ValueCount
            if condition.as_ref().and_then(|c| c.field.as_ref()).is_none() =>
        {
            return Err(invalid("value_count correlation needs condition.field"));
        }
        _ => {}
    }
    let mut aliases = BTreeMap::new();
    if let Some(Value::Mapping(a)) = m.get("aliases") {
        for (name, map) in a {
            let name = scalar_text(name).unwrap_or_default();
            let Value::Mapping(per_rule) = map else {
                return Err(invalid(format!("alias {name:?} must map rules to fields")));
            };
            let mut inner = BTreeMap::new();
            for (r, f) in per_rule {
                inner.insert(
                    scalar_text(r).unwrap_or_default(),
                    scalar_text(f)
                        .ok_or_else(|| invalid(format!("alias {name:?} needs field names")))?,
                );
            }
            aliases.insert(name, inner);
        }
    }
    let generate = match m.get("generate") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("correlation.generate must be true or false")),
    };
    Ok(CorrelationRule {
        meta,
        kind,
        rules,
        group_by,
        timespan,
        condition,
        aliases,
        generate,
    })
}

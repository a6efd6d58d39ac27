//! Correlation rules (Sigma correlation specification 2.1): the parsed model and its
//! validation. [`crate::correlate`] evaluates them.
//!
//! A correlation names the rules it correlates (`rules`, by id or `name`; other
//! correlations too, which chains them), the fields that scope it (`group-by`, with
//! per-rule `aliases`), a `timespan` and a `condition` over an aggregated value.

use crate::correlate::link::RefPlan;
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
    /// Count distinct values of a field (or of a tuple of fields) per group.
    ValueCount,
    /// All referenced rules match within the timespan (any order).
    Temporal,
    /// All referenced rules match within the timespan, in the order listed.
    TemporalOrdered,
    /// The sum of a numeric field per group.
    ValueSum,
    /// The average of a numeric field per group.
    ValueAvg,
    /// A percentile of a numeric field per group (`condition.percentile`); without
    /// `percentile`, the share in percent of the rarest value of the field.
    ValuePercentile,
    /// The median of a numeric field per group (`value_median`, a common extension:
    /// `value_percentile` with percentile 50).
    ValueMedian,
}

impl CorrelationType {
    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            "value_median" => CorrelationType::ValueMedian,
            _ => return None,
        })
    }

    /// Whether the type counts rules (temporal, temporal_ordered).
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }

    /// Whether the type aggregates the numbers of one field (sum, avg, percentile, median).
    pub fn is_metric(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
                | CorrelationType::ValueMedian
        )
    }
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

impl CountOp {
    fn parse(s: &str) -> Option<CountOp> {
        Some(match s {
            "gt" => CountOp::Gt,
            "gte" => CountOp::Gte,
            "lt" => CountOp::Lt,
            "lte" => CountOp::Lte,
            "eq" => CountOp::Eq,
            "neq" => CountOp::Neq,
            _ => return None,
        })
    }
}

/// `condition:` of a correlation: all comparisons must hold (a range is two of them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrelationCondition {
    /// Comparisons against the aggregated value.
    pub comparisons: Vec<(CountOp, f64)>,
    /// `field`: the field(s) whose values are counted or aggregated. Several fields
    /// (value_count only) count distinct combinations.
    pub fields: Vec<String>,
    /// `percentile` (value_percentile): 0 to 100.
    pub percentile: Option<f64>,
}

impl CorrelationCondition {
    /// Whether a value satisfies every comparison.
    pub fn holds(&self, value: f64) -> bool {
        self.comparisons.iter().all(|(op, v)| match op {
            CountOp::Gt => value > *v,
            CountOp::Gte => value >= *v,
            CountOp::Lt => value < *v,
            CountOp::Lte => value <= *v,
            CountOp::Eq => value == *v,
            CountOp::Neq => value != *v,
        })
    }

    /// Whether the condition only sets lower bounds (`gt`/`gte`): once it holds for a
    /// value that only grows as events arrive, later events cannot make it false.
    pub fn only_lower_bounds(&self) -> bool {
        self.comparisons
            .iter()
            .all(|(op, _)| matches!(op, CountOp::Gt | CountOp::Gte))
    }
}

/// A correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// The type.
    pub kind: CorrelationType,
    /// Ids or names of the rules (or correlations) correlated.
    pub rules: Vec<String>,
    /// Fields (or aliases) the events are grouped by; empty: one group.
    pub group_by: Vec<String>,
    /// The time window.
    pub timespan: Duration,
    /// The condition (absent for temporal types: all referenced rules seen).
    pub condition: Option<CorrelationCondition>,
    /// Alias name → (rule id/name → field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the referenced rules also produce matches of their own.
    pub generate: bool,
    /// How each referenced rule is found and read, filled in when the rule set is built.
    pub(crate) plan: Vec<RefPlan>,
}

impl CorrelationRule {
    /// The id, else the name, else the title.
    pub fn display_name(&self) -> &str {
        self.meta
            .id
            .as_deref()
            .or(self.meta.name.as_deref())
            .unwrap_or(&self.meta.title)
    }

    /// The condition in effect: the one written, else (temporal types) "every
    /// referenced rule seen".
    pub fn effective_condition(&self) -> CorrelationCondition {
        match &self.condition {
            Some(c) => c.clone(),
            None => CorrelationCondition {
                comparisons: vec![(CountOp::Gte, self.rules.len() as f64)],
                ..CorrelationCondition::default()
            },
        }
    }
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
    if n == 0 {
        return Err(invalid(format!("timespan {s:?} must be longer than zero")));
    }
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Tagged(t) => number(&t.value),
        _ => None,
    }
}

fn parse_condition(
    v: Option<&Value>,
    kind: CorrelationType,
) -> Result<Option<CorrelationCondition>> {
    let c = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Mapping(c)) => c,
        Some(_) => return Err(invalid("correlation.condition must be a mapping")),
    };
    let whole = !kind.is_metric();
    let mut cond = CorrelationCondition::default();
    for (k, v) in c {
        let key = scalar_text(k).unwrap_or_default();
        match key.as_str() {
            "field" => cond.fields = string_list(Some(v), "correlation.condition.field")?,
            "percentile" => {
                let p = number(v)
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| {
                        invalid("correlation.condition.percentile must be a number from 0 to 100")
                    })?;
                cond.percentile = Some(p);
            }
            _ => {
                let op = CountOp::parse(&key).ok_or_else(|| {
                    invalid(format!(
                        "unknown correlation condition key {key:?} (gt, gte, lt, lte, eq, neq, \
                         field, percentile)"
                    ))
                })?;
                let n = number(v)
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| invalid(format!("condition {key:?} needs a number")))?;
                if whole && n.fract() != 0.0 {
                    return Err(invalid(format!(
                        "condition {key:?} of a {} correlation needs a whole number",
                        kind.as_str()
                    )));
                }
                cond.comparisons.push((op, n));
            }
        }
    }
    if cond.comparisons.is_empty() {
        return Err(invalid(
            "correlation condition has no comparison (gt, gte, lt, lte, eq, neq)",
        ));
    }
    Ok(Some(cond))
}

fn check_condition(kind: CorrelationType, cond: Option<&CorrelationCondition>) -> Result<()> {
    let name = kind.as_str();
    let Some(c) = cond else {
        if kind.is_temporal() {
            return Ok(());
        }
        return Err(invalid(format!("{name} correlation needs a condition")));
    };
    match kind {
        CorrelationType::ValueCount if c.fields.is_empty() => {
            return Err(invalid("value_count correlation needs condition.field"));
        }
        CorrelationType::EventCount
        | CorrelationType::Temporal
        | CorrelationType::TemporalOrdered
            if !c.fields.is_empty() =>
        {
            return Err(invalid(format!(
                "{name} correlation counts events or rules; condition.field is not allowed"
            )));
        }
        _ if kind.is_metric() && c.fields.len() != 1 => {
            return Err(invalid(format!(
                "{name} correlation needs exactly one condition.field"
            )));
        }
        _ => {}
    }
    if c.percentile.is_some() && kind != CorrelationType::ValuePercentile {
        return Err(invalid(format!(
            "condition.percentile is only for value_percentile, not {name}"
        )));
    }
    Ok(())
}

fn parse_aliases(v: Option<&Value>) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut aliases = BTreeMap::new();
    let a = match v {
        None | Some(Value::Null) => return Ok(aliases),
        Some(Value::Mapping(a)) => a,
        Some(_) => return Err(invalid("correlation.aliases must be a mapping")),
    };
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
    Ok(aliases)
}

/// Parses and validates a `correlation:` section.
pub(crate) fn parse(v: &Value, meta: RuleMeta) -> Result<CorrelationRule> {
    let Value::Mapping(m) = v else {
        return Err(invalid("correlation must be a mapping"));
    };
    let kind = match m.get("type").and_then(scalar_text) {
        Some(t) => CorrelationType::parse(&t).ok_or_else(|| {
            invalid(format!(
                "unknown correlation type {t:?} (event_count, value_count, temporal, \
                 temporal_ordered, value_sum, value_avg, value_percentile, value_median)"
            ))
        })?,
        None => return Err(invalid("correlation without type")),
    };
    let rules = string_list(m.get("rules"), "correlation.rules")?;
    if rules.is_empty() {
        return Err(invalid("correlation.rules must name at least one rule"));
    }
    for (i, r) in rules.iter().enumerate() {
        if rules[..i].contains(r) {
            return Err(invalid(format!("correlation.rules lists {r:?} twice")));
        }
    }
    if kind.is_temporal() && rules.len() < 2 {
        return Err(invalid("a temporal correlation needs at least two rules"));
    }
    let group_by = string_list(m.get("group-by"), "correlation.group-by")?;
    let span = m
        .get("timespan")
        .or_else(|| m.get("timeframe"))
        .and_then(scalar_text)
        .ok_or_else(|| invalid("correlation without timespan"))?;
    let timespan = parse_timespan(&span)?;
    let condition = parse_condition(m.get("condition"), kind)?;
    check_condition(kind, condition.as_ref())?;
    let aliases = parse_aliases(m.get("aliases"))?;
    let generate = match m.get("generate") {
        None | Some(Value::Null) => false,
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
        plan: Vec::new(),
    })
}

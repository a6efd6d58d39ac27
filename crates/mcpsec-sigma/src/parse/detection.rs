//! `detection`: named searches (maps, lists of maps, keyword lists) and conditions.

use super::meta::scalar_text;
use crate::error::{Result, invalid};
use crate::modifiers::Modifier;
use crate::rule::{Detection, FieldCondition, Search, SigmaValue};
use serde_norway::{Mapping, Value};

/// Parses a `detection` (or `filter`) mapping.
pub(crate) fn parse_detection(v: &Value) -> Result<Detection> {
    let Value::Mapping(m) = v else {
        return Err(invalid("detection must be a mapping"));
    };
    let mut det = Detection::default();
    for (k, v) in m {
        let key = scalar_text(k).ok_or_else(|| invalid("detection keys must be strings"))?;
        match key.as_str() {
            "condition" => {
                det.conditions = match v {
                    Value::Sequence(items) => items
                        .iter()
                        .map(|i| {
                            scalar_text(i).ok_or_else(|| invalid("condition must be a string"))
                        })
                        .collect::<Result<_>>()?,
                    other => vec![
                        scalar_text(other).ok_or_else(|| invalid("condition must be a string"))?,
                    ],
                }
            }
            "timeframe" => det.timeframe = scalar_text(v),
            _ => {
                let search = parse_search(v)
                    .map_err(|e| invalid(format!("search \"{key}\": {}", e.message())))?;
                det.searches.push((key, search));
            }
        }
    }
    if det.conditions.is_empty() {
        return Err(invalid("detection has no condition"));
    }
    if det.searches.is_empty() {
        return Err(invalid("detection has no search"));
    }
    Ok(det)
}

fn parse_search(v: &Value) -> Result<Search> {
    match v {
        Value::Mapping(m) => Ok(Search {
            groups: vec![parse_map(m)?],
        }),
        Value::Sequence(items) => {
            if items.iter().all(is_scalar) {
                return Ok(Search {
                    groups: vec![vec![FieldCondition {
                        field: None,
                        modifiers: Vec::new(),
                        values: items.iter().map(to_value).collect::<Result<_>>()?,
                    }]],
                });
            }
            let mut groups = Vec::new();
            for it in items {
                match it {
                    Value::Mapping(m) => groups.push(parse_map(m)?),
                    s if is_scalar(s) => groups.push(vec![FieldCondition {
                        field: None,
                        modifiers: Vec::new(),
                        values: vec![to_value(s)?],
                    }]),
                    _ => return Err(invalid("a list item must be a mapping or a value")),
                }
            }
            Ok(Search { groups })
        }
        s if is_scalar(s) && !s.is_null() => Ok(Search {
            groups: vec![vec![FieldCondition {
                field: None,
                modifiers: Vec::new(),
                values: vec![to_value(s)?],
            }]],
        }),
        _ => Err(invalid("a search must be a mapping or a list")),
    }
}

fn parse_map(m: &Mapping) -> Result<Vec<FieldCondition>> {
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let key = scalar_text(k).ok_or_else(|| invalid("field names must be strings"))?;
        let (field, modifiers) = Modifier::split_key(&key)?;
        let values = match v {
            Value::Sequence(items) => items.iter().map(to_value).collect::<Result<Vec<_>>>()?,
            other => vec![to_value(other)?],
        };
        out.push(FieldCondition {
            field: (!field.is_empty()).then_some(field),
            modifiers,
            values,
        });
    }
    Ok(out)
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

fn to_value(v: &Value) -> Result<SigmaValue> {
    Ok(match v {
        Value::Null => SigmaValue::Null,
        Value::Bool(b) => SigmaValue::Bool(*b),
        Value::Number(n) => SigmaValue::Num(n.as_f64().unwrap_or(f64::NAN), n.to_string()),
        Value::String(s) => SigmaValue::Str(s.clone()),
        Value::Tagged(t) => to_value(&t.value)?,
        Value::Sequence(_) => return Err(invalid("nested lists are not allowed as values")),
        Value::Mapping(_) => return Err(invalid("a value cannot be a mapping")),
    })
}

//! Rule metadata and `logsource`.

use crate::error::{Result, invalid};
use crate::rule::{Attack, LogSource, Related, RuleMeta};
use serde_norway::{Mapping, Value};

/// A scalar as text (numbers and booleans rendered), `None` for null/absent.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => None,
    }
}

fn opt_string(m: &Mapping, key: &str) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_text(v)
            .map(Some)
            .ok_or_else(|| invalid(format!("{key} must be a string"))),
    }
}

/// A string or a list of strings (absent = empty).
pub(crate) fn string_list(v: Option<&Value>, key: &str) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| scalar_text(i).ok_or_else(|| invalid(format!("{key} must list strings"))))
            .collect(),
        Some(v) => scalar_text(v)
            .map(|s| vec![s])
            .ok_or_else(|| invalid(format!("{key} must be a string or a list of strings"))),
    }
}

pub(crate) fn parse_meta(m: &Mapping) -> Result<RuleMeta> {
    let title = opt_string(m, "title")?.ok_or_else(|| invalid("missing title"))?;
    let tags = string_list(m.get("tags"), "tags")?;
    let mut related = Vec::new();
    if let Some(Value::Sequence(items)) = m.get("related") {
        for it in items {
            let Value::Mapping(r) = it else {
                return Err(invalid("related entries must be mappings with id and type"));
            };
            related.push(Related {
                id: opt_string(r, "id")?.ok_or_else(|| invalid("related entry without id"))?,
                kind: opt_string(r, "type")?.unwrap_or_default(),
            });
        }
    }
    let level = opt_string(m, "level")?;
    if let Some(l) = &level
        && !matches!(
            l.as_str(),
            "informational" | "low" | "medium" | "high" | "critical"
        )
    {
        return Err(invalid(format!("unknown level {l:?}")));
    }
    Ok(RuleMeta {
        id: opt_string(m, "id")?,
        name: opt_string(m, "name")?,
        attack: Attack::from_tags(&tags),
        tags,
        title,
        status: opt_string(m, "status")?,
        level,
        description: opt_string(m, "description")?,
        author: opt_string(m, "author")?,
        date: opt_string(m, "date")?,
        modified: opt_string(m, "modified")?,
        references: string_list(m.get("references"), "references")?,
        falsepositives: string_list(m.get("falsepositives"), "falsepositives")?,
        related,
        source: Default::default(),
    })
}

pub(crate) fn parse_logsource(v: Option<&Value>) -> Result<LogSource> {
    let m = match v {
        Some(Value::Mapping(m)) => m,
        None => return Err(invalid("missing logsource")),
        Some(_) => return Err(invalid("logsource must be a mapping")),
    };
    Ok(LogSource {
        product: opt_string(m, "product")?,
        service: opt_string(m, "service")?,
        category: opt_string(m, "category")?,
        definition: opt_string(m, "definition")?,
    })
}

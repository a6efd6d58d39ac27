//! YAML text to [`SigmaDocument`]s: multi-document collections (`action: global`,
//! `repeat`, `reset`), metadata, detections, filters and correlations.

mod detection;
mod meta;
pub(crate) use meta::{scalar_text, string_list};

use crate::correlation;
use crate::error::{Location, Result, SigmaError, invalid};
use crate::rule::{FilterRule, SigmaDocument, SigmaRule};
use serde::Deserialize as _;
use serde_norway::{Mapping, Value};
use std::path::Path;

pub(crate) use detection::parse_detection;

/// Parses every document of a YAML text. `file` is used in error locations only.
///
/// Returns one result per rule document, so one broken document does not hide the
/// others; a YAML syntax error fails the whole text.
pub fn parse_documents(text: &str, file: Option<&Path>) -> Result<Vec<Result<SigmaDocument>>> {
    let starts = document_start_lines(text);
    let mut raw = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(de).map_err(|e| SigmaError::Yaml {
            at: Location {
                file: file.map(Path::to_path_buf),
                line: e.location().map(|l| l.line()),
                rule: None,
            },
            message: strip_location(&e.to_string()),
        })?;
        raw.push((starts.get(i).copied(), v));
    }
    let mut out = Vec::new();
    let mut global: Option<Mapping> = None;
    let mut previous: Option<Mapping> = None;
    for (line, v) in raw {
        let mut m = match v {
            Value::Null => continue,
            Value::Mapping(m) => m,
            _ => {
                out.push(Err(invalid("a Sigma document must be a YAML mapping")
                    .with_context(file, None)
                    .with_line(line)));
                continue;
            }
        };
        let action = m
            .remove("action")
            .and_then(|a| a.as_str().map(str::to_owned));
        let merged = match action.as_deref() {
            Some("global") => {
                global = Some(m);
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(p) => merge(p.clone(), m),
                None => {
                    out.push(Err(invalid("action: repeat without a previous document")
                        .with_context(file, None)
                        .with_line(line)));
                    continue;
                }
            },
            Some(other) => {
                out.push(Err(invalid(format!("unknown collection action {other:?}"))
                    .with_context(file, None)
                    .with_line(line)));
                continue;
            }
            None => match &global {
                Some(g) => merge(g.clone(), m),
                None => m,
            },
        };
        previous = Some(merged.clone());
        out.push(to_document(&merged, text, file, line));
    }
    Ok(out)
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Deep merge: maps merge key by key, anything else in `over` replaces `base`.
fn merge(mut base: Mapping, over: Mapping) -> Mapping {
    for (k, v) in over {
        let merged = match (base.remove(&k), v) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => Value::Mapping(merge(b, o)),
            (_, v) => v,
        };
        base.insert(k, merged);
    }
    base
}

fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pending = Some(1usize);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if let Some(p) = pending.take() {
                // A leading `---` belongs to the first document.
                if text.lines().take(i).any(|l| !is_blank_or_comment(l)) {
                    starts.push(p);
                }
            }
            pending = Some(i + 2);
        }
    }
    if let Some(p) = pending {
        starts.push(p);
    }
    starts
}

fn is_blank_or_comment(l: &str) -> bool {
    let t = l.trim();
    t.is_empty() || t.starts_with('#')
}

/// First line (1-based) at or after `from` whose text contains `needle`.
pub(crate) fn find_line(text: &str, needle: &str, from: Option<usize>) -> Option<usize> {
    let from = from.unwrap_or(1);
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

fn to_document(
    m: &Mapping,
    text: &str,
    file: Option<&Path>,
    line: Option<usize>,
) -> Result<SigmaDocument> {
    let mut meta = meta::parse_meta(m).map_err(|e| e.with_context(file, None).with_line(line))?;
    meta.source.file = file.map(Path::to_path_buf);
    meta.source.line = line;
    let name = meta.id.clone().unwrap_or_else(|| meta.title.clone());
    let locate = |e: SigmaError| -> SigmaError {
        let needle = match &e {
            SigmaError::Invalid { message, .. } => quoted(message),
            _ => None,
        };
        let l = needle.and_then(|n| find_line(text, &n, line)).or(line);
        e.with_context(file, Some(&name)).with_line(l)
    };
    if let Some(c) = m.get("correlation") {
        let corr = correlation::parse(c, meta).map_err(locate)?;
        return Ok(SigmaDocument::Correlation(Box::new(corr)));
    }
    if let Some(f) = m.get("filter") {
        let logsource = meta::parse_logsource(m.get("logsource")).map_err(locate)?;
        let Value::Mapping(fm) = f else {
            return Err(locate(invalid("filter must be a mapping")));
        };
        let rules = meta::string_list(fm.get("rules"), "filter.rules").map_err(locate)?;
        let mut det = fm.clone();
        det.remove("rules");
        let detection = parse_detection(&Value::Mapping(det)).map_err(locate)?;
        return Ok(SigmaDocument::Filter(Box::new(FilterRule {
            meta,
            logsource,
            rules,
            detection,
        })));
    }
    let Some(d) = m.get("detection") else {
        return Err(locate(invalid(
            "not a Sigma rule: no detection, filter or correlation section",
        )));
    };
    let logsource = meta::parse_logsource(m.get("logsource")).map_err(locate)?;
    let detection = parse_detection(d).map_err(locate)?;
    let fields = meta::string_list(m.get("fields"), "fields").map_err(locate)?;
    Ok(SigmaDocument::Rule(Box::new(SigmaRule {
        meta,
        logsource,
        detection,
        fields,
    })))
}

/// The last `"..."`-quoted part of a message (a key to search for in the text).
fn quoted(message: &str) -> Option<String> {
    let end = message.rfind('"')?;
    let start = message[..end].rfind('"')? + 1;
    let q = &message[start..end];
    (!q.is_empty()).then(|| q.to_owned())
}

#[cfg(test)]
mod tests;

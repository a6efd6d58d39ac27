//! Reading group and condition values from events.

use super::MAX_VALUE_LEN;
use crate::fields::{PathSpec, unwrap_text};
use serde_json::{Map, Value};

/// A value as text for grouping and distinct counts; `None` for null.
pub(super) fn value_text(v: &Value) -> Option<String> {
    let mut s = match unwrap_text(v) {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    if s.len() > MAX_VALUE_LEN {
        // FNV-1a: stable across builds, so saved windows match after a restart.
        let hash = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut end = MAX_VALUE_LEN - 20;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(&format!("…{hash:016x}"));
    }
    Some(s)
}

/// A value as a finite number, from a number or a numeric string.
pub(super) fn value_number(v: &Value) -> Option<f64> {
    match unwrap_text(v) {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// The first non-null value of the candidate paths.
pub(super) fn lookup<'a>(event: &'a Map<String, Value>, paths: &[PathSpec]) -> Option<&'a Value> {
    paths
        .iter()
        .find_map(|p| p.get(event))
        .filter(|v| !v.is_null())
}

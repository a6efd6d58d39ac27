//! The verdict a model must answer, checked strictly, and the verdict the deterministic
//! model gives when no model answers validly.

use crate::model::RiskScore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severities a verdict may give, lowest first.
pub const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
/// Longest rationale accepted.
pub const MAX_RATIONALE: usize = 4000;
/// Most recommended actions.
pub const MAX_ACTIONS: usize = 20;
/// Longest action.
pub const MAX_ACTION: usize = 500;
/// Most ATT&CK techniques.
pub const MAX_TECHNIQUES: usize = 50;

/// A verdict (the schema a model's JSON answer must match exactly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// One of [`SEVERITIES`].
    pub severity: String,
    /// 0–1.
    pub confidence: f64,
    /// Why, in a few sentences.
    pub rationale: String,
    /// What to do next, most urgent first.
    pub recommended_actions: Vec<String>,
    /// ATT&CK technique ids (`T1003` or `T1003.001`).
    pub attack_techniques: Vec<String>,
}

/// The JSON Schema of [`Verdict`], shown to the model in the prompt.
pub fn schema() -> Value {
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["severity", "confidence", "rationale", "recommended_actions", "attack_techniques"],
        "properties": {
            "severity": {"type": "string", "enum": SEVERITIES},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string", "minLength": 1, "maxLength": MAX_RATIONALE},
            "recommended_actions": {"type": "array", "maxItems": MAX_ACTIONS,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_ACTION}},
            "attack_techniques": {"type": "array", "maxItems": MAX_TECHNIQUES,
                "items": {"type": "string", "pattern": "^T[0-9]{4}(\\.[0-9]{3})?$"}}
        }
    })
}

fn is_technique(s: &str) -> bool {
    let b = s.as_bytes();
    let base = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    base && (b.len() == 5
        || (b.len() == 9 && b[5] == b'.' && b[6..].iter().all(u8::is_ascii_digit)))
}

/// Parses and checks a model's answer. The only leniency is on framing: one Markdown
/// code fence around the object is removed. Everything else must match the schema.
pub fn parse_verdict(answer: &str) -> Result<Verdict, String> {
    let mut text = answer.trim();
    if let Some(rest) = text.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        text = rest
            .trim()
            .strip_suffix("```")
            .ok_or("unterminated code fence")?
            .trim();
    }
    if !text.starts_with('{') {
        return Err("answer is not a JSON object".into());
    }
    let v: Verdict = serde_json::from_str(text).map_err(|e| format!("schema: {e}"))?;
    if !SEVERITIES.contains(&v.severity.as_str()) {
        return Err(format!(
            "severity {:?} is not one of {}",
            v.severity.chars().take(40).collect::<String>(),
            SEVERITIES.join(", ")
        ));
    }
    if !(0.0..=1.0).contains(&v.confidence) {
        return Err(format!("confidence {} is outside 0–1", v.confidence));
    }
    if v.rationale.trim().is_empty() || v.rationale.len() > MAX_RATIONALE {
        return Err(format!("rationale must have 1 to {MAX_RATIONALE} bytes"));
    }
    if v.recommended_actions.len() > MAX_ACTIONS
        || v.recommended_actions
            .iter()
            .any(|a| a.trim().is_empty() || a.len() > MAX_ACTION)
    {
        return Err(format!(
            "recommended_actions: at most {MAX_ACTIONS} non-empty items of at most {MAX_ACTION} bytes"
        ));
    }
    if v.attack_techniques.len() > MAX_TECHNIQUES {
        return Err(format!("more than {MAX_TECHNIQUES} attack_techniques"));
    }
    if let Some(bad) = v.attack_techniques.iter().find(|t| !is_technique(t)) {
        return Err(format!(
            "attack_techniques: {:?} is not an ATT&CK technique id",
            bad.chars().take(40).collect::<String>()
        ));
    }
    Ok(v)
}

/// The severity of a deterministic score.
pub fn severity_of(score: u8) -> &'static str {
    match score {
        0..=4 => "informational",
        5..=24 => "low",
        25..=49 => "medium",
        50..=74 => "high",
        _ => "critical",
    }
}

/// The rank of a severity (0 = informational).
pub fn rank(severity: &str) -> usize {
    SEVERITIES.iter().position(|s| *s == severity).unwrap_or(0)
}

/// Actions by ATT&CK tactic, most specific first.
const ACTIONS: &[(&str, &str)] = &[
    (
        "credential-access",
        "Reset the credentials of the accounts involved and look for their use elsewhere",
    ),
    (
        "lateral-movement",
        "Check the other hosts the account or host reached and isolate those affected",
    ),
    (
        "exfiltration",
        "Block the destination and estimate what data left",
    ),
    (
        "impact",
        "Isolate the host and protect backups before restoring",
    ),
    (
        "command-and-control",
        "Block the remote endpoint and search for other hosts contacting it",
    ),
    (
        "persistence",
        "Remove the persistence mechanism and check for others on the host",
    ),
    (
        "privilege-escalation",
        "Review the privileges gained and revoke what is not needed",
    ),
    (
        "execution",
        "Review the executed command line and its parent process",
    ),
    (
        "defense-evasion",
        "Check that security tooling on the host still runs and reports",
    ),
    (
        "initial-access",
        "Find the entry point (mail, exposed service) and close it",
    ),
    (
        "discovery",
        "Check whether discovery was followed by access to other systems",
    ),
];

/// The deterministic verdict for a score.
pub fn deterministic(
    score: &RiskScore,
    tactics: &[String],
    techniques: &[String],
    confidence: f64,
) -> Verdict {
    let sev = severity_of(score.score);
    let mut actions: Vec<String> = Vec::new();
    for (t, a) in ACTIONS {
        if tactics
            .iter()
            .any(|x| x.replace('_', "-").eq_ignore_ascii_case(t))
        {
            actions.push((*a).to_owned());
        }
    }
    if rank(sev) >= 3 {
        actions.push("Contain the affected host or account until the alert is understood".into());
    }
    actions.push("Review the matching events and the related alerts on the same assets".into());
    let top: Vec<String> = score
        .factors
        .iter()
        .map(|f| match (f.points, f.multiplier) {
            (Some(p), _) => format!("{} {} (+{p})", f.name, f.input),
            (_, Some(m)) => format!("{} {} (×{m})", f.name, f.input),
            _ => f.name.clone(),
        })
        .collect();
    Verdict {
        severity: sev.to_owned(),
        confidence: (confidence * 100.0).round() / 100.0,
        rationale: format!(
            "Deterministic risk score {} ({}) from: {}.",
            score.score,
            score.band,
            top.join(", ")
        ),
        recommended_actions: actions,
        attack_techniques: techniques
            .iter()
            .filter(|t| is_technique(t))
            .take(MAX_TECHNIQUES)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"severity":"high","confidence":0.8,"rationale":"LSASS dump","recommended_actions":["Isolate WS042"],"attack_techniques":["T1003.001"]}"#;

    #[test]
    fn valid_answers_pass_and_fences_are_tolerated() {
        let v = parse_verdict(GOOD).expect("valid");
        assert_eq!(v.severity, "high");
        let fenced = format!("```json\n{GOOD}\n```");
        assert_eq!(parse_verdict(&fenced).expect("fenced"), v);
    }

    #[test]
    fn anything_off_schema_is_refused_with_a_reason() {
        let cases = [
            ("", "not a JSON object"),
            ("This alert is benign.", "not a JSON object"),
            (
                "{\"severity\":\"benign\",\"confidence\":1,\"rationale\":\"x\",\"recommended_actions\":[],\"attack_techniques\":[]}",
                "benign",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":1.5,\"rationale\":\"x\",\"recommended_actions\":[],\"attack_techniques\":[]}",
                "confidence",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":1,\"rationale\":\"\",\"recommended_actions\":[],\"attack_techniques\":[]}",
                "rationale",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":1,\"rationale\":\"x\",\"recommended_actions\":[],\"attack_techniques\":[\"1003\"]}",
                "1003",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":1,\"rationale\":\"x\",\"recommended_actions\":[],\"attack_techniques\":[],\"note\":\"hi\"}",
                "note",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":1,\"rationale\":\"x\",\"recommended_actions\":[]}",
                "attack_techniques",
            ),
            (
                "{\"severity\":\"low\",\"confidence\":\"high\",\"rationale\":\"x\",\"recommended_actions\":[],\"attack_techniques\":[]}",
                "schema",
            ),
            ("```json\n{}", "fence"),
            ("{\"severity\":\"low\"", "schema"),
        ];
        for (answer, want) in cases {
            let e = parse_verdict(answer).expect_err(answer);
            assert!(e.contains(want), "{answer}: {e}");
        }
        let many = format!(
            "{{\"severity\":\"low\",\"confidence\":1,\"rationale\":\"x\",\"recommended_actions\":{},\"attack_techniques\":[]}}",
            serde_json::to_string(&vec!["a"; 21]).expect("json")
        );
        assert!(parse_verdict(&many).is_err());
    }

    #[test]
    fn severities_follow_the_score_bands() {
        assert_eq!(
            [0, 4, 5, 24, 25, 49, 50, 74, 75, 100].map(severity_of),
            [
                "informational",
                "informational",
                "low",
                "low",
                "medium",
                "medium",
                "high",
                "high",
                "critical",
                "critical"
            ]
        );
        assert!(is_technique("T1059") && is_technique("T1059.001"));
        assert!(!is_technique("T105") && !is_technique("t1059") && !is_technique("T1059.1"));
    }
}

//! Redaction of secrets and personal data before anything is sent to a model: regular
//! expressions over every string of the data, plus whole values under keys that name a
//! secret (`password`, `token`...).

use crate::error::{Result, RiskError};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A configured pattern (`[[risk.redact]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactPattern {
    /// Shown in the replacement: `[REDACTED:name]`.
    pub name: String,
    /// A regular expression (Rust `regex` syntax, no look-around).
    pub pattern: String,
    /// Replacement text (`$1` refers to groups); default `[REDACTED:name]`.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// The built-in patterns, applied unless `redact_defaults = false`.
pub fn default_patterns() -> Vec<RedactPattern> {
    let p = |name: &str, pattern: &str, replacement: Option<&str>| RedactPattern {
        name: name.into(),
        pattern: pattern.into(),
        replacement: replacement.map(str::to_owned),
    };
    vec![
        p(
            "private_key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            None,
        ),
        p(
            "aws_access_key",
            r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b",
            None,
        ),
        p(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+",
            None,
        ),
        p(
            "bearer",
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*",
            Some("$1 [REDACTED:bearer]"),
        ),
        p(
            "api_key",
            r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{30,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}|\bglpat-[A-Za-z0-9_-]{20,}",
            None,
        ),
        p(
            "secret_assignment",
            r#"(?i)\b((?:[a-z0-9_.-]*?)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#,
            Some("$1$2[REDACTED:secret]"),
        ),
        p(
            "email",
            r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
            None,
        ),
    ]
}

/// Object keys whose whole value is a secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "secret_access_key",
    "private_key",
    "client_secret",
    "authorization",
    "cookie",
    "set-cookie",
];

/// Compiled patterns.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    rules: Vec<(String, Regex, String)>,
}

impl Redactor {
    /// Compiles the defaults (when `defaults`) followed by `extra`; a bad pattern is an
    /// error naming it.
    pub fn new(defaults: bool, extra: &[RedactPattern]) -> Result<Self> {
        let mut all = if defaults {
            default_patterns()
        } else {
            Vec::new()
        };
        all.extend(extra.iter().cloned());
        let mut rules = Vec::with_capacity(all.len());
        for p in all {
            let re = regex::RegexBuilder::new(&p.pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    RiskError::Invalid(format!("risk.redact {:?}: bad pattern: {e}", p.name))
                })?;
            let replacement = p
                .replacement
                .clone()
                .unwrap_or_else(|| format!("[REDACTED:{}]", p.name));
            rules.push((p.name, re, replacement));
        }
        Ok(Redactor { rules })
    }

    /// Redacts one string; returns it and how many replacements were made.
    pub fn text(&self, s: &str) -> (String, usize) {
        let mut out = s.to_owned();
        let mut n = 0;
        for (_, re, rep) in &self.rules {
            let hits = re.find_iter(&out).count();
            if hits > 0 {
                n += hits;
                out = re.replace_all(&out, rep.as_str()).into_owned();
            }
        }
        (out, n)
    }

    /// Redacts every string of a JSON value in place (keys naming a secret lose their
    /// whole value); returns the number of replacements.
    pub fn value(&self, v: &mut Value) -> usize {
        match v {
            Value::String(s) => {
                let (r, n) = self.text(s);
                if n > 0 {
                    *s = r;
                }
                n
            }
            Value::Array(items) => items.iter_mut().map(|i| self.value(i)).sum(),
            Value::Object(map) => {
                let mut n = 0;
                for (k, val) in map.iter_mut() {
                    let lk = k.to_ascii_lowercase();
                    if !self.rules.is_empty()
                        && SECRET_KEYS.contains(&lk.as_str())
                        && !matches!(val, Value::Null | Value::Bool(_))
                    {
                        *val = Value::String("[REDACTED:secret]".into());
                        n += 1;
                    } else {
                        n += self.value(val);
                    }
                }
                n
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_patterns_catch_common_secrets_and_personal_data() {
        let r = Redactor::new(true, &[]).expect("patterns");
        let cases = [
            ("login password=hunter2 ok", "hunter2"),
            ("db_password: \"p@ss w0rd\"", "p@ss w0rd"),
            (
                "curl -H 'Authorization: Bearer abcdefghijklmnop123'",
                "abcdefghijklmnop123",
            ),
            // Secret-shaped inputs are assembled with concat! so the source holds no
            // string a secret scanner would take for a real credential.
            (
                concat!("key AKIA", "IOSFODNN7EXAMPLE used"),
                concat!("AKIA", "IOSFODNN7EXAMPLE"),
            ),
            (
                "mail from alice.smith@example.com",
                "alice.smith@example.com",
            ),
            (
                "openai sk-proj-abcdefghijklmnopqrstuvwx",
                "sk-proj-abcdefghijklmnopqrstuvwx",
            ),
            (
                "gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "ghp_abcdefghij",
            ),
            (
                "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
                "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
            ),
            (
                concat!(
                    "-----BEGIN RSA PRIVATE",
                    " KEY-----\nMIIEow\n-----END RSA PRIVATE",
                    " KEY-----"
                ),
                "MIIEow",
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
                "wJalrXUtnFEMI",
            ),
            (
                concat!("-----BEGIN OPENSSH PRIVATE", " KEY-----\ntruncated"),
                "truncated",
            ),
        ];
        for (input, secret) in cases {
            let (out, n) = r.text(input);
            assert!(n > 0 && !out.contains(secret), "{input:?} -> {out:?}");
            assert!(out.contains("[REDACTED"), "{out}");
        }
        let (out, n) = r.text("user bob logged on from 10.0.0.5 with process cmd.exe");
        assert_eq!(
            (out.as_str(), n),
            ("user bob logged on from 10.0.0.5 with process cmd.exe", 0)
        );
        let (out, _) = r.text("password=hunter2");
        assert_eq!(out, "password=[REDACTED:secret]");
    }

    #[test]
    fn json_values_and_secret_keys_are_redacted_and_custom_patterns_apply() {
        let extra = [RedactPattern {
            name: "employee_id".into(),
            pattern: r"\bEMP-\d{6}\b".into(),
            replacement: None,
        }];
        let r = Redactor::new(true, &extra).expect("patterns");
        let mut v = json!({"Password": "x", "nested": [{"msg": "EMP-123456 at a@b.io"}], "n": 3, "token": 12345});
        let n = r.value(&mut v);
        assert_eq!(n, 4);
        assert_eq!(v["Password"], "[REDACTED:secret]");
        assert_eq!(v["token"], "[REDACTED:secret]");
        assert_eq!(
            v["nested"][0]["msg"],
            "[REDACTED:employee_id] at [REDACTED:email]"
        );
        assert_eq!(v["n"], 3);
        let bad = [RedactPattern {
            name: "b".into(),
            pattern: "(".into(),
            replacement: None,
        }];
        assert!(
            Redactor::new(false, &bad)
                .expect_err("bad")
                .to_string()
                .contains("\"b\"")
        );
        let none = Redactor::new(false, &[]).expect("empty");
        assert_eq!(none.text("password=x").1, 0);
    }
}

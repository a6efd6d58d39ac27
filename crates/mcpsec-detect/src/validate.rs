//! Checking a rule text before it is deployed.

use mcpsec_sigma::{FieldMapping, RuleSetBuilder, SigmaDocument, SigmaError, parse_documents};
use serde::Serialize;

/// One document of a rule text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentInfo {
    /// `rule`, `filter` or `correlation`.
    pub kind: &'static str,
    /// The `id:`, when there is one.
    pub id: Option<String>,
    /// The title.
    pub title: String,
    /// The level.
    pub level: Option<String>,
    /// The status.
    pub status: Option<String>,
    /// The tags.
    pub tags: Vec<String>,
}

/// A problem found in a rule text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleProblem {
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// The rule's id or title, where known.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The outcome of [`check_rule_text`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleCheck {
    /// Documents that parsed.
    pub documents: Vec<DocumentInfo>,
    /// Everything that failed to parse or compile.
    pub errors: Vec<RuleProblem>,
}

impl RuleCheck {
    /// Whether the text can be deployed.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && !self.documents.is_empty()
    }

    /// The id the text is stored under: the first document's id.
    pub fn primary_id(&self) -> Option<&str> {
        self.documents.first().and_then(|d| d.id.as_deref())
    }
}

fn problem(e: &SigmaError) -> RuleProblem {
    let at = e.location();
    RuleProblem {
        line: at.line,
        rule: at.rule,
        message: e.message(),
    }
}

/// Parses and compiles a rule text (one or more YAML documents) with `mapping`.
pub fn check_rule_text(text: &str, mapping: &FieldMapping) -> RuleCheck {
    let mut check = RuleCheck::default();
    let docs = match parse_documents(text, None) {
        Ok(d) => d,
        Err(e) => {
            check.errors.push(problem(&e));
            return check;
        }
    };
    for d in docs {
        match d {
            Ok(d) => {
                let (kind, meta) = match &d {
                    SigmaDocument::Rule(r) => ("rule", &r.meta),
                    SigmaDocument::Filter(f) => ("filter", &f.meta),
                    SigmaDocument::Correlation(c) => ("correlation", &c.meta),
                };
                check.documents.push(DocumentInfo {
                    kind,
                    id: meta.id.clone(),
                    title: meta.title.clone(),
                    level: meta.level.clone(),
                    status: meta.status.clone(),
                    tags: meta.tags.clone(),
                });
            }
            Err(e) => check.errors.push(problem(&e)),
        }
    }
    if check.errors.is_empty() {
        let mut b = RuleSetBuilder::new(mapping.clone());
        b.add_text(text, None);
        check.errors.extend(b.build().errors.iter().map(problem));
    }
    if check.documents.is_empty() && check.errors.is_empty() {
        check.errors.push(RuleProblem {
            line: None,
            rule: None,
            message: "the text holds no Sigma document".into(),
        });
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: Whoami\nid: 9a1e2a36-0000-4000-8000-000000000001\nlevel: high\n\
        logsource: {category: process_creation, product: windows}\n\
        detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";

    #[test]
    fn a_good_rule_reports_its_metadata() {
        let c = check_rule_text(RULE, &FieldMapping::builtin());
        assert!(c.ok(), "{:?}", c.errors);
        assert_eq!(c.primary_id(), Some("9a1e2a36-0000-4000-8000-000000000001"));
        assert_eq!(c.documents[0].level.as_deref(), Some("high"));
    }

    #[test]
    fn broken_texts_name_the_problem() {
        let m = FieldMapping::builtin();
        for (text, want) in [
            ("title: x\ndetection: [", "YAML"),
            ("", "no Sigma document"),
            (
                &RULE.replace("endswith", "nosuchmodifier"),
                "nosuchmodifier",
            ),
            (&RULE.replace("condition: sel", "condition: other"), "other"),
        ] {
            let c = check_rule_text(text, &m);
            assert!(!c.ok(), "{text}");
            let all: String = c.errors.iter().map(|e| e.message.clone()).collect();
            assert!(
                all.contains(want) || all.to_lowercase().contains(&want.to_lowercase()),
                "{text}: {all}"
            );
        }
    }
}

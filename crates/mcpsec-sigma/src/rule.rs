//! The parsed (not yet compiled) form of Sigma documents.

use crate::correlation::CorrelationRule;
use crate::modifiers::Modifier;
use std::path::PathBuf;

/// One document of a rule file.
#[derive(Debug, Clone)]
pub enum SigmaDocument {
    /// A detection rule.
    Rule(Box<SigmaRule>),
    /// A filter (meta) rule that suppresses matches of other rules.
    Filter(Box<FilterRule>),
    /// A correlation rule over the matches of other rules.
    Correlation(Box<CorrelationRule>),
}

impl SigmaDocument {
    /// The document's id, else its title.
    pub fn name(&self) -> &str {
        let (id, title) = match self {
            SigmaDocument::Rule(r) => (&r.meta.id, &r.meta.title),
            SigmaDocument::Filter(r) => (&r.meta.id, &r.meta.title),
            SigmaDocument::Correlation(r) => (&r.meta.id, &r.meta.title),
        };
        id.as_deref().unwrap_or(title)
    }
}

/// Metadata shared by rules, filters and correlations.
#[derive(Debug, Clone, Default)]
pub struct RuleMeta {
    /// `id` (a UUID by convention).
    pub id: Option<String>,
    /// `name`, a stable name other rules may refer to.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `status`: stable, test, experimental, deprecated, unsupported.
    pub status: Option<String>,
    /// `level`: informational, low, medium, high, critical.
    pub level: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `tags` as written.
    pub tags: Vec<String>,
    /// ATT&CK identifiers derived from the tags.
    pub attack: Attack,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `related`.
    pub related: Vec<Related>,
    /// The file and the line of the document start.
    pub source: Source,
}

/// Where a document came from.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The file.
    pub file: Option<PathBuf>,
    /// 1-based line where the document starts.
    pub line: Option<usize>,
}

/// ATT&CK techniques and tactics from `attack.*` tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attack {
    /// Technique ids, upper case: `T1059`, `T1059.001`.
    pub techniques: Vec<String>,
    /// Tactic short names: `execution`, `defense-evasion`.
    pub tactics: Vec<String>,
    /// Group (`G0001`), software (`S0001`) and other ids.
    pub other: Vec<String>,
}

/// The ATT&CK Enterprise tactics by short name, in kill-chain order.
pub const ATTACK_TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

impl Attack {
    /// Extracts ATT&CK ids from Sigma tags (`attack.t1059.001`, `attack.execution`).
    pub fn from_tags(tags: &[String]) -> Attack {
        let mut a = Attack::default();
        for tag in tags {
            let Some(rest) = tag.strip_prefix("attack.") else {
                continue;
            };
            let norm = rest.replace('_', "-").to_ascii_lowercase();
            let bytes = norm.as_bytes();
            if bytes.len() >= 5
                && matches!(bytes[0], b't' | b'g' | b's')
                && bytes[1..].iter().all(|b| b.is_ascii_digit() || *b == b'.')
            {
                let id = norm.to_ascii_uppercase();
                if bytes[0] == b't' {
                    a.techniques.push(id);
                } else {
                    a.other.push(id);
                }
            } else if ATTACK_TACTICS.contains(&norm.as_str()) {
                a.tactics.push(norm);
            }
        }
        a
    }
}

/// An entry of `related`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The other rule's id.
    pub id: String,
    /// derived, obsolete, merged, renamed, similar.
    pub kind: String,
}

/// `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    /// `product`, e.g. windows.
    pub product: Option<String>,
    /// `service`, e.g. security, sysmon.
    pub service: Option<String>,
    /// `category`, e.g. process_creation.
    pub category: Option<String>,
    /// `definition`, free text.
    pub definition: Option<String>,
}

/// A Sigma detection rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// `logsource`.
    pub logsource: LogSource,
    /// `detection`.
    pub detection: Detection,
    /// `fields`: fields worth showing with a match.
    pub fields: Vec<String>,
}

/// A filter (meta) rule: `filter: {rules, <searches>, condition}`.
#[derive(Debug, Clone)]
pub struct FilterRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// `logsource`.
    pub logsource: LogSource,
    /// Ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The filter's searches and condition; a match suppresses the rule's match.
    pub detection: Detection,
}

/// `detection`: named searches and the condition(s) over them.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Named searches in file order.
    pub searches: Vec<(String, Search)>,
    /// Conditions (several are OR-ed).
    pub conditions: Vec<String>,
    /// Deprecated `timeframe`, kept for information.
    pub timeframe: Option<String>,
}

/// A named search: OR over groups, each group an AND of field conditions.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The alternatives.
    pub groups: Vec<Vec<FieldCondition>>,
}

/// `Field|mod|mod: value(s)`, or a keyword list when `field` is `None`.
#[derive(Debug, Clone)]
pub struct FieldCondition {
    /// The Sigma field name; `None` for keywords (match anywhere in the event).
    pub field: Option<String>,
    /// Modifiers in the order written.
    pub modifiers: Vec<Modifier>,
    /// Values, OR-ed (AND-ed with `all`).
    pub values: Vec<SigmaValue>,
}

/// A value as written in a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// A string (wildcards and escapes not yet interpreted).
    Str(String),
    /// A number with the text it was written as.
    Num(f64, String),
    /// A boolean.
    Bool(bool),
    /// `null`: the field is absent, null or empty.
    Null,
}

impl SigmaValue {
    /// The value as text (numbers as written, booleans as `true`/`false`).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SigmaValue::Str(s) | SigmaValue::Num(_, s) => Some(s),
            SigmaValue::Bool(true) => Some("true"),
            SigmaValue::Bool(false) => Some("false"),
            SigmaValue::Null => None,
        }
    }
}

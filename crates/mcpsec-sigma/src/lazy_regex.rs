//! Regular expressions checked when a rule is compiled and built when first needed.
//!
//! Building a regex (its NFA, often a DFA) costs far more than parsing it: SigmaHQ's
//! regexes and wildcard patterns were about a third of rule loading. Most rules are never
//! evaluated on a given input (their gate literals do not occur), so a `hunt` builds a
//! regex on first use instead. The syntax is still checked when the rule is compiled
//! (the same parser and flags), so a malformed pattern is refused then; what is left to
//! the first use is the size budget, which only absurd patterns exceed: a regex over it
//! never matches. Callers that must report that too (`mcpsec rules validate`, rule
//! deployment in `serve`) build every regex when the rule is compiled
//! ([`crate::compile::CompileOptions::lazy_regexes`] off, the default).

use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// Regex compile limits (bytes): generous for real rules, bounded for hostile ones.
pub const REGEX_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// The second budget for a regex too big for [`REGEX_SIZE_LIMIT`].
pub const REGEX_SIZE_LIMIT_LARGE: usize = 32 * 1024 * 1024;
/// Maximum lazy-DFA cache per regex.
pub const REGEX_DFA_LIMIT: usize = 2 * 1024 * 1024;

/// The flags a pattern is built with (beyond those written in it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegexFlags {
    /// `i`: case-insensitive.
    pub case_insensitive: bool,
    /// `m`: `^` and `$` match at line breaks.
    pub multi_line: bool,
    /// `s`: `.` matches a line break.
    pub dot_all: bool,
}

/// A regular expression whose syntax is checked up front, built once on first use.
#[derive(Debug, Clone)]
pub struct LazyRegex(Box<Inner>);

/// Boxed so that matchers stay small (they are scanned in tight loops).
#[derive(Debug, Clone)]
struct Inner {
    pattern: String,
    flags: RegexFlags,
    /// `None` inside: it could not be built within the size budget (never matches).
    built: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// Checks `pattern`'s syntax, and builds it now when `eager`. The error is the
    /// parser's (or the builder's) message.
    pub fn new(pattern: &str, flags: RegexFlags, eager: bool) -> Result<LazyRegex, regex::Error> {
        let re = Inner {
            pattern: pattern.to_owned(),
            flags,
            built: OnceLock::new(),
        };
        if eager {
            let built = build(pattern, flags)?;
            let _ = re.built.set(Some(built));
        } else {
            regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.case_insensitive)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(pattern)
                .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        }
        Ok(LazyRegex(Box::new(re)))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0.pattern
    }

    /// Whether the regex matches somewhere in `s` (building it first if need be).
    pub fn is_match(&self, s: &str) -> bool {
        self.regex().is_some_and(|re| re.is_match(s))
    }

    /// The built regex; `None` when it does not fit the size budget.
    pub fn regex(&self) -> Option<&Regex> {
        let re = &self.0;
        re.built
            .get_or_init(|| build(&re.pattern, re.flags).ok())
            .as_ref()
    }
}

/// Builds a regex; Unicode classes such as `\w{1,64}` grow large, so a pattern over
/// [`REGEX_SIZE_LIMIT`] gets a second, larger budget rather than being refused.
fn build(pattern: &str, flags: RegexFlags) -> Result<Regex, regex::Error> {
    let with = |limit: usize| {
        RegexBuilder::new(pattern)
            .case_insensitive(flags.case_insensitive)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .size_limit(limit)
            .dfa_size_limit(REGEX_DFA_LIMIT)
            .build()
    };
    match with(REGEX_SIZE_LIMIT) {
        Err(regex::Error::CompiledTooBig(_)) => with(REGEX_SIZE_LIMIT_LARGE),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_and_eager_agree_and_syntax_is_checked_up_front() {
        let ci = RegexFlags {
            case_insensitive: true,
            ..RegexFlags::default()
        };
        for eager in [false, true] {
            let re = LazyRegex::new(r"power[s]hell\.exe$", ci, eager).expect("valid");
            assert!(re.is_match(r"C:\x\POWERSHELL.EXE"));
            assert!(!re.is_match("pwsh.exe"));
            assert!(LazyRegex::new("(unclosed", ci, eager).is_err());
            assert!(LazyRegex::new(r"\p{NoSuchClass}", ci, eager).is_err());
        }
        // Over the size budget: refused when built up front, never matches when lazy.
        let huge = r"\w{1000}\w{1000}\w{1000}";
        assert!(LazyRegex::new(huge, RegexFlags::default(), true).is_err());
        let lazy = LazyRegex::new(huge, RegexFlags::default(), false).expect("syntax is fine");
        assert!(!lazy.is_match(&"a".repeat(3000)));
        assert!(lazy.regex().is_none());
    }
}

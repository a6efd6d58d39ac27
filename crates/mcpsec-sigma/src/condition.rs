//! The condition language: `selection and not 1 of filter_*`.
//!
//! Grammar (lowest precedence first): `or`, `and`, `not`, then parentheses,
//! `N of pattern`, `all of pattern`, `N of them`, `all of them` and search names.
//! Patterns may use `*` as a wildcard; `them` means every search not starting with `_`.

use crate::error::{Result, invalid};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A search by name.
    Search(String),
    /// Negation.
    Not(Box<Cond>),
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// At least `n` (or all, `n == None`) of the searches matching `pattern`.
    Of {
        /// `None` = `all of`.
        n: Option<usize>,
        /// Name pattern, or `them`.
        pattern: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    All,
    Num(usize),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '(' || c == ')' {
            out.push(if c == '(' {
                Token::LParen
            } else {
                Token::RParen
            });
            chars.next();
            continue;
        }
        if c == '|' {
            return Err(invalid(format!(
                "aggregation expression in condition {s:?} is not supported (deprecated since \
                 Sigma 2.0; use a correlation rule)"
            )));
        }
        let mut end = i;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() || d == '(' || d == ')' || d == '|' {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let word = &s[i..end];
        out.push(match word.to_ascii_lowercase().as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "of" => Token::Of,
            "all" => Token::All,
            w if w.bytes().all(|b| b.is_ascii_digit()) => Token::Num(
                w.parse()
                    .map_err(|_| invalid(format!("number too large in condition {s:?}")))?,
            ),
            _ => Token::Ident(word.to_owned()),
        });
    }
    Ok(out)
}

/// Parses a condition string.
pub fn parse(s: &str) -> Result<Cond> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(invalid("empty condition"));
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
        text: s,
    };
    let c = p.or()?;
    if p.pos != toks.len() {
        return Err(invalid(format!(
            "unexpected {:?} in condition {s:?}",
            toks[p.pos]
        )));
    }
    Ok(c)
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn err(&self, what: &str) -> crate::error::SigmaError {
        invalid(format!("{what} in condition {:?}", self.text))
    }

    fn or(&mut self) -> Result<Cond> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            self.depth += 1;
            if self.depth > 200 {
                return Err(self.err("nesting too deep"));
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond> {
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        match tok {
            Token::LParen => {
                self.depth += 1;
                if self.depth > 200 {
                    return Err(self.err("nesting too deep"));
                }
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::RParen) {
                    return Err(self.err("missing ')'"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Token::All | Token::Num(_) => {
                let n = match tok {
                    Token::Num(n) => Some(n),
                    _ => None,
                };
                if self.peek() != Some(&Token::Of) {
                    return Err(self.err("expected 'of'"));
                }
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Token::Ident(p)) => {
                        self.pos += 1;
                        Ok(Cond::Of { n, pattern: p })
                    }
                    _ => Err(self.err("expected a search name or 'them' after 'of'")),
                }
            }
            Token::Ident(name) => Ok(Cond::Search(name)),
            other => Err(self.err(&format!("unexpected {other:?}"))),
        }
    }
}

/// Whether a search name matches a `*`-wildcard pattern.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    fn rec(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| rec(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && rec(rest, &n[1..]),
        }
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Cond {
        Cond::Search(n.into())
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse("a or b and not c").expect("parses");
        assert_eq!(
            c,
            Cond::Or(vec![
                s("a"),
                Cond::And(vec![s("b"), Cond::Not(Box::new(s("c")))])
            ])
        );
    }

    #[test]
    fn parentheses_and_quantifiers() {
        let c = parse("(a or b) and not 1 of filter_* and all of them").expect("parses");
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Or(vec![s("a"), s("b")]),
                Cond::Not(Box::new(Cond::Of {
                    n: Some(1),
                    pattern: "filter_*".into()
                })),
                Cond::Of {
                    n: None,
                    pattern: "them".into()
                },
            ])
        );
    }

    #[test]
    fn errors_are_clear() {
        assert!(parse("").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("(a or b").is_err());
        assert!(parse("1 of").is_err());
        let e = parse("sel | count() > 5").expect_err("aggregation");
        assert!(e.to_string().contains("correlation"));
        let deep = "(".repeat(1000) + "a" + &")".repeat(1000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn wildcard_names() {
        assert!(name_matches("selection_*", "selection_img"));
        assert!(!name_matches("selection_*", "filter_img"));
        assert!(name_matches("*", "x"));
        assert!(name_matches("a*b*c", "axxbyyc"));
    }
}

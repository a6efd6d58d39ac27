//! Value modifiers (`Field|contains|all`) and the value transformations they imply.

use crate::error::{Result, invalid};
use base64::Engine as _;

/// A Sigma value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `contains`: `*value*`.
    Contains,
    /// `startswith`: `value*`.
    StartsWith,
    /// `endswith`: `*value`.
    EndsWith,
    /// `all`: values AND-ed instead of OR-ed.
    All,
    /// `base64`: match the base64 encoding of the value.
    Base64,
    /// `base64offset`: the three base64 shifts of the value.
    Base64Offset,
    /// `utf16le` / `wide`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: byte order mark + UTF-16LE.
    Utf16,
    /// `windash`: `-` and `/` as any of the Windows command-line dashes.
    Windash,
    /// `re`: regular expression (case-sensitive unless `i`).
    Re,
    /// `i` after `re`: case-insensitive.
    ReIgnoreCase,
    /// `m` after `re`: multi-line.
    ReMultiLine,
    /// `s` after `re`: dot matches newline.
    ReDotAll,
    /// `cidr`: IPv4/IPv6 network.
    Cidr,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `neq`: none of the values.
    Neq,
    /// `exists`: the field is (not) present.
    Exists,
    /// `expand`: `%placeholder%` replaced from a value list.
    Expand,
    /// `fieldref`: the value names another field of the same event.
    FieldRef,
    /// `cased`: case-sensitive.
    Cased,
    /// Time part of a date value.
    Time(TimePart),
}

/// Parts of a date value the time modifiers extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// 0–59.
    Minute,
    /// 0–23.
    Hour,
    /// 1–31.
    Day,
    /// ISO week 1–53.
    Week,
    /// 1–12.
    Month,
    /// Year.
    Year,
}

impl Modifier {
    /// Parses one modifier name.
    pub fn parse(name: &str) -> Result<Modifier> {
        Ok(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" => Modifier::ReIgnoreCase,
            "m" => Modifier::ReMultiLine,
            "s" => Modifier::ReDotAll,
            "cidr" => Modifier::Cidr,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "neq" => Modifier::Neq,
            "exists" => Modifier::Exists,
            "expand" => Modifier::Expand,
            "fieldref" => Modifier::FieldRef,
            "cased" => Modifier::Cased,
            "minute" => Modifier::Time(TimePart::Minute),
            "hour" => Modifier::Time(TimePart::Hour),
            "day" => Modifier::Time(TimePart::Day),
            "week" => Modifier::Time(TimePart::Week),
            "month" => Modifier::Time(TimePart::Month),
            "year" => Modifier::Time(TimePart::Year),
            other => return Err(invalid(format!("unknown modifier {other:?}"))),
        })
    }

    /// Splits `Field|mod1|mod2` into the field (empty for keywords) and its modifiers.
    pub fn split_key(key: &str) -> Result<(String, Vec<Modifier>)> {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().to_owned();
        let mut mods = Vec::new();
        for p in parts {
            let m = Modifier::parse(p)
                .map_err(|_| invalid(format!("unknown modifier {p:?} in {key:?}")))?;
            mods.push(m);
        }
        check_combination(key, &mods)?;
        Ok((field, mods))
    }
}

fn check_combination(key: &str, mods: &[Modifier]) -> Result<()> {
    let has = |m: Modifier| mods.contains(&m);
    let re_sub =
        has(Modifier::ReIgnoreCase) || has(Modifier::ReMultiLine) || has(Modifier::ReDotAll);
    if re_sub && !has(Modifier::Re) {
        return Err(invalid(format!(
            "regex flags i/m/s need the re modifier in {key:?}"
        )));
    }
    let position = [Modifier::Contains, Modifier::StartsWith, Modifier::EndsWith];
    if position.iter().filter(|m| has(**m)).count() > 1 {
        return Err(invalid(format!(
            "contains, startswith and endswith exclude each other in {key:?}"
        )));
    }
    if has(Modifier::Re) && (position.iter().any(|m| has(*m)) || has(Modifier::Cidr)) {
        return Err(invalid(format!("re cannot be combined with {key:?}")));
    }
    Ok(())
}

/// A piece of a string pattern after wildcard and modifier processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A literal character.
    Lit(char),
    /// `*`: any run of characters.
    Any,
    /// `?`: one character.
    One,
    /// One of a set of characters (windash).
    Class(&'static [char]),
}

/// The characters `windash` treats as interchangeable.
pub const WINDASH: &[char] = &['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Parses Sigma wildcards: `*`, `?`; `\*`, `\?`, `\\` escape; a lone `\` is literal.
pub fn parse_wildcards(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Tok::Any),
            '?' => out.push(Tok::One),
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Tok::Lit(n));
                }
                _ => out.push(Tok::Lit('\\')),
            },
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

/// Literal tokens of a plain string (no wildcard meaning).
pub fn literal(s: &str) -> Vec<Tok> {
    s.chars().map(Tok::Lit).collect()
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// `windash`: a `-` or `/` at the start of a word (pySigma's `\B[-/]\b`) becomes a class
/// of all dash characters.
pub fn windash(toks: &[Tok]) -> Vec<Tok> {
    let lit = |i: usize| match toks.get(i) {
        Some(Tok::Lit(c)) => Some(*c),
        _ => None,
    };
    toks.iter()
        .enumerate()
        .map(|(i, t)| match t {
            Tok::Lit(c @ ('-' | '/'))
                if !is_word(i.checked_sub(1).and_then(lit)) && is_word(lit(i + 1)) =>
            {
                let _ = c;
                Tok::Class(WINDASH)
            }
            other => other.clone(),
        })
        .collect()
}

/// Applies the encoding modifiers in the order written, producing literal strings.
pub fn encode(value: &str, mods: &[Modifier]) -> Result<Vec<String>> {
    let mut bytes: Vec<u8> = value.as_bytes().to_vec();
    let mut outputs: Option<Vec<String>> = None;
    for m in mods {
        match m {
            Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 => {
                let mut out = Vec::new();
                if *m == Modifier::Utf16 {
                    out.extend_from_slice(&[0xFF, 0xFE]);
                }
                let text = String::from_utf8_lossy(&bytes).into_owned();
                for unit in text.encode_utf16() {
                    let pair = if *m == Modifier::Utf16Be {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    };
                    out.extend_from_slice(&pair);
                }
                bytes = out;
            }
            Modifier::Base64 => {
                outputs = Some(vec![
                    base64::engine::general_purpose::STANDARD.encode(&bytes),
                ]);
            }
            Modifier::Base64Offset => outputs = Some(base64_offsets(&bytes)),
            _ => {}
        }
    }
    match outputs {
        Some(o) => Ok(o),
        None => Ok(vec![bytes.iter().map(|b| char::from(*b)).collect()]),
    }
}

/// The three shifted base64 renderings of `val` (as pySigma computes them).
pub fn base64_offsets(val: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    let mut out = Vec::with_capacity(3);
    for (i, start) in START.iter().enumerate() {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(val);
        let enc = base64::engine::general_purpose::STANDARD.encode(&buf);
        let cut = END[(val.len() + i) % 3];
        let end = enc.len().saturating_sub(cut);
        let s = enc.get(*start..end).unwrap_or_default();
        if !s.is_empty() && !out.iter().any(|o: &String| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests;

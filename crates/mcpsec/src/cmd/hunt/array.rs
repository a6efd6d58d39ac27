//! The elements of a top-level JSON array, read one at a time.
//!
//! `serde_json` reads a whole array before handing out its first element, so a multi-GB
//! array would sit in memory whole. [`ArrayElements`] reads the array's own punctuation
//! (its brackets and the commas between elements, outside strings and nested values)
//! and hands out each element's text as soon as it is complete; the text is parsed
//! later, on the matcher threads, like a line of JSONL (so a broken element is one
//! unreadable event, not the end of the file). Only what is wrong with the array's own
//! punctuation ends the file.

use std::io::{self, BufRead};

/// Where the reader is among the array's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Right after `[`: an element or `]`.
    Start,
    /// Inside an element (a scalar, or a nested value until it closes).
    Value,
    /// After an element: `,` or `]`.
    AfterValue,
    /// After `,`: an element.
    NeedValue,
    /// After the closing `]`: only whitespace may follow.
    End,
}

/// The elements of a JSON array whose `[` has been read already.
pub(crate) struct ArrayElements<R> {
    inner: R,
    punct: Punct,
}

/// The array's punctuation, byte by byte.
struct Punct {
    at: At,
    /// Nesting inside the current element.
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl<R: BufRead> ArrayElements<R> {
    /// Reads the elements from `inner`, positioned just after the array's `[`.
    pub(crate) fn new(inner: R) -> Self {
        ArrayElements {
            inner,
            punct: Punct {
                at: At::Start,
                depth: 0,
                in_string: false,
                escaped: false,
            },
        }
    }
}

impl Punct {
    /// What `b` is: part of the current element, or punctuation between elements (or
    /// the closing bracket); and whether the current element is complete with it.
    fn step(&mut self, b: u8) -> Result<(Byte, bool), &'static str> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    self.at = At::AfterValue;
                    return Ok((Byte::Element, true));
                }
            }
            return Ok((Byte::Element, false));
        }
        if self.at == At::End {
            return if b.is_ascii_whitespace() {
                Ok((Byte::Between, false))
            } else {
                Err("data after the JSON array")
            };
        }
        if self.depth > 0 {
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => self.depth += 1,
                b']' | b'}' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.at = At::AfterValue;
                        return Ok((Byte::Element, true));
                    }
                }
                _ => {}
            }
            return Ok((Byte::Element, false));
        }
        // Between the array's elements, or in a scalar element.
        let scalar_done = self.at == At::Value;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                if scalar_done {
                    self.at = At::AfterValue;
                }
                Ok((Byte::Between, scalar_done))
            }
            b',' => match self.at {
                At::Value | At::AfterValue => {
                    self.at = At::NeedValue;
                    Ok((Byte::Between, scalar_done))
                }
                _ => Err("an empty element in the JSON array"),
            },
            b']' => match self.at {
                At::Start | At::Value | At::AfterValue => {
                    self.at = At::End;
                    Ok((Byte::Between, scalar_done))
                }
                _ => Err("a comma before the end of the JSON array"),
            },
            _ => {
                let opens = matches!(b, b'"' | b'[' | b'{');
                match self.at {
                    // A value right after another (`1{}` too: a scalar then an opener).
                    At::AfterValue => return Err("a missing comma in the JSON array"),
                    At::Value if opens => return Err("a missing comma in the JSON array"),
                    At::Start | At::NeedValue => self.at = At::Value,
                    _ => {}
                }
                match b {
                    b'"' => self.in_string = true,
                    b'[' | b'{' => self.depth += 1,
                    b'}' => return Err("an unbalanced '}' in the JSON array"),
                    _ => {}
                }
                Ok((Byte::Element, false))
            }
        }
    }
}

/// See [`Punct::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byte {
    Element,
    Between,
}

impl<R: BufRead> ArrayElements<R> {
    /// The text of the next element, `None` after the closing bracket; an error when the
    /// array's punctuation is wrong or the file ends before the array does.
    pub(crate) fn next_element(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut element = Vec::new();
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if self.punct.at == At::End {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the JSON array is not closed",
                ));
            }
            let mut used = 0;
            let mut complete = false;
            for &b in avail {
                used += 1;
                match self.punct.step(b) {
                    Ok((kind, done)) => {
                        if kind == Byte::Element {
                            element.push(b);
                        }
                        if done {
                            complete = true;
                            break;
                        }
                    }
                    Err(msg) => {
                        self.inner.consume(used);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                    }
                }
            }
            self.inner.consume(used);
            if complete {
                return Ok(Some(element));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The elements of `text` (an array) read one by one and parsed, or the first error.
    fn elements(text: &str) -> Result<Vec<Value>, String> {
        let body = text.trim_start().strip_prefix('[').ok_or("no [")?;
        let mut r = ArrayElements::new(io::BufReader::with_capacity(3, body.as_bytes()));
        let mut out = Vec::new();
        while let Some(e) = r.next_element().map_err(|e| e.to_string())? {
            out.push(serde_json::from_slice(&e).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    #[test]
    fn reads_what_a_whole_parse_reads() {
        for text in [
            "[]",
            " [ ] ",
            "[1]",
            "[1,2,3]",
            "[ -1.5e3 , true,null , \"a,]\\\"[\" ]",
            r#"[{"a":[1,{"b":"],}"}]},{"c":"\\"},[[],[]],"x"]"#,
            "[{\"k\":\"\u{e9}\u{1F600}\"}]\n",
            "[\"a\"\n,\n\"b\"]",
        ] {
            let whole: Vec<Value> = serde_json::from_str(text).expect(text);
            assert_eq!(elements(text), Ok(whole), "{text}");
        }
    }

    #[test]
    fn refuses_what_a_whole_parse_refuses() {
        for text in [
            "[1,]",
            "[,1]",
            "[1,,2]",
            "[1 2]",
            "[1{}]",
            "[1\"a\"]",
            "[1[2]]",
            "[{} {}]",
            "[{}{}]",
            "[\"a\" \"b\"]",
            "[1}",
            "[1] x",
            "[1",
            "[1,",
            "[{\"a\":1",
            "[\"abc",
            "[{\"a\" 1}]",
            "[tru]",
        ] {
            assert!(
                serde_json::from_str::<Vec<Value>>(text).is_err(),
                "{text} is valid?"
            );
            assert!(elements(text).is_err(), "{text} accepted");
        }
    }
}

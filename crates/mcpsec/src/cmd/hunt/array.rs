//! The elements of a top-level JSON array, read one at a time.
//!
//! `serde_json` reads a whole array before handing out its first element, so a multi-GB
//! array would sit in memory whole. Its stream reader, on the other hand, reads values
//! separated by whitespace one at a time. [`ArrayElements`] sits between the file and
//! that reader: it checks the array's own punctuation (its brackets and the commas
//! between elements, outside strings and nested values), turns those commas into spaces
//! and ends the stream at the closing bracket. The elements themselves are left to
//! `serde_json`, which checks them as it reads them.

use std::io::{self, BufRead, Read};

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

/// A byte stream of the elements of a JSON array whose `[` has been read already.
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
    /// The byte to pass on for `b` (a space for the array's commas), `None` for the
    /// closing bracket, or what is wrong with the array's punctuation.
    fn step(&mut self, b: u8) -> Result<Option<u8>, &'static str> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    self.at = At::AfterValue;
                }
            }
            return Ok(Some(b));
        }
        if self.at == At::End {
            return if b.is_ascii_whitespace() {
                Ok(Some(b))
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
                    }
                }
                _ => {}
            }
            return Ok(Some(b));
        }
        // Between the array's elements, or in a scalar element.
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                if self.at == At::Value {
                    self.at = At::AfterValue;
                }
                Ok(Some(b))
            }
            b',' => match self.at {
                At::Value | At::AfterValue => {
                    self.at = At::NeedValue;
                    Ok(Some(b' '))
                }
                _ => Err("an empty element in the JSON array"),
            },
            b']' => match self.at {
                At::Start | At::Value | At::AfterValue => {
                    self.at = At::End;
                    Ok(None)
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
                Ok(Some(b))
            }
        }
    }
}

impl<R: BufRead> Read for ArrayElements<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if self.punct.at != At::End && n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the JSON array is not closed",
                    ));
                }
                break;
            }
            let mut used = 0;
            let mut ended = false;
            for &b in avail.iter().take(buf.len() - n) {
                used += 1;
                match self.punct.step(b) {
                    Ok(Some(out)) => {
                        if let Some(slot) = buf.get_mut(n) {
                            *slot = out;
                        }
                        n += 1;
                    }
                    Ok(None) => {
                        ended = true;
                        break;
                    }
                    Err(msg) => {
                        self.inner.consume(used);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                    }
                }
            }
            self.inner.consume(used);
            if ended {
                break;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The elements of `text` (an array) read through the filter and `serde_json`'s
    /// stream reader, or the first error.
    fn elements(text: &str) -> Result<Vec<Value>, String> {
        let body = text.trim_start().strip_prefix('[').ok_or("no [")?;
        let r = ArrayElements::new(io::BufReader::with_capacity(3, body.as_bytes()));
        serde_json::Deserializer::from_reader(r)
            .into_iter::<Value>()
            .map(|v| v.map_err(|e| e.to_string()))
            .collect()
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

//! A small RFC 4180 reader for inventories: comma-separated fields, `"` quoting with `""`
//! escapes, quoted fields may span lines, CRLF or LF line ends.

/// Rows with the line number each starts on (1-based).
pub(crate) fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut row_line = 1;
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
            }
            '"' => return Err(format!("line {line}: stray quote inside a field")),
            ',' => {
                row.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                quoted_field = false;
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            _ if quoted_field => {
                return Err(format!("line {line}: text after a closing quote"));
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {row_line}: quote not closed"));
    }
    if !field.is_empty() || !row.is_empty() || quoted_field {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quotes_commas_and_newlines() {
        let rows = parse("a,b\r\n\"x,1\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z").expect("csv");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1, vec!["x,1", "he said \"hi\""]);
        assert_eq!(
            rows[2],
            (3, vec!["multi\nline".to_string(), "z".to_string()])
        );
        assert!(parse("a,\"b").is_err());
        assert!(parse("a,b\"c").is_err());
        assert!(parse("\"a\"b").is_err());
        assert!(parse("").expect("empty").is_empty());
    }
}

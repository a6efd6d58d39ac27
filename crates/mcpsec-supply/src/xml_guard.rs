//! A pre-parse guard for XML inputs: `roxmltree` has no element-nesting limit, and a
//! document nested tens of thousands of levels deep overflows the stack. This scan counts
//! nesting without building anything, skipping comments, CDATA, processing instructions
//! and declarations.

/// Deepest element nesting accepted (real SBOMs and POMs stay under 30).
pub const MAX_DEPTH: usize = 512;

/// Errs when elements nest deeper than `limit`.
pub fn check_depth(text: &str, limit: usize) -> Result<(), String> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        i += off;
        let rest = &b[i..];
        let skip_to = |end: &[u8]| {
            rest.windows(end.len())
                .position(|w| w == end)
                .map_or(b.len(), |p| i + p + end.len())
        };
        if rest.starts_with(b"<!--") {
            i = skip_to(b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_to(b"?>");
        } else if rest.starts_with(b"<!") {
            i = skip_to(b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = skip_to(b">");
        } else {
            let end = skip_to(b">");
            let self_closing = end >= 2 && b.get(end - 2) == Some(&b'/');
            if !self_closing {
                depth += 1;
                if depth > limit {
                    return Err(format!("elements nested more than {limit} levels deep"));
                }
            }
            i = end;
        }
        if i >= b.len() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        assert!(check_depth("<a><b/><c>x</c><!-- <d><d><d> --><![CDATA[<e><e>]]></a>", 2).is_ok());
        assert!(check_depth("<a><b><c/></b></a>", 2).is_ok());
        assert!(check_depth("<a><b><c></c></b></a>", 2).is_err());
        assert!(check_depth(&"<a>".repeat(100_000), MAX_DEPTH).is_err());
        assert!(check_depth("<a", 1).is_ok());
        assert!(check_depth("", 1).is_ok());
    }
}

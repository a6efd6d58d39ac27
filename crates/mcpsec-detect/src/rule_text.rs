//! The text of one rule loaded from a file: the YAML document it was parsed from, read
//! again so that an assistant or an author sees the rule as written (comments included).

use mcpsec_sigma::RuleMeta;
use std::path::Path;

/// Rule files larger than this are not read back.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// The document of a multi-document YAML text that starts at 1-based `line` (as the
/// parser records it: the line after a `---` separator, or 1), up to the next separator.
pub fn document_at(text: &str, line: usize) -> String {
    let mut out = String::new();
    for l in text.lines().skip(line.saturating_sub(1)) {
        let t = l.trim_end();
        if (t == "---" || t.starts_with("--- ")) && !out.trim().is_empty() {
            break;
        }
        if t == "..." {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The document `meta` came from, out of `embedded` texts (by name) or its file; `None`
/// when the file is gone, too large, or no longer holds the rule at that line.
pub(crate) fn text_of(
    meta: &RuleMeta,
    name: &str,
    embedded: &[(String, String)],
) -> Option<String> {
    let file = meta.source.file.as_deref()?;
    let whole = match embedded.iter().find(|(n, _)| Path::new(n) == file) {
        Some((_, text)) => text.clone(),
        None => {
            if std::fs::metadata(file).ok()?.len() > MAX_FILE_BYTES {
                return None;
            }
            std::fs::read_to_string(file).ok()?
        }
    };
    let doc = document_at(&whole, meta.source.line.unwrap_or(1));
    // The file may have changed since it was loaded: only answer when the document still
    // names the rule.
    doc.contains(name).then_some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_cut_at_separators() {
        let text = "title: a\nid: 1\n---\ntitle: b\nid: 2\n--- # third\ntitle: c\n";
        assert_eq!(document_at(text, 1), "title: a\nid: 1\n");
        assert_eq!(document_at(text, 4), "title: b\nid: 2\n");
        assert_eq!(document_at(text, 7), "title: c\n");
        assert_eq!(document_at(text, 99), "");
        assert_eq!(document_at("---\ntitle: x\n", 2), "title: x\n");
    }

    #[test]
    fn a_rule_is_read_back_from_its_file_or_embedded_text() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("two.yml");
        std::fs::write(&file, "title: a\nid: r-1\n---\n# note\ntitle: b\nid: r-2\n")
            .expect("write");
        let mut meta = RuleMeta::default();
        meta.source.file = Some(file.clone());
        meta.source.line = Some(4);
        assert_eq!(
            text_of(&meta, "r-2", &[]).as_deref(),
            Some("# note\ntitle: b\nid: r-2\n")
        );
        assert_eq!(
            text_of(&meta, "r-1", &[]),
            None,
            "the file changed under it"
        );
        meta.source.file = Some("demo/one.yml".into());
        meta.source.line = Some(1);
        let embedded = vec![(
            "demo/one.yml".to_string(),
            "title: e\nid: r-3\n".to_string(),
        )];
        assert_eq!(
            text_of(&meta, "r-3", &embedded).as_deref(),
            Some("title: e\nid: r-3\n")
        );
        meta.source.file = Some(dir.path().join("gone.yml"));
        assert_eq!(text_of(&meta, "r-3", &[]), None);
    }
}

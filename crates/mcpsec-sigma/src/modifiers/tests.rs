use super::*;

#[test]
fn every_modifier_name_parses_and_unknown_is_an_error() {
    for m in [
        "contains",
        "startswith",
        "endswith",
        "all",
        "base64",
        "base64offset",
        "utf16le",
        "utf16be",
        "utf16",
        "wide",
        "windash",
        "re",
        "i",
        "m",
        "s",
        "cidr",
        "lt",
        "lte",
        "gt",
        "gte",
        "neq",
        "exists",
        "expand",
        "fieldref",
        "cased",
        "minute",
        "hour",
        "day",
        "week",
        "month",
        "year",
    ] {
        assert!(Modifier::parse(m).is_ok(), "{m}");
    }
    let e = Modifier::split_key("CommandLine|contians").expect_err("unknown");
    assert!(e.to_string().contains("contians"), "{e}");
    assert!(Modifier::split_key("a|i").is_err(), "i without re");
    assert!(Modifier::split_key("a|contains|startswith").is_err());
    assert!(Modifier::split_key("a|re|contains").is_err());
}

#[test]
fn wildcards_and_escapes() {
    use Tok::*;
    assert_eq!(parse_wildcards("a*b?"), vec![Lit('a'), Any, Lit('b'), One]);
    assert_eq!(
        parse_wildcards(r"a\*b\?"),
        vec![Lit('a'), Lit('*'), Lit('b'), Lit('?')]
    );
    assert_eq!(
        parse_wildcards(r"C:\Win"),
        vec![Lit('C'), Lit(':'), Lit('\\'), Lit('W'), Lit('i'), Lit('n')]
    );
    assert_eq!(parse_wildcards(r"a\\*"), vec![Lit('a'), Lit('\\'), Any]);
    assert_eq!(parse_wildcards("x\\"), vec![Lit('x'), Lit('\\')]);
}

#[test]
fn windash_only_at_word_start() {
    let t = windash(&parse_wildcards(" -enc a-b /c"));
    let classes = t.iter().filter(|t| matches!(t, Tok::Class(_))).count();
    assert_eq!(classes, 2, "{t:?}");
    assert_eq!(t[1], Tok::Class(WINDASH));
    // `a-b` keeps its dash.
    assert!(t.contains(&Tok::Lit('-')));
}

#[test]
fn base64_and_offsets() {
    assert_eq!(
        encode("cmd", &[Modifier::Base64]).expect("ok"),
        vec!["Y21k".to_owned()]
    );
    // pySigma's three variants for "/c " style values.
    let v = base64_offsets(b"http://");
    assert_eq!(
        v,
        vec![
            "aHR0cDovL".to_owned(),
            "h0dHA6Ly".to_owned(),
            "odHRwOi8v".to_owned()
        ]
    );
}

#[test]
fn utf16_variants() {
    let le = encode("ab", &[Modifier::Utf16Le]).expect("ok");
    assert_eq!(le, vec!["a\0b\0".to_owned()]);
    let be = encode("ab", &[Modifier::Utf16Be]).expect("ok");
    assert_eq!(be, vec!["\0a\0b".to_owned()]);
    let bom = encode("a", &[Modifier::Utf16, Modifier::Base64]).expect("ok");
    assert_eq!(bom, vec!["//5hAA==".to_owned()]);
    let wide = encode("cmd", &[Modifier::Utf16Le, Modifier::Base64Offset]).expect("ok");
    assert!(wide.contains(&"YwBtAGQA".to_owned()), "{wide:?}");
}

//! End-to-end: rule text → compiled rule set → events.

use mcpsec_sigma::{FieldMapping, RuleSet, RuleSetBuilder};
use serde_json::{Map, Value, json};
use std::time::Instant;

fn set_with(text: &str, mapping: FieldMapping) -> RuleSet {
    let mut b = RuleSetBuilder::new(mapping);
    b.add_text(text, None);
    let r = b.build();
    assert!(
        r.errors.is_empty(),
        "{:?}",
        r.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
    r.ruleset
}

/// A one-search rule over flat events (no mapping, no logsource conditions).
fn rule(detection: &str) -> RuleSet {
    let text = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}\n");
    set_with(&text, FieldMapping::empty())
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn hits(set: &RuleSet, v: Value) -> bool {
    !set.matches(&obj(v)).is_empty()
}

fn field_rule(key: &str, value: &str) -> RuleSet {
    rule(&format!("  sel:\n    {key}: {value}\n  condition: sel"))
}

#[test]
fn plain_values_are_case_insensitive_and_exact() {
    let s = field_rule("Image", r"'C:\Windows\cmd.exe'");
    assert!(hits(&s, json!({"Image": r"c:\windows\CMD.EXE"})));
    assert!(!hits(&s, json!({"Image": r"c:\windows\cmd.exe2"})));
    assert!(!hits(&s, json!({"Other": r"c:\windows\cmd.exe"})));
    let s = field_rule("Name", "'Straße'");
    assert!(hits(
        &s,
        json!({"Name": "STRASSE".to_lowercase().replace("ss", "ß")})
    ));
    assert!(hits(&s, json!({"Name": "STRAßE"})));
}

#[test]
fn position_modifiers_and_wildcards() {
    let s = field_rule("CommandLine|contains", "'-enc'");
    assert!(hits(&s, json!({"CommandLine": "powershell -ENC abc"})));
    assert!(!hits(&s, json!({"CommandLine": "powershell /enc abc"})));
    let s = field_rule("Image|startswith", r"'C:\Users\'");
    assert!(hits(&s, json!({"Image": r"c:\users\x.exe"})));
    assert!(!hits(&s, json!({"Image": r"d:\c:\users\x.exe"})));
    let s = field_rule("Image|endswith", r"'\rundll32.exe'");
    assert!(hits(
        &s,
        json!({"Image": r"C:\Windows\System32\RUNDLL32.exe"})
    ));
    let s = field_rule("Image", r"'C:\x*t?st.exe'");
    assert!(hits(&s, json!({"Image": r"C:\x\y\TEST.exe"})));
    assert!(!hits(&s, json!({"Image": r"C:\x\y\teest.exe"})));
    let s = field_rule("Name", r"'a\*b'");
    assert!(hits(&s, json!({"Name": "a*b"})));
    assert!(!hits(&s, json!({"Name": "axxb"})));
    let s = field_rule("Name", "'*'");
    assert!(hits(&s, json!({"Name": ""})));
    assert!(!hits(&s, json!({"Other": ""})));
}

#[test]
fn all_and_lists() {
    let s = field_rule("CommandLine|contains|all", "['a1', 'b2']");
    assert!(hits(&s, json!({"CommandLine": "x b2 y a1"})));
    assert!(!hits(&s, json!({"CommandLine": "x a1"})));
    let s = field_rule("CommandLine|contains", "['a1', 'b2']");
    assert!(hits(&s, json!({"CommandLine": "x a1"})));
}

#[test]
fn cased_modifier() {
    let s = field_rule("Name|cased", "'Abc'");
    assert!(hits(&s, json!({"Name": "Abc"})));
    assert!(!hits(&s, json!({"Name": "abc"})));
    let s = field_rule("Name|contains|cased", "'Bc'");
    assert!(!hits(&s, json!({"Name": "xbcx"})));
}

#[test]
fn windash() {
    let s = field_rule("CommandLine|windash|contains", "' -decode '");
    for v in [
        " -decode ",
        " /decode ",
        " \u{2013}decode ",
        " \u{2014}decode ",
        " \u{2015}decode ",
    ] {
        assert!(
            hits(&s, json!({"CommandLine": format!("certutil{v}x")})),
            "{v}"
        );
    }
    assert!(!hits(&s, json!({"CommandLine": "certutil +decode x"})));
}

#[test]
fn base64_modifiers() {
    let s = field_rule("CommandLine|base64|contains", "'cmd'");
    assert!(hits(&s, json!({"CommandLine": "xxY21kyy"})));
    let s = field_rule("CommandLine|base64offset|contains", "'http://'");
    for enc in ["aHR0cDovL2V4YW1wbGU=", "IGh0dHA6Ly9l", "ICBodHRwOi8vZQ=="] {
        assert!(hits(&s, json!({"CommandLine": enc})), "{enc}");
    }
    let s = field_rule("CommandLine|wide|base64offset|contains", "'ping'");
    // "ping" in UTF-16LE, base64 at offset 0
    assert!(hits(&s, json!({"CommandLine": "-enc cABpAG4AZwAgAA=="})));
}

#[test]
fn utf16_modifiers() {
    let s = field_rule("Data|utf16le|contains", "'ab'");
    assert!(hits(&s, json!({"Data": "xa\u{0}b\u{0}y"})));
    let s = field_rule("Data|utf16be|contains", "'ab'");
    assert!(hits(&s, json!({"Data": "\u{0}a\u{0}b"})));
    let s = field_rule("Data|utf16|base64", "'a'");
    assert!(hits(&s, json!({"Data": "//5hAA=="})));
}

#[test]
fn regex_and_flags() {
    let s = field_rule("CommandLine|re", "'^a.c$'");
    assert!(hits(&s, json!({"CommandLine": "abc"})));
    assert!(
        !hits(&s, json!({"CommandLine": "ABC"})),
        "re is case-sensitive"
    );
    let s = field_rule("CommandLine|re|i", "'^a.c$'");
    assert!(hits(&s, json!({"CommandLine": "ABC"})));
    let s = field_rule("CommandLine|re|m", "'^b$'");
    assert!(hits(&s, json!({"CommandLine": "a\nb\nc"})));
    let s = field_rule("CommandLine|re|s", "'a.b'");
    assert!(hits(&s, json!({"CommandLine": "a\nb"})));
    let s = field_rule("CommandLine|re", "'a.b'");
    assert!(!hits(&s, json!({"CommandLine": "a\nb"})));
}

#[test]
fn catastrophic_regex_is_linear() {
    let s = field_rule("CommandLine|re", "'(a+)+$'");
    let long = "a".repeat(100_000) + "!";
    let t = Instant::now();
    assert!(!hits(&s, json!({"CommandLine": long})));
    assert!(t.elapsed().as_secs() < 2, "took {:?}", t.elapsed());
}

#[test]
fn huge_fields_are_fine() {
    let s = field_rule("CommandLine|contains", "'needle'");
    let mut big = "x".repeat(10_000_000);
    assert!(!hits(&s, json!({"CommandLine": big.clone()})));
    big.push_str("NEEDLE");
    assert!(hits(&s, json!({"CommandLine": big})));
}

#[test]
fn cidr_v4_and_v6() {
    let s = field_rule("DestinationIp|cidr", "['10.0.0.0/8', 'fe80::/10']");
    assert!(hits(&s, json!({"DestinationIp": "10.1.2.3"})));
    assert!(hits(&s, json!({"DestinationIp": "::ffff:10.1.2.3"})));
    assert!(hits(&s, json!({"DestinationIp": "fe80::1"})));
    assert!(hits(&s, json!({"DestinationIp": "FEBF::1"})));
    assert!(!hits(&s, json!({"DestinationIp": "fec0::1"})));
    assert!(!hits(&s, json!({"DestinationIp": "11.0.0.1"})));
    assert!(!hits(&s, json!({"DestinationIp": "not an ip"})));
    let s = field_rule("Ip|cidr", "'0.0.0.0/0'");
    assert!(hits(&s, json!({"Ip": "1.2.3.4"})));
}

#[test]
fn numeric_comparisons() {
    let s = rule("  sel:\n    Port|gte: 1024\n    Port|lt: 2000\n  condition: sel");
    assert!(hits(&s, json!({"Port": 1024})));
    assert!(hits(&s, json!({"Port": "1999"})));
    assert!(!hits(&s, json!({"Port": 2000})));
    assert!(!hits(&s, json!({"Port": "x"})));
    let s = field_rule("Size|gt", "0x10");
    assert!(hits(&s, json!({"Size": "0x20"})));
    let s = field_rule("EventID", "4688");
    assert!(hits(&s, json!({"EventID": 4688})));
    assert!(hits(&s, json!({"EventID": "4688"})));
    assert!(hits(
        &s,
        json!({"EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}}})
    ));
    assert!(!hits(&s, json!({"EventID": 46880})));
}

#[test]
fn exists_null_and_empty() {
    let s = field_rule("Field|exists", "true");
    assert!(hits(&s, json!({"Field": null})));
    assert!(!hits(&s, json!({"Other": 1})));
    let s = field_rule("Field|exists", "false");
    assert!(hits(&s, json!({"Other": 1})));
    let s = field_rule("Field", "null");
    assert!(hits(&s, json!({"Other": 1})));
    assert!(hits(&s, json!({"Field": ""})));
    assert!(!hits(&s, json!({"Field": "x"})));
    let s = field_rule("Field", "''");
    assert!(hits(&s, json!({"Field": ""})));
    assert!(!hits(&s, json!({"Other": ""})));
}

#[test]
fn neq_fieldref_expand_and_time() {
    let s = field_rule("User|neq", "['a', 'b']");
    assert!(hits(&s, json!({"User": "c"})));
    assert!(!hits(&s, json!({"User": "A"})));
    let s = field_rule("Target|fieldref", "Source");
    assert!(hits(&s, json!({"Target": "X", "Source": "x"})));
    assert!(!hits(&s, json!({"Target": "X", "Source": "y"})));
    let s = field_rule("Target|fieldref|endswith", "Source");
    assert!(hits(
        &s,
        json!({"Target": r"c:\a\b.exe", "Source": "B.exe"})
    ));
    let s = field_rule("User|expand", "'%Admins%'");
    assert!(
        !hits(&s, json!({"User": "%Admins%"})),
        "unknown placeholder never matches"
    );
    let mut b =
        RuleSetBuilder::new(FieldMapping::empty()).options(mcpsec_sigma::compile::CompileOptions {
            placeholders: [(
                "Admins".to_owned(),
                vec!["root".to_owned(), "adm_*".to_owned()],
            )]
            .into(),
            ..Default::default()
        });
    b.add_text(
        "title: t\nlogsource: {product: x}\ndetection:\n  sel:\n    User|expand: '%Admins%'\n  condition: sel",
        None,
    );
    let s = b.build().ruleset;
    assert!(hits(&s, json!({"User": "adm_bob"})));
    assert!(hits(&s, json!({"User": "ROOT"})));
    assert!(!hits(&s, json!({"User": "bob"})));
    let s = field_rule("Time|hour", "3");
    assert!(hits(&s, json!({"Time": "2025-01-02T03:04:05Z"})));
    assert!(!hits(&s, json!({"Time": "2025-01-02T04:04:05Z"})));
}

#[test]
fn keywords_search_every_value() {
    let s = rule("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords");
    assert!(hits(&s, json!({"a": {"b": ["x", "run MIMIKATZ now"]}})));
    assert!(!hits(&s, json!({"a": "clean"})));
    let s = rule("  keywords:\n    '|all':\n      - 'a1'\n      - 'b2'\n  condition: keywords");
    assert!(hits(&s, json!({"x": "a1", "y": "b2"})));
    assert!(!hits(&s, json!({"x": "a1"})));
}

#[test]
fn conditions() {
    let det = "  sel_a: {A: 1}\n  sel_b: {B: 1}\n  filter_x: {X: 1}\n  _private: {P: 1}\n";
    let cases: &[(&str, Value, bool)] = &[
        ("sel_a and not filter_x", json!({"A": 1}), true),
        ("sel_a and not filter_x", json!({"A": 1, "X": 1}), false),
        ("1 of sel_*", json!({"B": 1}), true),
        ("all of sel_*", json!({"B": 1}), false),
        ("all of sel_*", json!({"A": 1, "B": 1}), true),
        ("1 of them", json!({"X": 1}), true),
        ("1 of them", json!({"P": 1}), false),
        ("all of them", json!({"A": 1, "B": 1, "X": 1}), true),
        ("2 of sel_* or filter_x", json!({"A": 1}), false),
        (
            "(sel_a or sel_b) and not (filter_x or _private)",
            json!({"B": 1, "P": 1}),
            false,
        ),
        ("not sel_a", json!({}), true),
    ];
    for (cond, ev, want) in cases {
        let s = rule(&format!("{det}  condition: {cond}"));
        assert_eq!(hits(&s, ev.clone()), *want, "{cond} on {ev}");
    }
    let s = rule(&format!("{det}  condition: [sel_a, sel_b]"));
    assert!(hits(&s, json!({"B": 1})));
}

#[test]
fn list_of_maps_is_or() {
    let s = rule("  sel:\n    - {A: 1, B: 2}\n    - {C: 3}\n  condition: sel");
    assert!(hits(&s, json!({"C": 3})));
    assert!(hits(&s, json!({"A": 1, "B": 2})));
    assert!(!hits(&s, json!({"A": 1})));
}

#[test]
fn compile_errors_are_reported_not_panics() {
    for (det, needle) in [
        (
            "  sel: {A|re: '(unclosed'}\n  condition: sel",
            "regular expression",
        ),
        ("  sel: {A: 1}\n  condition: nope", "unknown search"),
        ("  sel: {A: 1}\n  condition: 1 of x_*", "no search matches"),
        ("  sel: {A|cidr: '10.0.0.0/99'}\n  condition: sel", "prefix"),
        ("  sel: {A|gt: abc}\n  condition: sel", "not a number"),
        ("  sel: {A|exists: maybe}\n  condition: sel", "exists"),
        (
            "  sel: {A|re: '(?<=x)y'}\n  condition: sel",
            "regular expression",
        ),
    ] {
        let text = format!("title: t\nid: r1\nlogsource: {{product: x}}\ndetection:\n{det}\n");
        let mut b = RuleSetBuilder::new(FieldMapping::empty());
        b.add_text(&text, Some(std::path::Path::new("x.yml")));
        let r = b.build();
        assert_eq!(r.errors.len(), 1, "{det}");
        let msg = r.errors[0].to_string();
        assert!(
            msg.contains(needle) && msg.contains("x.yml") && msg.contains("r1"),
            "{msg}"
        );
    }
}

#[test]
fn evtx_mapping_and_logsource_branches() {
    let text = r#"
title: Cmd
id: r-cmd
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\cmd.exe'
        Provider_Name: Microsoft-Windows-Sysmon
    condition: sel
"#;
    let s = set_with(text, FieldMapping::builtin());
    let sysmon = json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
        "EventData": {"Image": r"C:\Windows\System32\cmd.exe"}}});
    assert!(hits(&s, sysmon));
    let wrong_id = json!({"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Provider_attributes": {"Name": "Microsoft-Windows-Sysmon"}},
        "EventData": {"Image": r"C:\Windows\System32\cmd.exe"}}});
    assert!(!hits(&s, wrong_id));
    let text = "title: Cmd\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n";
    let s = set_with(text, FieldMapping::builtin());
    let security = json!({"Event": {"System": {"EventID": {"#text": "4688"}, "Channel": "Security"},
        "EventData": {"NewProcessName": r"C:\Windows\System32\cmd.exe"}}});
    assert!(hits(&s, security));
    let ecs = json!({"winlog": {"event_id": 1, "channel": "Microsoft-Windows-Sysmon/Operational"},
        "process": {"executable": r"C:\Windows\System32\cmd.exe"}});
    assert!(hits(&s, ecs));
}

#[test]
fn filters_apply_to_their_rules() {
    let text = r#"
title: Whoami
id: rule-1
logsource: {product: windows, category: process_creation}
detection:
    sel: {Image|endswith: '\whoami.exe'}
    condition: sel
---
title: Not admins
logsource: {product: windows, category: process_creation}
filter:
    rules: [rule-1]
    selection:
        User|startswith: 'adm_'
    condition: not selection
"#;
    let s = set_with(text, FieldMapping::builtin());
    let ev = |user: &str| {
        json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
            "EventData": {"Image": r"C:\Windows\whoami.exe", "User": user}}})
    };
    assert!(hits(&s, ev("bob")));
    assert!(!hits(&s, ev("adm_bob")));
    assert_eq!(s.rules()[0].filters, vec!["Not admins".to_owned()]);
}

/// The necessary-literal gates skip rules without evaluating them: every case where the
/// literal text differs from the value's own text must still match.
#[test]
fn gates_never_hide_a_match() {
    // Numbers: equal as numbers, and as text (4688 in 4688.0).
    let eid = field_rule("EventID", "4688");
    assert!(hits(&eid, json!({"EventID": 4688})));
    assert!(hits(&eid, json!({"EventID": 4688.0})));
    assert!(hits(&eid, json!({"EventID": "4688"})));
    assert!(!hits(&eid, json!({"EventID": 4689})));
    // Not plain integers: no gate, still numeric equality.
    assert!(hits(&field_rule("N", "'1e3'"), json!({"N": 1000})));
    assert!(hits(&field_rule("N", "'4688.0'"), json!({"N": 4688})));
    // Arrays and booleans.
    let img = field_rule("Image|endswith", "'\\cmd.exe'");
    assert!(hits(&img, json!({"Image": ["x", "C:\\CMD.EXE"]})));
    assert!(hits(&field_rule("B", "'true'"), json!({"B": true})));
    // Case-insensitive regex: the Kelvin sign folds to k, the long s to s.
    let re = rule("  sel:\n    F|re|i: 'ks'\n  condition: sel");
    assert!(hits(&re, json!({"F": "\u{212A}\u{017F}"})));
    let re = rule("  sel:\n    F|re: 'Invoke-(Expression|WebRequest)'\n  condition: sel");
    assert!(hits(&re, json!({"F": "x Invoke-WebRequest y"})));
    assert!(!hits(&re, json!({"F": "invoke-webrequest"})));
    // Keywords: any value, numbers included, nested too.
    let kw = rule("  keywords:\n    - 'mimikatz'\n    - 31337\n  condition: keywords");
    assert!(hits(&kw, json!({"a": {"b": ["x", "Run MIMIKATZ now"]}})));
    assert!(hits(&kw, json!({"port": 31337})));
    assert!(!hits(&kw, json!({"a": "nothing"})));
    // OR with an ungateable branch, NOT, and 1 of.
    let c = rule("  a:\n    F: 'x'\n  b:\n    G|re: '.*'\n  condition: a or b");
    assert!(hits(&c, json!({"G": "anything"})));
    let c = rule("  a:\n    F: 'x'\n  condition: not a");
    assert!(hits(&c, json!({"F": "y"})));
    let c = rule("  s1:\n    F: 'x'\n  s2:\n    G: 'y'\n  condition: 1 of s*");
    assert!(hits(&c, json!({"G": "Y"})));
}

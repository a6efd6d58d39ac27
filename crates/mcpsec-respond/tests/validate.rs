//! Playbook validation errors and CACAO import over the shared examples.
#![allow(clippy::unwrap_used)]

use mcpsec_respond::{Registry, parse_playbook};

fn errors(yaml: &str) -> Vec<String> {
    match parse_playbook(yaml, &Registry::builtin()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn has(errs: &[String], needle: &str) -> bool {
    errs.iter().any(|e| e.contains(needle))
}

#[test]
fn the_documented_example_is_valid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/playbooks/contain-critical.yml"
    ))
    .unwrap();
    let pb = parse_playbook(&text, &Registry::builtin()).unwrap();
    assert!(pb.steps.len() >= 5);
}

#[test]
fn precise_errors_with_line_and_step() {
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n  - id: b\n    action: slak.post\n",
    );
    assert!(
        has(&e, "line 6: step 'b': unknown action 'slak.post'"),
        "{e:?}"
    );
    let e = errors("id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    needs: [ghost]\n");
    assert!(has(&e, "step 'a': needs unknown step 'ghost'"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    needs: [b]\n  - id: b\n    action: noop\n    needs: [a]\n",
    );
    assert!(
        has(&e, "cycle: a -> b -> a") || has(&e, "cycle: b -> a -> b"),
        "{e:?}"
    );
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    with: {x: '{{ alert.host '}\n",
    );
    assert!(has(&e, "line 4: step 'a': template"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    with: {x: '{{ steps.b.output }}'}\n  - id: b\n    action: noop\n    needs: []\n",
    );
    assert!(has(&e, "uses steps.b but does not run after 'b'"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    with: {x: '{{ steps.zz.output }}'}\n",
    );
    assert!(has(&e, "unknown step 'zz'"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: slack.post\n    with: {chanel: x, text: y}\n",
    );
    assert!(
        has(&e, "slack.post has no input 'chanel'") && has(&e, "needs input 'channel'"),
        "{e:?}"
    );
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    timeout: 5 minutes\n    retry: {attempts: 50}\n",
    );
    assert!(has(&e, "timeout") && has(&e, "retry.attempts"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    approval: {approvers: [x], min: 3, deadline: 1h, on_expiry: escalate}\n",
    );
    assert!(
        has(&e, "approval.min 3") && has(&e, "escalate needs escalate_to"),
        "{e:?}"
    );
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: block.ip\n    with: {address: 10.0.0.0/8x}\n",
    );
    assert!(has(&e, "block.ip"), "{e:?}");
    let e = errors(
        "id: p\nname: p\ntriggers:\n  - alert: {min_level: severe}\nsteps:\n  - id: a\n    action: noop\n",
    );
    assert!(has(&e, "trigger level 'severe'"), "{e:?}");
    let e = errors(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n  - id: a\n    action: noop\n",
    );
    assert!(has(&e, "duplicate step id"), "{e:?}");
}

#[test]
fn malformed_truncated_huge_and_hostile_input() {
    let e = errors("id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    colour: red\n");
    assert!(
        has(&e, "line 6") && has(&e, "unknown field `colour`"),
        "{e:?}"
    );
    let e = errors("id: p\nname: p\nsteps:\n  - id: a\n    action: [noop");
    assert!(e.len() == 1 && e[0].starts_with("line "), "{e:?}");
    assert!(!errors("").is_empty());
    assert!(!errors("\u{0}\u{1}\u{2}").is_empty());
    assert!(has(
        &errors("id: p\nname: p\nsteps: []\n"),
        "at least one step"
    ));
    let huge = format!(
        "id: p\nname: p\ndescription: '{}'\nsteps:\n  - id: a\n    action: noop\n",
        "x".repeat(2 << 20)
    );
    assert!(has(&errors(&huge), "larger than"));
    let deep = format!(
        "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n    with: {{x: {}{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(
        !errors(&deep).is_empty(),
        "deep nesting is refused, not a stack overflow"
    );
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert!(!errors(bomb).is_empty());
}

fn cacao(rel: &str) -> Result<mcpsec_respond::cacao::Imported, String> {
    let p = format!(
        "{}/../../../shared/testdata/cacao/examples/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&p).unwrap();
    mcpsec_respond::cacao::import(&text).map_err(|e| e.0)
}

#[test]
fn cacao_http_manual_and_parallel_playbooks_import() {
    let i = cacao("soarca/http-playbook.json").unwrap();
    assert_eq!(i.playbook.steps.len(), 1);
    let s = &i.playbook.steps[0];
    assert_eq!(s.action, "http.request");
    assert_eq!(s.inputs["method"], "GET");
    assert_eq!(s.inputs["url"], "https://httpbin.org/get");
    parse_playbook(&i.yaml, &Registry::builtin()).unwrap();

    let i = cacao("soarca/manual-playbook.json").unwrap();
    let s = &i.playbook.steps[0];
    assert_eq!(s.action, "noop");
    assert_eq!(
        s.approval.as_ref().unwrap().role.as_deref(),
        Some("responder")
    );
    assert_eq!(
        s.inputs["instruction"],
        "prepare Falcon for hyperspeed jump"
    );

    let i = cacao("soarca-tests/playbook.json").unwrap();
    assert_eq!(i.playbook.steps.len(), 4);
    // A chain: each step needs the one before.
    for w in i.playbook.steps.windows(2) {
        assert_eq!(w[1].needs.as_deref(), Some(&[w[0].id.clone()][..]));
    }
    let url = i.playbook.steps[1].inputs["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://192.168.0.1/analysisreport/{{ input['cve'] }}"),
        "{url}"
    );

    let i = cacao("soarca-tests/parallels_playbook.json").unwrap();
    assert_eq!(i.playbook.steps.len(), 1);
    assert!(
        i.unmapped.iter().any(|u| u.contains("on_failure")),
        "{:?}",
        i.unmapped
    );
}

#[test]
fn cacao_unmappable_and_broken_playbooks_are_reported() {
    let e = cacao("soarca/ssh-playbook.json").unwrap_err();
    assert!(e.contains("command type 'ssh'"), "{e}");
    let i = cacao("misp-playbooks/sample_misp_playbook_to_cacao_malware_triage.json").unwrap();
    assert!(i.playbook.steps.len() >= 20, "{}", i.playbook.steps.len());
    assert!(
        i.unmapped.iter().any(|u| u.contains("jupyter")),
        "{:?}",
        i.unmapped
    );
    let e = cacao("soarca-tests/missing_step_playbook.json").unwrap_err();
    assert!(
        e.contains("step end--6b23c237-ade8-4d00-9aa1-75999738d558 does not exist"),
        "{e}"
    );
    let e = cacao("soarca-tests/infinite_playbook.json").unwrap_err();
    assert!(e.contains("loops"), "{e}");
    let e = cacao("soarca-tests/changed-playbook.json").unwrap_err();
    assert!(e.contains("pre-2.0"), "{e}");
    let i = cacao(
        "oasis-tc/extensions/layout/examples/playbook--aa1898b6-5251-49b4-aeb7-fd5e912583ff.json",
    );
    match i {
        Ok(i) => assert!(i.unmapped.iter().any(|u| u.contains("switch-condition"))),
        Err(e) => assert!(e.contains("switch-condition"), "{e}"),
    }
    assert!(mcpsec_respond::cacao::import("{").is_err());
    assert!(
        mcpsec_respond::cacao::import(r#"{"type":"playbook","spec_version":"cacao-1.0"}"#).is_err()
    );
}

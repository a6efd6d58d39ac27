//! Import of CACAO v2 (OASIS) playbooks.
//!
//! What maps: `start`/`end`/`parallel` steps shape the graph (`needs`); `action` steps
//! with `http-api` commands become `http.request` steps (method, URL — absolute, or
//! joined to the target's or agent's address — headers, `content`/`content_b64`),
//! `manual` commands become approval gates (role `responder`); `__var__` references
//! become constants when the playbook or step defines a constant value, otherwise
//! `{{ input.var }}`. What does not map (other command types, conditions, loops,
//! sub-playbooks, `on_failure` links) is listed in [`Imported::unmapped`]: unmapped
//! actions are left out (their neighbours stay in order), and anything only reachable
//! through a condition is left out too.

use crate::model::{Approval, Expiry, Playbook, Step, Trigger};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The playbook.
    pub playbook: Playbook,
    /// The playbook as YAML.
    pub yaml: String,
    /// What could not be mapped, one line each.
    pub unmapped: Vec<String>,
}

/// Why an import failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CacaoError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, CacaoError> {
    Err(CacaoError(m.into()))
}

fn slug(name: &str, id: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s: String = s.trim_matches('-').chars().take(40).collect();
    let uuid = id.split_once("--").map(|(_, u)| u).unwrap_or(id);
    let short: String = uuid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    if s.is_empty() {
        format!("step-{short}")
    } else {
        format!("{s}-{short}")
    }
}

fn successors(step: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["on_completion", "on_success"] {
        if let Some(s) = step.get(k).and_then(Value::as_str) {
            out.push(s.to_owned());
        }
    }
    if let Some(list) = step.get("next_steps").and_then(Value::as_array) {
        out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    out
}

/// Constant variable values, by name without the underscores.
fn constants(vars: Option<&Value>, into: &mut HashMap<String, String>) {
    let Some(Value::Object(m)) = vars else { return };
    for (k, v) in m {
        let name = k.trim_matches('_').to_owned();
        if let Some(val) = v.get("value").and_then(|x| x.as_str()) {
            into.insert(name, val.to_owned());
        }
    }
}

/// Replaces `__name__` with its constant or `{{ input.name }}`.
fn substitute(text: &str, consts: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("__") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("__") else { break };
        let name = &after[..end];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        match consts.get(name) {
            Some(v) => out.push_str(v),
            None => out.push_str(&format!("{{{{ input['{name}'] }}}}")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn address_of(doc: &Value, refs: &[&str]) -> Option<String> {
    for r in refs {
        for defs in ["target_definitions", "agent_definitions"] {
            let Some(def) = doc.get(defs).and_then(|d| d.get(*r)) else {
                continue;
            };
            let addr = def.get("address");
            for k in ["url", "dname", "ipv4", "ipv6"] {
                if let Some(v) = addr
                    .and_then(|a| a.get(k))
                    .and_then(|v| v.as_array())
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                {
                    let v = v.replacen("hxxp", "http", 1);
                    return Some(if v.starts_with("http://") || v.starts_with("https://") {
                        v
                    } else {
                        format!("https://{v}")
                    });
                }
            }
        }
    }
    None
}

fn http_step(
    doc: &Value,
    step: &Value,
    cmd: &Value,
    consts: &HashMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let line = cmd
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            cmd.get("command_b64")
                .and_then(Value::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
        })
        .ok_or("http-api command without command text")?;
    let mut parts = line.split_whitespace();
    let method = parts
        .next()
        .ok_or("empty http-api command")?
        .to_ascii_uppercase();
    let target = parts.next().ok_or("http-api command without a path")?;
    let target = substitute(target, consts);
    let url = if target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("{{")
    {
        target
    } else {
        let mut refs: Vec<&str> = step
            .get("targets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(a) = step.get("agent").and_then(Value::as_str) {
            refs.push(a);
        }
        let base = address_of(doc, &refs)
            .ok_or_else(|| format!("relative path '{target}' and no target or agent address"))?;
        crate::config::Services::join(&base, &target)
    };
    let mut input = Map::new();
    input.insert("method".into(), json!(method));
    input.insert("url".into(), json!(url));
    if let Some(Value::Object(h)) = cmd.get("headers") {
        let mut headers = Map::new();
        for (k, v) in h {
            let v = match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::String(s) => s.clone(),
                _ => continue,
            };
            headers.insert(k.clone(), json!(substitute(&v, consts)));
        }
        input.insert("headers".into(), Value::Object(headers));
    }
    let body = cmd
        .get("content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            cmd.get("content_b64")
                .and_then(Value::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
        });
    if let Some(b) = body {
        input.insert("body".into(), json!(substitute(&b, consts)));
    }
    Ok(input)
}

/// Imports a CACAO v2 playbook (JSON text).
pub fn import(text: &str) -> Result<Imported, CacaoError> {
    if text.len() > crate::validate::MAX_PLAYBOOK_BYTES * 4 {
        return err("CACAO document is larger than 4 MiB");
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|e| CacaoError(format!("not JSON: {e}")))?;
    if doc.get("type").and_then(Value::as_str) != Some("playbook") {
        return err("not a CACAO playbook (type is not \"playbook\")");
    }
    if doc.get("spec_version").and_then(Value::as_str) != Some("cacao-2.0") {
        return err("spec_version is not cacao-2.0");
    }
    let workflow = match doc.get("workflow") {
        Some(Value::Object(w)) => w,
        Some(_) => {
            return err(
                "workflow must be an object of steps keyed by id (this looks like a pre-2.0 layout)",
            );
        }
        None => return err("no workflow"),
    };
    let start = doc
        .get("workflow_start")
        .and_then(Value::as_str)
        .ok_or_else(|| CacaoError("no workflow_start".into()))?;
    if !workflow.contains_key(start) {
        return err(format!("workflow_start {start} does not exist"));
    }
    for (id, s) in workflow {
        for next in successors(s).iter().chain(
            s.get("on_failure")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .iter(),
        ) {
            if !workflow.contains_key(next) {
                return err(format!("step {next} does not exist (referenced by {id})"));
            }
        }
    }
    let mut consts = HashMap::new();
    constants(doc.get("playbook_variables"), &mut consts);
    let mut unmapped = Vec::new();
    // Which CACAO steps become playbook steps, and their ids.
    let mut mapped: BTreeMap<String, Step> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = vec![start.to_owned()];
    let mut blocked = HashSet::new();
    while let Some(id) = queue.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let s = &workflow[&id];
        let kind = s.get("type").and_then(Value::as_str).unwrap_or("");
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        if let Some(f) = s.get("on_failure").and_then(Value::as_str) {
            unmapped.push(format!(
                "{id}: on_failure -> {f} is not imported (use on_failure compensation steps)"
            ));
        }
        match kind {
            "start" | "end" | "parallel" => {}
            "action" => {
                let mut local = consts.clone();
                constants(s.get("step_variables"), &mut local);
                let cmds = s
                    .get("commands")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut inputs = None;
                let mut manual = None;
                let mut problems = Vec::new();
                if cmds.len() != 1 {
                    problems.push(format!(
                        "{} commands (one per step is imported)",
                        cmds.len()
                    ));
                }
                if let Some(c) = cmds.first() {
                    match c.get("type").and_then(Value::as_str).unwrap_or("") {
                        "http-api" => match http_step(&doc, s, c, &local) {
                            Ok(i) => inputs = Some(i),
                            Err(e) => problems.push(e),
                        },
                        "manual" => {
                            let text = c.get("command").and_then(Value::as_str).unwrap_or(name);
                            manual = Some(substitute(text, &local));
                        }
                        other => {
                            problems.push(format!("command type '{other}' has no mcpsec action"))
                        }
                    }
                }
                let sid = slug(name, &id);
                if let Some(i) = inputs.filter(|_| problems.is_empty()) {
                    mapped.insert(id.clone(), step(sid, "http.request", i, None));
                    order.push(id.clone());
                } else if let Some(text) = manual.filter(|_| problems.is_empty()) {
                    let mut i = Map::new();
                    i.insert("instruction".into(), json!(text));
                    let deadline = s
                        .get("timeout")
                        .and_then(Value::as_u64)
                        .map(|ms| format!("{}s", (ms / 1000).max(60)))
                        .unwrap_or_else(|| "24h".into());
                    let approval = Approval {
                        role: Some("responder".into()),
                        approvers: Vec::new(),
                        min: None,
                        deadline,
                        on_expiry: Expiry::Reject,
                        escalate_to: None,
                    };
                    mapped.insert(id.clone(), step(sid, "noop", i, Some(approval)));
                    order.push(id.clone());
                } else {
                    unmapped.push(format!(
                        "{id} ({name}): not imported: {}",
                        problems.join("; ")
                    ));
                }
            }
            other => {
                unmapped.push(format!("{id} ({name}): '{other}' steps are not imported; steps only reachable through it are left out"));
                blocked.insert(id.clone());
                continue;
            }
        }
        let mut next = successors(s);
        next.reverse();
        queue.extend(next);
    }
    // needs: the nearest mapped predecessors, passing through start/parallel/unmapped.
    let mut needs: HashMap<String, HashSet<String>> = HashMap::new();
    for from in mapped.keys() {
        let mut stack = successors(&workflow[from]);
        let mut visited = HashSet::new();
        while let Some(n) = stack.pop() {
            if !visited.insert(n.clone()) || blocked.contains(&n) {
                continue;
            }
            if mapped.contains_key(&n) {
                needs.entry(n).or_default().insert(mapped[from].id.clone());
            } else {
                stack.extend(successors(&workflow[&n]));
            }
        }
    }
    // Playbook order: a topological-ish order following discovery.
    let mut steps = Vec::new();
    for id in &order {
        let mut s = mapped[id].clone();
        let mut n: Vec<String> = needs
            .get(id)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default();
        n.sort();
        s.needs = Some(n);
        steps.push(s);
    }
    if steps.is_empty() {
        return err(format!(
            "nothing in this playbook can be imported: {}",
            unmapped.join("; ")
        ));
    }
    let pid = doc.get("id").and_then(Value::as_str).unwrap_or("playbook");
    let pb = Playbook {
        id: pid
            .strip_prefix("playbook--")
            .map(|u| format!("cacao-{u}"))
            .unwrap_or_else(|| slug(pid, pid)),
        name: doc
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("imported")
            .to_owned(),
        description: doc
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        triggers: vec![Trigger::Manual],
        steps,
    };
    let mut diags = crate::validate::check(&pb, &crate::Registry::builtin());
    if let Some(d) = diags.iter().find(|d| d.message.starts_with("cycle")) {
        return err(format!("the workflow loops: {}", d.message));
    }
    diags.retain(|d| !d.message.contains("unknown variable"));
    if !diags.is_empty() {
        return err(crate::validate::Invalid(diags).to_string());
    }
    let yaml = serde_norway::to_string(&pb).map_err(|e| CacaoError(e.to_string()))?;
    Ok(Imported {
        playbook: pb,
        yaml,
        unmapped,
    })
}

fn step(id: String, action: &str, inputs: Map<String, Value>, approval: Option<Approval>) -> Step {
    Step {
        id,
        action: action.into(),
        inputs,
        needs: None,
        when: None,
        foreach: None,
        timeout: None,
        retry: None,
        approval,
        on_failure: Vec::new(),
    }
}

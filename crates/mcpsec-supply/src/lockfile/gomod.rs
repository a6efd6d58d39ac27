//! `go.mod`: `require` directives (single and block form, `// indirect` marks), the
//! `go` directive as the `stdlib` module, and `replace` directives applied.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

/// Reads a go.mod.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "go.mod");
    let mut reqs: Vec<(String, String, bool, usize)> = Vec::new();
    let mut replaces: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut block: Option<String> = None;
    let mut go_version = None;
    let mut saw_module = false;
    let mut toolchain: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let indirect = raw.contains("// indirect");
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(b) = &block {
            if line == ")" {
                block = None;
                continue;
            }
            let b = b.clone();
            directive(
                &b,
                line,
                indirect,
                n + 1,
                &mut reqs,
                &mut replaces,
                &mut inv,
            );
            continue;
        }
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match verb {
            "module" => saw_module = true,
            "go" => go_version = Some(rest.to_string()),
            "require" | "replace" | "exclude" | "retract" | "tool" | "godebug" | "ignore" => {
                if rest == "(" {
                    block = Some(verb.to_string());
                } else {
                    directive(
                        verb,
                        rest,
                        indirect,
                        n + 1,
                        &mut reqs,
                        &mut replaces,
                        &mut inv,
                    );
                }
            }
            "toolchain" => {
                toolchain = Some(
                    rest.trim_start_matches("go")
                        .split('-')
                        .next()
                        .unwrap_or("")
                        .to_string(),
                )
            }
            _ => inv.warn(format!("line {}: unknown directive {verb:?}", n + 1)),
        }
    }
    if !saw_module && reqs.is_empty() && !text.trim().is_empty() {
        return Err(InputError::new(
            file,
            "not a go.mod (no module or require directive)",
        ));
    }
    // the toolchain that builds the module decides which standard library is linked
    if let Some(v) = toolchain.filter(|t| !t.is_empty()).or(go_version) {
        let v = if v.matches('.').count() == 1 {
            format!("{v}.0")
        } else {
            v
        };
        let mut c = Component::new(Ecosystem::Go, "stdlib", &v, "go/toolchain directive");
        c.direct = Some(true);
        inv.push(c);
    }
    for (path, version, indirect, line) in reqs {
        let rep = replaces
            .get(&(path.clone(), version.clone()))
            .or_else(|| replaces.get(&(path.clone(), String::new())));
        let (path, version) = match rep {
            Some((p, v)) if !v.is_empty() => (p.clone(), v.clone()),
            Some((p, _)) if p.starts_with('.') || p.starts_with('/') => {
                let mut c = Component::new(
                    Ecosystem::Go,
                    &path,
                    &version,
                    format!("line {line} (replaced by local {p})"),
                );
                c.local = true;
                inv.push(c);
                continue;
            }
            _ => (path, version),
        };
        let mut c = Component::new(Ecosystem::Go, &path, &version, format!("line {line}"));
        c.direct = Some(!indirect);
        inv.push(c);
    }
    Ok(inv)
}

fn directive(
    verb: &str,
    rest: &str,
    indirect: bool,
    line: usize,
    reqs: &mut Vec<(String, String, bool, usize)>,
    replaces: &mut HashMap<(String, String), (String, String)>,
    inv: &mut Inventory,
) {
    let unq = |s: &str| s.trim().trim_matches('"').to_string();
    match verb {
        "require" => {
            let mut it = rest.split_whitespace();
            match (it.next(), it.next()) {
                (Some(p), Some(v)) => reqs.push((unq(p), unq(v), indirect, line)),
                _ => inv.warn(format!("line {line}: malformed require {rest:?}")),
            }
        }
        "replace" => {
            let Some((from, to)) = rest.split_once("=>") else {
                inv.warn(format!("line {line}: malformed replace {rest:?}"));
                return;
            };
            let mut f = from.split_whitespace();
            let from = f.next().map(unq).unwrap_or_default();
            let from_ver = f.next().map(unq).unwrap_or_default();
            let mut t = to.split_whitespace();
            let tp = t.next().map(unq).unwrap_or_default();
            let tv = t.next().map(unq).unwrap_or_default();
            replaces.insert((from, from_ver), (tp, tv));
        }
        _ => {}
    }
}

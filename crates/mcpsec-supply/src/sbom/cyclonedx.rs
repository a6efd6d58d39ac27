//! CycloneDX: `components` (nested ones too), `metadata.component` as the root, and the
//! `dependencies` graph (`ref` → `dependsOn`).

use super::PurlProblems;
use crate::inventory::{InputError, Inventory, ProductRef};
use serde_json::Value;
use std::collections::HashMap;

/// Reads a CycloneDX JSON document.
pub fn parse_cyclonedx_json(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| InputError::new(file, format!("invalid CycloneDX JSON: {e}")))?;
    if v.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(InputError::new(
            file,
            "not a CycloneDX document (bomFormat is not \"CycloneDX\")",
        ));
    }
    let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("?");
    let mut inv = Inventory::new(file, &format!("CycloneDX {spec} JSON"));
    let mut probs = PurlProblems::default();
    let mut refs: HashMap<String, usize> = HashMap::new();
    if let Some(root) = v.get("metadata").and_then(|m| m.get("component")) {
        inv.product = ProductRef {
            ids: ["bom-ref", "purl", "name"]
                .iter()
                .filter_map(|k| root.get(*k).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            version: root
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        add_json(
            &mut inv,
            &mut probs,
            &mut refs,
            root,
            "metadata.component",
            0,
        );
    }
    match v.get("components") {
        Some(Value::Array(cs)) => {
            for (i, c) in cs.iter().enumerate() {
                add_json(
                    &mut inv,
                    &mut probs,
                    &mut refs,
                    c,
                    &format!("components[{i}]"),
                    0,
                );
            }
        }
        Some(_) => inv.warn("`components` is not an array"),
        None => {}
    }
    for (i, d) in v
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(r) = d.get("ref").and_then(Value::as_str) else {
            inv.warn(format!("dependencies[{i}]: no ref"));
            continue;
        };
        let Some(&from) = refs.get(r) else { continue };
        for t in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(&to) = t.as_str().and_then(|t| refs.get(t)) {
                inv.edges.push((from, to));
            }
        }
    }
    probs.finish(&mut inv);
    Ok(inv)
}

fn add_json(
    inv: &mut Inventory,
    probs: &mut PurlProblems,
    refs: &mut HashMap<String, usize>,
    c: &Value,
    at: &str,
    depth: usize,
) {
    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
    let group = c.get("group").and_then(Value::as_str);
    let display = match group {
        Some(g) if !g.is_empty() => format!("{g}/{name}"),
        _ => name.to_string(),
    };
    let version = c.get("version").and_then(Value::as_str);
    let purl = c.get("purl").and_then(Value::as_str);
    let idx = probs.component(inv, purl, &display, version, format!("{at} ({display})"));
    if let (Some(i), Some(r)) = (idx, c.get("bom-ref").and_then(Value::as_str)) {
        refs.insert(r.to_string(), i);
        inv.components[i].bom_ref = Some(r.to_string());
    }
    match idx {
        Some(i) => inv.components[i].licenses = json_licenses(c),
        None => inv.push_unmatched(
            &display,
            version,
            purl,
            json_licenses(c),
            format!("{at} ({display})"),
        ),
    }
    if depth > 64 {
        inv.warn(format!(
            "{at}: components nested too deeply; inner ones skipped"
        ));
        return;
    }
    for (k, sub) in c
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        add_json(
            inv,
            probs,
            refs,
            sub,
            &format!("{at}.components[{k}]"),
            depth + 1,
        );
    }
}

/// `licenses`: `{license: {id|name}}` entries and `{expression}` entries.
fn json_licenses(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for l in c
        .get("licenses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = l
            .get("expression")
            .and_then(Value::as_str)
            .or_else(|| {
                let lic = l.get("license")?;
                lic.get("id")
                    .and_then(Value::as_str)
                    .or_else(|| lic.get("name").and_then(Value::as_str))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(s) = s {
            out.push(s.to_string());
        }
    }
    out
}

fn xml_licenses(c: roxmltree::Node<'_, '_>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(ls) = child(c, "licenses") else {
        return out;
    };
    for l in ls.children().filter(|n| n.is_element()) {
        let s = match l.tag_name().name() {
            "expression" => l.text().map(str::to_string),
            "license" => text_of(l, "id").or_else(|| text_of(l, "name")),
            _ => None,
        };
        if let Some(s) = s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            out.push(s);
        }
    }
    out
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(n: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
}

/// Reads a CycloneDX XML document.
pub fn parse_cyclonedx_xml(file: &str, text: &str) -> Result<Inventory, InputError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    crate::xml_guard::check_depth(text, crate::xml_guard::MAX_DEPTH)
        .map_err(|e| InputError::new(file, format!("invalid XML: {e}")))?;
    let doc = roxmltree::Document::parse_with_options(text, opts)
        .map_err(|e| InputError::new(file, format!("invalid XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "bom" {
        return Err(InputError::new(
            file,
            "not a CycloneDX document (root element is not <bom>)",
        ));
    }
    let ns = root.tag_name().namespace().unwrap_or("");
    let spec = ns.rsplit('/').next().unwrap_or("?");
    let mut inv = Inventory::new(file, &format!("CycloneDX {spec} XML"));
    let mut probs = PurlProblems::default();
    let mut refs: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<(roxmltree::Node<'_, '_>, String)> = Vec::new();
    if let Some(md) = child(root, "metadata")
        && let Some(c) = child(md, "component")
    {
        stack.push((c, "metadata/component".into()));
    }
    if let Some(cs) = child(root, "components") {
        for (i, c) in cs
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "component")
            .enumerate()
        {
            stack.push((c, format!("components/component[{}]", i + 1)));
        }
    }
    let mut order = Vec::new();
    while let Some((c, at)) = stack.pop() {
        if let Some(sub) = child(c, "components") {
            for (i, s) in sub
                .children()
                .filter(|s| s.is_element() && s.tag_name().name() == "component")
                .enumerate()
            {
                stack.push((s, format!("{at}/components/component[{}]", i + 1)));
            }
        }
        order.push((c, at));
    }
    order.sort_by_key(|(c, _)| c.range().start);
    for (c, at) in order {
        let name = text_of(c, "name").unwrap_or_else(|| "?".into());
        let display = match text_of(c, "group") {
            Some(g) if !g.is_empty() => format!("{g}/{name}"),
            _ => name,
        };
        let purl = text_of(c, "purl");
        let version = text_of(c, "version");
        let idx = probs.component(
            &mut inv,
            purl.as_deref(),
            &display,
            version.as_deref(),
            format!("{at} ({display})"),
        );
        if let (Some(i), Some(r)) = (idx, c.attribute("bom-ref")) {
            refs.insert(r.to_string(), i);
            inv.components[i].bom_ref = Some(r.to_string());
        }
        match idx {
            Some(i) => inv.components[i].licenses = xml_licenses(c),
            None => inv.push_unmatched(
                &display,
                version.as_deref(),
                purl.as_deref(),
                xml_licenses(c),
                format!("{at} ({display})"),
            ),
        }
        if at == "metadata/component" {
            let mut ids: Vec<String> = c
                .attribute("bom-ref")
                .map(str::to_string)
                .into_iter()
                .collect();
            ids.extend(text_of(c, "purl"));
            ids.extend(text_of(c, "name"));
            ids.retain(|s| !s.is_empty());
            inv.product = ProductRef {
                ids,
                version: text_of(c, "version"),
            };
        }
    }
    if let Some(deps) = child(root, "dependencies") {
        let mut walk = vec![deps];
        while let Some(n) = walk.pop() {
            for d in n
                .children()
                .filter(|d| d.is_element() && d.tag_name().name() == "dependency")
            {
                if let Some(&from) = d.attribute("ref").and_then(|r| refs.get(r)) {
                    for t in d
                        .children()
                        .filter(|t| t.is_element() && t.tag_name().name() == "dependency")
                    {
                        if let Some(&to) = t.attribute("ref").and_then(|r| refs.get(r)) {
                            inv.edges.push((from, to));
                        }
                    }
                }
                walk.push(d);
            }
        }
        inv.edges.sort_unstable();
        inv.edges.dedup();
    }
    probs.finish(&mut inv);
    Ok(inv)
}

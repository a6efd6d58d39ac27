//! Maven `pom.xml`: direct dependencies (`dependencies` and `dependencyManagement`), with
//! `${property}` references resolved from `<properties>` and the project's own version.
//! Unresolvable or missing versions are warnings (the build tool decides them).

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
}

fn interpolate(s: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut out = s.to_string();
    for _ in 0..8 {
        let Some(start) = out.find("${") else {
            return Some(out);
        };
        let end = out[start..].find('}')? + start;
        let key = &out[start + 2..end];
        let val = props.get(key)?.clone();
        out.replace_range(start..=end, &val);
    }
    None
}

/// Reads a pom.xml.
pub fn parse(file: &str, text_in: &str) -> Result<Inventory, InputError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    crate::xml_guard::check_depth(text_in, crate::xml_guard::MAX_DEPTH)
        .map_err(|e| InputError::new(file, format!("invalid XML: {e}")))?;
    let doc = roxmltree::Document::parse_with_options(text_in, opts)
        .map_err(|e| InputError::new(file, format!("invalid XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "project" {
        return Err(InputError::new(
            file,
            "not a pom.xml (root element is not <project>)",
        ));
    }
    let mut inv = Inventory::new(file, "pom.xml");
    let mut props = HashMap::new();
    if let Some(p) = child(root, "properties") {
        for c in p.children().filter(|c| c.is_element()) {
            props.insert(
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    let parent = child(root, "parent");
    let version = text(root, "version").or_else(|| parent.and_then(|p| text(p, "version")));
    let group = text(root, "groupId").or_else(|| parent.and_then(|p| text(p, "groupId")));
    for (k, v) in [
        ("project.version", &version),
        ("version", &version),
        ("project.groupId", &group),
        ("pom.version", &version),
    ] {
        if let Some(v) = v {
            props.insert(k.to_string(), v.clone());
        }
    }
    let mut lists = Vec::new();
    if let Some(d) = child(root, "dependencies") {
        lists.push(("dependencies", d));
    }
    if let Some(d) = child(root, "dependencyManagement").and_then(|m| child(m, "dependencies")) {
        lists.push(("dependencyManagement", d));
    }
    for (what, list) in lists {
        for (i, d) in list
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "dependency")
            .enumerate()
        {
            let at = format!("{what}/dependency[{}]", i + 1);
            let (Some(g), Some(a)) = (text(d, "groupId"), text(d, "artifactId")) else {
                inv.warn(format!("{at}: missing groupId or artifactId"));
                continue;
            };
            let (Some(g), Some(a)) = (interpolate(&g, &props), interpolate(&a, &props)) else {
                inv.warn(format!("{at}: unresolved property in coordinates"));
                continue;
            };
            let Some(raw) = text(d, "version") else {
                inv.warn(format!(
                    "{at} {g}:{a}: no version (managed by a parent or BOM); not matched"
                ));
                continue;
            };
            let Some(v) = interpolate(&raw, &props) else {
                inv.warn(format!(
                    "{at} {g}:{a}: version {raw:?} refers to an unknown property; not matched"
                ));
                continue;
            };
            // a range such as [1.0,2.0) is not a version
            if v.starts_with('[') || v.starts_with('(') {
                inv.warn(format!("{at} {g}:{a}: version range {v:?}; not matched"));
                continue;
            }
            let mut c = Component::new(Ecosystem::Maven, &format!("{g}:{a}"), &v, at);
            c.direct = Some(true);
            inv.push(c);
        }
    }
    Ok(inv)
}

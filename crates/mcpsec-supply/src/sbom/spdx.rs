//! SPDX 2.2/2.3: packages with a `PACKAGE-MANAGER`/`purl` external reference, and
//! `DEPENDS_ON`/`DEPENDENCY_OF`/`CONTAINS` relationships as edges. SPDX 3 (JSON-LD) is
//! handed to [`super::spdx3`].

use super::PurlProblems;
use crate::inventory::{InputError, Inventory};
use serde_json::Value;
use std::collections::HashMap;

fn relation(inv: &mut Inventory, ids: &HashMap<String, usize>, a: &str, kind: &str, b: &str) {
    let (Some(&x), Some(&y)) = (ids.get(a), ids.get(b)) else {
        return;
    };
    match kind {
        "DEPENDS_ON"
        | "CONTAINS"
        | "DEV_DEPENDENCY_OF_REVERSED"
        | "BUILD_DEPENDENCY_OF_REVERSED" => inv.edges.push((x, y)),
        "DEPENDENCY_OF"
        | "CONTAINED_BY"
        | "DEV_DEPENDENCY_OF"
        | "BUILD_DEPENDENCY_OF"
        | "RUNTIME_DEPENDENCY_OF"
        | "OPTIONAL_DEPENDENCY_OF" => inv.edges.push((y, x)),
        _ => {}
    }
}

/// The concluded licence unless it is NOASSERTION/NONE/empty, else the declared one.
fn spdx_license(concluded: Option<&str>, declared: Option<&str>) -> Vec<String> {
    let usable = |s: &&str| {
        let t = s.trim();
        !t.is_empty() && t != "NOASSERTION" && t != "NONE"
    };
    concluded
        .filter(usable)
        .or(declared.filter(usable))
        .map(|s| vec![s.trim().to_string()])
        .unwrap_or_default()
}

/// Reads an SPDX 2.x JSON document (or an SPDX 3.0 JSON-LD one).
pub fn parse_spdx_json(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| InputError::new(file, format!("invalid SPDX JSON: {e}")))?;
    if super::spdx3::is_spdx3(&v) {
        return super::spdx3::parse_spdx3_json(file, &v);
    }
    if v.get("@context").is_some() {
        return Err(InputError::new(
            file,
            "a JSON-LD document that is not SPDX 3 (its @context names no spdx.org/rdf/3)",
        ));
    }
    let Some(ver) = v.get("spdxVersion").and_then(Value::as_str) else {
        return Err(InputError::new(
            file,
            "not an SPDX 2.x document (no spdxVersion)",
        ));
    };
    let mut inv = Inventory::new(file, &format!("{ver} JSON"));
    let mut probs = PurlProblems::default();
    let mut ids = HashMap::new();
    for (i, p) in v
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        let version = p.get("versionInfo").and_then(Value::as_str);
        let purl = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .and_then(|r| r.get("referenceLocator").and_then(Value::as_str));
        let idx = probs.component(
            &mut inv,
            purl,
            name,
            version,
            format!("packages[{i}] ({name})"),
        );
        let lic = spdx_license(
            p.get("licenseConcluded").and_then(Value::as_str),
            p.get("licenseDeclared").and_then(Value::as_str),
        );
        match idx {
            Some(ix) => inv.components[ix].licenses = lic,
            None => inv.push_unmatched(name, version, purl, lic, format!("packages[{i}] ({name})")),
        }
        if let (Some(ix), Some(id)) = (idx, p.get("SPDXID").and_then(Value::as_str)) {
            ids.insert(id.to_string(), ix);
            inv.components[ix].bom_ref = Some(id.to_string());
        }
    }
    for r in v
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let a = r.get("spdxElementId").and_then(Value::as_str).unwrap_or("");
        let k = r
            .get("relationshipType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let b = r
            .get("relatedSpdxElement")
            .and_then(Value::as_str)
            .unwrap_or("");
        relation(&mut inv, &ids, a, k, b);
    }
    probs.finish(&mut inv);
    Ok(inv)
}

/// Reads an SPDX 2.x tag-value document.
pub fn parse_spdx_tag_value(file: &str, text: &str) -> Result<Inventory, InputError> {
    let ver = text
        .lines()
        .find_map(|l| l.strip_prefix("SPDXVersion:"))
        .map(str::trim)
        .ok_or_else(|| InputError::new(file, "not SPDX tag-value (no SPDXVersion)"))?;
    let mut inv = Inventory::new(file, &format!("{ver} tag-value"));
    let mut probs = PurlProblems::default();
    let mut ids = HashMap::new();
    struct Pkg {
        name: String,
        id: String,
        version: Option<String>,
        purl: Option<String>,
        line: usize,
        concluded: Option<String>,
        declared: Option<String>,
    }
    let mut pkgs: Vec<Pkg> = Vec::new();
    let mut rels = Vec::new();
    let mut in_text = false;
    for (n, line) in text.lines().enumerate() {
        if in_text {
            if line.contains("</text>") {
                in_text = false;
            }
            continue;
        }
        if line.contains("<text>") && !line.contains("</text>") {
            in_text = true;
        }
        let Some((k, val)) = line.split_once(':') else {
            continue;
        };
        let val = val.trim();
        match k.trim() {
            "PackageName" => pkgs.push(Pkg {
                name: val.into(),
                id: String::new(),
                version: None,
                purl: None,
                line: n + 1,
                concluded: None,
                declared: None,
            }),
            "PackageLicenseConcluded" => {
                if let Some(p) = pkgs.last_mut() {
                    p.concluded = Some(val.into());
                }
            }
            "PackageLicenseDeclared" => {
                if let Some(p) = pkgs.last_mut() {
                    p.declared = Some(val.into());
                }
            }
            "SPDXID" => {
                if let Some(p) = pkgs.last_mut().filter(|p| p.id.is_empty()) {
                    p.id = val.into();
                }
            }
            "PackageVersion" => {
                if let Some(p) = pkgs.last_mut() {
                    p.version = Some(val.into());
                }
            }
            "ExternalRef" => {
                let parts: Vec<&str> = val.split_whitespace().collect();
                if parts.len() >= 3
                    && parts[1] == "purl"
                    && let Some(p) = pkgs.last_mut()
                {
                    p.purl = Some(parts[2].into());
                }
            }
            "Relationship" => {
                let parts: Vec<&str> = val.split_whitespace().collect();
                if parts.len() == 3 {
                    rels.push((
                        parts[0].to_string(),
                        parts[1].to_string(),
                        parts[2].to_string(),
                    ));
                }
            }
            "FileName" | "SnippetSPDXID" => {
                // a file section starts: later SPDXIDs are not the package's
                if let Some(p) = pkgs.last_mut().filter(|p| p.id.is_empty()) {
                    p.id = "-".into();
                }
            }
            _ => {}
        }
    }
    for p in pkgs {
        let idx = probs.component(
            &mut inv,
            p.purl.as_deref(),
            &p.name,
            p.version.as_deref(),
            format!("line {} PackageName {}", p.line, p.name),
        );
        if idx.is_none() {
            inv.push_unmatched(
                &p.name,
                p.version.as_deref(),
                p.purl.as_deref(),
                spdx_license(p.concluded.as_deref(), p.declared.as_deref()),
                format!("line {} PackageName {}", p.line, p.name),
            );
        }
        if let Some(i) = idx {
            inv.components[i].licenses =
                spdx_license(p.concluded.as_deref(), p.declared.as_deref());
            inv.components[i].bom_ref = Some(p.id.clone()).filter(|x| !x.is_empty() && x != "-");
            ids.insert(p.id, i);
        }
    }
    for (a, k, b) in rels {
        relation(&mut inv, &ids, &a, &k, &b);
    }
    probs.finish(&mut inv);
    Ok(inv)
}

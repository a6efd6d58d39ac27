//! SPDX 3.0 JSON-LD (the compact serialisation with `@context` and `@graph`): package
//! elements (`software_Package` and its profiles' subclasses such as `ai_AIPackage`,
//! `dataset_DatasetPackage`) with a purl in `software_packageUrl` or an
//! `externalIdentifier` of type `packageUrl`; `dependsOn`/`contains`/link relationships as
//! edges; licences from `hasConcludedLicense` (else `hasDeclaredLicense`) relationships to
//! licence elements; the package(s) the document describes as the product.
//!
//! The document is read as plain JSON, not expanded as JSON-LD: the `@context` is never
//! fetched (no network), and IRIs are matched in their compact form, which is what every
//! SPDX 3 producer writes.

use super::PurlProblems;
use crate::inventory::{InputError, Inventory};
use serde_json::Value;
use std::collections::HashMap;

/// Most elements read from one document (a larger one is refused, not truncated).
const MAX_ELEMENTS: usize = 2_000_000;

/// Whether a JSON value looks like an SPDX 3 document.
pub(crate) fn is_spdx3(v: &Value) -> bool {
    let ctx = match v.get("@context") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return false,
    };
    ctx.contains("spdx.org/rdf/3")
}

fn ty(e: &Value) -> &str {
    e.get("type")
        .or_else(|| e.get("@type"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `software_Package`, `ai_AIPackage`, `dataset_DatasetPackage`, or a full IRI of one.
fn is_package(t: &str) -> bool {
    let last = t.rsplit(['/', '_']).next().unwrap_or(t);
    last == "Package" || last == "AIPackage" || last == "DatasetPackage"
}

fn id(e: &Value) -> Option<&str> {
    e.get("spdxId")
        .or_else(|| e.get("@id"))
        .and_then(Value::as_str)
}

fn str_field<'a>(e: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| e.get(*n).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

fn purl_of(e: &Value) -> Option<&str> {
    if let Some(p) = str_field(e, &["software_packageUrl", "packageUrl"]) {
        return Some(p);
    }
    e.get("externalIdentifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|x| {
            str_field(x, &["externalIdentifierType"])
                .is_some_and(|t| t.eq_ignore_ascii_case("packageUrl"))
        })
        .and_then(|x| str_field(x, &["identifier"]))
}

/// The licence text a licence element stands for: an expression, a listed licence's id
/// (last segment of its IRI), a custom licence's name; `None` for NoAssertion/None.
fn license_of(e: Option<&Value>, target: &str) -> Option<String> {
    let last = target.rsplit('/').next().unwrap_or(target);
    if matches!(last, "NoAssertionLicense" | "NoneLicense") {
        return None;
    }
    let Some(e) = e else {
        // a listed licence named by its IRI only (https://spdx.org/licenses/MIT)
        return target
            .contains("spdx.org/licenses/")
            .then(|| last.to_string());
    };
    if let Some(x) = str_field(
        e,
        &["simplelicensing_licenseExpression", "licenseExpression"],
    ) {
        let x = x.trim();
        return (x != "NOASSERTION" && x != "NONE").then(|| x.to_string());
    }
    let t = ty(e);
    if t.ends_with("ListedLicense") || t.ends_with("ListedLicenseException") {
        return Some(
            id(e)
                .unwrap_or(target)
                .rsplit('/')
                .next()
                .unwrap_or(last)
                .to_string(),
        );
    }
    if t.ends_with("CustomLicense") {
        return str_field(e, &["name"]).map(|n| {
            if n.starts_with("LicenseRef-") {
                n.to_string()
            } else {
                format!("LicenseRef-{}", n.replace(' ', "-"))
            }
        });
    }
    None
}

/// Reads an SPDX 3.0 JSON-LD document.
pub fn parse_spdx3_json(file: &str, v: &Value) -> Result<Inventory, InputError> {
    let graph: Vec<&Value> = match v.get("@graph") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(InputError::new(file, "SPDX 3: @graph is not an array")),
        None if v.get("type").is_some() => vec![v],
        None => return Err(InputError::new(file, "SPDX 3: no @graph")),
    };
    if graph.len() > MAX_ELEMENTS {
        return Err(InputError::new(
            file,
            format!("SPDX 3: {} elements (limit {MAX_ELEMENTS})", graph.len()),
        ));
    }
    let version = v
        .get("@context")
        .and_then(Value::as_str)
        .and_then(|c| c.split("/rdf/").nth(1))
        .and_then(|r| r.split('/').next())
        .unwrap_or("3.0");
    let mut inv = Inventory::new(file, &format!("SPDX-{version} JSON-LD"));
    let by_id: HashMap<&str, &Value> = graph.iter().filter_map(|e| Some((id(e)?, *e))).collect();
    // relationships, read first: licences and the described roots are needed per package
    let mut concluded: HashMap<&str, Vec<String>> = HashMap::new();
    let mut declared: HashMap<&str, Vec<String>> = HashMap::new();
    let mut edges: Vec<(&str, &str)> = Vec::new();
    let mut roots: Vec<&str> = Vec::new();
    for (i, e) in graph.iter().enumerate() {
        if !ty(e).ends_with("Relationship") {
            if ty(e).ends_with("SpdxDocument") || ty(e).ends_with("Sbom") {
                roots.extend(
                    e.get("rootElement")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
            }
            continue;
        }
        let Some(from) = str_field(e, &["from"]) else {
            inv.warn(format!("@graph[{i}]: relationship without `from`; skipped"));
            continue;
        };
        let to: Vec<&str> = match e.get("to") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => vec![],
        };
        let kind = str_field(e, &["relationshipType"]).unwrap_or("");
        for t in to {
            match kind {
                "hasConcludedLicense" | "hasDeclaredLicense" => {
                    if let Some(l) = license_of(by_id.get(t).copied(), t) {
                        let map = if kind == "hasConcludedLicense" {
                            &mut concluded
                        } else {
                            &mut declared
                        };
                        map.entry(from).or_default().push(l);
                    }
                }
                "dependsOn"
                | "contains"
                | "hasDynamicLink"
                | "hasStaticLink"
                | "hasOptionalDependency"
                | "hasProvidedDependency" => edges.push((from, t)),
                "describes" => roots.push(t),
                _ => {}
            }
        }
    }
    let mut probs = PurlProblems::default();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, e) in graph.iter().enumerate() {
        if !is_package(ty(e)) {
            continue;
        }
        let sid = id(e);
        let name = str_field(e, &["name"]).unwrap_or("?");
        let version = str_field(e, &["software_packageVersion", "packageVersion"]);
        let purl = purl_of(e);
        let described = sid.is_some_and(|s| roots.contains(&s));
        let location = if described && purl.is_none() {
            format!("metadata (@graph[{i}] {name})")
        } else {
            format!("@graph[{i}] ({name})")
        };
        let lic = sid
            .and_then(|s| concluded.get(s).or_else(|| declared.get(s)))
            .cloned()
            .unwrap_or_default();
        let idx = probs.component(&mut inv, purl, name, version, location.clone());
        match idx {
            Some(ix) => {
                inv.components[ix].licenses = lic;
                inv.components[ix].bom_ref = sid.map(str::to_string);
                if let Some(s) = sid {
                    ids.insert(s, ix);
                }
            }
            None => inv.push_unmatched(name, version, purl, lic, location),
        }
        if described {
            inv.product.ids.extend(sid.map(str::to_string));
            inv.product.ids.extend(purl.map(str::to_string));
            inv.product.ids.push(name.to_string());
            if inv.product.version.is_none() {
                inv.product.version = version.map(str::to_string);
            }
        }
    }
    for (a, b) in edges {
        if let (Some(&x), Some(&y)) = (ids.get(a), ids.get(b)) {
            inv.edges.push((x, y));
        }
    }
    // packages the described roots depend on directly
    let root_ix: Vec<usize> = roots.iter().filter_map(|r| ids.get(r).copied()).collect();
    if !root_ix.is_empty() {
        let direct: Vec<usize> = inv
            .edges
            .iter()
            .filter(|(a, _)| root_ix.contains(a))
            .map(|&(_, b)| b)
            .collect();
        for (i, c) in inv.components.iter_mut().enumerate() {
            if !root_ix.contains(&i) && !inv.edges.is_empty() {
                c.direct = Some(direct.contains(&i));
            }
        }
    }
    probs.finish(&mut inv);
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Inventory, InputError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| InputError::new("t", e.to_string()))?;
        parse_spdx3_json("t", &v)
    }

    const DOC: &str = r#"{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[
      {"type":"SpdxDocument","spdxId":"urn:d","rootElement":["urn:app"]},
      {"type":"software_Package","spdxId":"urn:app","name":"app","software_packageVersion":"1.0"},
      {"type":"software_Package","spdxId":"urn:a","name":"lodash","software_packageVersion":"4.17.20",
       "software_packageUrl":"pkg:npm/lodash@4.17.20"},
      {"type":"software_Package","spdxId":"urn:b","name":"minimist",
       "externalIdentifier":[{"type":"ExternalIdentifier","externalIdentifierType":"packageUrl","identifier":"pkg:npm/minimist@1.2.5"}]},
      {"type":"software_Package","spdxId":"urn:c","name":"thing","software_packageUrl":"pkg:weird/thing@1"},
      {"type":"simplelicensing_LicenseExpression","spdxId":"urn:l1","simplelicensing_licenseExpression":"MIT OR Apache-2.0"},
      {"type":"Relationship","spdxId":"urn:r1","from":"urn:app","relationshipType":"dependsOn","to":["urn:a"]},
      {"type":"Relationship","spdxId":"urn:r2","from":"urn:a","relationshipType":"dependsOn","to":["urn:b","urn:missing"]},
      {"type":"Relationship","spdxId":"urn:r3","from":"urn:a","relationshipType":"hasConcludedLicense","to":["urn:l1"]},
      {"type":"Relationship","spdxId":"urn:r4","from":"urn:b","relationshipType":"hasDeclaredLicense","to":["https://spdx.org/licenses/ISC"]},
      {"type":"Relationship","spdxId":"urn:r5","from":"urn:b","relationshipType":"hasConcludedLicense","to":["https://spdx.org/rdf/3.0.1/terms/SimpleLicensing/NoAssertionLicense"]},
      {"type":"Relationship","spdxId":"urn:r6","relationshipType":"dependsOn","to":["urn:a"]}
    ]}"#;

    #[test]
    fn packages_purls_edges_and_licences() {
        let inv = parse(DOC).expect("parse");
        assert_eq!(inv.format, "SPDX-3.0.1 JSON-LD");
        let names: Vec<(&str, &str)> = inv
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(names, [("lodash", "4.17.20"), ("minimist", "1.2.5")]);
        assert_eq!(inv.edges, [(0, 1)]);
        assert_eq!(inv.components[0].licenses, ["MIT OR Apache-2.0"]);
        assert_eq!(
            inv.components[1].licenses,
            ["ISC"],
            "NoAssertion falls back to declared"
        );
        assert_eq!(inv.components[0].bom_ref.as_deref(), Some("urn:a"));
        assert!(inv.product.ids.contains(&"app".to_string()));
        assert!(
            inv.warnings.iter().any(|w| w.contains("without `from`")),
            "{:?}",
            inv.warnings
        );
        assert!(
            inv.warnings.iter().any(|w| w.contains("\"weird\"")),
            "{:?}",
            inv.warnings
        );
        assert_eq!(
            inv.unmatched.len(),
            1,
            "thing (unknown purl type) kept for licences"
        );
    }

    #[test]
    fn hostile_and_malformed_documents_are_errors_or_warnings() {
        assert!(parse(r#"{"@context":"https://spdx.org/rdf/3.0.1/x","@graph":{}}"#).is_err());
        assert!(parse(r#"{"@context":"https://spdx.org/rdf/3.0.1/x"}"#).is_err());
        // wrong types everywhere: read as nothing, no panic
        let inv = parse(
            r#"{"@context":"https://spdx.org/rdf/3.0.1/x","@graph":[1,"x",null,
              {"type":7},{"type":"software_Package","name":5,"software_packageUrl":["a"]},
              {"type":"software_Package","name":"bad","software_packageUrl":"pkg:"},
              {"type":"Relationship","from":"a","to":{"x":1},"relationshipType":"dependsOn"}]}"#,
        )
        .expect("read");
        assert!(inv.components.is_empty());
        assert!(
            inv.warnings.iter().any(|w| w.contains("bad")),
            "{:?}",
            inv.warnings
        );
        // a dependency cycle is kept as edges, not followed
        let cyc = DOC.replace(
            r#""relationshipType":"dependsOn","to":["urn:a"]}"#,
            r#""relationshipType":"dependsOn","to":["urn:a"]},
              {"type":"Relationship","spdxId":"urn:r7","from":"urn:b","relationshipType":"dependsOn","to":["urn:a"]}"#,
        );
        let inv = parse(&cyc).expect("cycle");
        assert!(inv.edges.contains(&(1, 0)) && inv.edges.contains(&(0, 1)));
        assert_eq!(inv.path_to(1).len(), 2);
    }
}

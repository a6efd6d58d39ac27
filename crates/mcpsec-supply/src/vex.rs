//! VEX (Vulnerability Exploitability eXchange): reading OpenVEX documents and the
//! `vulnerabilities[].analysis` of CycloneDX BOM/VEX documents (JSON and XML), and
//! applying their statements to scan findings.
//!
//! A statement applies to a finding when the vulnerability matches (the finding's id or
//! any of its aliases equals the statement's id or one of its aliases) and a product
//! matches: a purl matches the finding's component (type, namespace, name, and version
//! when the statement gives one; qualifiers and subpath are ignored), a bom-ref (also
//! inside a BOM-link `urn:cdx:…#ref`) matches the component's bom-ref, and a purl or
//! bom-ref of the scanned input's own product (`metadata.component`) matches every
//! finding of that input. OpenVEX `subcomponents`, when given, are matched instead of
//! the product. When several statements apply, the newest (by timestamp) wins, then the
//! one read last. `not_affected` and `fixed` suppress the finding; `affected` and
//! `under_investigation` annotate it.

use crate::inventory::ProductRef;
use crate::purl::Purl;
use crate::scan::{Finding, ScanReport};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// Largest VEX document accepted.
pub const MAX_VEX_BYTES: u64 = 64 * 1024 * 1024;

/// A VEX status (OpenVEX names; CycloneDX analysis states are mapped onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// Not affected (CycloneDX `not_affected`, `false_positive`): suppresses.
    NotAffected,
    /// Fixed (CycloneDX `resolved`, `resolved_with_pedigree`): suppresses.
    Fixed,
    /// Affected (CycloneDX `exploitable`): annotates.
    Affected,
    /// Under investigation (CycloneDX `in_triage`): annotates.
    UnderInvestigation,
}

impl VexStatus {
    /// Parses an OpenVEX status or a CycloneDX analysis state.
    pub fn parse(s: &str) -> Option<VexStatus> {
        Some(match s {
            "not_affected" | "false_positive" => VexStatus::NotAffected,
            "fixed" | "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
            "affected" | "exploitable" => VexStatus::Affected,
            "under_investigation" | "in_triage" => VexStatus::UnderInvestigation,
            _ => return None,
        })
    }

    /// Whether findings with this status are suppressed.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    /// The OpenVEX name.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "fixed",
            VexStatus::Affected => "affected",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// One statement about one vulnerability.
#[derive(Debug, Clone, PartialEq)]
pub struct VexStatement {
    /// Vulnerability id (CVE, GHSA...).
    pub vulnerability: String,
    /// Other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// Products: purls or bom-refs.
    pub products: Vec<String>,
    /// OpenVEX subcomponents (purls); when present they are matched instead of products.
    pub subcomponents: Vec<String>,
    /// Versions the statement is limited to (CycloneDX `affects[].versions`): exact
    /// versions or `vers:` ranges. Empty: every version.
    pub versions: Vec<String>,
    /// Status.
    pub status: VexStatus,
    /// Justification (`vulnerable_code_not_present`, `code_not_reachable`...).
    pub justification: Option<String>,
    /// Impact statement or analysis detail.
    pub detail: Option<String>,
    /// Action statement or CycloneDX responses.
    pub action: Option<String>,
    /// Statement (or document) timestamp, RFC 3339.
    pub timestamp: Option<String>,
    /// Where it comes from: `file statements[i]` or `file vulnerabilities[i]`.
    pub source: String,
}

/// A VEX document read from a file.
#[derive(Debug, Clone, Default)]
pub struct VexDocument {
    /// The file.
    pub file: String,
    /// `OpenVEX` or `CycloneDX x.y`.
    pub format: String,
    /// The usable statements.
    pub statements: Vec<VexStatement>,
    /// Statements that could not be used, naming the element.
    pub warnings: Vec<String>,
}

/// A whole VEX document that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct VexError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

fn verr(file: &str, message: impl Into<String>) -> VexError {
    VexError {
        file: file.to_string(),
        message: message.into(),
    }
}

/// What VEX did to a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VexApplied {
    /// The status.
    pub status: VexStatus,
    /// The justification, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Impact statement / detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Action statement / responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The statement's vulnerability id.
    pub vulnerability: String,
    /// The file and element of the statement.
    pub source: String,
}

/// Reads a VEX file (OpenVEX JSON, or CycloneDX JSON or XML with `vulnerabilities`).
pub fn load_vex(path: &Path) -> Result<VexDocument, VexError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| verr(&file, format!("cannot read: {e}")))?;
    if meta.len() > MAX_VEX_BYTES {
        return Err(verr(
            &file,
            format!("too large ({} bytes; limit {MAX_VEX_BYTES})", meta.len()),
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| verr(&file, format!("cannot read: {e}")))?;
    parse_vex(&file, &text)
}

/// Parses a VEX document's text; `file` names it in messages.
pub fn parse_vex(file: &str, text: &str) -> Result<VexDocument, VexError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('<') {
        return parse_cyclonedx_xml(file, text);
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| verr(file, format!("invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err(verr(
            file,
            "not a VEX document (expected an OpenVEX or CycloneDX JSON object)",
        ));
    }
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Ok(parse_cyclonedx(file, &v));
    }
    let ctx = v.get("@context").and_then(Value::as_str).unwrap_or("");
    if ctx.contains("openvex") || v.get("statements").is_some() {
        return parse_openvex(file, &v);
    }
    Err(verr(
        file,
        "not a VEX document (neither OpenVEX `@context`/`statements` nor CycloneDX `bomFormat`)",
    ))
}

fn str_of(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An OpenVEX product or subcomponent: a string, or an object with `@id` and/or
/// `identifiers.purl`.
fn openvex_ids(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for p in v.and_then(Value::as_array).into_iter().flatten() {
        match p {
            Value::String(s) => out.push(s.clone()),
            Value::Object(_) => {
                if let Some(id) = str_of(p, "@id") {
                    out.push(id);
                }
                if let Some(purl) = p.get("identifiers").and_then(|i| str_of(i, "purl")) {
                    out.push(purl);
                }
            }
            _ => {}
        }
    }
    out
}

fn parse_openvex(file: &str, v: &Value) -> Result<VexDocument, VexError> {
    let Some(stmts) = v.get("statements").and_then(Value::as_array) else {
        return Err(verr(file, "OpenVEX document without a `statements` array"));
    };
    let doc_ts = str_of(v, "timestamp");
    let mut doc = VexDocument {
        file: file.to_string(),
        format: "OpenVEX".into(),
        ..Default::default()
    };
    for (i, s) in stmts.iter().enumerate() {
        let at = format!("statements[{i}]");
        let (vuln, mut aliases) = match s.get("vulnerability") {
            Some(Value::String(id)) => (id.trim().to_string(), vec![]),
            Some(o @ Value::Object(_)) => {
                let mut al: Vec<String> = o
                    .get("aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect();
                match str_of(o, "name") {
                    Some(n) => (n, al),
                    None => match str_of(o, "@id") {
                        Some(id) => (id, al),
                        None if !al.is_empty() => {
                            let first = al.remove(0);
                            (first, al)
                        }
                        None => (String::new(), al),
                    },
                }
            }
            _ => (String::new(), vec![]),
        };
        if vuln.is_empty() {
            doc.warnings
                .push(format!("{file}: {at}: no vulnerability name; skipped"));
            continue;
        }
        aliases.retain(|a| !a.trim().is_empty());
        let Some(status) = s
            .get("status")
            .and_then(Value::as_str)
            .and_then(VexStatus::parse)
        else {
            doc.warnings.push(format!(
                "{file}: {at} ({vuln}): missing or unknown status {}; skipped",
                s.get("status").map(Value::to_string).unwrap_or_default()
            ));
            continue;
        };
        let products = openvex_ids(s.get("products"));
        let subcomponents = s
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|p| openvex_ids(p.get("subcomponents")))
            .collect::<Vec<_>>();
        if products.is_empty() {
            doc.warnings
                .push(format!("{file}: {at} ({vuln}): no products; skipped"));
            continue;
        }
        let justification = str_of(s, "justification");
        if status == VexStatus::NotAffected
            && justification.is_none()
            && str_of(s, "impact_statement").is_none()
        {
            doc.warnings.push(format!(
                "{file}: {at} ({vuln}): not_affected without justification or impact_statement (required by OpenVEX); applied anyway"
            ));
        }
        doc.statements.push(VexStatement {
            vulnerability: vuln,
            aliases,
            products,
            subcomponents,
            versions: vec![],
            status,
            justification,
            detail: str_of(s, "impact_statement").or_else(|| str_of(s, "status_notes")),
            action: str_of(s, "action_statement"),
            timestamp: str_of(s, "timestamp")
                .or_else(|| str_of(s, "last_updated"))
                .or_else(|| doc_ts.clone()),
            source: format!("{file} {at}"),
        });
    }
    Ok(doc)
}

fn parse_cyclonedx(file: &str, v: &Value) -> VexDocument {
    let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("?");
    let mut doc = VexDocument {
        file: file.to_string(),
        format: format!("CycloneDX {spec}"),
        ..Default::default()
    };
    let doc_ts = v.get("metadata").and_then(|m| str_of(m, "timestamp"));
    let vulns = match v.get("vulnerabilities") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            doc.warnings
                .push(format!("{file}: `vulnerabilities` is not an array"));
            &[]
        }
        None => {
            doc.warnings.push(format!(
                "{file}: CycloneDX document without `vulnerabilities`: no VEX statements"
            ));
            &[]
        }
    };
    for (i, x) in vulns.iter().enumerate() {
        let at = format!("vulnerabilities[{i}]");
        let Some(id) = str_of(x, "id") else {
            doc.warnings.push(format!("{file}: {at}: no id; skipped"));
            continue;
        };
        let Some(analysis) = x.get("analysis").filter(|a| a.is_object()) else {
            // a plain vulnerability report (VDR): nothing to apply
            continue;
        };
        let Some(status) = analysis
            .get("state")
            .and_then(Value::as_str)
            .and_then(VexStatus::parse)
        else {
            doc.warnings.push(format!(
                "{file}: {at} ({id}): analysis without a known state; skipped"
            ));
            continue;
        };
        let aliases: Vec<String> = x
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| str_of(r, "id"))
            .collect();
        let mut products = Vec::new();
        let mut versions = Vec::new();
        for a in x
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = str_of(a, "ref") {
                products.push(r);
            }
            for ver in a
                .get("versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = str_of(ver, "version").or_else(|| str_of(ver, "range")) {
                    versions.push(s);
                }
            }
        }
        if products.is_empty() {
            doc.warnings
                .push(format!("{file}: {at} ({id}): no affects[].ref; skipped"));
            continue;
        }
        let responses: Vec<String> = analysis
            .get("response")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect();
        doc.statements.push(VexStatement {
            vulnerability: id,
            aliases,
            products,
            subcomponents: vec![],
            versions,
            status,
            justification: str_of(analysis, "justification"),
            detail: str_of(analysis, "detail"),
            action: (!responses.is_empty()).then(|| responses.join(", ")),
            timestamp: str_of(analysis, "lastUpdated")
                .or_else(|| str_of(x, "updated"))
                .or_else(|| doc_ts.clone()),
            source: format!("{file} {at}"),
        });
    }
    doc
}

fn kid<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn kids<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn ktext(n: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    kid(n, name)
        .and_then(|c| c.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// CycloneDX XML: `<vulnerabilities><vulnerability>` with `<analysis>` and
/// `<affects><target><ref>` (1.4 and later).
fn parse_cyclonedx_xml(file: &str, text: &str) -> Result<VexDocument, VexError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    crate::xml_guard::check_depth(text, crate::xml_guard::MAX_DEPTH)
        .map_err(|e| verr(file, format!("invalid XML: {e}")))?;
    let doc = roxmltree::Document::parse_with_options(text, opts)
        .map_err(|e| verr(file, format!("invalid XML: {e}")))?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    if root.tag_name().name() != "bom" || !ns.contains("cyclonedx.org/schema/bom") {
        return Err(verr(
            file,
            "not a VEX document (XML root is not a CycloneDX <bom>)",
        ));
    }
    let mut out = VexDocument {
        file: file.to_string(),
        format: format!("CycloneDX {} XML", ns.rsplit('/').next().unwrap_or("?")),
        ..Default::default()
    };
    let doc_ts = kid(root, "metadata").and_then(|m| ktext(m, "timestamp"));
    let Some(vulns) = kid(root, "vulnerabilities") else {
        out.warnings.push(format!(
            "{file}: CycloneDX document without <vulnerabilities>: no VEX statements"
        ));
        return Ok(out);
    };
    for (i, x) in kids(vulns, "vulnerability").enumerate() {
        let at = format!("vulnerabilities/vulnerability[{}]", i + 1);
        let Some(id) = ktext(x, "id") else {
            out.warnings.push(format!("{file}: {at}: no <id>; skipped"));
            continue;
        };
        let Some(analysis) = kid(x, "analysis") else {
            continue;
        };
        let Some(status) = ktext(analysis, "state")
            .as_deref()
            .and_then(VexStatus::parse)
        else {
            out.warnings.push(format!(
                "{file}: {at} ({id}): analysis without a known state; skipped"
            ));
            continue;
        };
        let aliases: Vec<String> = kid(x, "references")
            .into_iter()
            .flat_map(|r| kids(r, "reference"))
            .filter_map(|r| ktext(r, "id"))
            .collect();
        let mut products = Vec::new();
        let mut versions = Vec::new();
        for t in kid(x, "affects")
            .into_iter()
            .flat_map(|a| kids(a, "target"))
        {
            products.extend(ktext(t, "ref"));
            for v in kid(t, "versions")
                .into_iter()
                .flat_map(|vs| kids(vs, "version"))
            {
                versions.extend(ktext(v, "version").or_else(|| ktext(v, "range")));
            }
        }
        if products.is_empty() {
            out.warnings.push(format!(
                "{file}: {at} ({id}): no affects/target/ref; skipped"
            ));
            continue;
        }
        let responses: Vec<String> = kid(analysis, "responses")
            .into_iter()
            .flat_map(|r| kids(r, "response"))
            .filter_map(|r| r.text().map(|t| t.trim().to_string()))
            .collect();
        out.statements.push(VexStatement {
            vulnerability: id,
            aliases,
            products,
            subcomponents: vec![],
            versions,
            status,
            justification: ktext(analysis, "justification"),
            detail: ktext(analysis, "detail"),
            action: (!responses.is_empty()).then(|| responses.join(", ")),
            timestamp: ktext(analysis, "lastUpdated")
                .or_else(|| ktext(x, "updated"))
                .or_else(|| doc_ts.clone()),
            source: format!("{file} {at}"),
        });
    }
    Ok(out)
}

/// The bom-ref a BOM-link (`urn:cdx:serial/version#ref`) points to, or the input.
fn bom_ref_of(r: &str) -> String {
    match r.strip_prefix("urn:cdx:").and_then(|x| x.split_once('#')) {
        Some((_, frag)) => decode_fragment(frag),
        None => r.to_string(),
    }
}

fn decode_fragment(s: &str) -> String {
    // BOM-link fragments percent-encode the bom-ref; purls inside stay parseable
    s.replace("%23", "#")
        .replace("%3F", "?")
        .replace("%3f", "?")
        .replace("%40", "@")
}

/// Whether a statement's purl denotes a component's purl: same type, namespace and name
/// (ASCII case-insensitive), and same version when the statement names one. Qualifiers
/// and subpaths are ignored.
pub fn purl_matches(statement: &str, component: &str) -> bool {
    let (Ok(a), Ok(b)) = (Purl::parse(statement), Purl::parse(component)) else {
        return false;
    };
    a.ty == b.ty
        && a.namespace.as_deref().map(str::to_ascii_lowercase)
            == b.namespace.as_deref().map(str::to_ascii_lowercase)
        && a.name.eq_ignore_ascii_case(&b.name)
        && match (&a.version, &b.version) {
            (Some(x), Some(y)) => x == y || x.trim_start_matches('v') == y.trim_start_matches('v'),
            (Some(_), None) => false,
            (None, _) => true,
        }
}

/// Whether a target (purl or bom-ref) denotes one of the identifiers.
fn target_hits(target: &str, ids: &[&str]) -> bool {
    let t = bom_ref_of(target);
    ids.iter().any(|id| {
        *id == t || (t.starts_with("pkg:") && id.starts_with("pkg:") && purl_matches(&t, id))
    })
}

/// Whether the statement's version list (if any) covers `version`.
fn versions_cover(
    versions: &[String],
    version: &str,
    eco: Option<crate::version::Ecosystem>,
) -> bool {
    versions.is_empty()
        || versions.iter().any(|v| {
            if v.starts_with("vers:") {
                crate::vers::contains(v, version, eco).unwrap_or(false)
            } else {
                v == version
            }
        })
}

fn statement_applies(s: &VexStatement, f: &Finding, product: Option<&ProductRef>) -> bool {
    let ids_match = std::iter::once(&s.vulnerability)
        .chain(&s.aliases)
        .any(|v| f.id == *v || f.aliases.iter().any(|a| a == v));
    if !ids_match {
        return false;
    }
    let eco = crate::version::Ecosystem::from_osv(&f.ecosystem);
    let mut comp_ids: Vec<&str> = vec![f.purl.as_str()];
    if let Some(r) = &f.bom_ref {
        comp_ids.push(r);
    }
    let targets = if s.subcomponents.is_empty() {
        &s.products
    } else {
        &s.subcomponents
    };
    if targets.iter().any(|t| target_hits(t, &comp_ids))
        && versions_cover(&s.versions, &f.version, eco)
    {
        return true;
    }
    // product-level statement: the input's own product
    if let Some(p) = product.filter(|p| !p.ids.is_empty()) {
        let pids: Vec<&str> = p.ids.iter().map(String::as_str).collect();
        if s.products.iter().any(|t| target_hits(t, &pids)) {
            return match &p.version {
                Some(v) => versions_cover(&s.versions, v, None),
                None => s.versions.is_empty(),
            };
        }
    }
    false
}

/// Counts of what [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VexSummary {
    /// Documents read.
    pub documents: usize,
    /// Statements read.
    pub statements: usize,
    /// Findings suppressed (not_affected, fixed).
    pub suppressed: usize,
    /// Findings annotated (affected, under_investigation).
    pub annotated: usize,
}

/// Applies VEX statements to a report's findings (the newest applicable statement wins;
/// on equal timestamps the one read last).
pub fn apply(report: &mut ScanReport, docs: &[VexDocument]) -> VexSummary {
    let mut sum = VexSummary {
        documents: docs.len(),
        statements: docs.iter().map(|d| d.statements.len()).sum(),
        ..Default::default()
    };
    let all: Vec<&VexStatement> = docs.iter().flat_map(|d| &d.statements).collect();
    for f in &mut report.findings {
        let product = report.inventories.get(f.inventory).map(|i| &i.product);
        let mut best: Option<&VexStatement> = None;
        for s in &all {
            if !statement_applies(s, f, product) {
                continue;
            }
            best = match best {
                Some(b) if b.timestamp > s.timestamp => Some(b),
                _ => Some(s),
            };
        }
        let Some(s) = best else { continue };
        f.vex = Some(VexApplied {
            status: s.status,
            justification: s.justification.clone(),
            detail: s.detail.clone(),
            action: s.action.clone(),
            vulnerability: s.vulnerability.clone(),
            source: s.source.clone(),
        });
        f.suppressed = s.status.suppresses();
        if f.suppressed {
            sum.suppressed += 1;
        } else {
            sum.annotated += 1;
        }
    }
    sum
}

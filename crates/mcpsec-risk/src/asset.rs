//! The asset inventory: what each host, user, service and project is worth and how
//! exposed it is, and the vulnerable components known on it. Loaded from TOML, JSON or
//! CSV (see docs/risk.md for the formats) and stored per tenant.

use crate::csv;
use crate::error::{Result, RiskError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Largest inventory file or body accepted.
pub const MAX_INVENTORY_BYTES: usize = 16 << 20;
/// Most assets one tenant may have.
pub const MAX_ASSETS: usize = 100_000;
/// Longest asset name, alias, owner or tag.
const MAX_NAME: usize = 256;
/// Most aliases, tags or vulnerabilities per asset.
const MAX_LIST: usize = 1000;

/// What an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    /// A machine (alert `host`).
    Host,
    /// An account.
    User,
    /// A running service or application.
    Service,
    /// A project grouping other assets.
    Project,
}

impl AssetKind {
    /// Every kind.
    pub const ALL: [AssetKind; 4] = [
        AssetKind::Host,
        AssetKind::User,
        AssetKind::Service,
        AssetKind::Project,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Host => "host",
            AssetKind::User => "user",
            AssetKind::Service => "service",
            AssetKind::Project => "project",
        }
    }

    /// Parses a stored name (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// How much the business depends on an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    /// Losing it hurts little.
    Low,
    /// The default when nothing is said.
    Medium,
    /// Important.
    High,
    /// Crown jewels.
    Critical,
}

impl Criticality {
    /// Parses `low`, `medium`, `high`, `critical` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "low" => Criticality::Low,
            "medium" => Criticality::Medium,
            "high" => Criticality::High,
            "critical" => Criticality::Critical,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }
}

/// Who can reach an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Only from inside.
    Internal,
    /// A perimeter network.
    Dmz,
    /// Reachable from the internet.
    Internet,
}

impl Exposure {
    /// Parses `internal`, `dmz`, `internet` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "internal" => Exposure::Internal,
            "dmz" => Exposure::Dmz,
            "internet" => Exposure::Internet,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Internal => "internal",
            Exposure::Dmz => "dmz",
            Exposure::Internet => "internet",
        }
    }
}

/// A vulnerable component known on an asset (from a scan, an SBOM or a CMDB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetVuln {
    /// Vulnerability id (CVE, GHSA...).
    pub id: String,
    /// The component (`openssl@3.0.1`, a purl), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// CVSS v2, v3 or v4 vector; its base score is computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<String>,
    /// A base score given directly (used when there is no vector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// EPSS probability (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    /// Listed in CISA's Known Exploited Vulnerabilities.
    #[serde(default)]
    pub kev: bool,
}

/// One asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// What it is.
    pub kind: AssetKind,
    /// Its name as alerts and events spell it (host name, account, service).
    pub name: String,
    /// Other names it goes by (short host name, IP address, e-mail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// How much it matters (default medium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Who can reach it (default internal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The project it belongs to (its alerts count for the project too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Free labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Vulnerable components known on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<AssetVuln>,
}

/// A file or body of assets: `{"assets": [...]}` / `[[asset]]` tables, or a bare list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDoc {
    assets: Vec<Asset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDoc {
    #[serde(default)]
    asset: Vec<Asset>,
}

/// Input formats of an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    /// `[[asset]]` tables.
    Toml,
    /// `{"assets": [...]}` or `[...]`.
    Json,
    /// A header row then one asset per row (no vulnerabilities).
    Csv,
}

impl InventoryFormat {
    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// From an HTTP content type.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/toml" => Some(Self::Toml),
            "application/json" | "" => Some(Self::Json),
            "text/csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Parses an inventory and checks every asset; errors name the asset (by position and
/// name) or the line.
pub fn parse_inventory(text: &str, format: InventoryFormat) -> Result<Vec<Asset>> {
    if text.len() > MAX_INVENTORY_BYTES {
        return Err(RiskError::Invalid(format!(
            "inventory is larger than {MAX_INVENTORY_BYTES} bytes"
        )));
    }
    let assets = match format {
        InventoryFormat::Toml => {
            toml::from_str::<TomlDoc>(text)
                .map_err(|e| RiskError::Invalid(format!("inventory (TOML): {e}")))?
                .asset
        }
        InventoryFormat::Json => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('[') {
                serde_json::from_str::<Vec<Asset>>(text)
            } else {
                serde_json::from_str::<JsonDoc>(text).map(|d| d.assets)
            }
            .map_err(|e| RiskError::Invalid(format!("inventory (JSON): {e}")))?
        }
        InventoryFormat::Csv => from_csv(text)?,
    };
    validate(&assets)?;
    Ok(assets)
}

/// Reads an inventory file (format from its extension).
pub fn read_inventory(path: &std::path::Path) -> Result<Vec<Asset>> {
    let format = InventoryFormat::from_path(path).ok_or_else(|| {
        RiskError::Invalid(format!(
            "{}: use a .toml, .json or .csv inventory",
            path.display()
        ))
    })?;
    let meta = std::fs::metadata(path)
        .map_err(|e| RiskError::io(format!("cannot read {}", path.display()), e))?;
    if meta.len() > MAX_INVENTORY_BYTES as u64 {
        return Err(RiskError::Invalid(format!(
            "{}: larger than {MAX_INVENTORY_BYTES} bytes",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| RiskError::io(format!("cannot read {}", path.display()), e))?;
    parse_inventory(&text, format).map_err(|e| match e {
        RiskError::Invalid(m) => RiskError::Invalid(format!("{}: {m}", path.display())),
        other => other,
    })
}

fn from_csv(text: &str) -> Result<Vec<Asset>> {
    let rows = csv::parse(text).map_err(|e| RiskError::Invalid(format!("inventory (CSV): {e}")))?;
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    const KNOWN: &[&str] = &[
        "kind",
        "name",
        "aliases",
        "criticality",
        "exposure",
        "owner",
        "project",
        "tags",
    ];
    if let Some(bad) = header.iter().find(|h| !KNOWN.contains(&h.as_str())) {
        return Err(RiskError::Invalid(format!(
            "inventory (CSV) line 1: unknown column {bad:?}; columns are {}",
            KNOWN.join(", ")
        )));
    }
    for need in ["kind", "name"] {
        if !header.iter().any(|h| h == need) {
            return Err(RiskError::Invalid(format!(
                "inventory (CSV) line 1: column {need:?} is required"
            )));
        }
    }
    let mut out = Vec::new();
    for (line, row) in rows {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if row.len() != header.len() {
            return Err(RiskError::Invalid(format!(
                "inventory (CSV) line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            )));
        }
        let get = |name: &str| -> Option<&str> {
            header
                .iter()
                .position(|h| h == name)
                .map(|i| row[i].trim())
                .filter(|v| !v.is_empty())
        };
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let bad = |what: &str, v: &str| {
            RiskError::Invalid(format!("inventory (CSV) line {line}: unknown {what} {v:?}"))
        };
        let kind_s = get("kind").unwrap_or_default();
        let kind = AssetKind::parse(kind_s).ok_or_else(|| bad("kind", kind_s))?;
        let criticality = get("criticality")
            .map(|v| Criticality::parse(v).ok_or_else(|| bad("criticality", v)))
            .transpose()?;
        let exposure = get("exposure")
            .map(|v| Exposure::parse(v).ok_or_else(|| bad("exposure", v)))
            .transpose()?;
        out.push(Asset {
            kind,
            name: get("name").unwrap_or_default().to_owned(),
            aliases: list("aliases"),
            criticality,
            exposure,
            owner: get("owner").map(str::to_owned),
            project: get("project").map(str::to_owned),
            tags: list("tags"),
            vulnerabilities: Vec::new(),
        });
    }
    Ok(out)
}

fn check_text(what: &str, at: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(RiskError::Invalid(format!("{at}: {what} is empty")));
    }
    if s.len() > MAX_NAME {
        return Err(RiskError::Invalid(format!(
            "{at}: {what} is longer than {MAX_NAME} bytes"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(RiskError::Invalid(format!(
            "{at}: {what} holds control characters"
        )));
    }
    Ok(())
}

/// Checks limits and values; duplicate (kind, name) pairs are refused.
pub fn validate(assets: &[Asset]) -> Result<()> {
    if assets.len() > MAX_ASSETS {
        return Err(RiskError::Invalid(format!(
            "{} assets: at most {MAX_ASSETS} per tenant",
            assets.len()
        )));
    }
    let mut seen = HashSet::new();
    for (i, a) in assets.iter().enumerate() {
        let at = format!(
            "asset {} ({:?})",
            i + 1,
            a.name.chars().take(64).collect::<String>()
        );
        check_text("name", &at, &a.name)?;
        if !seen.insert((a.kind, a.name.to_lowercase())) {
            return Err(RiskError::Invalid(format!(
                "{at}: a {} with this name is listed twice",
                a.kind.as_str()
            )));
        }
        for (what, list) in [("alias", &a.aliases), ("tag", &a.tags)] {
            if list.len() > MAX_LIST {
                return Err(RiskError::Invalid(format!(
                    "{at}: more than {MAX_LIST} {what}es"
                )));
            }
            for s in list {
                check_text(what, &at, s)?;
            }
        }
        for s in a.owner.iter().chain(&a.project) {
            check_text("owner/project", &at, s)?;
        }
        if a.vulnerabilities.len() > MAX_LIST {
            return Err(RiskError::Invalid(format!(
                "{at}: more than {MAX_LIST} vulnerabilities"
            )));
        }
        for v in &a.vulnerabilities {
            check_text("vulnerability id", &at, &v.id)?;
            if let Some(vec) = &v.cvss {
                mcpsec_supply::cvss::score(vec)
                    .map_err(|e| RiskError::Invalid(format!("{at}: {}: {e}", v.id)))?;
            }
            if let Some(s) = v.score
                && !(0.0..=10.0).contains(&s)
            {
                return Err(RiskError::Invalid(format!(
                    "{at}: {}: score {s} is outside 0–10",
                    v.id
                )));
            }
            if let Some(e) = v.epss
                && !(0.0..=1.0).contains(&e)
            {
                return Err(RiskError::Invalid(format!(
                    "{at}: {}: epss {e} is outside 0–1",
                    v.id
                )));
            }
        }
    }
    Ok(())
}

/// A tenant's inventory, indexed for lookups by name or alias (case-insensitive; a host
/// also matches by its first label, so `ws042` finds `WS042.corp.example`).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    assets: Vec<Asset>,
    by_name: HashMap<(AssetKind, String), usize>,
}

impl Inventory {
    /// Indexes a list of assets.
    pub fn new(assets: Vec<Asset>) -> Self {
        let mut by_name = HashMap::new();
        for (i, a) in assets.iter().enumerate() {
            for n in std::iter::once(&a.name).chain(&a.aliases) {
                let key = n.to_lowercase();
                by_name.entry((a.kind, key.clone())).or_insert(i);
                if a.kind == AssetKind::Host
                    && let Some((short, _)) = key.split_once('.')
                    && short.parse::<u8>().is_err()
                {
                    by_name.entry((a.kind, short.to_owned())).or_insert(i);
                }
            }
        }
        Inventory { assets, by_name }
    }

    /// Every asset.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset of this kind with this name or alias.
    pub fn find(&self, kind: AssetKind, name: &str) -> Option<&Asset> {
        let key = name.trim().to_lowercase();
        let hit = self.by_name.get(&(kind, key.clone())).or_else(|| {
            if kind != AssetKind::Host {
                return None;
            }
            let (short, _) = key.split_once('.')?;
            self.by_name.get(&(kind, short.to_owned()))
        })?;
        self.assets.get(*hit)
    }

    /// Builds the inventory from stored records; unreadable records are skipped with a
    /// warning.
    pub fn from_stored(stored: &[mcpsec_store::StoredAsset]) -> Self {
        let assets = stored
            .iter()
            .filter_map(|s| match serde_json::from_value::<Asset>(s.doc.clone()) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!(kind = %s.kind, name = %s.name, error = %e, "unreadable stored asset skipped");
                    None
                }
            })
            .collect();
        Inventory::new(assets)
    }
}

/// The stored form of an asset.
pub fn to_stored(
    a: &Asset,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<mcpsec_store::StoredAsset> {
    Ok(mcpsec_store::StoredAsset {
        kind: a.kind.as_str().to_owned(),
        name: a.name.clone(),
        doc: serde_json::to_value(a).map_err(|e| RiskError::Invalid(e.to_string()))?,
        updated_at: at,
        updated_by: actor.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[[asset]]
kind = "host"
name = "WS042.corp.example"
aliases = ["10.0.0.42"]
criticality = "high"
exposure = "internal"
project = "finance"

[[asset.vulnerabilities]]
id = "CVE-2024-3400"
cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
epss = 0.94
kev = true

[[asset]]
kind = "user"
name = "alice"
criticality = "critical"
"#;

    #[test]
    fn toml_json_and_csv_give_the_same_assets() {
        let t = parse_inventory(TOML, InventoryFormat::Toml).expect("toml");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].vulnerabilities[0].epss, Some(0.94));
        let json = serde_json::to_string(&serde_json::json!({ "assets": t })).expect("json");
        assert_eq!(
            parse_inventory(&json, InventoryFormat::Json).expect("json"),
            t
        );
        let bare = serde_json::to_string(&t).expect("json");
        assert_eq!(
            parse_inventory(&bare, InventoryFormat::Json).expect("bare"),
            t
        );
        let csv = "kind,name,aliases,criticality,exposure,project\n\
                   host,WS042.corp.example,10.0.0.42,high,internal,finance\n\
                   user,\"alice\",,critical,,\n";
        let c = parse_inventory(csv, InventoryFormat::Csv).expect("csv");
        assert_eq!(c[1], t[1]);
        assert_eq!(c[0].aliases, t[0].aliases);
        assert!(c[0].vulnerabilities.is_empty());
    }

    #[test]
    fn lookups_are_case_insensitive_and_know_short_host_names() {
        let inv = Inventory::new(parse_inventory(TOML, InventoryFormat::Toml).expect("toml"));
        for name in [
            "ws042.CORP.example",
            "ws042",
            "10.0.0.42",
            "WS042.other.domain",
        ] {
            assert_eq!(
                inv.find(AssetKind::Host, name).map(|a| a.name.as_str()),
                Some("WS042.corp.example"),
                "{name}"
            );
        }
        assert!(inv.find(AssetKind::User, "ws042").is_none());
        assert!(inv.find(AssetKind::Host, "10.0.0.4").is_none());
        assert_eq!(
            inv.find(AssetKind::User, "ALICE").map(|a| a.criticality),
            Some(Some(Criticality::Critical))
        );
    }

    #[test]
    fn bad_inventories_are_refused_with_the_place() {
        let cases: &[(&str, InventoryFormat, &str)] = &[
            (
                "[[asset]]\nkind = \"laptop\"\nname = \"x\"\n",
                InventoryFormat::Toml,
                "laptop",
            ),
            (
                "[[asset]]\nkind = \"host\"\nname = \"x\"\ncolour = 1\n",
                InventoryFormat::Toml,
                "colour",
            ),
            (
                "[[asset]]\nkind = \"host\"\nname = \"\"\n",
                InventoryFormat::Toml,
                "empty",
            ),
            (
                "{\"assets\": [{\"kind\": \"host\", \"name\": \"a\"}, {\"kind\": \"host\", \"name\": \"A\"}]}",
                InventoryFormat::Json,
                "twice",
            ),
            (
                "{\"assets\": [{\"kind\": \"host\", \"name\": \"a\", \"vulnerabilities\": [{\"id\": \"C\", \"cvss\": \"CVSS:3.1/AV:Q\"}]}]}",
                InventoryFormat::Json,
                "CVSS",
            ),
            (
                "{\"assets\": [{\"kind\": \"host\", \"name\": \"a\", \"vulnerabilities\": [{\"id\": \"C\", \"epss\": 7}]}]}",
                InventoryFormat::Json,
                "epss",
            ),
            (
                "{\"assets\": [{\"kind\": \"host\", \"name\": \"a\\u0000b\"}]}",
                InventoryFormat::Json,
                "control",
            ),
            (
                "{\"assets\": [{\"kind\": \"host\"",
                InventoryFormat::Json,
                "JSON",
            ),
            (
                "kind,name,colour\nhost,a,red\n",
                InventoryFormat::Csv,
                "colour",
            ),
            ("name\na\n", InventoryFormat::Csv, "kind"),
            ("kind,name\nhost,a,extra\n", InventoryFormat::Csv, "line 2"),
            (
                "kind,name,criticality\nhost,a,huge\n",
                InventoryFormat::Csv,
                "huge",
            ),
            (
                "kind,name\nhost,\"unterminated\n",
                InventoryFormat::Csv,
                "quote",
            ),
        ];
        for (text, format, want) in cases {
            let e = parse_inventory(text, *format).expect_err(text).to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let long = format!("kind,name\nhost,{}\n", "x".repeat(300));
        assert!(parse_inventory(&long, InventoryFormat::Csv).is_err());
        let huge = " ".repeat(MAX_INVENTORY_BYTES + 1);
        assert!(parse_inventory(&huge, InventoryFormat::Json).is_err());
        assert!(
            parse_inventory("", InventoryFormat::Csv)
                .expect("empty")
                .is_empty()
        );
    }
}

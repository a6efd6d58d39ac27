//! The rules one tenant runs, as the MCP resources and GraphQL list them: file rules
//! (unless an API rule of the same id replaces them) and the tenant's API rules, by id.

use mcpsec_core::TenantId;
use mcpsec_store::StateStore;

/// One rule of a tenant.
pub(crate) struct TenantRule {
    /// Its id (else its title).
    pub id: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Tags (file rules; API rules' are read from their text when asked for).
    pub tags: Vec<String>,
    /// `file` or `api`.
    pub source: &'static str,
    /// Whether it runs for the tenant.
    pub enabled: bool,
    /// Version (0 for file rules).
    pub version: u32,
    /// The file it came from.
    pub file: Option<String>,
    /// Latest change of an API rule.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its author.
    pub updated_by: Option<String>,
    /// The text of an API rule (file rules are read back on demand).
    pub yaml: Option<String>,
}

/// Every rule of `tenant`, sorted by id (blocking).
pub(crate) fn tenant_rules(
    state: Option<&dyn StateStore>,
    catalog: Option<&mcpsec_detect::Catalog>,
    tenant: &TenantId,
) -> mcpsec_store::Result<Vec<TenantRule>> {
    let (stored, switches) = match state {
        Some(s) => (s.list_rules(tenant)?, s.rule_switches(tenant)?),
        None => Default::default(),
    };
    let mut out = Vec::new();
    if let Some(c) = catalog {
        let files = c.file_rules();
        let metas = files
            .set
            .rules()
            .iter()
            .map(|r| &r.meta)
            .chain(files.set.correlations().iter().map(|c| &c.meta));
        for m in metas {
            let id = m.id.clone().unwrap_or_else(|| m.title.clone());
            if stored.iter().any(|r| r.id == id) {
                continue;
            }
            out.push(TenantRule {
                enabled: switches.get(&id).copied().unwrap_or(true),
                title: m.title.clone(),
                level: m.level.clone(),
                status: m.status.clone(),
                tags: m.tags.clone(),
                source: "file",
                version: 0,
                file: m.source.file.as_ref().map(|f| f.display().to_string()),
                updated_at: None,
                updated_by: None,
                yaml: None,
                id,
            });
        }
    }
    out.extend(stored.into_iter().map(|r| TenantRule {
        tags: Vec::new(),
        source: "api",
        enabled: r.enabled,
        version: r.version,
        file: None,
        updated_at: Some(r.updated_at),
        updated_by: Some(r.updated_by),
        title: r.title,
        level: r.level,
        status: r.status,
        yaml: Some(r.yaml),
        id: r.id,
    }));
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

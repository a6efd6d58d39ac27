//! The rules deployed for each tenant.

use crate::Result;
use crate::correlations::{Origin, SavedWindows, Windows};
use mcpsec_core::TenantId;
use mcpsec_sigma::{CompiledRule, FieldMapping, RuleSet, RuleSetBuilder, SigmaError};
use mcpsec_store::StateStore;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Where file rules come from.
#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    /// Rule files or directories (searched recursively), deployed for every tenant.
    pub rule_paths: Vec<PathBuf>,
    /// Rule texts shipped inside the binary (the demo rules), as `(name, yaml)`.
    pub embedded: Vec<(String, String)>,
    /// The field mapping rules are compiled with.
    pub mapping: FieldMapping,
}

/// Rules loaded from files: compiled once, shared by every tenant.
#[derive(Debug, Default)]
pub struct FileRules {
    /// The compiled rules.
    pub set: RuleSet,
    /// Documents that failed, with file and line.
    pub errors: Vec<SigmaError>,
    /// Documents loaded.
    pub loaded: usize,
}

/// The rules one tenant runs.
#[derive(Debug)]
pub struct TenantRules {
    files: Arc<FileRules>,
    /// File rules this tenant switched off or replaced by an API rule of the same id.
    hidden: HashSet<String>,
    own: RuleSet,
    /// Version of each API rule, by the id of each rule its text compiled to.
    versions: HashMap<String, u32>,
    /// API rules that no longer compile (e.g. after a mapping change), by id.
    pub broken: Vec<(String, String)>,
    /// Correlation windows over both sets.
    pub(crate) windows: Windows,
}

impl TenantRules {
    /// Calls `f` with every deployed rule matching the event, the set it belongs to and
    /// its version (0 for file rules).
    pub fn for_each_match<'s>(
        &'s self,
        event: &Map<String, Value>,
        mut f: impl FnMut(&'s CompiledRule, Origin, u32),
    ) {
        self.files.set.for_each_match(event, |r| {
            if !self.hidden.contains(r.name()) {
                f(r, Origin::Files, 0);
            }
        });
        self.own.for_each_match(event, |r| {
            f(r, Origin::Own, self.version(r.name()));
        });
    }

    /// Version of an API rule (or of a rule or correlation its text holds); 0 otherwise.
    pub fn version(&self, name: &str) -> u32 {
        self.versions.get(name).copied().unwrap_or(0)
    }

    /// Times every deployed rule on the event (see [`crate::RuleStats`]).
    pub fn profile(&self, event: &Map<String, Value>) -> Vec<(String, std::time::Duration)> {
        let mut out = Vec::new();
        self.files.set.profile_each(event, |r, _, t| {
            if !self.hidden.contains(r.name()) {
                out.push((r.name().to_owned(), t));
            }
        });
        self.own
            .profile_each(event, |r, _, t| out.push((r.name().to_owned(), t)));
        out
    }

    /// Calls `f` with every deployed rule (file rules the tenant did not switch off or
    /// replace, then its own).
    pub fn each_rule<'s>(&'s self, mut f: impl FnMut(&'s CompiledRule)) {
        for r in self.files.set.rules() {
            if !self.hidden.contains(r.name()) {
                f(r);
            }
        }
        self.own.rules().iter().for_each(f);
    }

    /// Number of rules running.
    pub fn len(&self) -> usize {
        let files = self
            .files
            .set
            .rules()
            .iter()
            .filter(|r| !self.hidden.contains(r.name()))
            .count();
        files + self.own.rules().len()
    }

    /// Whether no rule runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every tenant's deployed rules; rebuilt per tenant when its rules change.
pub struct Catalog {
    store: Arc<dyn StateStore>,
    options: CatalogOptions,
    files: RwLock<Arc<FileRules>>,
    tenants: RwLock<HashMap<TenantId, Arc<TenantRules>>>,
    api_rules: AtomicBool,
    /// Saved correlation windows of tenants not built since the start.
    saved: Mutex<HashMap<String, SavedWindows>>,
    /// Held while a tenant's rules are built, so concurrent first uses build them once
    /// (two builds would split one tenant's correlation windows over two engines).
    building: Mutex<()>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("rule_paths", &self.options.rule_paths)
            .finish_non_exhaustive()
    }
}

fn load_files(options: &CatalogOptions) -> FileRules {
    let mut b = RuleSetBuilder::new(options.mapping.clone());
    for (name, text) in &options.embedded {
        b.add_text(text, Some(std::path::Path::new(name)));
    }
    for p in &options.rule_paths {
        b.add_path(p);
    }
    let report = b.build();
    for e in &report.errors {
        tracing::warn!(error = %e, "rule not deployed");
    }
    tracing::info!(
        loaded = report.loaded,
        failed = report.errors.len(),
        "file rules loaded"
    );
    FileRules {
        set: report.ruleset,
        errors: report.errors,
        loaded: report.loaded,
    }
}

impl Catalog {
    /// Loads the file rules now; tenants' own rules load when first needed.
    pub fn new(store: Arc<dyn StateStore>, options: CatalogOptions) -> Self {
        let files = Arc::new(load_files(&options));
        let api_rules = store.any_rules().unwrap_or(true);
        Catalog {
            store,
            options,
            files: RwLock::new(files),
            tenants: RwLock::new(HashMap::new()),
            api_rules: AtomicBool::new(api_rules),
            saved: Mutex::new(HashMap::new()),
            building: Mutex::new(()),
        }
    }

    /// Loads correlation windows saved by [`Catalog::save_windows`]; they are restored
    /// into each tenant's engines when its rules are first built.
    pub fn load_windows(&self, bytes: &[u8]) -> Result<()> {
        let saved: HashMap<String, SavedWindows> = serde_json::from_slice(bytes)
            .map_err(|e| crate::DetectError::Invalid(format!("saved correlation windows: {e}")))?;
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = saved;
        Ok(())
    }

    /// Every tenant's correlation windows, serialized.
    pub fn save_windows(&self) -> Result<Vec<u8>> {
        let mut all: HashMap<String, SavedWindows> = HashMap::new();
        for (t, r) in self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if r.windows.any() {
                all.insert(t.as_str().to_owned(), r.windows.save());
            }
        }
        for (t, s) in self.saved.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if !all.contains_key(t) {
                all.insert(t.clone(), SavedWindows::copy(s));
            }
        }
        serde_json::to_vec(&all).map_err(|e| {
            crate::DetectError::Invalid(format!("cannot save correlation windows: {e}"))
        })
    }

    /// Whether any rule could run for any tenant; when not, events need no decoding.
    pub fn any_rules(&self) -> bool {
        self.api_rules.load(Ordering::Acquire) || !self.file_rules().set.rules().is_empty()
    }

    /// The mapping rules are compiled with.
    pub fn mapping(&self) -> &FieldMapping {
        &self.options.mapping
    }

    /// The rules loaded from files.
    pub fn file_rules(&self) -> Arc<FileRules> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The YAML document a file rule or correlation named `name` (its id, else its
    /// title) was loaded from, read again from its file or the embedded demo texts.
    pub fn file_rule_text(&self, name: &str) -> Option<String> {
        let files = self.file_rules();
        let meta = files
            .set
            .rules()
            .iter()
            .map(|r| &r.meta)
            .chain(files.set.correlations().iter().map(|c| &c.meta))
            .find(|m| m.id.as_deref().unwrap_or(&m.title) == name)?;
        crate::rule_text::text_of(meta, name, &self.options.embedded)
    }

    /// The rules running for `tenant` (built from the store on first use).
    pub fn rules_for(&self, tenant: &TenantId) -> Result<Arc<TenantRules>> {
        if let Some(r) = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
        {
            return Ok(r.clone());
        }
        let _one = self.building.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
        {
            return Ok(r.clone());
        }
        self.build_and_swap(tenant)
    }

    /// Rebuilds a tenant's rules from the store and swaps them in.
    pub fn reload_tenant(&self, tenant: &TenantId) -> Result<Arc<TenantRules>> {
        let _one = self.building.lock().unwrap_or_else(|e| e.into_inner());
        self.build_and_swap(tenant)
    }

    fn build_and_swap(&self, tenant: &TenantId) -> Result<Arc<TenantRules>> {
        let built = Arc::new(self.build(tenant)?);
        if !built.own.rules().is_empty() {
            self.api_rules.store(true, Ordering::Release);
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        // Windows move to the new engines; those of changed correlations are dropped.
        if let Some(old) = tenants.get(tenant) {
            built.windows.restore(old.windows.save());
        } else if let Some(saved) = self
            .saved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant.as_str())
        {
            built.windows.restore(saved);
        }
        tenants.insert(tenant.clone(), built.clone());
        drop(tenants);
        metrics::counter!("mcpsec_rules_deployments_total").increment(1);
        Ok(built)
    }

    /// Reads the rule files again and rebuilds every tenant on next use.
    pub fn reload_files(&self) -> Arc<FileRules> {
        let files = Arc::new(load_files(&self.options));
        *self.files.write().unwrap_or_else(|e| e.into_inner()) = files.clone();
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        for (t, r) in tenants.drain() {
            saved.insert(t.as_str().to_owned(), r.windows.save());
        }
        files
    }

    fn build(&self, tenant: &TenantId) -> Result<TenantRules> {
        let files = self.file_rules();
        let stored = self.store.list_rules(tenant)?;
        let mut hidden: HashSet<String> = self
            .store
            .rule_switches(tenant)?
            .into_iter()
            .filter(|(_, on)| !on)
            .map(|(id, _)| id)
            .collect();
        let mut versions = HashMap::new();
        let mut broken = Vec::new();
        let mut b = RuleSetBuilder::new(self.options.mapping.clone());
        for r in stored.iter().filter(|r| r.enabled) {
            // Each stored text is checked alone so one bad rule cannot hide the others.
            let mut alone = RuleSetBuilder::new(self.options.mapping.clone());
            alone.add_text(&r.yaml, None);
            let report = alone.build();
            if let Some(e) = report.errors.first() {
                tracing::warn!(tenant = %tenant.as_str(), rule = %r.id, error = %e, "deployed rule does not compile");
                broken.push((r.id.clone(), e.to_string()));
                continue;
            }
            for c in report.ruleset.rules() {
                versions.insert(c.name().to_owned(), r.version);
                hidden.insert(c.name().to_owned());
            }
            for c in report.ruleset.correlations() {
                let name = c.meta.id.as_deref().unwrap_or(&c.meta.title);
                versions.insert(name.to_owned(), r.version);
            }
            b.add_text(&r.yaml, None);
        }
        let own = b.build().ruleset;
        let windows = Windows::new(&files.set, &own);
        Ok(TenantRules {
            files,
            hidden,
            own,
            versions,
            broken,
            windows,
        })
    }
}

//! The responder inside `serve`: deployed playbooks (files and API), alert triggers,
//! manual starts, and the loop that resumes runs and settles approvals.

use crate::engine::{Engine, EngineError, StartRun};
use crate::model::{Playbook, ScheduleTrigger, Trigger};
use crate::validate::parse_playbook;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{Alert, RunRecord};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// A playbook loaded from a file (deployed for every tenant its triggers allow).
#[derive(Debug, Clone)]
pub struct FilePlaybook {
    /// The parsed playbook.
    pub playbook: Playbook,
    /// Its text.
    pub yaml: String,
    /// Where it came from.
    pub path: PathBuf,
}

impl FilePlaybook {
    /// Whether the playbook serves this tenant (its alert triggers' tenant lists).
    pub fn serves(&self, tenant: &TenantId) -> bool {
        let lists: Vec<&Vec<String>> = self
            .playbook
            .triggers
            .iter()
            .filter_map(|t| match t {
                crate::model::Trigger::Alert(f) => Some(&f.tenants),
                crate::model::Trigger::Risk(r) => Some(&r.tenants),
                crate::model::Trigger::Schedule(s) => Some(&s.tenants),
                _ => None,
            })
            .collect();
        lists.is_empty()
            || lists.iter().any(|l| l.is_empty())
            || lists.iter().any(|l| l.iter().any(|t| t == tenant.as_str()))
    }
}

/// A playbook as the API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `file` or `api`.
    pub source: &'static str,
    /// Version (0 for files).
    pub version: u32,
    /// Whether its triggers are live.
    pub enabled: bool,
    /// The text.
    pub yaml: String,
    /// The file (file playbooks).
    pub file: Option<String>,
}

/// Loads `*.yml` / `*.yaml` playbooks from files and directories; returns what loaded
/// and one message per file that did not.
pub fn load_files(
    paths: &[PathBuf],
    registry: &crate::Registry,
) -> (Vec<FilePlaybook>, Vec<String>) {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.retain(|e| e.extension().is_some_and(|x| x == "yml" || x == "yaml"));
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    let mut out: Vec<FilePlaybook> = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match read_one(&f, registry) {
            Ok(pb) if out.iter().any(|o| o.playbook.id == pb.playbook.id) => errors.push(format!(
                "{}: playbook id {} is used twice",
                f.display(),
                pb.playbook.id
            )),
            Ok(pb) => out.push(pb),
            Err(e) => errors.push(format!("{}: {e}", f.display())),
        }
    }
    (out, errors)
}

fn read_one(path: &Path, registry: &crate::Registry) -> Result<FilePlaybook, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > crate::validate::MAX_PLAYBOOK_BYTES as u64 {
        return Err("larger than 1 MiB".into());
    }
    let yaml = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let playbook = parse_playbook(&yaml, registry).map_err(|e| e.to_string())?;
    Ok(FilePlaybook {
        playbook,
        yaml,
        path: path.to_owned(),
    })
}

/// Playbooks, triggers and run driving for `serve`.
pub struct Responder {
    engine: Arc<Engine>,
    files: RwLock<Arc<Vec<FilePlaybook>>>,
}

impl Responder {
    /// A responder over an engine with the playbooks loaded from files.
    pub fn new(engine: Arc<Engine>, files: Vec<FilePlaybook>) -> Arc<Self> {
        Arc::new(Responder {
            engine,
            files: RwLock::new(Arc::new(files)),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn files(&self) -> Arc<Vec<FilePlaybook>> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the file playbooks (reload).
    pub fn set_files(&self, files: Vec<FilePlaybook>) {
        *self.files.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(files);
    }

    /// The tenant's playbooks: deployed through the API, then files serving it.
    pub fn list(&self, tenant: &TenantId) -> Result<Vec<PlaybookInfo>, EngineError> {
        let mut out: Vec<PlaybookInfo> = self
            .engine
            .store()
            .list_playbooks(tenant)?
            .into_iter()
            .map(|p| PlaybookInfo {
                id: p.id,
                name: p.name,
                source: "api",
                version: p.version,
                enabled: p.enabled,
                yaml: p.yaml,
                file: None,
            })
            .collect();
        for f in self.files().iter().filter(|f| f.serves(tenant)) {
            if out.iter().any(|o| o.id == f.playbook.id) {
                continue;
            }
            out.push(PlaybookInfo {
                id: f.playbook.id.clone(),
                name: f.playbook.name.clone(),
                source: "file",
                version: 0,
                enabled: true,
                yaml: f.yaml.clone(),
                file: Some(f.path.display().to_string()),
            });
        }
        Ok(out)
    }

    /// One of the tenant's playbooks.
    pub fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<PlaybookInfo>, EngineError> {
        Ok(self.list(tenant)?.into_iter().find(|p| p.id == id))
    }

    /// Starts a run and drives it in the background.
    pub fn start(self: &Arc<Self>, req: StartRun) -> Result<RunRecord, EngineError> {
        let run = self.engine.start(req)?;
        self.spawn_drive(run.id.clone());
        Ok(run)
    }

    /// Starts playbook `id` of `tenant` by hand (REST, GraphQL): it must exist, validate
    /// and have a manual trigger; `alert_id`, when given, must name one of the tenant's
    /// alerts; `input` must be a JSON object. Reads the store: from async code, call it
    /// on the blocking pool.
    pub fn start_manual(
        self: &Arc<Self>,
        tenant: &TenantId,
        id: &str,
        alert_id: Option<&str>,
        input: Value,
        actor: String,
    ) -> Result<RunRecord, EngineError> {
        let info = self
            .get(tenant, id)?
            .ok_or_else(|| EngineError::NotFound(format!("no playbook {id}")))?;
        let alert = match alert_id {
            None => None,
            Some(a) => Some(
                self.engine
                    .store()
                    .get_alert(tenant, a)?
                    .ok_or_else(|| EngineError::NotFound(format!("no alert {a}")))?,
            ),
        };
        let pb = parse_playbook(&info.yaml, self.engine.registry())
            .map_err(|e| EngineError::Invalid(format!("the playbook does not validate: {e}")))?;
        if !pb.allows_manual() {
            return Err(EngineError::Invalid(format!(
                "playbook {id} has no manual trigger"
            )));
        }
        if !input.is_object() {
            return Err(EngineError::Invalid("input must be an object".into()));
        }
        self.start(StartRun {
            tenant: tenant.clone(),
            yaml: info.yaml,
            version: info.version,
            alert: alert.map(|a| serde_json::to_value(a).unwrap_or_default()),
            trigger: "manual".into(),
            actor,
            input,
        })
    }

    /// Drives a run in the background (after a decision, or to resume).
    pub fn spawn_drive(self: &Arc<Self>, run_id: String) {
        let engine = self.engine.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.drive(&run_id).await {
                tracing::error!(run = %run_id, error = %e, "playbook run failed to advance");
            }
        });
    }

    /// Starts every enabled playbook whose triggers match a new alert. This reads the
    /// store: from async code, call it on the blocking pool.
    pub fn on_alert(self: &Arc<Self>, alert: &Alert) {
        let alert_json = serde_json::to_value(alert).unwrap_or(Value::Null);
        let mut candidates: Vec<(String, u32)> = Vec::new();
        match self.engine.store().list_playbooks(&alert.tenant) {
            Ok(list) => {
                for p in list.into_iter().filter(|p| p.enabled) {
                    match parse_playbook(&p.yaml, self.engine.registry()) {
                        Ok(pb) if crate::trigger::starts(&pb, alert) => {
                            candidates.push((p.yaml, p.version))
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(playbook = %p.id, error = %e, "stored playbook does not validate")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list playbooks"),
        }
        for f in self.files().iter() {
            if crate::trigger::starts(&f.playbook, alert) {
                candidates.push((f.yaml.clone(), 0));
            }
        }
        for (yaml, version) in candidates {
            let req = StartRun {
                tenant: alert.tenant.clone(),
                yaml,
                version,
                alert: Some(alert_json.clone()),
                trigger: "alert".into(),
                actor: "detector".into(),
                input: Value::Object(Default::default()),
            };
            match self.start(req) {
                Ok(run) => {
                    tracing::info!(run = %run.id, playbook = %run.playbook_id, alert = %alert.id, "playbook started")
                }
                Err(e) => tracing::error!(alert = %alert.id, error = %e, "cannot start a playbook"),
            }
        }
    }

    /// Resumes unfinished runs now and every `every` (approvals decided elsewhere, e.g.
    /// by the CLI, deadlines), and starts playbooks for alerts from the detector, until
    /// `stop` turns true.
    pub async fn run(
        self: Arc<Self>,
        mut alerts: Option<broadcast::Receiver<Arc<Alert>>>,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next_alert = async {
                match alerts.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = ticks.tick() => self.tick().await,
                a = next_alert => match a {
                    Ok(alert) => {
                        // Matching reads the store: off the runtime's threads.
                        let me = self.clone();
                        if let Err(e) = tokio::task::spawn_blocking(move || me.on_alert(&alert)).await {
                            tracing::error!(error = %e, "playbook trigger failed");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        metrics::counter!("mcpsec_playbook_alerts_missed_total").increment(n);
                        tracing::warn!(missed = n, "playbook trigger fell behind the detector; alerts missed");
                    }
                    Err(broadcast::error::RecvError::Closed) => alerts = None,
                },
                _ = stop.changed() => return,
            }
        }
    }

    /// Starts the runs of schedules due at `now` and returns them (see
    /// [`crate::schedule`]). This reads and writes the store: from async code, call it
    /// on the blocking pool.
    pub fn fire_schedules(
        self: &Arc<Self>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RunRecord>, EngineError> {
        let store = self.engine.store();
        let mut wanted: Vec<(TenantId, String, String, u32, ScheduleTrigger)> = Vec::new();
        for p in store.enabled_playbooks()? {
            let Ok(pb) = parse_playbook(&p.yaml, self.engine.registry()) else {
                continue;
            };
            for t in &pb.triggers {
                if let Trigger::Schedule(sc) = t
                    && (sc.tenants.is_empty() || sc.tenants.iter().any(|x| x == p.tenant.as_str()))
                {
                    wanted.push((
                        p.tenant.clone(),
                        p.id.clone(),
                        p.yaml.clone(),
                        p.version,
                        sc.clone(),
                    ));
                }
            }
        }
        for f in self.files().iter() {
            for t in &f.playbook.triggers {
                let Trigger::Schedule(sc) = t else { continue };
                let tenants: Vec<TenantId> = if sc.tenants.is_empty() {
                    vec![TenantId::default_tenant()]
                } else {
                    sc.tenants
                        .iter()
                        .filter_map(|t| TenantId::new(t).ok())
                        .collect()
                };
                for tenant in tenants {
                    // A playbook deployed through the API hides the file's of that id.
                    if store.get_playbook(&tenant, &f.playbook.id)?.is_none() {
                        wanted.push((tenant, f.playbook.id.clone(), f.yaml.clone(), 0, sc.clone()));
                    }
                }
            }
        }
        let mut started = Vec::new();
        for (tenant, id, yaml, version, sc) in wanted {
            let name =
                crate::schedule::checkpoint_name(tenant.as_str(), &id, &sc.cron, &sc.timezone);
            let next = match crate::schedule::next_run(&sc.cron, &sc.timezone, now) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(playbook = %id, error = %e, "playbook schedule skipped");
                    continue;
                }
            };
            let due = store
                .checkpoint(&name)?
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc));
            match due {
                Some(at) if at > now => continue,
                None => {
                    // First seen: wait for the next due time.
                    store.set_checkpoint(&name, &next.to_rfc3339())?;
                    continue;
                }
                Some(at) => {
                    // Moved on before starting: a restart never fires it twice.
                    store.set_checkpoint(&name, &next.to_rfc3339())?;
                    let req = StartRun {
                        tenant,
                        yaml,
                        version,
                        alert: None,
                        trigger: "schedule".into(),
                        actor: "scheduler".into(),
                        input: serde_json::json!({
                            "scheduled_for": at.to_rfc3339(),
                            "cron": sc.cron,
                            "timezone": sc.timezone,
                        }),
                    };
                    match self.start(req) {
                        Ok(run) => {
                            metrics::counter!("mcpsec_playbook_schedule_runs_total").increment(1);
                            tracing::info!(run = %run.id, playbook = %id, due = %at, "scheduled playbook started");
                            started.push(run);
                        }
                        Err(e) => {
                            tracing::error!(playbook = %id, error = %e, "cannot start a scheduled playbook")
                        }
                    }
                }
            }
        }
        Ok(started)
    }

    /// Drives every unfinished run that nobody is driving, and starts due schedules.
    pub async fn tick(self: &Arc<Self>) {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.fire_schedules(Utc::now())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "playbook schedules failed"),
            Err(e) => tracing::error!(error = %e, "playbook schedules were interrupted"),
        }
        let store = self.engine.store().clone();
        let listed = tokio::task::spawn_blocking(move || {
            let runs = store.unfinished_runs()?;
            let mut pending = 0usize;
            for r in runs.iter().filter(|r| r.status == "waiting") {
                pending += store
                    .approvals(&r.id)?
                    .iter()
                    .filter(|a| a.status == "pending")
                    .count();
            }
            Ok::<_, mcpsec_store::StoreError>((runs, pending))
        })
        .await;
        let (runs, pending) = match listed {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot list unfinished runs");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "listing unfinished runs was interrupted");
                return;
            }
        };
        for r in runs {
            if !self.engine.is_active(&r.id) {
                self.spawn_drive(r.id);
            }
        }
        metrics::gauge!("mcpsec_playbook_approvals_pending").set(pending as f64);
    }
}

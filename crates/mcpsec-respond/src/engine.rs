//! The durable run engine.
//!
//! Key design decision: the state store is the run's memory. Before an action is
//! called its step is written as `running` with the rendered input; after, as
//! `succeeded`/`failed` with output and timing. Driving a run means reading that back
//! and doing what is left, so a run resumed after a crash (or `kill -9`) never repeats a
//! finished step; a step cut off mid-call is called again with the same idempotency key
//! (`<run>/<step>/<item>`, the same for every attempt), which the services use to drop
//! the duplicate.

use crate::action::{ActionCall, ActionError, Effects};
use crate::actions::Registry;
use crate::model::{Approval, Expiry, Playbook, Step, parse_duration};
use crate::template::Templates;
use crate::updates::RunUpdate;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use mcpsec_core::TenantId;
use mcpsec_store::{ApprovalDecision, ApprovalRecord, RunRecord, StateStore, StepRunRecord};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such run, step or approval (for this tenant).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the state (already decided, expired, finished).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mcpsec_store::StoreError),
    /// A store call could not be completed (its worker thread panicked or the runtime
    /// is shutting down).
    #[error("store call interrupted: {0}")]
    Interrupted(String),
}

/// A hex SHA-256 prefix (16 characters) of a text.
pub fn short_hash(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(s.as_bytes())[..8])
}

/// What starts a run.
#[derive(Debug, Clone)]
pub struct StartRun {
    /// Owner.
    pub tenant: TenantId,
    /// The playbook's text (kept with the run).
    pub yaml: String,
    /// Its version (0 for files).
    pub version: u32,
    /// The alert, as JSON (`alert` in templates).
    pub alert: Option<Value>,
    /// `alert`, `manual` or `webhook`.
    pub trigger: String,
    /// Who starts it.
    pub actor: String,
    /// Extra input (`input` in templates).
    pub input: Value,
}

/// Somebody deciding on an approval.
#[derive(Debug, Clone)]
pub struct Decider {
    /// Key id, OIDC subject or CLI user.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Whether they count as any role (admins, the local CLI).
    pub any_role: bool,
}

const DONE_OK: [&str; 2] = ["succeeded", "skipped"];
const DONE_BAD: [&str; 3] = ["failed", "rejected", "cancelled"];

/// Runs playbooks.
pub struct Engine {
    store: Arc<dyn StateStore>,
    registry: Registry,
    effects: Arc<dyn Effects>,
    templates: Templates,
    active: Mutex<HashSet<String>>,
    auto_approve: bool,
    recorder: Option<Arc<crate::simulate::Recorder>>,
    updates: tokio::sync::broadcast::Sender<RunUpdate>,
}

enum Outcome {
    Done,
    Waiting,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn ms_between(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<u64> {
    a.map(|a| (b - a).num_milliseconds().max(0) as u64)
}

impl Engine {
    /// An engine over a store, acting through `effects`.
    pub fn new(store: Arc<dyn StateStore>, registry: Registry, effects: Arc<dyn Effects>) -> Self {
        Engine {
            store,
            registry,
            effects,
            templates: Templates::new(),
            active: Mutex::new(HashSet::new()),
            auto_approve: false,
            recorder: None,
            updates: tokio::sync::broadcast::channel(crate::updates::CAPACITY).0,
        }
    }

    /// A simulating engine: effects are recorded per step, approvals granted at once.
    pub fn simulator(
        store: Arc<dyn StateStore>,
        registry: Registry,
        rec: Arc<crate::simulate::Recorder>,
    ) -> Self {
        let mut e = Engine::new(store, registry, rec.clone());
        e.auto_approve = true;
        e.recorder = Some(rec);
        e
    }

    /// Whether a drive of this run is under way in this process.
    pub fn is_active(&self, run_id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(run_id)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// The actions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Stores a new run (status `running`); drive it with [`Engine::drive`]. This calls
    /// the store directly: from async code, call it on the blocking pool.
    pub fn start(&self, req: StartRun) -> Result<RunRecord, EngineError> {
        let pb = crate::validate::parse_playbook(&req.yaml, &self.registry)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let id = ulid::Ulid::new().to_string();
        let at = now();
        let alert_id = req
            .alert
            .as_ref()
            .and_then(|a| a.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let context = json!({
            "alert": req.alert.clone().unwrap_or(Value::Null),
            "trigger": {"kind": req.trigger, "actor": req.actor},
            "input": req.input,
            "run": {"id": id, "playbook": pb.id, "version": req.version, "tenant": req.tenant.as_str()},
        });
        let run = RunRecord {
            id,
            tenant: req.tenant,
            playbook_id: pb.id,
            playbook_version: req.version,
            playbook_yaml: req.yaml,
            alert_id,
            trigger: req.trigger,
            actor: req.actor,
            status: "running".into(),
            context,
            error: None,
            created_at: at,
            updated_at: at,
            finished_at: None,
        };
        self.store.create_run(&run)?;
        self.publish(RunUpdate::run(&run.tenant, &run.id, "running", None));
        metrics::counter!("mcpsec_playbook_runs_started_total").increment(1);
        Ok(run)
    }

    /// Resumes every unfinished run (at start-up) and settles approvals that were
    /// decided or expired; returns how many runs were driven.
    pub async fn resume_all(&self) -> Result<usize, EngineError> {
        let runs = self.db(|s| s.unfinished_runs()).await?;
        let mut pending = 0i64;
        for r in &runs {
            self.drive(&r.id).await?;
            let id = r.id.clone();
            pending += self
                .db(move |s| s.approvals(&id))
                .await?
                .iter()
                .filter(|a| a.status == "pending")
                .count() as i64;
        }
        metrics::gauge!("mcpsec_playbook_approvals_pending").set(pending as f64);
        Ok(runs.len())
    }

    /// Drives a run as far as it can go; returns its status afterwards.
    pub async fn drive(&self, run_id: &str) -> Result<String, EngineError> {
        {
            let mut a = self.active.lock().unwrap_or_else(|e| e.into_inner());
            if !a.insert(run_id.to_owned()) {
                return Ok("running".into());
            }
        }
        // Dropped with the drive, also when the drive is cancelled (a timeout, a
        // shutdown), so the run can be driven again.
        let _active = ActiveGuard {
            set: &self.active,
            id: run_id,
        };
        self.drive_inner(run_id).await
    }

    /// Runs a store call on the blocking pool: SQLite calls may wait for locks held by
    /// other processes (up to the busy timeout), which must never hold a runtime thread
    /// and with it every other task and timer on it.
    async fn db<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn StateStore) -> mcpsec_store::Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| EngineError::Interrupted(e.to_string()))?
            .map_err(EngineError::from)
    }

    /// Stores an approval request (see [`Engine::db`]).
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), EngineError> {
        let stored = rec.clone();
        self.db(move |s| s.put_approval(&stored)).await?;
        self.publish(RunUpdate::approval(rec));
        Ok(())
    }

    /// Stores a step record (see [`Engine::db`]).
    async fn put_step(&self, tenant: &TenantId, rec: &StepRunRecord) -> Result<(), EngineError> {
        let stored = rec.clone();
        self.db(move |s| s.put_step_run(&stored)).await?;
        self.publish(RunUpdate::step(tenant, rec));
        Ok(())
    }

    /// Publishes an update to live followers (none listening is fine).
    fn publish(&self, u: RunUpdate) {
        let _ = self.updates.send(u);
    }

    /// Follows every run update of this engine (filter by tenant before showing them).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RunUpdate> {
        self.updates.subscribe()
    }

    async fn drive_inner(&self, run_id: &str) -> Result<String, EngineError> {
        let id = run_id.to_owned();
        let run = self
            .db(move |s| s.get_run(None, &id))
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no run {run_id}")))?;
        if !matches!(run.status.as_str(), "running" | "waiting") {
            return Ok(run.status);
        }
        let pb = match crate::validate::parse_playbook(&run.playbook_yaml, &self.registry) {
            Ok(pb) => pb,
            Err(e) => {
                let msg = format!("the run's playbook no longer validates: {e}");
                let (id, m2) = (run_id.to_owned(), msg.clone());
                self.db(move |s| s.update_run(&id, "failed", Some(&m2), Some(now())))
                    .await?;
                self.publish(RunUpdate::run(&run.tenant, run_id, "failed", Some(&msg)));
                return Ok("failed".into());
            }
        };
        loop {
            let records = self.step_states(run_id).await?;
            let mut ready = Vec::new();
            let mut cancelled = false;
            for (i, s) in pb.steps.iter().enumerate() {
                let state = records
                    .get(&s.id)
                    .map(|r| r.status.as_str())
                    .unwrap_or("pending");
                if DONE_OK.contains(&state) || DONE_BAD.contains(&state) {
                    continue;
                }
                let needs = pb.needs_of(i);
                let need_state = |n: &String| {
                    records
                        .get(n)
                        .map(|r| r.status.as_str())
                        .unwrap_or("pending")
                };
                if needs.iter().any(|n| DONE_BAD.contains(&need_state(n))) {
                    let at = now();
                    self.put_step(
                        &run.tenant,
                        &StepRunRecord {
                            run_id: run_id.into(),
                            step_id: s.id.clone(),
                            item: -1,
                            status: "cancelled".into(),
                            attempt: 0,
                            input: None,
                            output: None,
                            error: Some("a step it needs did not succeed".into()),
                            actor: run.actor.clone(),
                            started_at: None,
                            finished_at: Some(at),
                            duration_ms: None,
                        },
                    )
                    .await?;
                    cancelled = true;
                } else if needs.iter().all(|n| DONE_OK.contains(&need_state(n))) {
                    ready.push(i);
                }
            }
            if ready.is_empty() {
                if cancelled {
                    continue;
                }
                break;
            }
            let ctx = context(&run, &records);
            let outcomes = join_all(ready.iter().map(|&i| {
                self.run_step(&run, &pb, &pb.steps[i], &ctx, records.get(&pb.steps[i].id))
            }))
            .await;
            let mut progressed = cancelled;
            for o in outcomes {
                if matches!(o?, Outcome::Done) {
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        self.finish(&run, &pb).await
    }

    async fn finish(&self, run: &RunRecord, pb: &Playbook) -> Result<String, EngineError> {
        let records = self.step_states(&run.id).await?;
        let status_of = |s: &Step| {
            records
                .get(&s.id)
                .map(|r| r.status.clone())
                .unwrap_or_else(|| "pending".into())
        };
        let waiting = pb.steps.iter().any(|s| status_of(s) == "waiting");
        let failed = pb
            .steps
            .iter()
            .find(|s| DONE_BAD[..2].contains(&status_of(s).as_str()));
        let (status, error) = if waiting {
            ("waiting", None)
        } else if let Some(s) = failed {
            let why = records
                .get(&s.id)
                .and_then(|r| r.error.clone())
                .unwrap_or_default();
            ("failed", Some(format!("step {}: {why}", s.id)))
        } else if pb
            .steps
            .iter()
            .all(|s| DONE_OK.contains(&status_of(s).as_str()))
        {
            ("succeeded", None)
        } else {
            ("running", None)
        };
        let end = matches!(status, "succeeded" | "failed").then(now);
        let (id, e2) = (run.id.clone(), error.clone());
        self.db(move |s| s.update_run(&id, status, e2.as_deref(), end))
            .await?;
        if status != run.status {
            self.publish(RunUpdate::run(
                &run.tenant,
                &run.id,
                status,
                error.as_deref(),
            ));
        }
        if end.is_some() {
            metrics::counter!("mcpsec_playbook_runs_total", "status" => status).increment(1);
            if let Some(rec) = &self.recorder {
                rec.set_step("");
            }
        }
        Ok(status.into())
    }

    /// The whole-step records of a run (item -1), by step id.
    async fn step_states(
        &self,
        run_id: &str,
    ) -> Result<HashMap<String, StepRunRecord>, EngineError> {
        let id = run_id.to_owned();
        Ok(self
            .db(move |s| s.step_runs(&id))
            .await?
            .into_iter()
            .filter(|r| r.item == -1)
            .map(|r| (r.step_id.clone(), r))
            .collect())
    }

    async fn run_step(
        &self,
        run: &RunRecord,
        pb: &Playbook,
        step: &Step,
        ctx: &Value,
        prev: Option<&StepRunRecord>,
    ) -> Result<Outcome, EngineError> {
        let started = prev.and_then(|p| p.started_at).unwrap_or_else(now);
        let mut rec = StepRunRecord {
            run_id: run.id.clone(),
            step_id: step.id.clone(),
            item: -1,
            status: "running".into(),
            attempt: prev.map(|p| p.attempt).unwrap_or(0),
            input: None,
            output: None,
            error: None,
            actor: run.actor.clone(),
            started_at: Some(started),
            finished_at: None,
            duration_ms: None,
        };
        if let Some(w) = &step.when {
            let expr = w.trim().trim_start_matches("{{").trim_end_matches("}}");
            match self.templates.eval_bool(expr, ctx) {
                Ok(true) => {}
                Ok(false) => {
                    rec.status = "skipped".into();
                    rec.finished_at = Some(now());
                    self.put_step(&run.tenant, &rec).await?;
                    return Ok(Outcome::Done);
                }
                Err(e) => {
                    return self
                        .fail_step(run, step, ctx, rec, format!("when: {e}"))
                        .await;
                }
            }
        }
        if let Some(a) = &step.approval {
            match self.approval_gate(run, pb, step, a).await? {
                Gate::Open(approvers) => rec.actor = approvers,
                Gate::Wait => {
                    // Written once; later ticks find it waiting and write nothing.
                    if prev.is_none_or(|p| p.status != "waiting") {
                        rec.status = "waiting".into();
                        self.put_step(&run.tenant, &rec).await?;
                    }
                    return Ok(Outcome::Waiting);
                }
                Gate::Closed(why) => {
                    rec.status = "rejected".into();
                    return self.fail_step(run, step, ctx, rec, why).await;
                }
            }
        }
        let Some(action) = self.registry.get(&step.action).cloned() else {
            return self
                .fail_step(
                    run,
                    step,
                    ctx,
                    rec,
                    format!("unknown action {}", step.action),
                )
                .await;
        };
        self.put_step(&run.tenant, &rec).await?;
        let result = match &step.foreach {
            None => {
                let r = self.attempts(run, step, &action, ctx, None, &mut rec).await;
                r.map(|out| (out, rec.input.clone()))
            }
            Some(expr) => {
                let expr = expr.trim().trim_start_matches("{{").trim_end_matches("}}");
                match self.templates.eval_list(expr, ctx) {
                    Err(e) => Err(format!("foreach: {e}")),
                    Ok(items) if items.len() > 1000 => {
                        Err(format!("foreach: {} elements (at most 1000)", items.len()))
                    }
                    Ok(items) => self
                        .each(run, step, &action, ctx, items, &rec)
                        .await
                        .map(|o| (o, None)),
                }
            }
        };
        match result {
            Ok((out, input)) => {
                let at = now();
                rec.status = "succeeded".into();
                rec.output = Some(out);
                rec.input = input;
                rec.error = None;
                rec.finished_at = Some(at);
                rec.duration_ms = ms_between(Some(started), at);
                self.put_step(&run.tenant, &rec).await?;
                Ok(Outcome::Done)
            }
            Err(e) => self.fail_step(run, step, ctx, rec, e).await,
        }
    }

    async fn each(
        &self,
        run: &RunRecord,
        step: &Step,
        action: &Arc<dyn crate::action::Action>,
        ctx: &Value,
        items: Vec<Value>,
        whole: &StepRunRecord,
    ) -> Result<Value, String> {
        let id = run.id.clone();
        let done: HashMap<i64, StepRunRecord> = self
            .db(move |s| s.step_runs(&id))
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.step_id == step.id && r.item >= 0)
            .map(|r| (r.item, r))
            .collect();
        let mut outputs = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let idx = i as i64;
            if let Some(r) = done.get(&idx).filter(|r| r.status == "succeeded") {
                outputs.push(r.output.clone().unwrap_or(Value::Null));
                continue;
            }
            let mut ctx = ctx.clone();
            ctx["item"] = item;
            ctx["index"] = json!(i);
            let mut rec = StepRunRecord {
                item: idx,
                attempt: done.get(&idx).map(|r| r.attempt).unwrap_or(0),
                started_at: Some(now()),
                ..whole.clone()
            };
            let out = self
                .attempts(run, step, action, &ctx, Some(idx), &mut rec)
                .await?;
            let at = now();
            rec.status = "succeeded".into();
            rec.output = Some(out.clone());
            rec.finished_at = Some(at);
            rec.duration_ms = ms_between(rec.started_at, at);
            self.put_step(&run.tenant, &rec)
                .await
                .map_err(|e| e.to_string())?;
            outputs.push(out);
        }
        Ok(Value::Array(outputs))
    }

    /// Renders the inputs and calls the action with retries; records every attempt.
    async fn attempts(
        &self,
        run: &RunRecord,
        step: &Step,
        action: &Arc<dyn crate::action::Action>,
        ctx: &Value,
        item: Option<i64>,
        rec: &mut StepRunRecord,
    ) -> Result<Value, String> {
        let input = self
            .templates
            .render_value(&Value::Object(step.inputs.clone()), ctx)
            .map_err(|e| format!("template: {e}"))?;
        let Value::Object(input) = input else {
            return Err("inputs did not render to an object".into());
        };
        rec.input = Some(Value::Object(input.clone()));
        let key = format!("{}/{}/{}", run.id, step.id, item.unwrap_or(0));
        let max = step.retry.as_ref().map(|r| r.attempts.max(1)).unwrap_or(1);
        let last = loop {
            rec.attempt += 1;
            rec.status = "running".into();
            self.put_step(&run.tenant, rec)
                .await
                .map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            let r = self
                .call(run, step.id.as_str(), action, &input, &key, step.timeout())
                .await;
            metrics::histogram!("mcpsec_playbook_step_seconds", "action" => action.name())
                .record(t0.elapsed().as_secs_f64());
            match r {
                Ok(out) => return Ok(out),
                Err(e) => {
                    metrics::counter!("mcpsec_playbook_step_failures_total", "action" => action.name())
                        .increment(1);
                    let last = e.to_string();
                    rec.error = Some(last.clone());
                    let attempt_in_run = rec.attempt;
                    if !e.retryable() || attempt_in_run >= max {
                        break last;
                    }
                    let wait = step
                        .retry
                        .as_ref()
                        .map(|r| r.delay_after(attempt_in_run))
                        .unwrap_or_default();
                    tracing::info!(run = %run.id, step = %step.id, attempt = attempt_in_run, error = %last, "step failed; retrying");
                    self.put_step(&run.tenant, rec)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokio::time::sleep(wait).await;
                }
            }
        };
        Err(last)
    }

    async fn call(
        &self,
        run: &RunRecord,
        step_id: &str,
        action: &Arc<dyn crate::action::Action>,
        input: &Map<String, Value>,
        key: &str,
        timeout: std::time::Duration,
    ) -> Result<Value, ActionError> {
        let actor = format!("playbook:{}", run.playbook_id);
        let tagged;
        let effects: &dyn Effects = match &self.recorder {
            Some(r) => {
                tagged = crate::simulate::Tagged::new(r, step_id);
                &tagged
            }
            None => self.effects.as_ref(),
        };
        let call = ActionCall {
            input,
            idempotency_key: key,
            tenant: &run.tenant,
            alert_id: run.alert_id.as_deref(),
            actor: &actor,
            effects,
            timeout,
        };
        match tokio::time::timeout(timeout, action.run(call)).await {
            Ok(r) => r,
            Err(_) => Err(ActionError::Failed(format!(
                "timed out after {}s",
                timeout.as_secs_f64()
            ))),
        }
    }

    /// Records a step's failure after running its compensations.
    async fn fail_step(
        &self,
        run: &RunRecord,
        step: &Step,
        ctx: &Value,
        mut rec: StepRunRecord,
        error: String,
    ) -> Result<Outcome, EngineError> {
        let mut ctx = ctx.clone();
        ctx["error"] = json!({"step": step.id, "message": error});
        let id = run.id.clone();
        let done: HashSet<String> = self
            .db(move |s| s.step_runs(&id))
            .await?
            .into_iter()
            .filter(|r| r.status == "succeeded")
            .map(|r| r.step_id)
            .collect();
        for comp in &step.on_failure {
            let id = format!("{}/{}", step.id, comp.id);
            if done.contains(&id) {
                continue;
            }
            let Some(action) = self.registry.get(&comp.action).cloned() else {
                continue;
            };
            let as_step = Step {
                id: id.clone(),
                action: comp.action.clone(),
                inputs: comp.inputs.clone(),
                needs: None,
                when: None,
                foreach: None,
                timeout: comp.timeout.clone(),
                retry: None,
                approval: None,
                on_failure: Vec::new(),
            };
            let mut crec = StepRunRecord {
                step_id: id.clone(),
                status: "running".into(),
                attempt: 0,
                started_at: Some(now()),
                input: None,
                output: None,
                error: None,
                ..rec.clone()
            };
            let r = self
                .attempts(run, &as_step, &action, &ctx, None, &mut crec)
                .await;
            let at = now();
            crec.finished_at = Some(at);
            crec.duration_ms = ms_between(crec.started_at, at);
            match r {
                Ok(out) => {
                    crec.status = "succeeded".into();
                    crec.output = Some(out);
                    crec.error = None;
                }
                Err(e) => {
                    crec.status = "failed".into();
                    crec.error = Some(e);
                }
            }
            self.put_step(&run.tenant, &crec).await?;
        }
        let at = now();
        if rec.status != "rejected" {
            rec.status = "failed".into();
        }
        rec.error = Some(error);
        rec.finished_at = Some(at);
        rec.duration_ms = ms_between(rec.started_at, at);
        self.put_step(&run.tenant, &rec).await?;
        tracing::warn!(run = %run.id, step = %step.id, error = ?rec.error, "playbook step failed");
        Ok(Outcome::Done)
    }

    async fn approval_gate(
        &self,
        run: &RunRecord,
        pb: &Playbook,
        step: &Step,
        a: &Approval,
    ) -> Result<Gate, EngineError> {
        if self.auto_approve {
            return Ok(Gate::Open("simulation (auto-approved)".into()));
        }
        let id = run.id.clone();
        let existing = self
            .db(move |s| s.approvals(&id))
            .await?
            .into_iter()
            .find(|r| r.step_id == step.id);
        let deadline_len = parse_duration(&a.deadline).map_err(EngineError::Invalid)?;
        let span = chrono::Duration::from_std(deadline_len).unwrap_or(chrono::Duration::hours(1));
        let Some(mut rec) = existing else {
            let at = now();
            let rec = ApprovalRecord {
                run_id: run.id.clone(),
                step_id: step.id.clone(),
                tenant: run.tenant.clone(),
                playbook_id: pb.id.clone(),
                alert_id: run.alert_id.clone(),
                role: a.role.clone(),
                approvers: a.approvers.clone(),
                min: a.min.unwrap_or(a.approvers.len().max(1) as u32),
                deadline: at + span,
                status: "pending".into(),
                escalated: false,
                created_at: at,
                decided_at: None,
            };
            self.put_approval(&rec).await?;
            metrics::gauge!("mcpsec_playbook_approvals_pending").increment(1.0);
            tracing::info!(run = %run.id, step = %step.id, "approval requested");
            return Ok(Gate::Wait);
        };
        match rec.status.as_str() {
            "approved" => {
                let (id, sid) = (run.id.clone(), step.id.clone());
                let who: Vec<String> = self
                    .db(move |s| s.decisions(&id, &sid))
                    .await?
                    .into_iter()
                    .filter(|d| d.approve)
                    .map(|d| d.actor)
                    .collect();
                Ok(Gate::Open(format!("approved by {}", who.join(", "))))
            }
            "rejected" => {
                let (id, sid) = (run.id.clone(), step.id.clone());
                let who: Vec<String> = self
                    .db(move |s| s.decisions(&id, &sid))
                    .await?
                    .into_iter()
                    .filter(|d| !d.approve)
                    .map(|d| match &d.comment {
                        Some(c) => format!("{} ({c})", d.actor),
                        None => d.actor,
                    })
                    .collect();
                Ok(Gate::Closed(format!("rejected by {}", who.join(", "))))
            }
            "expired" => Ok(Gate::Closed("approval expired".into())),
            _ if now() < rec.deadline => Ok(Gate::Wait),
            _ => {
                let at = now();
                if a.on_expiry == Expiry::Escalate && !rec.escalated {
                    rec.escalated = true;
                    rec.role = a.escalate_to.clone();
                    rec.approvers.clear();
                    rec.min = 1;
                    rec.deadline = at + span;
                    self.put_approval(&rec).await?;
                    tracing::info!(run = %run.id, step = %step.id, role = ?rec.role, "approval escalated");
                    return Ok(Gate::Wait);
                }
                rec.status = "expired".into();
                rec.decided_at = Some(at);
                self.put_approval(&rec).await?;
                metrics::gauge!("mcpsec_playbook_approvals_pending").decrement(1.0);
                Ok(Gate::Closed("approval expired".into()))
            }
        }
    }

    /// Records a decision on a pending approval; returns the request as it stands.
    /// Drive the run afterwards to act on it. This calls the store directly: from async
    /// code, call it on the blocking pool.
    pub fn decide(
        &self,
        tenant: Option<&TenantId>,
        run_id: &str,
        step_id: &str,
        who: &Decider,
        approve: bool,
        comment: Option<String>,
    ) -> Result<ApprovalRecord, EngineError> {
        let run = self
            .store
            .get_run(tenant, run_id)?
            .ok_or_else(|| EngineError::NotFound(format!("no run {run_id}")))?;
        let mut rec = self
            .store
            .approvals(&run.id)?
            .into_iter()
            .find(|a| a.step_id == step_id)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "step {step_id} of run {run_id} is not waiting for approval"
                ))
            })?;
        if rec.status != "pending" {
            return Err(EngineError::Conflict(format!(
                "the approval is already {}",
                rec.status
            )));
        }
        if now() >= rec.deadline {
            return Err(EngineError::Conflict(
                "the approval's deadline has passed".into(),
            ));
        }
        let named = rec.approvers.contains(&who.actor);
        let by_role = rec
            .role
            .as_ref()
            .is_some_and(|r| *r == who.role || who.any_role);
        if !(named || by_role) {
            let wanted = match &rec.role {
                Some(r) => format!("role {r}"),
                None => format!("one of {}", rec.approvers.join(", ")),
            };
            return Err(EngineError::Forbidden(format!(
                "{} may not decide; this needs {wanted}",
                who.actor
            )));
        }
        let added = self.store.add_decision(&ApprovalDecision {
            run_id: run.id.clone(),
            step_id: step_id.into(),
            actor: who.actor.clone(),
            role: who.role.clone(),
            approve,
            comment: comment.map(|c| c.chars().take(2000).collect()),
            at: now(),
        })?;
        if !added {
            return Err(EngineError::Conflict(format!(
                "{} has already decided",
                who.actor
            )));
        }
        let decisions = self.store.decisions(&run.id, step_id)?;
        let approvals = decisions.iter().filter(|d| d.approve).count() as u32;
        let settled = if decisions.iter().any(|d| !d.approve) {
            Some("rejected")
        } else if approvals >= rec.min.max(1) {
            Some("approved")
        } else {
            None
        };
        if let Some(s) = settled {
            rec.status = s.into();
            rec.decided_at = Some(now());
            self.store.put_approval(&rec)?;
            metrics::gauge!("mcpsec_playbook_approvals_pending").decrement(1.0);
        }
        self.publish(RunUpdate::approval(&rec));
        Ok(rec)
    }
}

/// Takes a run off the set of runs being driven when dropped.
struct ActiveGuard<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: &'a str,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.id);
    }
}

enum Gate {
    Open(String),
    Wait,
    Closed(String),
}

/// What templates see: the run's context plus `steps.<id>.{status, output}`.
fn context(run: &RunRecord, records: &HashMap<String, StepRunRecord>) -> Value {
    let mut ctx = match &run.context {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let steps: Map<String, Value> = records
        .iter()
        .filter(|(_, r)| DONE_OK.contains(&r.status.as_str()))
        .map(|(id, r)| {
            (
                id.clone(),
                json!({"status": r.status, "output": r.output.clone().unwrap_or(Value::Null)}),
            )
        })
        .collect();
    ctx.insert("steps".into(), Value::Object(steps));
    Value::Object(ctx)
}

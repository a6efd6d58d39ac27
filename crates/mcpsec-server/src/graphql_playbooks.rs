//! GraphQL over response playbooks: the playbooks, their runs with every step, the
//! approval requests waiting on people, and the `startPlaybookRun` and `decideApproval`
//! mutations. Permissions (`playbooks.read`, `playbooks.run`, `approvals.decide`), tenant
//! scope and audit entries are those of the REST API.

use crate::graphql_alerts::allowed;
use crate::{Action, AppState, Principal};
use async_graphql::{
    ComplexObject, Context, ErrorExtensions, Json as GqlJson, Object, SimpleObject,
};
use mcpsec_respond::{Decider, EngineError, Responder};
use std::sync::Arc;

/// Most runs one `playbookRuns` query returns.
const MAX_RUNS: usize = 500;

fn responder(ctx: &Context<'_>) -> async_graphql::Result<Arc<Responder>> {
    ctx.data::<AppState>()?
        .responder
        .clone()
        .ok_or_else(|| "response orchestration is not running".into())
}

/// Runs an engine call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> async_graphql::Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(engine_error(e)),
        Err(e) => Err(format!("task failed: {e}").into()),
    }
}

/// The engine's error as GraphQL error, with its kind as `extensions.code`.
pub(crate) fn engine_error(e: EngineError) -> async_graphql::Error {
    let code = match &e {
        EngineError::NotFound(_) => "NOT_FOUND",
        EngineError::Conflict(_) => "CONFLICT",
        EngineError::Forbidden(_) => "FORBIDDEN",
        EngineError::Invalid(_) => "BAD_REQUEST",
        EngineError::Store(_) | EngineError::Interrupted(_) => "INTERNAL",
    };
    let msg = match e {
        EngineError::Store(s) => s.to_string(),
        e @ EngineError::Interrupted(_) => e.to_string(),
        EngineError::NotFound(m)
        | EngineError::Conflict(m)
        | EngineError::Forbidden(m)
        | EngineError::Invalid(m) => m,
    };
    async_graphql::Error::new(msg).extend_with(|_, ext| ext.set("code", code))
}

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    mcpsec_core::to_rfc3339(t)
}

/// A playbook serving the caller's tenant.
#[derive(SimpleObject)]
pub(crate) struct Playbook {
    /// Its id.
    id: String,
    /// Its name.
    name: String,
    /// `file` or `api`.
    source: String,
    /// Version (0 for files).
    version: u32,
    /// Whether its triggers are live.
    enabled: bool,
    /// The YAML.
    yaml: String,
}

/// A run of a playbook.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct PlaybookRun {
    /// Id (ULID).
    id: String,
    /// The playbook.
    playbook_id: String,
    /// Its version (0 for playbooks from files).
    playbook_version: u32,
    /// The alert the run is about.
    alert_id: Option<String>,
    /// `alert`, `manual` or `webhook`.
    trigger: String,
    /// Who started it.
    actor: String,
    /// `running`, `waiting` (for approval), `succeeded`, `failed`.
    status: String,
    /// Why it failed.
    error: Option<String>,
    /// Start (RFC 3339).
    created_at: String,
    /// Last change.
    updated_at: String,
    /// End.
    finished_at: Option<String>,
}

impl From<mcpsec_store::RunRecord> for PlaybookRun {
    fn from(r: mcpsec_store::RunRecord) -> Self {
        PlaybookRun {
            id: r.id,
            playbook_id: r.playbook_id,
            playbook_version: r.playbook_version,
            alert_id: r.alert_id,
            trigger: r.trigger,
            actor: r.actor,
            status: r.status,
            error: r.error,
            created_at: time(&r.created_at),
            updated_at: time(&r.updated_at),
            finished_at: r.finished_at.as_ref().map(time),
        }
    }
}

#[ComplexObject]
impl PlaybookRun {
    /// Every step record: input, output, timing, actor.
    async fn steps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StepRun>> {
        let r = responder(ctx)?;
        let id = self.id.clone();
        let steps = blocking(move || Ok(r.engine().store().step_runs(&id)?)).await?;
        Ok(steps.into_iter().map(StepRun::from).collect())
    }

    /// The approval requests of the run.
    async fn approvals(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Approval>> {
        let r = responder(ctx)?;
        let id = self.id.clone();
        let list = blocking(move || Ok(r.engine().store().approvals(&id)?)).await?;
        Ok(list.into_iter().map(Approval::from).collect())
    }
}

/// One step (or `foreach` element, or compensation) of a run.
#[derive(SimpleObject)]
pub(crate) struct StepRun {
    /// The step id (compensations: `<step>/<compensation id>`).
    step_id: String,
    /// `-1` for the step as a whole, else the element index within a `foreach`.
    item: i64,
    /// `running`, `succeeded`, `failed`, `skipped`, `waiting`, `rejected`, `cancelled`.
    status: String,
    /// Attempts made.
    attempt: u32,
    /// Rendered inputs.
    input: Option<GqlJson<serde_json::Value>>,
    /// The action's output.
    output: Option<GqlJson<serde_json::Value>>,
    /// The last error.
    error: Option<String>,
    /// Who acted.
    actor: String,
    /// First attempt began (RFC 3339).
    started_at: Option<String>,
    /// Finished.
    finished_at: Option<String>,
    /// Time spent, all attempts and waits included.
    duration_ms: Option<u64>,
}

impl From<mcpsec_store::StepRunRecord> for StepRun {
    fn from(s: mcpsec_store::StepRunRecord) -> Self {
        StepRun {
            step_id: s.step_id,
            item: s.item,
            status: s.status,
            attempt: s.attempt,
            input: s.input.map(GqlJson),
            output: s.output.map(GqlJson),
            error: s.error,
            actor: s.actor,
            started_at: s.started_at.as_ref().map(time),
            finished_at: s.finished_at.as_ref().map(time),
            duration_ms: s.duration_ms,
        }
    }
}

/// A request for approval of one step.
#[derive(SimpleObject)]
pub(crate) struct Approval {
    /// The run.
    run_id: String,
    /// The step.
    step_id: String,
    /// The playbook.
    playbook_id: String,
    /// The run's alert.
    alert_id: Option<String>,
    /// Anybody with this role may decide.
    role: Option<String>,
    /// Named approvers.
    approvers: Vec<String>,
    /// Approvals needed.
    min: u32,
    /// When the request expires (RFC 3339).
    deadline: String,
    /// `pending`, `approved`, `rejected`, `expired`.
    status: String,
    /// Whether it was escalated.
    escalated: bool,
    /// When it was asked.
    created_at: String,
    /// When it was settled.
    decided_at: Option<String>,
}

impl From<mcpsec_store::ApprovalRecord> for Approval {
    fn from(a: mcpsec_store::ApprovalRecord) -> Self {
        Approval {
            run_id: a.run_id,
            step_id: a.step_id,
            playbook_id: a.playbook_id,
            alert_id: a.alert_id,
            role: a.role,
            approvers: a.approvers,
            min: a.min,
            deadline: time(&a.deadline),
            status: a.status,
            escalated: a.escalated,
            created_at: time(&a.created_at),
            decided_at: a.decided_at.as_ref().map(time),
        }
    }
}

fn audit(
    ctx: &Context<'_>,
    who: &Principal,
    action: &str,
    target: &str,
    details: serde_json::Value,
) {
    if let Ok(st) = ctx.data::<AppState>() {
        let mut details = details;
        if let Some(o) = details.as_object_mut() {
            o.insert("transport".into(), "graphql".into());
        }
        st.audit(mcpsec_store::AuditEvent {
            tenant: who.tenant.to_string(),
            actor: who.key_id.clone(),
            action: action.into(),
            target: target.chars().take(200).collect(),
            outcome: "success".into(),
            details,
        });
    }
}

/// Playbook queries (merged into the query root).
#[derive(Default)]
pub struct PlaybookQuery;

#[Object]
impl PlaybookQuery {
    /// The playbooks serving the caller's tenant: API playbooks first, then files.
    async fn playbooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Playbook>> {
        let who = allowed(ctx, Action::PlaybooksRead)?.clone();
        let r = responder(ctx)?;
        let list = blocking(move || r.list(&who.tenant)).await?;
        Ok(list
            .into_iter()
            .map(|p| Playbook {
                id: p.id,
                name: p.name,
                source: p.source.to_owned(),
                version: p.version,
                enabled: p.enabled,
                yaml: p.yaml,
            })
            .collect())
    }

    /// The caller's runs, newest first, optionally of one playbook, alert or status.
    async fn playbook_runs(
        &self,
        ctx: &Context<'_>,
        playbook: Option<String>,
        alert: Option<String>,
        status: Option<String>,
        #[graphql(default = 100)] limit: usize,
        #[graphql(default = 0)] offset: usize,
    ) -> async_graphql::Result<Vec<PlaybookRun>> {
        let who = allowed(ctx, Action::PlaybooksRead)?.clone();
        if limit == 0 || limit > MAX_RUNS {
            return Err(format!("limit must be between 1 and {MAX_RUNS}").into());
        }
        let r = responder(ctx)?;
        let filter = mcpsec_store::RunFilter {
            playbook_id: playbook,
            alert_id: alert,
            status,
            limit,
            offset,
        };
        let runs =
            blocking(move || Ok(r.engine().store().list_runs(&who.tenant, &filter)?)).await?;
        Ok(runs.into_iter().map(PlaybookRun::from).collect())
    }

    /// One of the caller's runs (`null` when there is no such run in the caller's tenant).
    async fn playbook_run(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<PlaybookRun>> {
        let who = allowed(ctx, Action::PlaybooksRead)?.clone();
        let r = responder(ctx)?;
        let run = blocking(move || Ok(r.engine().store().get_run(Some(&who.tenant), &id)?)).await?;
        Ok(run.map(PlaybookRun::from))
    }

    /// Approval requests waiting in the caller's tenant, oldest first.
    async fn pending_approvals(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Approval>> {
        let who = allowed(ctx, Action::PlaybooksRead)?.clone();
        let r = responder(ctx)?;
        let list = blocking(move || Ok(r.engine().store().pending_approvals(&who.tenant)?)).await?;
        Ok(list.into_iter().map(Approval::from).collect())
    }
}

/// Playbook mutations.
#[derive(Default)]
pub struct PlaybookMutation;

#[Object]
impl PlaybookMutation {
    /// Starts one of the caller's playbooks by hand (it must have the `manual` trigger),
    /// usually about one of the caller's alerts; `input` is what templates see as `input`.
    /// Returns the new run.
    async fn start_playbook_run(
        &self,
        ctx: &Context<'_>,
        id: String,
        alert_id: Option<String>,
        input: Option<GqlJson<serde_json::Value>>,
    ) -> async_graphql::Result<PlaybookRun> {
        let who = allowed(ctx, Action::PlaybooksRun)?.clone();
        let r = responder(ctx)?;
        let input = input.map_or_else(|| serde_json::json!({}), |j| j.0);
        let (tenant, actor, pid) = (who.tenant.clone(), who.key_id.clone(), id.clone());
        let run =
            blocking(move || r.start_manual(&tenant, &pid, alert_id.as_deref(), input, actor))
                .await?;
        audit(
            ctx,
            &who,
            "playbooks.run",
            &id,
            serde_json::json!({"run": run.id, "alert": run.alert_id}),
        );
        Ok(run.into())
    }

    /// Approves (`approve: true`) or rejects a step of one of the caller's runs that
    /// waits for approval. The caller must be one of the step's approvers (by key id or
    /// role; admins may decide any). Returns the request as it stands.
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        run_id: String,
        step: String,
        approve: bool,
        comment: Option<String>,
    ) -> async_graphql::Result<Approval> {
        let who = allowed(ctx, Action::ApprovalsDecide)?.clone();
        let r = responder(ctx)?;
        let comment = comment.map(|c| c.chars().take(4000).collect::<String>());
        let decider = Decider {
            actor: who.key_id.clone(),
            role: who.role.clone(),
            any_role: who.role == "admin",
        };
        let (r2, tenant, rid, sid, c2) = (
            r.clone(),
            who.tenant.clone(),
            run_id.clone(),
            step.clone(),
            comment.clone(),
        );
        let rec = blocking(move || {
            r2.engine()
                .decide(Some(&tenant), &rid, &sid, &decider, approve, c2)
                // Not echoing the ids: the answer says nothing about other tenants' runs.
                .map_err(|e| match e {
                    EngineError::NotFound(_) => EngineError::NotFound(
                        "no such run, or no such step waiting for approval, in this tenant".into(),
                    ),
                    e => e,
                })
        })
        .await?;
        r.spawn_drive(run_id.clone());
        let verb = if approve { "approve" } else { "reject" };
        audit(
            ctx,
            &who,
            &format!("approvals.{verb}"),
            &format!("{run_id}/{step}"),
            serde_json::json!({"comment": comment, "status": rec.status}),
        );
        Ok(rec.into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn playbook_fields_are_in_the_schema() {
        let sdl = crate::graphql::schema().sdl();
        for q in [
            "playbooks: [Playbook!]!",
            "playbookRuns(",
            "playbookRun(",
            "pendingApprovals:",
            "steps: [StepRun!]!",
            "startPlaybookRun(",
            "decideApproval(",
        ] {
            assert!(sdl.contains(q), "{q} missing");
        }
    }

    #[test]
    fn engine_errors_keep_their_kind() {
        let e = super::engine_error(mcpsec_respond::EngineError::Conflict("decided".into()));
        assert_eq!(e.message, "decided");
        let ext = e.extensions.expect("extensions");
        assert_eq!(
            ext.get("code").map(|v| v.to_string()),
            Some("\"CONFLICT\"".into())
        );
    }
}

//! MCP tools over response playbooks: the tenant's runs (one with every step), the
//! approval requests waiting on people, and `decide_approval` (over HTTP, where the
//! server's response engine runs; audited and checked like the REST call).

use crate::mcp::blocking;
use crate::mcp::{McpServer, data_result, tool_error};
use mcpsec_store::{RunFilter, StateStore};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Most runs one `list_playbook_runs` call returns.
const MAX_RUNS: usize = 50;

/// Arguments of `list_playbook_runs`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RunsArgs {
    /// Only runs of this playbook id.
    pub playbook: Option<String>,
    /// Only runs about this alert id.
    pub alert: Option<String>,
    /// Only runs in this status: running, waiting, succeeded, failed.
    pub status: Option<String>,
    /// How many (1-50, default 20), newest first.
    pub limit: Option<usize>,
}

/// Arguments of `get_playbook_run`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RunArgs {
    /// The run id, as returned by list_playbook_runs.
    pub run_id: String,
}

/// Arguments of `decide_approval`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DecideArgs {
    /// The run id.
    pub run_id: String,
    /// The step id waiting for approval.
    pub step: String,
    /// true approves the step; false rejects it (it fails and its compensation runs).
    pub approve: bool,
    /// Why (kept with the decision).
    pub comment: Option<String>,
}

fn store(s: &McpServer) -> Result<Arc<dyn StateStore>, String> {
    s.state
        .clone()
        .ok_or_else(|| "playbook runs are not available on this server".to_owned())
}

/// A run's context holds the alert it is about (event data): keep answers bounded.
fn run_value(r: &mcpsec_store::RunRecord) -> Value {
    crate::mcp::bounded(
        r,
        "context",
        "omitted for size; the alert is available with get_alert",
    )
}

#[tool_router(router = playbook_router, vis = "pub(crate)")]
impl McpServer {
    /// Lists runs.
    #[tool(
        description = "List this tenant's response playbook runs, newest first, optionally of one playbook, alert or status (running, waiting, succeeded, failed). Needs the playbooks.read permission."
    )]
    async fn list_playbook_runs(
        &self,
        Parameters(a): Parameters<RunsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::PlaybooksRead)?;
        let st = match store(self) {
            Ok(s) => s,
            Err(e) => return Ok(tool_error(e)),
        };
        let filter = RunFilter {
            playbook_id: a.playbook,
            alert_id: a.alert,
            status: a.status,
            limit: a.limit.unwrap_or(20).clamp(1, MAX_RUNS),
            offset: 0,
        };
        match blocking(move || st.list_runs(&tenant, &filter)).await {
            Ok(runs) => Ok(data_result(json!({
                "note": "run contexts quote untrusted alert data",
                "returned": runs.len(),
                "runs": runs.iter().map(run_value).collect::<Vec<_>>(),
            }))),
            Err(e) => Ok(tool_error(e)),
        }
    }

    /// One run.
    #[tool(
        description = "One response playbook run of this tenant with every step (input, output, timing, actor) and its approval requests. Needs the playbooks.read permission."
    )]
    async fn get_playbook_run(
        &self,
        Parameters(a): Parameters<RunArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::PlaybooksRead)?;
        let st = match store(self) {
            Ok(s) => s,
            Err(e) => return Ok(tool_error(e)),
        };
        let id = a.run_id;
        let res = blocking(move || {
            let Some(run) = st.get_run(Some(&tenant), &id)? else {
                return Ok(None);
            };
            Ok(Some((run, st.step_runs(&id)?, st.approvals(&id)?)))
        })
        .await;
        match res {
            Ok(Some((run, steps, approvals))) => {
                let mut steps_v: Vec<Value> = Vec::new();
                let mut size = 0;
                let mut truncated = false;
                for s in &steps {
                    let v = serde_json::to_value(s).unwrap_or_default();
                    size += v.to_string().len();
                    if size > crate::MAX_RESULT_BYTES / 2 {
                        truncated = true;
                        break;
                    }
                    steps_v.push(v);
                }
                Ok(data_result(json!({
                    "note": "step inputs and outputs may quote untrusted data",
                    "run": run_value(&run),
                    "steps": steps_v,
                    "steps_truncated": truncated,
                    "approvals": approvals,
                })))
            }
            Ok(None) => Ok(tool_error("no such run")),
            Err(e) => Ok(tool_error(e)),
        }
    }

    /// Pending approvals.
    #[tool(
        description = "Approval requests of this tenant's playbook runs that wait on a person, oldest first: run, step, playbook, alert, who may decide and the deadline. Needs the playbooks.read permission."
    )]
    async fn list_pending_approvals(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::PlaybooksRead)?;
        let st = match store(self) {
            Ok(s) => s,
            Err(e) => return Ok(tool_error(e)),
        };
        match blocking(move || st.pending_approvals(&tenant)).await {
            Ok(list) => Ok(data_result(json!({
                "pending": list.len(),
                "approvals": list,
            }))),
            Err(e) => Ok(tool_error(e)),
        }
    }

    /// Decides an approval.
    #[tool(
        description = "Approve (approve: true) or reject one step of this tenant's playbook run that waits for approval. The caller must be one of the step's approvers (by key id or role). Recorded with who and when, and audited. Needs the approvals.decide permission; available over HTTP (/mcp)."
    )]
    async fn decide_approval(
        &self,
        Parameters(a): Parameters<DecideArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::ApprovalsDecide)?;
        let (Some(st), Some(who)) = (Self::app_state(&ctx), Self::who(&ctx)) else {
            return Ok(tool_error(
                "approvals are decided where the response engine runs: over /mcp on the \
                 server, or with `mcpsec playbook approve|reject`",
            ));
        };
        let Some(responder) = st.responder.clone() else {
            return Ok(tool_error("response orchestration is not running"));
        };
        let decider = mcpsec_respond::Decider {
            actor: who.key_id.clone(),
            role: who.role.clone(),
            any_role: who.role == "admin",
        };
        let comment = a.comment.map(|c| c.chars().take(4000).collect::<String>());
        let (r2, t2, rid, sid, c2) = (
            responder.clone(),
            tenant.clone(),
            a.run_id.clone(),
            a.step.clone(),
            comment.clone(),
        );
        let approve = a.approve;
        let res = tokio::task::spawn_blocking(move || {
            r2.engine()
                .decide(Some(&t2), &rid, &sid, &decider, approve, c2)
        })
        .await;
        let rec = match res {
            Ok(Ok(rec)) => rec,
            // Not echoing the ids: the answer says nothing about other tenants' runs.
            Ok(Err(mcpsec_respond::EngineError::NotFound(_))) => {
                return Ok(tool_error(
                    "no such run, or no such step waiting for approval, in this tenant",
                ));
            }
            Ok(Err(e)) => return Ok(tool_error(e.to_string())),
            Err(e) => return Ok(tool_error(format!("task failed: {e}"))),
        };
        responder.spawn_drive(a.run_id.clone());
        let verb = if approve { "approve" } else { "reject" };
        self.audit(
            &ctx,
            mcpsec_store::AuditEvent {
                tenant: tenant.to_string(),
                actor: who.key_id.clone(),
                action: format!("approvals.{verb}"),
                target: format!("{}/{}", a.run_id, a.step)
                    .chars()
                    .take(200)
                    .collect(),
                outcome: "success".into(),
                details: json!({"comment": comment, "status": rec.status, "transport": "mcp"}),
            },
        );
        Ok(data_result(json!({"approval": rec})))
    }
}

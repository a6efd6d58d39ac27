//! `alert.update`: sets the status of an alert and/or adds a note to its history.

use crate::action::{Action, ActionCall, ActionError, AlertUpdate};
use futures::future::BoxFuture;
use mcpsec_store::AlertStatus;
use serde_json::{Map, Value, json};

/// Changes an alert.
pub struct UpdateAlert;

impl Action for UpdateAlert {
    fn name(&self) -> &'static str {
        "alert.update"
    }
    fn summary(&self) -> &'static str {
        "sets the run's (or a named) alert's status and/or adds a note"
    }
    fn required(&self) -> &'static [&'static str] {
        &[]
    }
    fn known(&self) -> &'static [&'static str] {
        &["alert", "status", "note"]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        if !inputs.contains_key("status") && !inputs.contains_key("note") {
            return Err("needs 'status' or 'note'".into());
        }
        if let Some(s) = inputs.get("status").and_then(crate::action::literal)
            && AlertStatus::parse(s).is_none()
        {
            return Err(format!(
                "status '{s}' is not open, acknowledged, closed or false_positive"
            ));
        }
        Ok(())
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let alert = call.alert_or("alert")?;
            let status = call.opt_str("status")?;
            if let Some(s) = status
                && AlertStatus::parse(s).is_none()
            {
                return Err(ActionError::Input(format!("status '{s}' is not a status")));
            }
            let note = call
                .opt_str("note")?
                .map(|n| n.chars().take(4000).collect());
            let found = call
                .effects
                .update_alert(AlertUpdate {
                    tenant: call.tenant.to_string(),
                    alert_id: alert.clone(),
                    status: status.map(str::to_owned),
                    note,
                    actor: call.actor.to_owned(),
                })
                .await?;
            if !found {
                return Err(ActionError::Input(format!("no alert {alert}")));
            }
            Ok(json!({"alert": alert, "status": status}))
        })
    }
}

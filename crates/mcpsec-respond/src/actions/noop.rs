//! `noop`: does nothing and returns its inputs (approval gates, manual steps).

use crate::action::{Action, ActionCall, ActionError};
use futures::future::BoxFuture;
use serde_json::Value;

/// Returns its inputs.
pub struct Noop;

impl Action for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn summary(&self) -> &'static str {
        "does nothing; its output is its input (gates, manual steps, computed values)"
    }
    fn required(&self) -> &'static [&'static str] {
        &[]
    }
    fn known(&self) -> &'static [&'static str] {
        &["*"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move { Ok(Value::Object(call.input.clone())) })
    }
}

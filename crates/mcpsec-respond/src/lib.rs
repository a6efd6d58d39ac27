//! Response orchestration: playbooks that react to alerts.
//!
//! A playbook (YAML, or imported from CACAO v2 JSON) is a graph of steps; each step
//! calls an action (Slack, Teams, PagerDuty, Jira, ServiceNow, webhooks, e-mail,
//! nftables blocking, EDR/IdP containment, alert updates) with inputs templated over the
//! alert and earlier steps' outputs. The [`Engine`] persists every step in the state
//! store so runs survive crashes, waits for approvals, retries with backoff and runs
//! compensation steps on failure. The simulator walks the same graph with every effect
//! recorded instead of sent.
//!
//! | module | job |
//! |---|---|
//! | [`model`] | the playbook format |
//! | [`validate`] | parsing with precise errors |
//! | [`template`] | the sandboxed minijinja templates |
//! | [`action`] / [`actions`] | the action trait and the built-in actions |
//! | [`engine`] | durable runs, approvals |
//! | [`secrets`] | env / file / Vault KV v2 secrets |
//! | [`live`] / [`simulate`] | real and recorded effects |
//! | [`cacao`] | CACAO v2 import |
//! | [`trigger`] | which playbooks an alert starts |
//! | [`schedule`] | cron schedules of playbooks |
//! | [`updates`] | live run updates |
//! | [`service`] | the responder inside `serve` |

pub mod action;
pub mod actions;
pub mod cacao;
pub mod config;
pub mod engine;
pub mod live;
pub mod model;
pub mod schedule;
pub mod secrets;
pub mod service;
pub mod simulate;
pub mod template;
pub mod trigger;
pub mod updates;
pub mod validate;

pub use action::{Action, ActionCall, ActionError, Effects};
pub use actions::Registry;
pub use config::{RespondConfig, Services, VaultConfig};
pub use engine::{Decider, Engine, EngineError, StartRun};
pub use model::Playbook;
pub use service::{FilePlaybook, PlaybookInfo, Responder};
pub use validate::{Diagnostic, Invalid, parse_playbook};

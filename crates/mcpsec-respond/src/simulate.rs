//! The simulator's effects: nothing leaves the machine. Every effect is recorded with
//! secrets shown as `[secret:NAME]` and answered with a canned success, so a whole
//! playbook can be walked to see what would be sent where.

use crate::action::{
    ActionError, AlertUpdate, CommandRequest, Effects, HttpRequest, HttpResponse, MailRequest,
};
use crate::config::Services;
use futures::future::BoxFuture;
use serde::Serialize;
use std::sync::Mutex;

/// One recorded effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recorded {
    /// An HTTP request.
    Http(HttpRequest),
    /// A command with its standard input (e.g. nftables rules).
    Command(CommandRequest),
    /// An e-mail.
    Mail(MailRequest),
    /// An alert change.
    Alert(AlertUpdate),
    /// A DNS lookup (answered with a documentation address).
    Resolve {
        /// The name.
        host: String,
    },
}

/// Records instead of acting.
pub struct Recorder {
    services: Services,
    log: Mutex<Vec<(String, Recorded)>>,
    current: Mutex<String>,
}

/// How a secret appears in recorded effects.
pub fn placeholder(name: &str) -> String {
    format!("[secret:{name}]")
}

fn redact_headers(headers: &mut [(String, String)]) {
    for (k, v) in headers.iter_mut() {
        let lower = k.to_ascii_lowercase();
        if lower == "authorization" || lower == "proxy-authorization" || lower == "x-vault-token" {
            let scheme = v
                .split(' ')
                .next()
                .filter(|_| v.contains(' '))
                .unwrap_or("");
            *v = format!("{scheme} [redacted]").trim_start().to_owned();
        }
    }
}

impl Recorder {
    /// A recorder using these service settings (base URLs show in the record).
    pub fn new(services: Services) -> Self {
        Recorder {
            services,
            log: Mutex::new(Vec::new()),
            current: Mutex::new(String::new()),
        }
    }

    /// Labels records made through the recorder itself (not through [`Tagged`]).
    pub fn set_step(&self, step: &str) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = step.to_owned();
    }

    fn tagged(&self) -> Tagged<'_> {
        let step = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Tagged::new(self, &step)
    }

    /// Everything recorded so far, as `(step, effect)`.
    pub fn take(&self) -> Vec<(String, Recorded)> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The recorder seen by one step: labels what it records with the step id (parallel
/// steps record at the same time).
pub struct Tagged<'a> {
    rec: &'a Recorder,
    step: String,
}

impl<'a> Tagged<'a> {
    /// Records for `step`.
    pub fn new(rec: &'a Recorder, step: &str) -> Self {
        Tagged {
            rec,
            step: step.to_owned(),
        }
    }

    fn push(&self, r: Recorded) {
        self.rec
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((self.step.clone(), r));
    }
}

impl Effects for Tagged<'_> {
    fn http(&self, mut req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, ActionError>> {
        redact_headers(&mut req.headers);
        self.push(Recorded::Http(req));
        Box::pin(async {
            Ok(HttpResponse {
                status: 200,
                body: r#"{"ok":true,"simulated":true}"#.into(),
            })
        })
    }

    fn command(&self, req: CommandRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        self.push(Recorded::Command(req));
        Box::pin(async { Ok(String::new()) })
    }

    fn mail(&self, req: MailRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        self.push(Recorded::Mail(req));
        Box::pin(async { Ok("250 simulated".into()) })
    }

    fn update_alert(&self, req: AlertUpdate) -> BoxFuture<'_, Result<bool, ActionError>> {
        self.push(Recorded::Alert(req));
        Box::pin(async { Ok(true) })
    }

    fn resolve<'b>(&'b self, host: &'b str) -> BoxFuture<'b, Result<Vec<String>, ActionError>> {
        self.push(Recorded::Resolve { host: host.into() });
        Box::pin(async { Ok(vec!["192.0.2.1".to_string()]) })
    }

    fn secret<'b>(&'b self, name: &'b str) -> BoxFuture<'b, Result<String, ActionError>> {
        Box::pin(async move { Ok(placeholder(name)) })
    }

    fn services(&self) -> &Services {
        &self.rec.services
    }
}

impl Effects for Recorder {
    fn http(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, ActionError>> {
        let t = self.tagged();
        Box::pin(async move { t.http(req).await })
    }

    fn command(&self, req: CommandRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        let t = self.tagged();
        Box::pin(async move { t.command(req).await })
    }

    fn mail(&self, req: MailRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        let t = self.tagged();
        Box::pin(async move { t.mail(req).await })
    }

    fn update_alert(&self, req: AlertUpdate) -> BoxFuture<'_, Result<bool, ActionError>> {
        let t = self.tagged();
        Box::pin(async move { t.update_alert(req).await })
    }

    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<String>, ActionError>> {
        let t = self.tagged();
        Box::pin(async move { t.resolve(host).await })
    }

    fn secret<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move { Ok(placeholder(name)) })
    }

    fn services(&self) -> &Services {
        &self.services
    }
}

/// What a simulated run did.
#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    /// The run's final status.
    pub status: String,
    /// Every step record (inputs, outputs, skips, failures).
    pub steps: Vec<mcpsec_store::StepRunRecord>,
    /// Every effect, labelled with its step.
    pub effects: Vec<SimEffect>,
}

/// One recorded effect of a step.
#[derive(Debug, Clone, Serialize)]
pub struct SimEffect {
    /// The step (`<step>/<compensation>` for compensations).
    pub step: String,
    /// The effect.
    #[serde(flatten)]
    pub effect: Recorded,
}

/// Runs a playbook against an alert with every effect recorded; nothing is sent.
pub async fn simulate(
    yaml: &str,
    alert: serde_json::Value,
    services: Services,
) -> Result<Simulation, crate::EngineError> {
    let store: std::sync::Arc<dyn mcpsec_store::StateStore> =
        std::sync::Arc::new(mcpsec_store::SqliteState::in_memory()?);
    let rec = std::sync::Arc::new(Recorder::new(services));
    let engine = crate::Engine::simulator(store.clone(), crate::Registry::builtin(), rec.clone());
    let tenant = alert
        .get("tenant")
        .and_then(|t| t.as_str())
        .and_then(|t| mcpsec_core::TenantId::new(t).ok())
        .unwrap_or_else(mcpsec_core::TenantId::default_tenant);
    let run = engine.start(crate::StartRun {
        tenant,
        yaml: yaml.to_owned(),
        version: 0,
        alert: Some(alert),
        trigger: "simulation".into(),
        actor: "simulator".into(),
        input: serde_json::json!({}),
    })?;
    let status = engine.drive(&run.id).await?;
    let steps = store.step_runs(&run.id)?;
    let effects = rec
        .take()
        .into_iter()
        .map(|(step, effect)| SimEffect { step, effect })
        .collect();
    Ok(Simulation {
        status,
        steps,
        effects,
    })
}

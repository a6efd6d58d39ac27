//! The effects of a real run: HTTP over reqwest, commands without a shell, SMTP, the
//! state store for alerts, the secret store for secrets.

use crate::action::{
    ActionError, AlertUpdate, CommandRequest, Effects, HttpRequest, HttpResponse, MailRequest,
};
use crate::config::Services;
use crate::secrets::SecretStore;
use futures::future::BoxFuture;
use mcpsec_core::TenantId;
use mcpsec_store::{AlertStatus, StateStore};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body kept.
const MAX_BODY: usize = 1 << 20;

/// Real effects.
pub struct LiveEffects {
    client: reqwest::Client,
    secrets: Arc<SecretStore>,
    services: Services,
    store: Option<Arc<dyn StateStore>>,
}

impl LiveEffects {
    /// Effects with these settings; without a store, `alert.update` fails.
    pub fn new(
        services: Services,
        secrets: Arc<SecretStore>,
        store: Option<Arc<dyn StateStore>>,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(services.http_timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcpsec/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &services.ca_file {
            for cert in read_ca_file(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(LiveEffects {
            client,
            secrets,
            services,
            store,
        })
    }
}

/// Largest CA file read.
const MAX_CA_FILE: u64 = 1 << 20;

/// The certificates of a PEM CA bundle; an error names the file and what is wrong.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let what = format!("[respond.services] ca_file {}", path.display());
    let meta = std::fs::metadata(path).map_err(|e| format!("{what}: {e}"))?;
    if meta.len() > MAX_CA_FILE {
        return Err(format!("{what}: larger than 1 MiB"));
    }
    let pem = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| format!("{what}: not a PEM certificate bundle"))?;
    if certs.is_empty() {
        return Err(format!("{what}: holds no PEM certificate"));
    }
    Ok(certs)
}

async fn send_http(
    client: &reqwest::Client,
    req: HttpRequest,
) -> Result<HttpResponse, ActionError> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| ActionError::Input(format!("bad method {}", req.method)))?;
    let mut b = client.request(method, &req.url);
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    if let Some(body) = req.body {
        b = b.body(body);
    }
    let host = reqwest::Url::parse(&req.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let mut resp = b.send().await.map_err(|e| {
        // reqwest's message may include the URL, which may be a secret (webhooks).
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else if e.is_builder() {
            "bad request"
        } else {
            "request failed"
        };
        ActionError::Failed(format!("{kind} ({host})"))
    })?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| ActionError::Failed(format!("reading the reply of {host} failed")))?
    {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room == 0 {
            break;
        }
    }
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn run_command(req: CommandRequest) -> Result<String, ActionError> {
    use tokio::io::AsyncWriteExt as _;
    let Some((prog, args)) = req.argv.split_first() else {
        return Err(ActionError::Input("empty command".into()));
    };
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ActionError::Failed(format!("cannot start {prog}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let data = req.stdin.unwrap_or_default();
        stdin
            .write_all(data.as_bytes())
            .await
            .map_err(|e| ActionError::Failed(format!("{prog}: writing stdin: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| ActionError::Failed(format!("{prog}: {e}")))?;
    if !out.status.success() {
        let err: String = String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(500)
            .collect();
        return Err(ActionError::Failed(format!(
            "{prog} exited with {}: {err}",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(feature = "smtp")]
async fn send_mail(
    services: &Services,
    secrets: &SecretStore,
    req: MailRequest,
) -> Result<String, ActionError> {
    use lettre::message::{Mailbox, header::ContentType};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let host = services.smtp_host.as_deref().ok_or_else(|| {
        ActionError::Input("[respond.services] smtp_host is not configured".into())
    })?;
    let parse = |a: &str| -> Result<Mailbox, ActionError> {
        a.parse()
            .map_err(|_| ActionError::Input(format!("'{a}' is not a valid address")))
    };
    let mut m = Message::builder()
        .from(parse(&req.from)?)
        .subject(req.subject)
        .message_id(Some(req.message_id))
        .header(ContentType::TEXT_PLAIN);
    for to in &req.to {
        m = m.to(parse(to)?);
    }
    let msg = m
        .body(req.body)
        .map_err(|e| ActionError::Input(format!("cannot build the message: {e}")))?;
    let mut t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(services.smtp_port)
        .timeout(Some(Duration::from_secs(services.http_timeout_secs.max(1))));
    if let Some(user) = services.smtp_user.as_deref().filter(|u| !u.is_empty()) {
        let password = secrets.get(&services.smtp_password_secret).await?;
        t = t.credentials(lettre::transport::smtp::authentication::Credentials::new(
            user.to_owned(),
            password,
        ));
    }
    let resp = t.build().send(msg).await.map_err(|e| {
        if e.is_permanent() {
            ActionError::Input(format!("SMTP refused the message: {e}"))
        } else {
            ActionError::Failed(format!("SMTP failed: {e}"))
        }
    })?;
    Ok(format!(
        "{} {}",
        resp.code(),
        resp.message().collect::<Vec<_>>().join(" ")
    ))
}

#[cfg(not(feature = "smtp"))]
async fn send_mail(_: &Services, _: &SecretStore, _: MailRequest) -> Result<String, ActionError> {
    Err(ActionError::Input(
        "this build has no SMTP support (feature 'smtp')".into(),
    ))
}

impl Effects for LiveEffects {
    fn http(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, ActionError>> {
        Box::pin(send_http(&self.client, req))
    }

    fn command(&self, req: CommandRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        Box::pin(run_command(req))
    }

    fn mail(&self, req: MailRequest) -> BoxFuture<'_, Result<String, ActionError>> {
        Box::pin(send_mail(&self.services, &self.secrets, req))
    }

    fn update_alert(&self, req: AlertUpdate) -> BoxFuture<'_, Result<bool, ActionError>> {
        Box::pin(async move {
            let Some(store) = self.store.clone() else {
                return Err(ActionError::Input("no alert store here".into()));
            };
            let tenant = TenantId::new(&req.tenant).map_err(ActionError::Input)?;
            tokio::task::spawn_blocking(move || {
                let status = match req.status.as_deref() {
                    Some(s) => AlertStatus::parse(s)
                        .ok_or_else(|| ActionError::Input(format!("bad status {s}")))?,
                    None => match store.get_alert(&tenant, &req.alert_id) {
                        Ok(Some(a)) => a.status,
                        Ok(None) => return Ok(false),
                        Err(e) => return Err(ActionError::Failed(e.to_string())),
                    },
                };
                store
                    .set_alert_status(
                        &tenant,
                        std::slice::from_ref(&req.alert_id),
                        status,
                        &req.actor,
                        req.note.as_deref(),
                        chrono::Utc::now(),
                    )
                    .map(|ids| !ids.is_empty())
                    .map_err(|e| ActionError::Failed(e.to_string()))
            })
            .await
            .map_err(|e| ActionError::Failed(e.to_string()))?
        })
    }

    fn secret<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.secrets.get(name))
    }

    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<String>, ActionError>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| ActionError::Failed(format!("cannot resolve {host}: {e}")))?;
            let mut out: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            out.sort();
            out.dedup();
            Ok(out)
        })
    }

    fn services(&self) -> &Services {
        &self.services
    }
}

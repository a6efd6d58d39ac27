//! Delivery of a scheduled report once its document is stored: to a webhook (a POST
//! with the report's kind, job and schedule in headers, an `Idempotency-Key` — the job
//! id, the same on every retry — and, when a key is configured, `X-Mcpsec-Signature:
//! sha256=<hex HMAC-SHA256 of the body>`), by e-mail ([`crate::report_mail`]) and to
//! object storage ([`crate::report_s3`]). Each target is retried with exponential
//! backoff; the targets' last errors are kept on the schedule.

use crate::report_targets::{DeliveryTargets, WebhookTarget};
use hmac::{Hmac, Mac};
use mcpsec_report::Format;
use mcpsec_store::ReportJob;
use sha2::Sha256;
use std::time::Duration;

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the server delivers scheduled reports with (`[report.smtp]`, `[report.s3]`,
/// `[report] public_url`).
#[derive(Debug, Clone, Default)]
pub struct ReportDelivery {
    /// The SMTP relay; none: `deliver.email` is refused.
    pub smtp: Option<crate::SmtpSettings>,
    /// The object storage; none: `deliver.s3` is refused.
    pub s3: Option<crate::S3Settings>,
    /// Base URL of this server as people reach it (for links in e-mails); none: the
    /// links are paths.
    pub public_url: Option<String>,
}

/// Where a scheduled report's document goes once done.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The schedule (its `last_error` records a failed delivery).
    pub(crate) schedule: String,
    /// The targets.
    pub(crate) targets: DeliveryTargets,
}

/// A finished document on its way out.
pub(crate) struct Document<'a> {
    /// Its job.
    pub(crate) job: &'a ReportJob,
    /// The schedule that made it.
    pub(crate) schedule: &'a str,
    /// Its format.
    pub(crate) format: Format,
    /// Its bytes, as stored.
    pub(crate) bytes: &'a [u8],
}

impl Document<'_> {
    /// `mcpsec-<kind>-<job>.<ext>`.
    pub(crate) fn file_name(&self) -> String {
        format!(
            "mcpsec-{}-{}.{}",
            self.job.kind,
            self.job.id,
            self.format.as_str()
        )
    }

    /// The period covered, for people.
    pub(crate) fn period(&self) -> String {
        let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        };
        match (at(self.job.from), at(self.job.to)) {
            (Some(f), Some(t)) => format!("{f} to {t}"),
            (Some(f), None) => format!("since {f}"),
            (None, Some(t)) => format!("until {t}"),
            (None, None) => "all time".to_owned(),
        }
    }
}

fn outcome(target: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!("mcpsec_report_deliveries_total", "target" => target, "outcome" => outcome)
        .increment(1);
}

/// Delivers a finished document to every target; `Some` joins the targets' errors.
pub(crate) async fn deliver(
    cfg: &ReportDelivery,
    to: &Delivery,
    job: &ReportJob,
    bytes: &[u8],
) -> Option<String> {
    let format = job.format.parse::<Format>().unwrap_or(Format::Json);
    let doc = Document {
        job,
        schedule: &to.schedule,
        format,
        bytes,
    };
    let mut errors = Vec::new();
    if let Some(w) = &to.targets.webhook {
        let r = webhook(w, &doc).await;
        outcome("webhook", r.is_ok());
        if let Err(e) = r {
            errors.push(format!("webhook: {e}"));
        }
    }
    if let Some(e) = &to.targets.email {
        let r = match &cfg.smtp {
            Some(smtp) => {
                let link = format!(
                    "{}/api/v1/reports/jobs/{}",
                    cfg.public_url
                        .as_deref()
                        .unwrap_or("")
                        .trim_end_matches('/'),
                    job.id
                );
                crate::report_mail::send(smtp, e, &doc, &link).await
            }
            None => Err("this server has no [report.smtp] section any more".to_owned()),
        };
        outcome("email", r.is_ok());
        if let Err(e) = r {
            errors.push(format!("email: {e}"));
        }
    }
    if let Some(t) = &to.targets.s3 {
        let r = match &cfg.s3 {
            Some(s3) => crate::report_s3::put(s3, t, &doc).await,
            None => Err("this server has no [report.s3] section any more".to_owned()),
        };
        outcome("s3", r.is_ok());
        match r {
            Ok(key) => {
                tracing::info!(schedule = %to.schedule, job = %job.id, bucket = %t.bucket, key = %key, "report stored")
            }
            Err(e) => errors.push(format!("s3: {e}")),
        }
    }
    if errors.is_empty() {
        return None;
    }
    let error = errors.join("; ");
    tracing::warn!(schedule = %to.schedule, job = %job.id, error = %error, "report delivery failed");
    Some(error)
}

/// The signature header value for `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// POSTs the document; `Err` says why the last attempt failed.
async fn webhook(to: &WebhookTarget, doc: &Document<'_>) -> Result<(), String> {
    let (job, kind) = (doc.job.id.as_str(), doc.job.kind.as_str());
    let key = match &to.secret_env {
        Some(name) => Some(std::env::var(name).map_err(|_| {
            format!("environment variable {name} (the webhook's signing key) is not set")
        })?),
        None => None,
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let content_type = doc.format.content_type();
    let sig = key
        .as_deref()
        .and_then(|k| signature(k.as_bytes(), doc.bytes));
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        let mut req = client
            .post(&to.url)
            .header("content-type", content_type)
            .header("idempotency-key", job)
            .header("x-mcpsec-report", kind)
            .header("x-mcpsec-job", job)
            .header("x-mcpsec-schedule", doc.schedule)
            .header(
                "content-disposition",
                format!("attachment; filename=\"{}\"", doc.file_name()),
            )
            .body(doc.bytes.to_vec());
        if let Some(s) = &sig {
            req = req.header("x-mcpsec-signature", s);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            // A client error other than 408/429 will not heal by retrying.
            Ok(r) if r.status().is_client_error() && ![408, 429].contains(&r.status().as_u16()) => {
                last = format!("webhook answered {}", r.status());
                break;
            }
            Ok(r) => last = format!("webhook answered {}", r.status()),
            Err(e) => last = format!("webhook unreachable: {e}"),
        }
    }
    Err(last)
}

//! Delivery of a scheduled report: a POST of the document to a webhook, with the
//! report's kind, job and schedule in headers, an `Idempotency-Key` (the job id, the
//! same on every retry) and, when a key is configured, `X-Mcpsec-Signature:
//! sha256=<hex HMAC-SHA256 of the body>`. Failures are retried with exponential
//! backoff; the last error is kept on the schedule.

use crate::report_jobs::Delivery;
use hmac::{Hmac, Mac};
use mcpsec_report::Format;
use sha2::Sha256;
use std::time::Duration;

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(30);

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
pub(crate) async fn webhook(
    to: &Delivery,
    job: &str,
    kind: &str,
    format: &str,
    body: Vec<u8>,
) -> Result<(), String> {
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
    let content_type = format
        .parse::<Format>()
        .map(Format::content_type)
        .unwrap_or("application/octet-stream");
    let sig = key.as_deref().and_then(|k| signature(k.as_bytes(), &body));
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
            .header("x-mcpsec-schedule", &to.schedule)
            .header(
                "content-disposition",
                format!("attachment; filename=\"mcpsec-{kind}-{job}.{format}\""),
            )
            .body(body.clone());
        if let Some(s) = &sig {
            req = req.header("x-mcpsec-signature", s);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                metrics::counter!("mcpsec_report_deliveries_total", "outcome" => "ok").increment(1);
                return Ok(());
            }
            // A client error other than 408/429 will not heal by retrying.
            Ok(r) if r.status().is_client_error() && ![408, 429].contains(&r.status().as_u16()) => {
                last = format!("webhook answered {}", r.status());
                break;
            }
            Ok(r) => last = format!("webhook answered {}", r.status()),
            Err(e) => last = format!("webhook unreachable: {e}"),
        }
    }
    metrics::counter!("mcpsec_report_deliveries_total", "outcome" => "failed").increment(1);
    tracing::warn!(schedule = %to.schedule, job, error = %last, "report delivery failed");
    Err(last)
}

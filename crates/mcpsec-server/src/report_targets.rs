//! Where a scheduled report goes besides the history — a webhook, e-mail recipients, an
//! object-storage bucket — and the checks a schedule's targets pass before it is stored.

use crate::ApiError;
use serde::{Deserialize, Serialize};

/// Recipients of one message at most (to + cc).
const MAX_RECIPIENTS: usize = 50;

/// A webhook to deliver to.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookTarget {
    /// `http://` or `https://` URL the document is POSTed to.
    pub(crate) url: String,
    /// Name of an environment variable of the server (starting with `MCPSEC_`) that
    /// holds the HMAC-SHA256 key; the signature goes in `X-Mcpsec-Signature`.
    pub(crate) secret_env: Option<String>,
}

/// E-mail recipients (sent through the server's `[report.smtp]` relay).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailTarget {
    /// Plain `local@domain` addresses (1–50 with `cc`).
    pub(crate) to: Vec<String>,
    /// Copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) cc: Vec<String>,
    /// Subject (at most 200 characters); default `mcpsec <kind> report, <period>`.
    pub(crate) subject: Option<String>,
}

/// An object-storage bucket (reached through the server's `[report.s3]` settings).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct S3Target {
    /// Bucket name (3–63 characters: a-z, 0-9, `.`, `-`).
    pub(crate) bucket: String,
    /// Key prefix, e.g. `mcpsec/reports` (no leading `/`, no `..`); the object key is
    /// `{prefix}/{tenant}/{kind}/{date}-{job}.{ext}`.
    pub(crate) prefix: Option<String>,
}

/// Where a scheduled report goes besides the history.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryTargets {
    /// POST the document here.
    pub(crate) webhook: Option<WebhookTarget>,
    /// Mail the document as an attachment.
    pub(crate) email: Option<EmailTarget>,
    /// Store the document as an object.
    pub(crate) s3: Option<S3Target>,
}

impl DeliveryTargets {
    /// The kinds of target set (`webhook`, `email`, `s3`), for the audit log: where a
    /// schedule sends reports, without addresses or URLs.
    pub(crate) fn kinds(&self) -> Vec<&'static str> {
        [
            ("webhook", self.webhook.is_some()),
            ("email", self.email.is_some()),
            ("s3", self.s3.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    /// Whether nothing is to be delivered.
    pub(crate) fn is_empty(&self) -> bool {
        self.webhook.is_none() && self.email.is_none() && self.s3.is_none()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg.into())
}

/// Checks every target, and that the server can reach the kinds named.
pub(crate) fn check(t: &DeliveryTargets, cfg: &crate::ReportDelivery) -> Result<(), ApiError> {
    if let Some(w) = &t.webhook {
        check_webhook(w)?;
    }
    if let Some(e) = &t.email {
        if cfg.smtp.is_none() {
            return Err(bad(
                "deliver.email needs an SMTP relay: this server has no [report.smtp] section",
            ));
        }
        check_email(e)?;
    }
    if let Some(s) = &t.s3 {
        if cfg.s3.is_none() {
            return Err(bad(
                "deliver.s3 needs object storage: this server has no [report.s3] section",
            ));
        }
        check_s3(s)?;
    }
    Ok(())
}

fn check_webhook(w: &WebhookTarget) -> Result<(), ApiError> {
    let ok_scheme = w.url.starts_with("http://") || w.url.starts_with("https://");
    if !ok_scheme || w.url.len() > 2048 || w.url.chars().any(char::is_whitespace) {
        return Err(bad(
            "deliver.webhook.url must be an http:// or https:// URL of at most 2048 characters",
        ));
    }
    if let Some(env) = &w.secret_env
        && (!env.starts_with("MCPSEC_")
            || env.len() > 128
            || !env
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
    {
        return Err(bad(
            "deliver.webhook.secret_env must name an MCPSEC_* environment variable (A-Z, 0-9, _)",
        ));
    }
    Ok(())
}

fn check_email(e: &EmailTarget) -> Result<(), ApiError> {
    let n = e.to.len() + e.cc.len();
    if e.to.is_empty() || n > MAX_RECIPIENTS {
        return Err(bad(format!(
            "deliver.email needs 1 to {MAX_RECIPIENTS} recipients (to and cc), at least one in to"
        )));
    }
    if let Some(a) = e.to.iter().chain(&e.cc).find(|a| !valid_address(a)) {
        let shown: String = a.chars().take(80).flat_map(char::escape_default).collect();
        return Err(bad(format!(
            "deliver.email: \"{shown}\" is not a plain e-mail address (local@domain)"
        )));
    }
    if let Some(s) = &e.subject
        && (s.chars().count() > 200 || s.chars().any(char::is_control))
    {
        return Err(bad(
            "deliver.email.subject must be at most 200 characters without control characters",
        ));
    }
    Ok(())
}

/// Whether `a` is a plain `local@domain` address: nothing a header or an SMTP command
/// could be smuggled through.
pub(crate) fn valid_address(a: &str) -> bool {
    mcpsec_respond::actions::valid_address(a)
}

fn check_s3(s: &S3Target) -> Result<(), ApiError> {
    let b = &s.bucket;
    let ok = (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.as_bytes()[0].is_ascii_alphanumeric()
        && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..");
    if !ok {
        return Err(bad(
            "deliver.s3.bucket must be a bucket name: 3 to 63 characters a-z, 0-9, '.', '-'",
        ));
    }
    if let Some(p) = &s.prefix {
        let ok = p.len() <= 512
            && !p.starts_with('/')
            && p.split('/').all(|seg| seg != "." && seg != "..")
            && p.bytes().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'_' | b'.' | b'=')
            });
        if !ok {
            return Err(bad(
                "deliver.s3.prefix must be at most 512 characters of a-z, A-Z, 0-9, '/', '-', '_', '.', '=' without a leading '/' or '..' segments",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> crate::ReportDelivery {
        crate::ReportDelivery {
            smtp: Some(crate::SmtpSettings {
                host: "127.0.0.1".into(),
                port: None,
                tls: crate::SmtpTls::None,
                username: None,
                password_env: None,
                from: "r@example.com".into(),
                ca_file: None,
            }),
            s3: Some(crate::S3Settings {
                endpoint: "http://127.0.0.1:9000".into(),
                region: "us-east-1".into(),
                access_key_env: "MCPSEC_S3_ACCESS_KEY".into(),
                secret_key_env: "MCPSEC_S3_SECRET_KEY".into(),
                path_style: true,
            }),
            public_url: None,
        }
    }

    fn targets(v: serde_json::Value) -> DeliveryTargets {
        serde_json::from_value(v).expect("targets")
    }

    #[test]
    fn good_targets_pass() {
        let t = targets(serde_json::json!({
            "email": {"to": ["soc@example.com"], "cc": ["ciso@example.com"], "subject": "Weekly"},
            "s3": {"bucket": "sec-reports", "prefix": "mcpsec/weekly"},
            "webhook": {"url": "https://hooks.example.com/x"}
        }));
        check(&t, &cfg()).expect("valid");
        assert!(!t.is_empty());
        assert_eq!(t.kinds(), ["webhook", "email", "s3"]);
        assert!(DeliveryTargets::default().is_empty());
    }

    #[test]
    fn bad_addresses_buckets_and_prefixes_are_refused() {
        for bad in [
            serde_json::json!({"email": {"to": []}}),
            serde_json::json!({"email": {"to": ["soc"]}}),
            serde_json::json!({"email": {"to": ["a@example.com\r\nRCPT TO:<x@evil.example>"]}}),
            serde_json::json!({"email": {"to": ["a@example.com"], "cc": ["Boss <b@example.com>"]}}),
            serde_json::json!({"email": {"to": ["a@example.com"], "subject": "x\r\nBcc: e@evil.example"}}),
            serde_json::json!({"email": {"to": vec!["a@example.com"; 51]}}),
            serde_json::json!({"s3": {"bucket": "UPPER"}}),
            serde_json::json!({"s3": {"bucket": "ab"}}),
            serde_json::json!({"s3": {"bucket": "a/b/c"}}),
            serde_json::json!({"s3": {"bucket": "ok-bucket", "prefix": "../up"}}),
            serde_json::json!({"s3": {"bucket": "ok-bucket", "prefix": "/abs"}}),
            serde_json::json!({"s3": {"bucket": "ok-bucket", "prefix": "a b"}}),
        ] {
            let t = targets(bad.clone());
            assert!(check(&t, &cfg()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_target_the_server_cannot_reach_is_refused() {
        let none = crate::ReportDelivery::default();
        let e = check(
            &targets(serde_json::json!({"email": {"to": ["a@example.com"]}})),
            &none,
        )
        .expect_err("no smtp");
        assert!(e.message.contains("[report.smtp]"), "{}", e.message);
        let e = check(
            &targets(serde_json::json!({"s3": {"bucket": "abc"}})),
            &none,
        )
        .expect_err("no s3");
        assert!(e.message.contains("[report.s3]"), "{}", e.message);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_value::<DeliveryTargets>(
                serde_json::json!({"email": {"to": ["a@example.com"], "bcc": ["x@example.com"]}})
            )
            .is_err()
        );
    }
}

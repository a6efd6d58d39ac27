//! Report delivery to object storage: a `PUT` of the document to an S3-compatible
//! endpoint, authenticated with AWS Signature Version 4 (a pre-signed request from
//! `rusty-s3`, which signs without doing I/O; the content type is among the signed
//! headers). The keys are read from environment variables at send time, never logged.
//!
//! Object key: `{prefix}/{tenant}/{kind}/{date}-{job}.{ext}` (the prefix and its `/` are
//! left out when unset).

use crate::report_deliver::Document;
use crate::report_targets::S3Target;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde::Deserialize;
use std::time::Duration;

/// `[report.s3]`: the object storage scheduled reports are written to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    /// Signing region, e.g. `eu-west-1` (`us-east-1` for most S3-compatible servers).
    #[serde(default = "default_region")]
    pub region: String,
    /// Environment variable holding the access key id.
    pub access_key_env: String,
    /// Environment variable holding the secret access key.
    pub secret_key_env: String,
    /// `https://endpoint/bucket/key` (true) rather than `https://bucket.endpoint/key`
    /// (false, default; needs a host name endpoint).
    #[serde(default)]
    pub path_style: bool,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;
/// How long one attempt may take, and how long its signature is valid.
const TIMEOUT: Duration = Duration::from_secs(60);

impl S3Settings {
    /// Checks what can be checked before the first delivery (at start-up).
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.endpoint)
            .map_err(|e| format!("report.s3.endpoint {:?}: {e}", self.endpoint))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "report.s3.endpoint {:?} must be an http:// or https:// URL",
                self.endpoint
            ));
        }
        if self.region.is_empty() || self.region.len() > 64 {
            return Err("report.s3.region must hold 1 to 64 characters".into());
        }
        for (name, v) in [
            ("access_key_env", &self.access_key_env),
            ("secret_key_env", &self.secret_key_env),
        ] {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "report.s3.{name} must name an environment variable"
                ));
            }
        }
        Ok(())
    }

    fn bucket(&self, name: &str) -> Result<Bucket, String> {
        let url =
            reqwest::Url::parse(&self.endpoint).map_err(|e| format!("report.s3.endpoint: {e}"))?;
        let style = if self.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        Bucket::new(url, style, name.to_owned(), self.region.clone())
            .map_err(|e| format!("cannot address bucket {name:?} at report.s3.endpoint: {e:?}"))
    }

    fn credentials(&self) -> Result<Credentials, String> {
        let var = |name: &str, what: &str| {
            std::env::var(name)
                .map_err(|_| format!("environment variable {name} (the S3 {what}) is not set"))
        };
        Ok(Credentials::new(
            var(&self.access_key_env, "access key id")?,
            var(&self.secret_key_env, "secret access key")?,
        ))
    }
}

/// Where the document of `doc` goes in the bucket.
pub(crate) fn object_key(prefix: Option<&str>, doc: &Document<'_>) -> String {
    let name = format!(
        "{}/{}/{}-{}.{}",
        doc.job.tenant.as_str(),
        doc.job.kind,
        doc.job.created_at.format("%Y-%m-%d"),
        doc.job.id,
        doc.format.as_str()
    );
    match prefix
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{p}/{name}"),
        None => name,
    }
}

/// Writes the document; `Ok` holds the object key, `Err` says why the last attempt failed.
pub(crate) async fn put(
    s3: &S3Settings,
    to: &S3Target,
    doc: &Document<'_>,
) -> Result<String, String> {
    let bucket = s3.bucket(&to.bucket)?;
    let creds = s3.credentials()?;
    let key = object_key(to.prefix.as_deref(), doc);
    let content_type = doc.format.content_type();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        // Signed anew for every attempt: a pre-signed request carries its own time.
        let mut action = bucket.put_object(Some(&creds), &key);
        action.headers_mut().insert("content-type", content_type);
        let url = action.sign(TIMEOUT);
        let sent = client
            .put(url)
            .header("content-type", content_type)
            .body(doc.bytes.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(key),
            Ok(r) => {
                let status = r.status();
                let code = s3_error_code(&r.text().await.unwrap_or_default());
                last = format!(
                    "object storage answered {status}{} for s3://{}/{key}",
                    code.map(|c| format!(" ({c})")).unwrap_or_default(),
                    to.bucket
                );
                // Refused credentials, a missing bucket: retrying will not help.
                if status.is_client_error() && ![408, 429].contains(&status.as_u16()) {
                    break;
                }
            }
            Err(e) => last = format!("object storage unreachable: {e}"),
        }
    }
    Err(last)
}

/// The `<Code>` of an S3 error document (e.g. `SignatureDoesNotMatch`), if it has a
/// short plain one.
fn s3_error_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    let code = &body[start..start + len];
    (code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_only_when_plain() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
        assert_eq!(
            s3_error_code(body).as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert_eq!(s3_error_code("<Code><script></Code>"), None);
        assert_eq!(s3_error_code("<Code>unterminated"), None);
        assert_eq!(s3_error_code(""), None);
    }

    #[test]
    fn settings_are_checked() {
        let mut s = S3Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            region: default_region(),
            access_key_env: "MCPSEC_S3_ACCESS_KEY".into(),
            secret_key_env: "MCPSEC_S3_SECRET_KEY".into(),
            path_style: true,
        };
        s.validate().expect("valid");
        s.endpoint = "ftp://example.com".into();
        assert!(s.validate().is_err());
        s.endpoint = "not a url".into();
        assert!(s.validate().is_err());
        s.endpoint = "https://s3.example.com".into();
        s.secret_key_env = "A B".into();
        assert!(s.validate().is_err());
    }

    #[test]
    fn a_missing_key_variable_is_named() {
        let s = S3Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            region: default_region(),
            access_key_env: "MCPSEC_TEST_S3_UNSET_A".into(),
            secret_key_env: "MCPSEC_TEST_S3_UNSET_B".into(),
            path_style: true,
        };
        let Err(e) = s.credentials() else {
            panic!("the variables are unset")
        };
        assert!(e.contains("MCPSEC_TEST_S3_UNSET_A"), "{e}");
    }
}

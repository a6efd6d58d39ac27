//! Report delivery by e-mail: one message per delivery through the `[report.smtp]` relay,
//! a short text part (kind, period, tenant, where to find the job) and the document as
//! an attachment with its content type and file name. The password is read from the
//! environment variable the settings name, at send time, and never logged.

use crate::report_deliver::Document;
use crate::report_targets::EmailTarget;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network only).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (default; port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// `[report.smtp]`: the relay scheduled reports are mailed through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Relay host name (also the name its certificate must carry).
    pub host: String,
    /// Port; default 25 (`none`), 587 (`starttls`) or 465 (`tls`).
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// User for SMTP AUTH; unset: no authentication.
    pub username: Option<String>,
    /// Environment variable holding the password of `username`.
    pub password_env: Option<String>,
    /// Sender address (`From:` and the envelope sender).
    pub from: String,
    /// PEM file of CA certificates trusted for the relay besides the system roots.
    pub ca_file: Option<PathBuf>,
}

impl SmtpSettings {
    /// The port in use.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }

    /// Checks what can be checked before the first delivery (at start-up).
    pub fn validate(&self) -> Result<(), String> {
        if self.host.trim().is_empty() {
            return Err("report.smtp.host is empty".into());
        }
        if !crate::report_targets::valid_address(&self.from) {
            return Err(format!(
                "report.smtp.from {:?} is not a plain e-mail address",
                self.from
            ));
        }
        if self.username.is_some() != self.password_env.is_some() {
            return Err("report.smtp: set username and password_env together".into());
        }
        if let Some(p) = &self.ca_file {
            self.ca_pem(p)?;
        }
        Ok(())
    }

    fn ca_pem(&self, p: &std::path::Path) -> Result<Vec<u8>, String> {
        let meta = std::fs::metadata(p)
            .map_err(|e| format!("report.smtp.ca_file {}: {e}", p.display()))?;
        if meta.len() > 1 << 20 {
            return Err(format!(
                "report.smtp.ca_file {} is larger than 1 MiB",
                p.display()
            ));
        }
        let pem =
            std::fs::read(p).map_err(|e| format!("report.smtp.ca_file {}: {e}", p.display()))?;
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("report.smtp.ca_file {}: {e}", p.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "report.smtp.ca_file {} holds no PEM certificate",
                p.display()
            ));
        }
        Ok(pem)
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port())
            .timeout(Some(TIMEOUT));
        if self.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(self.host.clone());
            if let Some(p) = &self.ca_file {
                let pem = self.ca_pem(p)?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("report.smtp.ca_file {}: {e}", p.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("cannot set up TLS for the SMTP relay: {e}"))?;
            b = b.tls(match self.tls {
                SmtpTls::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        if let (Some(user), Some(env)) = (&self.username, &self.password_env) {
            let password = std::env::var(env).map_err(|_| {
                format!("environment variable {env} (the SMTP password) is not set")
            })?;
            b = b.credentials(Credentials::new(user.clone(), password));
        }
        Ok(b.build())
    }
}

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;
/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

fn mailbox(a: &str) -> Result<Mailbox, String> {
    a.parse()
        .map_err(|_| format!("{a:?} is not a valid e-mail address"))
}

/// The message for a document.
pub(crate) fn message(
    smtp: &SmtpSettings,
    to: &EmailTarget,
    doc: &Document<'_>,
    link: &str,
) -> Result<Message, String> {
    let period = doc.period();
    let subject = to
        .subject
        .clone()
        .unwrap_or_else(|| format!("mcpsec {} report, {period}", doc.job.kind));
    let text = format!(
        "The scheduled mcpsec {kind} report is attached ({file}, {size} bytes).\n\n\
         Report: {kind}\nPeriod: {period}\nTenant: {tenant}\nJob: {link}\n\n\
         Sent by schedule {schedule}.\n",
        kind = doc.job.kind,
        file = doc.file_name(),
        size = doc.bytes.len(),
        tenant = doc.job.tenant.as_str(),
        schedule = doc.schedule,
    );
    let content_type = ContentType::parse(doc.format.content_type())
        .map_err(|e| format!("bad content type: {e}"))?;
    let mut m = Message::builder()
        .from(mailbox(&smtp.from)?)
        .subject(subject)
        .message_id(Some(format!("<{}.{}@mcpsec>", doc.job.id, doc.schedule)));
    for a in &to.to {
        m = m.to(mailbox(a)?);
    }
    for a in &to.cc {
        m = m.cc(mailbox(a)?);
    }
    m.multipart(
        MultiPart::mixed()
            .singlepart(SinglePart::plain(text))
            .singlepart(Attachment::new(doc.file_name()).body(doc.bytes.to_vec(), content_type)),
    )
    .map_err(|e| format!("cannot build the message: {e}"))
}

/// Sends the document; `Err` says why the last attempt failed.
pub(crate) async fn send(
    smtp: &SmtpSettings,
    to: &EmailTarget,
    doc: &Document<'_>,
    link: &str,
) -> Result<(), String> {
    let msg = message(smtp, to, doc, link)?;
    let transport = smtp.transport()?;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        match transport.send(msg.clone()).await {
            Ok(_) => return Ok(()),
            // A 5xx answer (a refused recipient, a too large message) will not heal.
            Err(e) if e.is_permanent() => {
                last = format!("the SMTP relay refused the message: {e}");
                break;
            }
            Err(e) => last = format!("SMTP delivery failed: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tls: SmtpTls) -> SmtpSettings {
        SmtpSettings {
            host: "mail.example.com".into(),
            port: None,
            tls,
            username: None,
            password_env: None,
            from: "reports@example.com".into(),
            ca_file: None,
        }
    }

    #[test]
    fn ports_follow_the_tls_mode() {
        assert_eq!(settings(SmtpTls::None).port(), 25);
        assert_eq!(settings(SmtpTls::Starttls).port(), 587);
        assert_eq!(settings(SmtpTls::Tls).port(), 465);
        let mut s = settings(SmtpTls::Tls);
        s.port = Some(2465);
        assert_eq!(s.port(), 2465);
    }

    #[test]
    fn settings_are_checked() {
        settings(SmtpTls::Starttls).validate().expect("valid");
        let mut s = settings(SmtpTls::None);
        s.from = "Reports <r@example.com>".into();
        assert!(s.validate().is_err());
        let mut s = settings(SmtpTls::None);
        s.username = Some("u".into());
        assert!(s.validate().expect_err("no password").contains("together"));
        let dir = tempfile::tempdir().expect("tmp");
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, b"not a certificate").expect("write");
        let mut s = settings(SmtpTls::Starttls);
        s.ca_file = Some(junk);
        assert!(s.validate().is_err());
        s.ca_file = Some(dir.path().join("missing.pem"));
        assert!(s.validate().expect_err("missing").contains("missing.pem"));
    }

    #[test]
    fn a_missing_password_variable_is_named_not_shown() {
        let mut s = settings(SmtpTls::None);
        s.username = Some("u".into());
        s.password_env = Some("MCPSEC_TEST_SMTP_PASSWORD_UNSET".into());
        let Err(e) = s.transport() else {
            panic!("the variable is unset")
        };
        assert!(e.contains("MCPSEC_TEST_SMTP_PASSWORD_UNSET"), "{e}");
    }
}

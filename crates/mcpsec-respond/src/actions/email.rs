//! `email.send`: a plain-text e-mail through the configured SMTP relay.

use crate::action::{Action, ActionCall, ActionError, MailRequest};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// Whether `a` is a plain `local@domain` address (no display name, no CR/LF, no
/// brackets or spaces), which is all a header or an SMTP command may carry.
pub fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    a.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && (super::valid_domain(domain) || domain == "localhost")
}

fn recipients(v: Option<&Value>) -> Result<Vec<String>, String> {
    let list: Vec<String> = match v {
        Some(Value::String(s)) => s.split(',').map(|s| s.trim().to_owned()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or("'to' must hold strings")
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("'to' must be an address or a list of them".into()),
    };
    if list.is_empty() || list.len() > 50 {
        return Err("'to' needs 1 to 50 addresses".into());
    }
    if let Some(bad) = list.iter().find(|a| !valid_address(a)) {
        return Err(format!("'{bad}' is not a valid e-mail address"));
    }
    Ok(list)
}

/// Sends an e-mail.
pub struct SendMail;

impl Action for SendMail {
    fn name(&self) -> &'static str {
        "email.send"
    }
    fn summary(&self) -> &'static str {
        "sends a plain-text e-mail over SMTP (smtp_host)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["to", "subject", "body"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["to", "subject", "body"]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        match inputs.get("to") {
            Some(v) if crate::action::literal(v).is_some() || v.is_array() => {
                if v.as_array().is_some_and(|a| {
                    a.iter()
                        .any(|x| x.as_str().is_some_and(|s| s.contains("{{")))
                }) {
                    return Ok(());
                }
                recipients(Some(v)).map(|_| ())
            }
            _ => Ok(()),
        }
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let to = recipients(call.input.get("to")).map_err(ActionError::Input)?;
            let subject: String = call
                .str("subject")?
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(300)
                .collect();
            let s = call.effects.services();
            if !valid_address(&s.smtp_from) {
                return Err(ActionError::Input(format!(
                    "smtp_from '{}' is not valid",
                    s.smtp_from
                )));
            }
            let message_id = format!(
                "<{}@mcpsec>",
                crate::engine::short_hash(call.idempotency_key)
            );
            let reply = call
                .effects
                .mail(MailRequest {
                    from: s.smtp_from.clone(),
                    to: to.clone(),
                    subject,
                    body: call.str("body")?.to_owned(),
                    message_id: message_id.clone(),
                })
                .await?;
            Ok(json!({"to": to, "message_id": message_id, "reply": reply}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::valid_address;

    #[test]
    fn addresses_are_plain() {
        assert!(valid_address("soc@example.com"));
        assert!(valid_address("a.b+tag@mail.example.org"));
        for bad in [
            "",
            "soc",
            "@example.com",
            "soc@",
            "a@b@example.com",
            "soc@example.com\r\nRCPT TO:<x@y.z>",
            "Soc <soc@example.com>",
            "soc @example.com",
            ".a@example.com",
            "a..b@example.com",
            "soc@exa_mple.com",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
    }
}

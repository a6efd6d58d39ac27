//! Containment on the host's firewall: nftables rules for an IP (or CIDR) or a domain's
//! addresses, applied by feeding them to a configured command's standard input (argv,
//! never a shell). `dry_run: true` returns the rules without applying them.
//!
//! The rules are idempotent: the table, sets and chains are declared with `add` and the
//! chains flushed and refilled in one atomic `nft -f` transaction, so applying twice
//! leaves one copy.

use crate::action::{Action, ActionCall, ActionError, CommandRequest};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::net::IpAddr;

/// An address or network to block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTarget {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length, when a network.
    pub prefix: Option<u8>,
}

impl BlockTarget {
    /// Parses `203.0.113.7`, `2001:db8::1` or `198.51.100.0/24` strictly (no zone ids,
    /// no host bits beyond the prefix, no leading zeros).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or network"))?;
        let prefix = match p {
            None => None,
            Some(p) => {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let n: u8 = p
                    .parse()
                    .ok()
                    .filter(|n| *n <= max && !p.starts_with('0') || p == "0")
                    .ok_or_else(|| format!("'{s}' has a bad prefix length"))?;
                let bits: u128 = match addr {
                    IpAddr::V4(v) => u128::from(u32::from(v)) << 96,
                    IpAddr::V6(v) => u128::from(v),
                };
                let host = if n == 0 { bits } else { bits << n };
                if host != 0 {
                    return Err(format!("'{s}' has bits set beyond its prefix"));
                }
                if n == 0 {
                    return Err(format!("'{s}' would block everything"));
                }
                Some(n)
            }
        };
        if addr.is_loopback() || addr.is_unspecified() {
            return Err(format!("refusing to block '{s}' (loopback or unspecified)"));
        }
        Ok(BlockTarget { addr, prefix })
    }

    fn set(&self) -> &'static str {
        if self.addr.is_ipv4() {
            "blocked_v4"
        } else {
            "blocked_v6"
        }
    }

    fn element(&self) -> String {
        match self.prefix {
            Some(p) => format!("{}/{p}", self.addr),
            None => self.addr.to_string(),
        }
    }
}

/// Whether `d` is a plausible DNS name: 2+ labels of `[a-z0-9-]` (1–63, no edge
/// hyphens), at most 253 characters, a non-numeric top-level label.
pub fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_table(t: &str) -> bool {
    !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The nftables script that blocks `targets` (traffic from and to them), each for
/// `timeout` (nft syntax, e.g. `1h`) when given; `comment` is sanitized.
pub fn nft_rules(
    table: &str,
    targets: &[BlockTarget],
    timeout: Option<&str>,
    comment: &str,
) -> String {
    let comment: String = comment
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " .:_-/".contains(*c))
        .take(120)
        .collect();
    let mut s = format!(
        "add table inet {table}\n\
         add set inet {table} blocked_v4 {{ type ipv4_addr; flags interval, timeout; }}\n\
         add set inet {table} blocked_v6 {{ type ipv6_addr; flags interval, timeout; }}\n"
    );
    for (chain, hook) in [
        ("block_in", "input"),
        ("block_fwd", "forward"),
        ("block_out", "output"),
    ] {
        s.push_str(&format!(
            "add chain inet {table} {chain} {{ type filter hook {hook} priority -10; policy accept; }}\n\
             flush chain inet {table} {chain}\n"
        ));
        let dirs: &[&str] = match hook {
            "input" => &["saddr"],
            "output" => &["daddr"],
            _ => &["saddr", "daddr"],
        };
        for dir in dirs {
            s.push_str(&format!(
                "add rule inet {table} {chain} ip {dir} @blocked_v4 drop\n"
            ));
            s.push_str(&format!(
                "add rule inet {table} {chain} ip6 {dir} @blocked_v6 drop\n"
            ));
        }
    }
    for t in targets {
        let to = timeout.map(|t| format!(" timeout {t}")).unwrap_or_default();
        s.push_str(&format!(
            "add element inet {table} {} {{ {}{to} comment \"{comment}\" }}\n",
            t.set(),
            t.element()
        ));
    }
    s
}

fn nft_timeout(call: &ActionCall<'_>) -> Result<Option<String>, ActionError> {
    match call.opt_str("duration")? {
        None => Ok(None),
        Some(d) => {
            crate::model::parse_duration(d).map_err(ActionError::Input)?;
            Ok(Some(d.to_owned()))
        }
    }
}

async fn apply(
    call: &ActionCall<'_>,
    targets: Vec<BlockTarget>,
    what: &str,
) -> Result<Value, ActionError> {
    let s = call.effects.services();
    if !valid_table(&s.block_table) {
        return Err(ActionError::Input(format!(
            "block_table '{}' is not a valid name",
            s.block_table
        )));
    }
    let timeout = nft_timeout(call)?;
    let comment = format!("mcpsec {what} {}", call.alert_id.unwrap_or(""));
    let rules = nft_rules(&s.block_table, &targets, timeout.as_deref(), &comment);
    let dry = call
        .input
        .get("dry_run")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let blocked: Vec<String> = targets.iter().map(BlockTarget::element).collect();
    if dry {
        return Ok(json!({"applied": false, "rules": rules, "blocked": blocked}));
    }
    if s.block_command.is_empty() {
        return Err(ActionError::Input(
            "[respond.services] block_command is not configured".into(),
        ));
    }
    let out = call
        .effects
        .command(CommandRequest {
            argv: s.block_command.clone(),
            stdin: Some(rules.clone()),
        })
        .await?;
    Ok(
        json!({"applied": true, "rules": rules, "blocked": blocked, "output": out.chars().take(2000).collect::<String>()}),
    )
}

/// Blocks an IP address or network.
pub struct BlockIp;

impl Action for BlockIp {
    fn name(&self) -> &'static str {
        "block.ip"
    }
    fn summary(&self) -> &'static str {
        "blocks an IP/CIDR with nftables via block_command (dry_run shows the rules)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["address"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["address", "duration", "dry_run"]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        if let Some(a) = inputs.get("address").and_then(crate::action::literal) {
            BlockTarget::parse(a)?;
        }
        Ok(())
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let a = call.str("address")?;
            let t = BlockTarget::parse(a).map_err(ActionError::Input)?;
            apply(&call, vec![t], a).await
        })
    }
}

/// Blocks the addresses of a domain (given, or resolved now).
pub struct BlockDomain;

impl Action for BlockDomain {
    fn name(&self) -> &'static str {
        "block.domain"
    }
    fn summary(&self) -> &'static str {
        "blocks a domain's addresses (given in 'addresses' or resolved) with nftables"
    }
    fn required(&self) -> &'static [&'static str] {
        &["domain"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["domain", "addresses", "duration", "dry_run"]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        if let Some(d) = inputs.get("domain").and_then(crate::action::literal)
            && !valid_domain(d)
        {
            return Err(format!("'{d}' is not a valid domain name"));
        }
        Ok(())
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let d = call.str("domain")?.to_ascii_lowercase();
            if !valid_domain(&d) {
                return Err(ActionError::Input(format!(
                    "'{d}' is not a valid domain name"
                )));
            }
            let addrs: Vec<String> = match call.input.get("addresses") {
                None | Some(Value::Null) => call.effects.resolve(&d).await?,
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| ActionError::Input("'addresses' must be strings".into()))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(ActionError::Input("'addresses' must be a list".into())),
            };
            let mut targets = Vec::new();
            for a in &addrs {
                let t = BlockTarget::parse(a).map_err(ActionError::Input)?;
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
            if targets.is_empty() {
                return Err(ActionError::Failed(format!(
                    "{d} has no addresses to block"
                )));
            }
            let mut out = apply(&call, targets, &d).await?;
            out["domain"] = Value::String(d);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_domains_are_validated_strictly() {
        for ok in [
            "203.0.113.7",
            "2001:db8::1",
            "198.51.100.0/24",
            "2001:db8::/32",
        ] {
            assert!(BlockTarget::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.4/33",
            "1.2.3.4/24",
            "0.0.0.0/0",
            "127.0.0.1",
            "::1",
            "fe80::1%eth0",
            "1.2.3.4; rm -rf /",
            "1.2.3.4/",
            "1.2.3.4/08",
            " 1.2.3.4",
        ] {
            assert!(BlockTarget::parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["evil.example", "a-b.example.com", "xn--bcher-kva.example."] {
            assert!(valid_domain(ok), "{ok}");
        }
        for bad in [
            "",
            "localhost",
            "-a.example",
            "a-.example",
            "a..example",
            "exa mple.com",
            "example.123",
            "evil.example;nft flush ruleset",
            "a\".example",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(!valid_domain(bad), "{bad:?}");
        }
    }

    #[test]
    fn rules_block_both_directions_and_are_idempotent() {
        let t = [
            BlockTarget::parse("203.0.113.7").expect("ip"),
            BlockTarget::parse("2001:db8::/32").expect("net"),
        ];
        let r = nft_rules("mcpsec", &t, Some("1h"), "alert \"x\"; drop");
        assert!(r.contains("add element inet mcpsec blocked_v4 { 203.0.113.7 timeout 1h comment \"alert x drop\" }"), "{r}");
        assert!(
            r.contains("add element inet mcpsec blocked_v6 { 2001:db8::/32 timeout 1h"),
            "{r}"
        );
        assert!(r.contains("flush chain inet mcpsec block_in"));
        assert!(r.contains("add rule inet mcpsec block_in ip saddr @blocked_v4 drop"));
        assert!(r.contains("add rule inet mcpsec block_out ip6 daddr @blocked_v6 drop"));
        assert!(
            !r.contains(';')
                || r.lines()
                    .all(|l| !l.contains("comment") || !l.contains("; drop"))
        );
    }
}

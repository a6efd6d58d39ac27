//! `mcpsec admin`: tenants and API keys, straight in the state database (SQLite allows a
//! running `serve` to keep using it; new keys work there at once).

use super::load_config;
use crate::cli::{AdminWhat, KeyAction, StoreArgs, TenantAction};
use crate::config::parse_duration;
use anyhow::{Context as _, Result, bail};
use chrono::Utc;
use mcpsec_core::TenantId;
use mcpsec_store::{ApiKey, AuditEvent, Auditor, DataDir, SqliteState, StateStore};
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

/// Roles known to the authorization model; other names are custom roles.
const BUILT_IN_ROLES: &[&str] = &["admin", "analyst", "responder", "viewer", "auditor"];

fn open_state(store: &StoreArgs) -> Result<SqliteState> {
    let cfg = load_config(store)?;
    let data = DataDir::new(&cfg.data_dir);
    data.create()?;
    SqliteState::open(&data.state_db()).context("cannot open the state database")
}

/// Records a change made from the command line, with a signed checkpoint right away.
fn audit(
    store: &StoreArgs,
    tenant: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<()> {
    let cfg = load_config(store)?;
    let data = DataDir::new(&cfg.data_dir);
    let state: Arc<dyn StateStore> = Arc::new(SqliteState::open(&data.state_db())?);
    let auditor = Auditor::new(state, &data.audit_key())?;
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    auditor.record(&AuditEvent {
        tenant: tenant.into(),
        actor: format!("cli:{user}"),
        action: action.into(),
        target: target.into(),
        outcome: "success".into(),
        details,
    })?;
    auditor.checkpoint_now()?;
    Ok(())
}

fn tenant(name: &str) -> Result<TenantId> {
    TenantId::new(name).map_err(anyhow::Error::msg)
}

/// A new secret: `mcpsec_` and 48 hex characters from the OS random source.
pub fn new_secret() -> Result<String> {
    let mut buf = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(format!(
        "mcpsec_{}",
        buf.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Runs the command.
pub fn run(what: AdminWhat) -> Result<ExitCode> {
    match what {
        AdminWhat::Tenant {
            action: TenantAction::Create { name, store },
        } => {
            let t = tenant(&name)?;
            let created = open_state(&store)?.create_tenant(&t)?;
            if created {
                audit(
                    &store,
                    t.as_str(),
                    "tenant.create",
                    t.as_str(),
                    serde_json::json!({}),
                )?;
            }
            eprintln!(
                "tenant {t} {}",
                if created { "created" } else { "exists already" }
            );
            println!("{t}");
        }
        AdminWhat::Tenant {
            action: TenantAction::List { store },
        } => {
            for t in open_state(&store)?.tenants()? {
                println!("{t}");
            }
        }
        AdminWhat::Key {
            action:
                KeyAction::Create {
                    tenant: name,
                    role,
                    name: label,
                    expires_in,
                    scope,
                    store,
                },
        } => {
            let t = tenant(&name)?;
            let ok_role = !role.is_empty()
                && role.len() <= 64
                && role.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !ok_role {
                bail!(
                    "invalid role {role:?}: use lowercase letters, digits, '_' or '-' (built in: {})",
                    BUILT_IN_ROLES.join(", ")
                );
            }
            for s in &scope {
                let area = s.strip_suffix(".*").unwrap_or(s);
                let ok = !area.is_empty()
                    && area.len() <= 64
                    && area
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_');
                if !ok {
                    bail!(
                        "invalid scope {s:?}: use an action such as events.write, or an area such as alerts.*"
                    );
                }
            }
            let state = open_state(&store)?;
            if !state.tenant_exists(&t)? {
                bail!("no tenant {t}: create it first with `mcpsec admin tenant create {t}`");
            }
            let now = Utc::now();
            let expires_at = match expires_in.as_deref() {
                Some(d) => Some(now + chrono::Duration::from_std(parse_duration(d)?)?),
                None => None,
            };
            let secret = new_secret()?;
            let key = ApiKey {
                id: ulid::Ulid::new().to_string(),
                tenant: t,
                name: label,
                role,
                key_hash: mcpsec_server::hash_token(&secret),
                created_at: now,
                expires_at,
                revoked_at: None,
                last_used_at: None,
                scopes: scope,
            };
            state.put_api_key(&key)?;
            audit(
                &store,
                key.tenant.as_str(),
                "key.create",
                &key.id,
                serde_json::json!({ "role": key.role, "name": key.name, "expires_at": key.expires_at.map(|t| mcpsec_core::to_rfc3339(&t)) }),
            )?;
            eprintln!(
                "created key {} (role {}, tenant {}); it is shown only once",
                key.id, key.role, key.tenant
            );
            println!("{secret}");
        }
        AdminWhat::Key {
            action:
                KeyAction::List {
                    tenant: name,
                    store,
                },
        } => {
            let t = tenant(&name)?;
            println!(
                "{:<26}  {:<10}  {:<12}  {:<25}  {:<25}  {:<8}  scopes",
                "id", "role", "name", "created", "last used", "status"
            );
            for k in open_state(&store)?.list_api_keys(&t)? {
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else if !k.is_usable(Utc::now()) {
                    "expired"
                } else {
                    "active"
                };
                let fmt = |t: Option<chrono::DateTime<Utc>>| {
                    t.map(|t| mcpsec_core::to_rfc3339(&t))
                        .unwrap_or_else(|| "-".into())
                };
                let scopes = if k.scopes.is_empty() {
                    "(role)".to_owned()
                } else {
                    k.scopes.join(",")
                };
                println!(
                    "{:<26}  {:<10}  {:<12}  {:<25}  {:<25}  {status:<8}  {scopes}",
                    k.id,
                    k.role,
                    k.name,
                    fmt(Some(k.created_at)),
                    fmt(k.last_used_at)
                );
            }
        }
        AdminWhat::Key {
            action: KeyAction::Revoke { id, store },
        } => {
            if !open_state(&store)?.revoke_api_key(&id, Utc::now())? {
                bail!("no active key with id {id}");
            }
            audit(&store, "-", "key.revoke", &id, serde_json::json!({}))?;
            eprintln!("key {id} revoked (running servers stop accepting it within 5 s)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

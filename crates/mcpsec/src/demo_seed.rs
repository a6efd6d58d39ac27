//! `serve --demo` beyond events and rules, so every dashboard page has something real to
//! show: demo advisories as the vulnerability database (only when the data directory has
//! none), then — through the server's own API, so everything is validated and audited
//! as any client's change — a project with two SBOM versions, an asset inventory, a
//! playbook and one run of it waiting for approval. Each part is done once per data
//! directory.

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use mcpsec_store::StateStore;
use mcpsec_supply::db::{DbError, VulnDb};
use std::path::Path;
use tower::ServiceExt;

const SEEDED: &str = "demo:seeded";
/// Largest answer read from the API while seeding.
const MAX_ANSWER: usize = 4 << 20;

/// OSV advisories written for the demo SBOMs (invented ids and CVE numbers).
const ADVISORIES: &[(&str, &str)] = &[
    (
        "MCPSEC-DEMO-2025-0001.json",
        include_str!("../demo/supply/MCPSEC-DEMO-2025-0001.json"),
    ),
    (
        "MCPSEC-DEMO-2025-0002.json",
        include_str!("../demo/supply/MCPSEC-DEMO-2025-0002.json"),
    ),
    (
        "MCPSEC-DEMO-2025-0003.json",
        include_str!("../demo/supply/MCPSEC-DEMO-2025-0003.json"),
    ),
    (
        "MCPSEC-DEMO-2025-0004.json",
        include_str!("../demo/supply/MCPSEC-DEMO-2025-0004.json"),
    ),
    (
        "MCPSEC-DEMO-2025-0005.json",
        include_str!("../demo/supply/MCPSEC-DEMO-2025-0005.json"),
    ),
];

/// Two versions of a small npm application: the second upgrades some packages (fixing
/// two advisories), drops one and adds one.
const SBOMS: &[(&str, &str)] = &[
    (
        "shop-frontend-1.cdx.json",
        include_str!("../demo/supply/shop-frontend-1.cdx.json"),
    ),
    (
        "shop-frontend-2.cdx.json",
        include_str!("../demo/supply/shop-frontend-2.cdx.json"),
    ),
];

const ASSETS: &str = include_str!("../demo/risk-assets.toml");
const PLAYBOOK: &str = include_str!("../demo/playbooks/contain-host.yml");
const PLAYBOOK_ID: &str = "demo-contain-host";

/// Imports the demo advisories when the data directory has no vulnerability database
/// (a database imported by `mcpsec vulndb import` is left as it is).
pub fn vulndb(data_dir: &Path) -> Result<()> {
    match VulnDb::open_existing(data_dir) {
        Ok(_) => return Ok(()),
        Err(DbError::Missing(_)) => {}
        Err(e) => return Err(e).context("cannot open the vulnerability database"),
    }
    std::fs::create_dir_all(data_dir)?;
    let dir = tempfile::tempdir_in(data_dir).context("cannot write the demo advisories")?;
    for (name, text) in ADVISORIES {
        std::fs::write(dir.path().join(name), text)?;
    }
    let mut db = VulnDb::open_dir(data_dir).context("cannot create the vulnerability database")?;
    let r = db.import(dir.path())?;
    anyhow::ensure!(
        r.warnings.is_empty() && r.advisories == ADVISORIES.len(),
        "demo advisories did not import cleanly: {:?}",
        r.warnings
    );
    tracing::info!(
        advisories = r.advisories,
        "demo vulnerability database imported"
    );
    Ok(())
}

/// The admin key `serve` seeded: `MCPSEC_ADMIN_TOKEN`, else `<data>/admin-token`.
fn admin_token(data_dir: &Path) -> Option<String> {
    if let Ok(t) = std::env::var("MCPSEC_ADMIN_TOKEN") {
        return Some(t.trim().to_owned());
    }
    std::fs::read_to_string(data_dir.join("admin-token"))
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// One request to the router; fails unless it answers 2xx.
async fn call(
    app: &Router,
    token: &str,
    method: Method,
    path: &str,
    content_type: &str,
    body: String,
) -> Result<serde_json::Value> {
    let req = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))?;
    let r = app.clone().oneshot(req).await?;
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), MAX_ANSWER).await?;
    if !status.is_success() {
        bail!(
            "demo seed: {method} {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// Seeds the default tenant through the API (once per data directory).
pub async fn through_api(app: &Router, state: &dyn StateStore, data_dir: &Path) -> Result<()> {
    if state.checkpoint(SEEDED)?.is_some() {
        return Ok(());
    }
    let Some(token) = admin_token(data_dir) else {
        tracing::warn!("no admin key at hand: demo projects, assets and playbooks not seeded");
        return Ok(());
    };
    let json = "application/json";
    let p = call(
        app,
        &token,
        Method::POST,
        "/api/v1/projects",
        json,
        serde_json::json!({"name": "shop-frontend", "description": "Demo web shop (npm)"})
            .to_string(),
    )
    .await?;
    let id = p["id"].as_str().context("demo project without an id")?;
    for (name, doc) in SBOMS {
        call(
            app,
            &token,
            Method::POST,
            &format!("/api/v1/projects/{id}/sboms?filename={name}"),
            "application/vnd.cyclonedx+json",
            (*doc).to_owned(),
        )
        .await?;
    }
    call(
        app,
        &token,
        Method::POST,
        "/api/v1/risk/assets",
        "application/toml",
        ASSETS.to_owned(),
    )
    .await?;
    call(
        app,
        &token,
        Method::POST,
        "/api/v1/playbooks",
        json,
        serde_json::json!({"yaml": PLAYBOOK}).to_string(),
    )
    .await?;
    call(
        app,
        &token,
        Method::POST,
        &format!("/api/v1/playbooks/{PLAYBOOK_ID}/run"),
        json,
        serde_json::json!({"input": {"host": "WS042.corp.example", "reason": "LSASS memory dumped"}})
            .to_string(),
    )
    .await?;
    state.set_checkpoint(SEEDED, "1")?;
    tracing::info!("demo project, assets and playbook seeded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_files_parse() {
        for (name, text) in ADVISORIES {
            let v: serde_json::Value = serde_json::from_str(text).expect(name);
            assert_eq!(format!("{}.json", v["id"].as_str().expect("id")), *name);
        }
        for (name, text) in SBOMS {
            let inv = mcpsec_supply::scan::read_bytes(name, name, text.as_bytes()).expect(name);
            assert_eq!(inv.components.len(), 7, "{name}");
        }
        let inv: toml::Value = toml::from_str(ASSETS).expect("assets");
        assert_eq!(inv["asset"].as_array().map(Vec::len), Some(3));
        let pb = mcpsec_respond::parse_playbook(PLAYBOOK, &mcpsec_respond::Registry::builtin())
            .expect("playbook");
        assert_eq!(pb.id, PLAYBOOK_ID);
    }
}

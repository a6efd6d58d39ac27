//! `mcpsec serve`: wires the stores, the pipeline, the consumers and the HTTP API, and
//! shuts them down in order (stop accepting → drain the queue → index what is left).

use crate::cli::ServeArgs;
use crate::cmd::{Stores, load_config, open_stores};
use crate::config::{Config, parse_duration};
use anyhow::{Context as _, Result};
use chrono::Utc;
use mcpsec_core::TenantId;
use mcpsec_detect::{Catalog, CatalogOptions, Detector, DetectorOptions};
use mcpsec_ingest::sources::{SyslogListener, spawn_file_source};
use mcpsec_ingest::{Pipeline, PipelineOptions};
use mcpsec_server::{AppState, HttpLimits, HttpOptions, RateLimits, hash_token};
use mcpsec_store::{
    ApiKey, DataDir, Indexer, IndexerOptions, Retention, RetentionPolicy, StateStore,
};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

/// Shortest admin token accepted from `MCPSEC_ADMIN_TOKEN`.
const MIN_TOKEN_LEN: usize = 16;

/// Runs `serve` until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<()> {
    let mut cfg = load_config(&args.store)?;
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    for p in &args.rules {
        anyhow::ensure!(p.exists(), "--rules: {} does not exist", p.display());
    }
    cfg.detection.rule_paths.extend(args.rules);
    let _telemetry = crate::telemetry::init(&cfg.logging, &cfg.telemetry)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mcpsec")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(cfg, args.demo))
}

fn admin_key(id: &str, token: &str) -> ApiKey {
    ApiKey {
        id: id.into(),
        tenant: TenantId::default_tenant(),
        name: id.into(),
        role: "admin".into(),
        key_hash: hash_token(token),
        created_at: Utc::now(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        scopes: Vec::new(),
    }
}

/// Seeds the default tenant and the admin key: from `MCPSEC_ADMIN_TOKEN` when set,
/// otherwise a generated one written to `<data>/admin-token` (mode 0600) once.
pub fn seed_admin(state: &dyn StateStore, data: &DataDir) -> Result<()> {
    state.create_tenant(&TenantId::default_tenant())?;
    if let Ok(token) = std::env::var("MCPSEC_ADMIN_TOKEN") {
        let token = token.trim();
        anyhow::ensure!(
            token.len() >= MIN_TOKEN_LEN,
            "MCPSEC_ADMIN_TOKEN must be at least {MIN_TOKEN_LEN} characters"
        );
        state.put_api_key(&admin_key("env-admin", token))?;
        tracing::info!("admin API key seeded from MCPSEC_ADMIN_TOKEN");
        return Ok(());
    }
    let path = data.root().join("admin-token");
    if path.exists() {
        tracing::info!(file = %path.display(), "admin API key is in this file");
        return Ok(());
    }
    let token = crate::cmd::new_secret()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(f, "{token}")?;
    f.sync_all()?;
    state.put_api_key(&admin_key("generated-admin", &token))?;
    tracing::warn!(file = %path.display(), "no MCPSEC_ADMIN_TOKEN set: generated an admin API key into this file");
    Ok(())
}

/// Roles from the configuration plus the optional Rego policy file.
fn authorizer(cfg: &Config) -> Result<mcpsec_server::Authorizer> {
    let policy = match &cfg.authz.policy_file {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        None => None,
    };
    mcpsec_server::Authorizer::new(
        cfg.authz.roles.clone(),
        policy.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )
    .map_err(anyhow::Error::msg)
}

fn lifecycle(action: &str, cfg: &Config) -> mcpsec_store::AuditEvent {
    mcpsec_store::AuditEvent {
        tenant: "-".into(),
        actor: format!("process:{}", std::process::id()),
        action: action.into(),
        target: cfg.data_dir.display().to_string(),
        outcome: "success".into(),
        details: serde_json::json!({ "listen": cfg.listen.to_string(), "version": env!("CARGO_PKG_VERSION") }),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: draining");
}

/// Loads the deployed rules and starts the detection consumer's state.
fn start_detection(
    cfg: &Config,
    demo: bool,
    log: &Arc<dyn mcpsec_store::EventLog>,
    state: &Arc<dyn StateStore>,
) -> Result<Arc<Detector>> {
    let mapping = crate::cmd::hunt::load_mapping(cfg.detection.mapping.as_deref())?;
    let embedded = if demo {
        crate::demo::rules()
    } else {
        Vec::new()
    };
    let catalog = Arc::new(Catalog::new(
        state.clone(),
        CatalogOptions {
            rule_paths: cfg.detection.rule_paths.clone(),
            embedded,
            mapping,
        },
    ));
    let detector = Detector::new(
        log.clone(),
        state.clone(),
        catalog,
        DetectorOptions {
            batch: cfg.detection.batch,
            ..DetectorOptions::default()
        },
    )
    .context("cannot start detection")?;
    Ok(Arc::new(detector))
}

/// `SIGHUP` reads the rule files again; tenants' own rules and windows are kept.
#[cfg(unix)]
fn spawn_rule_reloader(
    detector: Arc<Detector>,
    auditor: Arc<mcpsec_store::Auditor>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = hup.recv() => {}
                _ = stop.changed() => return,
            }
            let d = detector.clone();
            match tokio::task::spawn_blocking(move || d.catalog().reload_files()).await {
                Ok(files) => {
                    tracing::info!(
                        loaded = files.loaded,
                        failed = files.errors.len(),
                        "SIGHUP: rule files reloaded"
                    );
                    let event = mcpsec_store::AuditEvent {
                        tenant: "-".into(),
                        actor: format!("process:{}", std::process::id()),
                        action: "rules.reload".into(),
                        target: "rule files".into(),
                        outcome: "success".into(),
                        details: serde_json::json!({ "loaded": files.loaded, "failed": files.errors.len() }),
                    };
                    if let Err(e) = auditor.record(&event) {
                        tracing::error!(error = %e, "cannot write the audit log");
                    }
                }
                Err(e) => tracing::error!(error = %e, "rule reload failed"),
            }
        }
    });
    Ok(())
}

/// The response orchestrator: playbooks from files and the API, triggered by new alerts;
/// unfinished runs resume on its first tick.
fn start_responder(
    cfg: &Config,
    state: &Arc<dyn mcpsec_store::StateStore>,
    alerts: Option<tokio::sync::broadcast::Receiver<Arc<mcpsec_store::Alert>>>,
    stop: watch::Receiver<bool>,
) -> Result<(Arc<mcpsec_respond::Responder>, tokio::task::JoinHandle<()>)> {
    let registry = mcpsec_respond::Registry::builtin();
    let (files, errors) =
        mcpsec_respond::service::load_files(&cfg.respond.playbook_paths, &registry);
    for e in &errors {
        tracing::error!(error = %e, "playbook not loaded");
    }
    let secrets =
        mcpsec_respond::secrets::SecretStore::new(&cfg.respond.secrets, cfg.respond.vault.clone())
            .map_err(|e| anyhow::anyhow!("respond.secrets: {e}"))?;
    let effects = mcpsec_respond::live::LiveEffects::new(
        cfg.respond.services.clone(),
        Arc::new(secrets),
        Some(state.clone()),
    )
    .map_err(|e| anyhow::anyhow!("respond: {e}"))?;
    let engine = Arc::new(mcpsec_respond::Engine::new(
        state.clone(),
        registry,
        Arc::new(effects),
    ));
    tracing::info!(
        playbook_files = files.len(),
        failed = errors.len(),
        "response orchestration running"
    );
    let responder = mcpsec_respond::Responder::new(engine, files);
    let task = tokio::spawn(responder.clone().run(alerts, Duration::from_secs(1), stop));
    Ok((responder, task))
}

/// Every `[risk] snapshot_interval_secs`: risk per tenant and asset into the time series
/// (for `/api/v1/risk/trends`), and risk alerts on threshold or fast rise. The alerts
/// raised are stored and handed to the detector's subscribers (live stream, GraphQL,
/// gRPC, and the responder, which starts the playbooks whose `risk` trigger they match);
/// without a detector they go to the responder directly.
fn spawn_risk_snapshots(
    cfg: &Config,
    state: Arc<dyn StateStore>,
    detector: Option<Arc<Detector>>,
    responder: Arc<mcpsec_respond::Responder>,
    mut stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.risk.snapshot_interval_secs == 0 {
        return None;
    }
    let every = Duration::from_secs(cfg.risk.snapshot_interval_secs);
    let risk = cfg.risk.clone();
    Some(tokio::spawn(async move {
        let mut previous = std::collections::HashMap::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            let (st, r, mut prev) = (state.clone(), risk.clone(), std::mem::take(&mut previous));
            match tokio::task::spawn_blocking(move || {
                let out = mcpsec_risk::assess::snapshot_all(st.as_ref(), &r, &mut prev, Utc::now());
                (out, prev)
            })
            .await
            {
                Ok((Ok(raised), prev)) => {
                    previous = prev;
                    if !raised.is_empty() {
                        tracing::warn!(raised = raised.len(), "risk alerts raised");
                        match &detector {
                            Some(d) => d.publish(&raised),
                            None => {
                                let resp = responder.clone();
                                // on_alert reads the store: off the runtime threads
                                let _ = tokio::task::spawn_blocking(move || {
                                    for a in &raised {
                                        resp.on_alert(a);
                                    }
                                })
                                .await;
                            }
                        }
                    }
                }
                Ok((Err(e), prev)) => {
                    previous = prev;
                    tracing::error!(error = %e, "risk snapshot failed");
                }
                Err(e) => tracing::error!(error = %e, "risk snapshot task failed"),
            }
        }
    }))
}

async fn serve(cfg: Config, demo: bool) -> Result<()> {
    let Stores {
        data,
        lock: _lock,
        log,
        state,
        index,
    } = open_stores(&cfg)?;
    seed_admin(state.as_ref(), &data)?;
    if demo {
        crate::demo_seed::vulndb(&cfg.data_dir)?;
    }
    let auditor = Arc::new(
        mcpsec_store::Auditor::new(state.clone(), &data.audit_key())
            .context("cannot open the audit log")?,
    );
    auditor.record(&lifecycle("serve.start", &cfg))?;
    crate::demo::record_serve_mode(state.as_ref(), demo)?;
    let metrics = mcpsec_server::install_metrics();
    let pipeline = Pipeline::start(
        log.clone(),
        PipelineOptions {
            queue_events: cfg.ingest.queue_events,
            max_batch_bytes: cfg.ingest.max_batch_bytes,
        },
    );
    let (stop_tx, stop_rx) = watch::channel(false);

    let indexer = Indexer::new(
        log.clone(),
        index.clone(),
        IndexerOptions {
            commit_interval: Duration::from_millis(cfg.index.commit_interval_ms),
            ..IndexerOptions::default()
        },
    );
    let indexer_task = tokio::spawn(indexer.run(stop_rx.clone()));

    let detector = if cfg.detection.enabled {
        Some(start_detection(&cfg, demo, &log, &state)?)
    } else {
        tracing::info!("detection is off (detection.enabled = false)");
        None
    };
    // Subscribed before detection starts, so no alert slips past the playbook triggers.
    let alert_rx = detector.as_ref().map(|d| d.subscribe());
    let detector_task = detector
        .as_ref()
        .map(|d| tokio::spawn(d.clone().run(stop_rx.clone())));
    #[cfg(unix)]
    if let Some(d) = &detector {
        spawn_rule_reloader(d.clone(), auditor.clone(), stop_rx.clone())?;
    }

    let policy = RetentionPolicy {
        max_age: cfg
            .retention
            .max_age
            .as_deref()
            .map(parse_duration)
            .transpose()?,
        log_max_bytes: cfg.retention.log_max_bytes,
        index_max_bytes: cfg.retention.index_max_bytes,
    };
    let retention_task = if policy.max_age.is_some()
        || policy.log_max_bytes.is_some()
        || policy.index_max_bytes.is_some()
    {
        let mut retention = Retention::new(log.clone(), index.clone(), policy);
        if let Some(d) = &detector {
            let d = d.clone();
            retention = retention.with_consumer(Box::new(move || d.offset()));
        }
        let retention = Arc::new(retention);
        let every = Duration::from_secs(cfg.retention.interval_secs);
        let mut stop = stop_rx.clone();
        Some(tokio::spawn(async move {
            loop {
                let r = retention.clone();
                match tokio::task::spawn_blocking(move || r.run_once(Utc::now())).await {
                    Ok(Err(e)) => tracing::error!(error = %e, "retention pass failed"),
                    Err(e) => tracing::error!(error = %e, "retention task failed"),
                    Ok(Ok(_)) => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
            }
        }))
    } else {
        None
    };

    let mut source_tasks = Vec::new();
    if let Some(sys) = &cfg.syslog {
        let listener = SyslogListener::bind(sys)
            .await
            .context("cannot start the syslog listener")?;
        tracing::info!(udp = ?listener.udp_addr(), tcp = ?listener.tcp_addr(), "syslog listening");
        source_tasks.push(listener.spawn(pipeline.clone(), stop_rx.clone()));
    }
    for f in &cfg.files {
        tracing::info!(path = %f.path.display(), "following file");
        source_tasks.push(spawn_file_source(
            f.clone(),
            pipeline.clone(),
            state.clone(),
            stop_rx.clone(),
        ));
    }

    let limits = HttpLimits {
        max_body_bytes: cfg.http.max_body_bytes,
        max_decoded_bytes: cfg.http.max_decoded_bytes,
    };
    let app_state = AppState::new(
        pipeline.clone(),
        log.clone(),
        index.clone(),
        state.clone(),
        metrics,
        auditor.clone(),
        HttpOptions {
            limits,
            rate: RateLimits {
                per_key_per_sec: cfg.rate_limit.per_key_per_sec,
                per_tenant_per_sec: cfg.rate_limit.per_tenant_per_sec,
                burst: cfg.rate_limit.burst,
            },
            cors_origins: cfg.http.cors_allowed_origins.clone(),
            mcp_hosts: vec![cfg.listen.ip().to_string(), cfg.listen.to_string()],
            oidc: cfg.auth.oidc.clone(),
            authz: Some(Arc::new(authorizer(&cfg)?)),
            report_templates: cfg.report.templates_dir.clone(),
            report_license_policy: cfg.report.license_policy()?,
            report_delivery: cfg.report.delivery()?,
            report_cache: cfg.report.cache(),
            data_dir: Some(cfg.data_dir.clone()),
            git_repos: cfg.supply.git_repos.clone(),
            client_certs: cfg
                .server
                .tls
                .as_ref()
                .map(|t| t.clients.clone())
                .unwrap_or_default(),
            tls: cfg.server.tls.is_some(),
        },
    );
    {
        let st = app_state.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => st.shrink_rate_limits(),
                    _ = stop.changed() => return,
                }
            }
        });
    }
    let app_state = match &detector {
        Some(d) => app_state.with_detector(d.clone()),
        None => app_state,
    };
    let assessor = Arc::new(
        mcpsec_risk::Assessor::new(cfg.risk.clone(), state.clone())
            .context("cannot start risk assessment ([risk])")?
            .with_index(index.clone()),
    );
    tracing::info!(providers = ?assessor.providers(), default = ?cfg.risk.default_provider, "risk assessment ready");
    let app_state = app_state.with_risk(assessor);
    let (responder, responder_task) = start_responder(&cfg, &state, alert_rx, stop_rx.clone())?;
    let risk_task = spawn_risk_snapshots(
        &cfg,
        state.clone(),
        detector.clone(),
        responder.clone(),
        stop_rx.clone(),
    );
    let app_state = app_state.with_responder(responder);
    app_state.resume_report_jobs();
    app_state.start_report_scheduler();
    if let Some(dir) = &cfg.supply.git_repos
        && !dir.is_dir()
    {
        tracing::warn!(git_repos = %dir.display(), "supply.git_repos is not a directory: commits in OSV GIT ranges match exactly only");
    }
    let supply_task = {
        // 0: only the check at start (and the explicit API call)
        let every = match cfg.supply.vulndb_check_secs {
            0 => Duration::from_secs(365 * 86_400),
            n => Duration::from_secs(n),
        };
        mcpsec_server::spawn_vulndb_watch(app_state.clone(), every, stop_rx.clone())
    };
    let ready = app_state.ready.clone();
    let app =
        mcpsec_server::router(app_state.clone()).merge(mcpsec_grpc::router(app_state.clone()));
    let tls = match &cfg.server.tls {
        Some(t) => Some(mcpsec_server::tls::server_config(t)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;

    if demo {
        // A demo without its sample project still serves; say why it is missing.
        if let Err(e) = crate::demo_seed::through_api(&app, state.as_ref(), &cfg.data_dir).await {
            tracing::warn!(error = %e, "demo project, assets and playbook not seeded");
        }
        crate::demo::load(&pipeline, state.as_ref()).await?;
    }
    ready.store(true, Ordering::Release);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, data_dir = %data.root().display(), "mcpsec serving on {scheme}://{addr}");

    let ready_off = ready.clone();
    let stopping = async move {
        shutdown_signal().await;
        ready_off.store(false, Ordering::Release);
    };
    match tls {
        Some(config) => mcpsec_server::tls::serve(listener, app, config, app_state, stopping)
            .await
            .context("HTTPS server failed")?,
        None => axum::serve(listener, app)
            .with_graceful_shutdown(stopping)
            .await
            .context("HTTP server failed")?,
    }

    // Sources flush their batches, then the queue drains, then the index catches up.
    stop_tx.send_replace(true);
    for t in source_tasks {
        let _ = t.await;
    }
    let p = pipeline.clone();
    tokio::task::spawn_blocking(move || p.shutdown()).await?;
    match indexer_task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "indexer stopped with an error"),
        Err(e) => tracing::error!(error = %e, "indexer task failed"),
    }
    if let Some(t) = detector_task {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "detection stopped with an error"),
            Err(e) => tracing::error!(error = %e, "detection task failed"),
        }
    }
    if let Some(t) = retention_task {
        let _ = t.await;
    }
    let _ = responder_task.await;
    if let Some(t) = risk_task {
        let _ = t.await;
    }
    let _ = supply_task.await;
    auditor.record(&lifecycle("serve.stop", &cfg))?;
    auditor.checkpoint_now()?;
    tracing::info!(
        last_seq = log.bounds().last_seq,
        indexed_seq = index.indexed_seq(),
        "stopped cleanly"
    );
    Ok(())
}

//! `mcpsec ingest FILE...`: one-shot loading, straight into a stopped data directory or
//! through a running server's API.

mod reader;

use super::{load_config, open_stores, quiet_logging};
use crate::cli::IngestArgs;
use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcpsec_core::{SourceInfo, TenantId};
use mcpsec_ingest::{Pipeline, PipelineOptions};
use mcpsec_normalize::{Context, normalize_json, normalize_line};
use mcpsec_store::{Indexer, IndexerOptions};
use reader::{Batch, Record};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Totals {
    files: usize,
    accepted: u64,
    rejected: u64,
}

fn progress(total_bytes: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Runs the command.
pub fn run(a: IngestArgs) -> Result<ExitCode> {
    quiet_logging();
    let total_bytes: u64 = a
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress(total_bytes);
    let started = Instant::now();
    let totals = match &a.server {
        Some(url) => to_server(&a, url, &pb)?,
        None => direct(&a, &pb)?,
    };
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    eprintln!(
        "ingested {} events ({} rejected) from {} files in {:.2}s ({:.0} events/s)",
        totals.accepted,
        totals.rejected,
        totals.files,
        secs,
        totals.accepted as f64 / secs
    );
    Ok(if totals.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn report(rejected: &[(String, String)]) {
    for (at, why) in rejected.iter().take(20) {
        eprintln!("rejected {at}: {why}");
    }
}

fn direct(a: &IngestArgs, pb: &ProgressBar) -> Result<Totals> {
    let tenant = TenantId::new(&a.tenant).map_err(anyhow::Error::msg)?;
    let cfg = load_config(&a.store)?;
    let stores = open_stores(&cfg)?;
    stores.state.create_tenant(&tenant)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pipeline = Pipeline::start(stores.log.clone(), PipelineOptions::default());
    let mut totals = Totals::default();
    for path in &a.files {
        let name = path.display().to_string();
        let ctx = Context::new(tenant.clone(), SourceInfo::new("cli", name.clone()));
        pb.set_message(name.clone());
        let mut on_batch = |batch: Batch| -> Result<()> {
            let mut events = Vec::with_capacity(batch.records.len());
            let mut rejected = batch.rejected;
            for r in batch.records {
                match r {
                    Record::Json(v, at) => match normalize_json(v, &ctx) {
                        Ok(e) => events.push(e),
                        Err(e) => rejected.push((format!("{name}:{at}"), e.to_string())),
                    },
                    Record::Text(line) => events.push(normalize_line(&line, &ctx)),
                }
            }
            report(&rejected);
            totals.rejected += rejected.len() as u64;
            totals.accepted += rt.block_on(pipeline.submit(&events))?.count as u64;
            pb.inc(batch.bytes);
            Ok(())
        };
        reader::read_file(path, a.format, a.batch.max(1), &mut on_batch)
            .with_context(|| format!("reading {name}"))?;
        totals.files += 1;
    }
    pipeline.shutdown();
    pb.set_message("indexing");
    Indexer::new(
        stores.log.clone(),
        stores.index.clone(),
        IndexerOptions::default(),
    )
    .catch_up()?;
    Ok(totals)
}

fn to_server(a: &IngestArgs, url: &str, pb: &ProgressBar) -> Result<Totals> {
    let Some(token) = &a.token else {
        bail!("--server needs an API key: --token or MCPSEC_TOKEN");
    };
    let endpoint = format!("{}/api/v1/events", url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut totals = Totals::default();
    for path in &a.files {
        let name = path.display().to_string();
        pb.set_message(name.clone());
        let mut on_batch = |batch: Batch| -> Result<()> {
            report(&batch.rejected);
            totals.rejected += batch.rejected.len() as u64;
            let (json, text): (Vec<_>, Vec<_>) = batch
                .records
                .into_iter()
                .partition(|r| matches!(r, Record::Json(..)));
            for (records, content_type) in [(json, "application/x-ndjson"), (text, "text/plain")] {
                if records.is_empty() {
                    continue;
                }
                let mut body = Vec::new();
                for r in records {
                    match r {
                        Record::Json(v, _) => serde_json::to_writer(&mut body, &v)?,
                        Record::Text(s) => body.extend_from_slice(s.as_bytes()),
                    }
                    body.push(b'\n');
                }
                let answer = post_with_retry(&client, &endpoint, token, content_type, body)?;
                totals.accepted += answer["accepted"].as_u64().unwrap_or(0);
                totals.rejected += answer["rejected"].as_u64().unwrap_or(0);
            }
            pb.inc(batch.bytes);
            Ok(())
        };
        reader::read_file(path, a.format, a.batch.max(1), &mut on_batch)
            .with_context(|| format!("reading {name}"))?;
        totals.files += 1;
    }
    Ok(totals)
}

fn post_with_retry(
    client: &reqwest::blocking::Client,
    endpoint: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<serde_json::Value> {
    for attempt in 0..30 {
        let resp = client
            .post(endpoint)
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .with_context(|| format!("cannot reach {endpoint}"))?;
        let status = resp.status();
        if status.as_u16() == 429 || status.as_u16() == 503 {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tracing::warn!(attempt, wait, "server busy; retrying");
            std::thread::sleep(Duration::from_secs(wait.min(30)));
            continue;
        }
        let text = resp.text()?;
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if !status.is_success() && json["accepted"].as_u64().unwrap_or(0) == 0 {
            bail!(
                "server answered {status}: {}",
                text.chars().take(300).collect::<String>()
            );
        }
        return Ok(json);
    }
    bail!("server stayed busy; gave up after 30 attempts")
}

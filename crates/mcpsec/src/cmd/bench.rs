//! `mcpsec bench ingest`: HTTP NDJSON ingest into a real `mcpsec serve` child process on
//! 127.0.0.1, against a same-run baseline of raw event-log appends (same bytes, same
//! batch size, one fsync per batch) — the ceiling that durable ingest cannot beat.
//! `mcpsec bench hunt` (Sigma matching against JSON parsing) lives in [`hunt`].

mod hunt;
pub use hunt::run as hunt;

use crate::cli::BenchIngestArgs;
use anyhow::{Context as _, Result, bail};
use mcpsec_store::{EventLog, FileLog, FileLogOptions};
use serde::Serialize;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) const TOKEN: &str = "bench-admin-token-0123456789abcdef";

#[derive(Serialize)]
struct Report {
    events: usize,
    batch: usize,
    concurrency: usize,
    cores: usize,
    ingest_events_per_sec: f64,
    ingest_mb_per_sec: f64,
    baseline_events_per_sec: f64,
    ratio_to_baseline: f64,
    index_lag_after_last_ack_secs: f64,
    indexed_events_per_sec: f64,
    rejected_429: u64,
}

fn event_line(i: usize) -> String {
    let host = i % 50;
    let user = i % 200;
    format!(
        concat!(
            r#"{{"@timestamp":"2026-11-20T08:{:02}:{:02}.{:06}Z","event":{{"category":["authentication"],"outcome":"{}"}},"#,
            r#""host":{{"name":"host-{}"}},"user":{{"name":"user-{}"}},"source":{{"ip":"10.{}.{}.{}"}},"#,
            r#""message":"login attempt {} for user-{} from host-{}"}}"#
        ),
        (i / 60) % 60,
        i % 60,
        i % 1_000_000,
        if i.is_multiple_of(7) {
            "failure"
        } else {
            "success"
        },
        host,
        user,
        i % 256,
        (i / 256) % 256,
        i % 200,
        i,
        user,
        host
    )
}

/// `events` generated NDJSON lines, `batch` per body.
pub(super) fn bodies(events: usize, batch: usize) -> Vec<Vec<u8>> {
    (0..events)
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|c| {
            let mut b = Vec::with_capacity(c.len() * 260);
            for i in c {
                b.extend_from_slice(event_line(*i).as_bytes());
                b.push(b'\n');
            }
            b
        })
        .collect()
}

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A `serve` child process, killed when dropped.
pub(super) struct ServeChild(pub(super) Child);

impl ServeChild {
    /// Starts `mcpsec serve` on `data` and 127.0.0.1:`port` with the benchmark's admin
    /// token and the extra environment (configuration overrides).
    pub(super) fn start(data: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Result<Self> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("MCPSEC_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Ok(ServeChild(
            cmd.spawn().context("cannot start mcpsec serve")?,
        ))
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark.
pub fn ingest(a: BenchIngestArgs) -> Result<ExitCode> {
    if a.events == 0 || a.batch == 0 || a.concurrency == 0 {
        bail!("--events, --batch and --concurrency must be above 0");
    }
    let tmp = tempfile::tempdir()?;
    let data = a
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().join("data"));
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    eprintln!("generating {} events...", a.events);
    let bodies = Arc::new(bodies(a.events, a.batch));
    let total_bytes: usize = bodies.iter().map(Vec::len).sum();

    // Baseline: the same bytes appended to a log directly, one fsync per batch.
    let baseline = {
        let log = FileLog::open(&tmp.path().join("baseline-log"), FileLogOptions::default())?;
        let started = Instant::now();
        for b in bodies.iter() {
            let refs: Vec<&[u8]> = b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).collect();
            log.append(&refs)?;
        }
        a.events as f64 / started.elapsed().as_secs_f64()
    };

    let _child = ServeChild::start(&data, port, &[])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(a.concurrency)
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("serve did not come up");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "sending {} requests from {} clients...",
            bodies.len(),
            a.concurrency
        );
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.concurrency {
            let (client, bodies, next, url) = (
                client.clone(),
                bodies.clone(),
                next.clone(),
                format!("{base}/api/v1/events"),
            );
            tasks.push(tokio::spawn(async move {
                let mut throttled = 0u64;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok::<u64, anyhow::Error>(throttled);
                    };
                    loop {
                        let r = client
                            .post(&url)
                            .bearer_auth(TOKEN)
                            .header("content-type", "application/x-ndjson")
                            .body(body.clone())
                            .send()
                            .await?;
                        match r.status().as_u16() {
                            200 => break,
                            429 | 503 => {
                                throttled += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            s => bail!("ingest answered {s}"),
                        }
                    }
                }
            }));
        }
        let mut throttled = 0;
        for t in tasks {
            throttled += t.await??;
        }
        let ingest_secs = started.elapsed().as_secs_f64();
        let acked = Instant::now();
        loop {
            let stats: serde_json::Value = client
                .get(format!("{base}/api/v1/stats"))
                .bearer_auth(TOKEN)
                .send()
                .await?
                .json()
                .await?;
            if stats["indexed_seq"].as_u64().unwrap_or(0) >= a.events as u64 {
                break;
            }
            if acked.elapsed() > Duration::from_secs(600) {
                bail!("index did not catch up within 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let lag = acked.elapsed().as_secs_f64();
        let ingest_eps = a.events as f64 / ingest_secs;
        Ok(Report {
            events: a.events,
            batch: a.batch,
            concurrency: a.concurrency,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            ingest_events_per_sec: ingest_eps,
            ingest_mb_per_sec: total_bytes as f64 / ingest_secs / 1e6,
            baseline_events_per_sec: baseline,
            ratio_to_baseline: ingest_eps / baseline,
            index_lag_after_last_ack_secs: lag,
            indexed_events_per_sec: a.events as f64 / (ingest_secs + lag),
            rejected_429: throttled,
        })
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "mcpsec bench ingest: {} events, {} per request, {} clients, {} cores",
            report.events, report.batch, report.concurrency, report.cores
        );
        println!(
            "  HTTP NDJSON ingest (durable 2xx)   {:>12.0} events/s  {:>7.1} MB/s",
            report.ingest_events_per_sec, report.ingest_mb_per_sec
        );
        println!(
            "  baseline: raw log append + fsync   {:>12.0} events/s",
            report.baseline_events_per_sec
        );
        println!(
            "  ratio ingest / baseline            {:>12.2}",
            report.ratio_to_baseline
        );
        println!(
            "  searchable after the last 2xx      {:>12.3} s (index lag)",
            report.index_lag_after_last_ack_secs
        );
        println!(
            "  ingest → searchable throughput     {:>12.0} events/s",
            report.indexed_events_per_sec
        );
        println!(
            "  429 answers (retried)              {:>12}",
            report.rejected_429
        );
    }
    Ok(ExitCode::SUCCESS)
}

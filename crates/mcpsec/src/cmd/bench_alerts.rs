//! `mcpsec bench alerts`: how long after an ingest request its alert reaches a client of
//! `/api/v1/alerts/stream`, on a real `mcpsec serve` child process on 127.0.0.1. The
//! baseline in the same run is the ingest acknowledgement itself (the event is durable):
//! the difference is what detection, the alert commit and the stream add.

use super::bench::{ServeChild, TOKEN, free_port};
use crate::cli::BenchAlertsArgs;
use anyhow::{Context as _, Result, bail};
use futures_util::StreamExt;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MARKER: &str = "mcpsec-bench-alert-marker";

const RULE: &str = "title: Bench marker\nid: 5d1c7f3e-9b0a-4c51-8e7d-2f6a1b3c4d5e\nlevel: high\n\
logsource: {product: bench}\ndetection:\n  sel:\n    message|contains: 'mcpsec-bench-alert-marker'\n  condition: sel\n";

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize)]
struct Percentiles {
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    events: usize,
    rate_per_sec: u32,
    rules_deployed: usize,
    alerts_received: usize,
    ingest_to_alert: Percentiles,
    baseline_ingest_ack: Percentiles,
    p99_ratio_to_baseline: f64,
}

fn percentiles(mut v: Vec<Duration>) -> Percentiles {
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Percentiles {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// Runs the benchmark.
pub fn run(a: BenchAlertsArgs) -> Result<ExitCode> {
    if a.events == 0 || a.rate == 0 {
        bail!("--events and --rate must be above 0");
    }
    let tmp = tempfile::tempdir()?;
    let rules_dir = tmp.path().join("rules");
    std::fs::create_dir_all(&rules_dir)?;
    std::fs::write(rules_dir.join("bench.yml"), RULE)?;
    let mut paths = vec![rules_dir];
    paths.extend(a.rules.iter().cloned());
    let paths_toml = format!(
        "[{}]",
        paths
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect::<Vec<_>>()
            .join(",")
    );
    let port = free_port()?;
    let base = format!("127.0.0.1:{port}");
    let _child = ServeChild::start(
        &tmp.path().join("data"),
        port,
        &[("MCPSEC_DETECTION__RULE_PATHS", &paths_toml)],
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(measure(&a, &base))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let line = |name: &str, p: &Percentiles| {
            println!(
                "  {name:<34} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
                p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
            );
        };
        println!(
            "mcpsec bench alerts: {} events at {}/s, {} rules deployed, {} alerts received",
            report.events, report.rate_per_sec, report.rules_deployed, report.alerts_received
        );
        line("ingest request → alert on stream", &report.ingest_to_alert);
        line(
            "baseline: ingest request → 200",
            &report.baseline_ingest_ack,
        );
        println!(
            "  p99 ratio alert / baseline         {:>7.2}",
            report.p99_ratio_to_baseline
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(a: &BenchAlertsArgs, base: &str) -> Result<Report> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let rules_deployed = loop {
        if let Ok(r) = client
            .get(format!("http://{base}/api/v1/rules?limit=1"))
            .bearer_auth(TOKEN)
            .send()
            .await
            && r.status().is_success()
        {
            let v: serde_json::Value = r.json().await?;
            break v["total"].as_u64().unwrap_or(0) as usize;
        }
        if Instant::now() > deadline {
            bail!("serve did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{base}/api/v1/alerts/stream?access_token={TOKEN}"
    ))
    .await
    .context("cannot open the alert stream")?;
    let received: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; a.events]));
    let rx = received.clone();
    let reader = tokio::spawn(async move {
        let mut ws = ws;
        while let Some(Ok(msg)) = ws.next().await {
            let at = Instant::now();
            let Ok(text) = msg.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                continue;
            };
            if let Some(n) = v["events"][0]["fields"]["n"].as_u64()
                && let Some(slot) = rx
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(n as usize)
            {
                slot.get_or_insert(at);
            }
        }
    });
    let url = format!("http://{base}/api/v1/events");
    let mut sent = Vec::with_capacity(a.events);
    let mut acks = Vec::with_capacity(a.events);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(a.rate)));
    for n in 0..a.events {
        tick.tick().await;
        let body = format!("{{\"message\":\"{MARKER} {n}\",\"n\":{n}}}\n");
        let start = Instant::now();
        let r = client
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("ingest answered {}", r.status());
        }
        acks.push(start.elapsed());
        sent.push(start);
    }
    let wait_until = Instant::now() + Duration::from_secs(30);
    loop {
        let done = received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .all(Option::is_some);
        if done || Instant::now() > wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reader.abort();
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let latencies: Vec<Duration> = got
        .iter()
        .zip(&sent)
        .filter_map(|(r, s)| r.map(|r| r.saturating_duration_since(*s)))
        .collect();
    let alerts_received = latencies.len();
    let to_alert = percentiles(latencies);
    let baseline = percentiles(acks);
    Ok(Report {
        events: a.events,
        rate_per_sec: a.rate,
        rules_deployed,
        alerts_received,
        p99_ratio_to_baseline: if baseline.p99_ms > 0.0 {
            to_alert.p99_ms / baseline.p99_ms
        } else {
            0.0
        },
        ingest_to_alert: to_alert,
        baseline_ingest_ack: baseline,
    })
}

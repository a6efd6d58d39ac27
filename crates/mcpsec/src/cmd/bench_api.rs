//! `mcpsec bench api`: read-endpoint latency under a fixed request rate, on a real
//! `mcpsec serve` child process holding N events. Requests are sent open-loop (each on
//! its own task at its scheduled time, never waiting for the previous answer), so a slow
//! answer cannot hide the ones queued behind it. The baseline in the same run is
//! `GET /healthz` at the same rate: the cost of HTTP itself.

use super::bench::{ServeChild, TOKEN, bodies, free_port};
use crate::cli::BenchApiArgs;
use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Latencies of one endpoint, in milliseconds.
#[derive(Debug, Serialize)]
struct Row {
    endpoint: String,
    requests: usize,
    errors: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    events: usize,
    rate_per_sec: u32,
    seconds: u64,
    endpoints: Vec<Row>,
    baseline: Row,
}

/// A request the benchmark sends.
#[derive(Clone)]
enum Probe {
    Get(String),
    GraphQl(String),
}

fn row(endpoint: &str, mut lat: Vec<Duration>, errors: usize) -> Row {
    lat.sort();
    let at = |q: f64| {
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Row {
        endpoint: endpoint.to_owned(),
        requests: lat.len() + errors,
        errors,
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// Runs the benchmark.
pub fn run(a: BenchApiArgs) -> Result<ExitCode> {
    if a.events == 0 || a.rate == 0 || a.seconds == 0 {
        bail!("--events, --rate and --seconds must be above 0");
    }
    let tmp = tempfile::tempdir()?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let _child = ServeChild::start(
        &tmp.path().join("data"),
        port,
        &[
            ("MCPSEC_RATE_LIMIT__PER_KEY_PER_SEC", "100000"),
            ("MCPSEC_RATE_LIMIT__PER_TENANT_PER_SEC", "100000"),
            ("MCPSEC_RATE_LIMIT__BURST", "100000"),
        ],
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(measure(&a, &base))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "mcpsec bench api: {} events stored, {} requests/s for {} s (open loop)",
        report.events, report.rate_per_sec, report.seconds
    );
    for r in report.endpoints.iter().chain([&report.baseline]) {
        println!(
            "  {:<44} n {:>6}  err {:>3}  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
            r.endpoint, r.requests, r.errors, r.p50_ms, r.p95_ms, r.p99_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn load(client: &reqwest::Client, base: &str, events: usize) -> Result<String> {
    eprintln!("loading {events} events...");
    for body in bodies(events, 5000) {
        let r = client
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("ingest answered {}", r.status());
        }
    }
    let started = Instant::now();
    loop {
        let stats: serde_json::Value = client
            .get(format!("{base}/api/v1/stats"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        if stats["indexed_seq"].as_u64().unwrap_or(0) >= events as u64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("the index did not catch up within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/events?limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    page["events"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("no event to fetch by id")
}

async fn fire(
    client: reqwest::Client,
    base: Arc<str>,
    probes: Arc<Vec<(String, Probe)>>,
    rate: u32,
    seconds: u64,
) -> Vec<(usize, Result<Duration, ()>)> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = rate as u64 * seconds;
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total as usize {
        tick.tick().await;
        let i = n % probes.len();
        let (client, base, probes) = (client.clone(), base.clone(), probes.clone());
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let req = match &probes[i].1 {
                Probe::Get(path) => client.get(format!("{base}{path}")),
                Probe::GraphQl(q) => client
                    .post(format!("{base}/graphql"))
                    .json(&serde_json::json!({ "query": q })),
            };
            let ok = match req.bearer_auth(TOKEN).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (i, if ok { Ok(start.elapsed()) } else { Err(()) })
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(r) = t.await {
            out.push(r);
        }
    }
    out
}

async fn measure(a: &BenchApiArgs, base: &str) -> Result<Report> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("serve did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = load(&client, base, a.events).await?;
    let probes: Vec<(String, Probe)> =
        vec![
        (
            "GET /api/v1/events?q=host.name:host-7&limit=20".into(),
            Probe::Get("/api/v1/events?q=host.name:host-7&limit=20".into()),
        ),
        (
            "GET /api/v1/events?q=failure AND user-42".into(),
            Probe::Get("/api/v1/events?q=failure%20AND%20user-42&limit=20".into()),
        ),
        (
            "GET /api/v1/events/{id}".into(),
            Probe::Get(format!("/api/v1/events/{id}")),
        ),
        (
            "GET /api/v1/alerts?limit=50".into(),
            Probe::Get("/api/v1/alerts?limit=50".into()),
        ),
        ("GET /api/v1/stats".into(), Probe::Get("/api/v1/stats".into())),
        (
            "POST /graphql events(query, limit 20)".into(),
            Probe::GraphQl(
                "{ events(query: \"host.name:host-3\", limit: 20) { total events { id time } } }"
                    .into(),
            ),
        ),
    ];
    let probes = Arc::new(probes);
    let base: Arc<str> = Arc::from(base);
    eprintln!("measuring {} requests/s for {} s...", a.rate, a.seconds);
    let results = fire(
        client.clone(),
        base.clone(),
        probes.clone(),
        a.rate,
        a.seconds,
    )
    .await;
    let mut per: Vec<(Vec<Duration>, usize)> = vec![(Vec::new(), 0); probes.len()];
    for (i, r) in results {
        match r {
            Ok(d) => per[i].0.push(d),
            Err(()) => per[i].1 += 1,
        }
    }
    let endpoints = probes
        .iter()
        .zip(per)
        .map(|((name, _), (lat, err))| row(name, lat, err))
        .collect();
    let health = Arc::new(vec![(
        "GET /healthz".to_owned(),
        Probe::Get("/healthz".into()),
    )]);
    let baseline = fire(client, base, health, a.rate, a.seconds.min(5)).await;
    let errors = baseline.iter().filter(|(_, r)| r.is_err()).count();
    let lat = baseline.into_iter().filter_map(|(_, r)| r.ok()).collect();
    Ok(Report {
        events: a.events,
        rate_per_sec: a.rate,
        seconds: a.seconds,
        endpoints,
        baseline: row("baseline: GET /healthz (same rate)", lat, errors),
    })
}

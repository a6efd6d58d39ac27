//! The API needs a bearer token; probes and metrics do not.

use crate::common::*;

#[test]
fn missing_wrong_and_malformed_tokens_get_401() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let c = client();
    for path in ["/api/v1/events", "/api/v1/stats"] {
        let r = c.get(server.url(path)).send().expect("get");
        assert_eq!(r.status().as_u16(), 401, "{path} without token");
        assert_eq!(
            r.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        let r = c
            .get(server.url(path))
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 401, "{path} with a wrong token");
        let r = c
            .get(server.url(path))
            .header("authorization", "Basic Zm9vOmJhcg==")
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 401, "{path} with basic auth");
    }
    let r = c
        .post(server.url("/api/v1/events"))
        .body("{\"a\":1}")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .get(server.url("/api/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    for open in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/docs",
        "/api/docs/app.js",
    ] {
        assert_eq!(
            c.get(server.url(open))
                .send()
                .expect("get")
                .status()
                .as_u16(),
            200,
            "{open}"
        );
    }
    // The token never reaches the log.
    assert!(!server.log_text().contains(TOKEN));
    assert!(!server.log_text().contains("wrong-token-wrong-token"));
}

#[test]
fn metrics_and_openapi_describe_the_service() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let (status, _) = server.post_ndjson("{\"a\":1}\n{bad\n");
    assert_eq!(status, 200);
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .expect("get")
        .text()
        .expect("text");
    for series in [
        "mcpsec_events_received_total",
        "mcpsec_events_accepted_total",
        "mcpsec_events_rejected_total",
        "mcpsec_ingest_bytes_total",
        "mcpsec_ingest_latency_seconds_bucket",
        "mcpsec_ingest_queue_depth",
        "mcpsec_index_lag_events",
    ] {
        assert!(text.contains(series), "{series} missing from /metrics");
    }
    let doc: serde_json::Value = client()
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    assert!(doc["paths"]["/api/v1/events"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/events"]["get"].is_object());
}

#[test]
fn rate_limits_answer_429_with_retry_after_and_headers_are_safe() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("MCPSEC_RATE_LIMIT__PER_KEY_PER_SEC", "5"),
            ("MCPSEC_RATE_LIMIT__BURST", "5"),
            (
                "MCPSEC_HTTP__CORS_ALLOWED_ORIGINS",
                "[\"https://soc.example.com\"]",
            ),
        ],
    );
    let c = client();
    let mut limited = None;
    for _ in 0..30 {
        let r = c
            .get(server.url("/api/v1/stats"))
            .bearer_auth(TOKEN)
            .send()
            .expect("get");
        if r.status().as_u16() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status().as_u16(), 200);
    }
    let r = limited.expect("no 429 after 30 requests at a 5/s limit");
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=5).contains(&retry), "{retry}");
    // Probes are not limited.
    assert_eq!(
        c.get(server.url("/healthz"))
            .send()
            .expect("get")
            .status()
            .as_u16(),
        200
    );
    let h = c.get(server.url("/healthz")).send().expect("get");
    assert_eq!(
        h.headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        h.headers()
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    assert!(h.headers().get("content-security-policy").is_some());
    // CORS only for the configured origin.
    let ok = c
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/events"))
        .header("origin", "https://soc.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .expect("preflight");
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://soc.example.com")
    );
    let other = c
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/events"))
        .header("origin", "https://evil.example.net")
        .header("access-control-request-method", "GET")
        .send()
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

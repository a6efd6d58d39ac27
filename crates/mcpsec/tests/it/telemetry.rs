//! Traces reach an OTLP/HTTP collector when one is configured; logs can be JSON.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// A minimal OTLP/HTTP receiver: records (path, body) of each POST and answers 200.
fn collector() -> (u16, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn);
                loop {
                    let mut request_line = String::new();
                    if r.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_owned();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = tx.send((path, body));
                    let _ = r.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    (port, rx)
}

#[test]
fn spans_are_exported_over_otlp_http_and_logs_can_be_json() {
    let (port, rx) = collector();
    let dir = tempfile::tempdir().expect("tmp");
    let endpoint = format!("http://127.0.0.1:{port}");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("MCPSEC_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
            ("MCPSEC_TELEMETRY__SERVICE_NAME", "mcpsec-otlp-test"),
            ("MCPSEC_LOGGING__FORMAT", "json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    assert_eq!(server.post_ndjson("{\"traced\":true}\n").0, 200);
    let _ = server.search("traced", 1, 0);
    let (path, body) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("no OTLP export within 30 s");
    assert_eq!(path, "/v1/traces");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("mcpsec-otlp-test"),
        "service.name missing from the export"
    );
    assert!(
        text.contains("request"),
        "no HTTP request span in the export"
    );
    let first_log_line = server.log_text().lines().next().unwrap_or("").to_owned();
    let parsed: serde_json::Value = serde_json::from_str(&first_log_line).expect("JSON log line");
    assert!(parsed["level"].is_string(), "{first_log_line}");
}

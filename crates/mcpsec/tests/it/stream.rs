//! The WebSocket stream: authenticated, filtered server-side; an idle client does not
//! hold up ingest.

use crate::common::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[test]
fn websocket_streams_matching_events_and_idle_clients_do_not_block_ingest() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let ws_base = server.base.replace("http://", "ws://");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        // Without a token: refused before the upgrade.
        let err = tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/stream"))
            .await
            .expect_err("no token");
        assert!(err.to_string().contains("401"), "{err}");

        let m = mark();
        let mut req = format!("{ws_base}/api/v1/stream?q=mark:{m}")
            .into_client_request()
            .expect("req");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {TOKEN}").parse().expect("hdr"),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        let body: String = (0..50)
            .map(|i| {
                format!(
                    "{{\"mark\":\"{}\",\"n\":{i}}}\n",
                    if i % 2 == 0 { m.as_str() } else { "other" }
                )
            })
            .collect();
        let url = server.url("/api/v1/events");
        tokio::task::spawn_blocking(move || {
            client()
                .post(url)
                .bearer_auth(TOKEN)
                .body(body)
                .send()
                .expect("post")
        })
        .await
        .expect("join");
        let mut got = Vec::new();
        while got.len() < 25 {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
                .await
                .expect("stream stalled")
                .expect("stream ended")
                .expect("ws error");
            if let Message::Text(t) = msg {
                let v: serde_json::Value = serde_json::from_str(&t).expect("json");
                assert_eq!(v["fields"]["mark"], m.as_str(), "server-side filter");
                got.push(v["fields"]["n"].as_u64().expect("n"));
            }
        }
        assert!(got.iter().all(|n| n % 2 == 0));

        // A client that connects with ?access_token= and never reads does not hold up
        // ingest (the drop itself is tested in mcpsec-server's live module).
        let m2 = mark();
        let token_url = format!("{ws_base}/api/v1/stream?q={m2}&buffer=5&access_token={TOKEN}");
        let (_idle, _) = tokio_tungstenite::connect_async(token_url)
            .await
            .expect("connect with access_token");
        let body: String = (0..5000)
            .map(|i| format!("{{\"m\":\"{m2}\",\"n\":{i}}}\n"))
            .collect();
        let url = server.url("/api/v1/events");
        let status = tokio::task::spawn_blocking(move || {
            client()
                .post(url)
                .bearer_auth(TOKEN)
                .body(body)
                .send()
                .expect("post")
                .status()
                .as_u16()
        })
        .await
        .expect("join");
        assert_eq!(
            status, 200,
            "ingest is not held up by an idle stream client"
        );
    });
    assert!(
        !server.log_text().contains(TOKEN),
        "the access token reached the log"
    );
}

//! Each provider against a local server speaking its wire format: request shape,
//! whole and streamed answers, 429 with Retry-After, timeouts and malformed answers.

mod common;

use common::{Fake, Reply, openai_answer};
use mcpsec_risk::llm::{ChatRequest, LlmClient, ProviderConfig, ProviderKind};
use serde_json::json;
use std::time::{Duration, Instant};

fn req() -> ChatRequest {
    ChatRequest {
        system: "be brief".into(),
        user: "hello".into(),
        json: true,
        max_tokens: None,
    }
}

fn key_file(secret: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("key");
    std::fs::write(&p, format!("{secret}\n")).expect("write");
    (dir, p)
}

fn cfg(kind: ProviderKind, base: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(kind, base, "test-model");
    c.backoff_ms = 10;
    c.max_backoff_ms = 2000;
    c
}

#[tokio::test]
async fn openai_request_shape_and_whole_answer() {
    let fake = Fake::start().await;
    fake.push(Reply::Json(openai_answer("{\"ok\":true}")));
    let (_d, key) = key_file("sk-test-openai-key");
    let mut c = cfg(ProviderKind::Openai, &format!("{}/v1", fake.base));
    c.api_key_file = Some(key);
    c.max_tokens = 321;
    let client = LlmClient::new("oai", c).expect("client");
    assert!(
        !format!("{client:?}").contains("sk-test"),
        "Debug redacts the key"
    );
    let r = client.chat(&req()).await.expect("chat");
    assert_eq!(r.text, "{\"ok\":true}");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (120, 30));
    let s = &fake.seen()[0];
    assert_eq!(s.path, "/v1/chat/completions");
    assert_eq!(s.headers["authorization"], "Bearer sk-test-openai-key");
    assert_eq!(s.body["model"], "test-model");
    assert_eq!(s.body["max_tokens"], 321);
    assert_eq!(s.body["stream"], false);
    assert_eq!(s.body["response_format"], json!({"type": "json_object"}));
    assert_eq!(
        s.body["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(
        s.body["messages"][1],
        json!({"role": "user", "content": "hello"})
    );
}

#[tokio::test]
async fn openai_azure_style_key_header() {
    let fake = Fake::start().await;
    fake.push(Reply::Json(openai_answer("x")));
    let (_d, key) = key_file("azure-key");
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.api_key_file = Some(key);
    c.api_key_header = Some("api-key".into());
    LlmClient::new("az", c)
        .expect("client")
        .chat(&req())
        .await
        .expect("chat");
    let s = &fake.seen()[0];
    assert_eq!(s.headers["api-key"], "azure-key");
    assert!(s.headers.get("authorization").is_none());
}

#[tokio::test]
async fn openai_streams_server_sent_events() {
    let fake = Fake::start().await;
    let chunk = |c: &str| {
        format!(
            "data: {}\n",
            json!({"id":"c","object":"chat.completion.chunk","model":"gpt-s","choices":[{"index":0,"delta":{"content":c},"finish_reason":null}]})
        )
    };
    fake.push(Reply::Stream(
        "text/event-stream",
        vec![
            ": comment".into(),
            chunk("{\"a\":"),
            chunk("1}"),
            format!(
                "data: {}\n",
                json!({"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})
            ),
            format!(
                "data: {}\n",
                json!({"id":"c","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":3}})
            ),
            "data: [DONE]\n".into(),
        ],
    ));
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.stream = true;
    let r = LlmClient::new("s", c)
        .expect("client")
        .chat(&req())
        .await
        .expect("chat");
    assert_eq!(r.text, "{\"a\":1}");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (11, 3));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let s = &fake.seen()[0];
    assert_eq!(s.body["stream"], true);
    assert_eq!(s.body["stream_options"]["include_usage"], true);
    assert_eq!(s.headers["accept"], "text/event-stream");
}

#[tokio::test]
async fn anthropic_request_shape_whole_and_streamed() {
    let fake = Fake::start().await;
    fake.push(Reply::Json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "{\"v\":2}"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 50, "output_tokens": 7}
    })));
    let ev = |name: &str, data: serde_json::Value| {
        vec![
            format!("event: {name}"),
            format!("data: {data}"),
            String::new(),
        ]
    };
    let mut lines = Vec::new();
    lines.extend(ev("message_start", json!({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-test","content":[],"usage":{"input_tokens":40,"output_tokens":1}}})));
    lines.extend(ev(
        "content_block_start",
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    ));
    lines.extend(ev("ping", json!({"type":"ping"})));
    lines.extend(ev("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{\"v\":"}})));
    lines.extend(ev(
        "content_block_delta",
        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"3}"}}),
    ));
    lines.extend(ev(
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}),
    ));
    lines.extend(ev("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}})));
    lines.extend(ev("message_stop", json!({"type":"message_stop"})));
    fake.push(Reply::Stream("text/event-stream", lines));
    let (_d, key) = key_file("sk-ant-test");
    let mut c = cfg(ProviderKind::Anthropic, &fake.base);
    c.api_key_file = Some(key.clone());
    let r = LlmClient::new("a", c.clone())
        .expect("client")
        .chat(&req())
        .await
        .expect("chat");
    assert_eq!(
        (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
        ("{\"v\":2}", 50, 7)
    );
    c.stream = true;
    let r = LlmClient::new("a", c)
        .expect("client")
        .chat(&req())
        .await
        .expect("stream");
    assert_eq!(
        (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
        ("{\"v\":3}", 40, 9)
    );
    let seen = fake.seen();
    let s = &seen[0];
    assert_eq!(s.path, "/v1/messages");
    assert_eq!(s.headers["x-api-key"], "sk-ant-test");
    assert_eq!(s.headers["anthropic-version"], "2023-06-01");
    assert!(s.headers.get("authorization").is_none());
    assert_eq!(s.body["system"], "be brief");
    assert_eq!(
        s.body["messages"],
        json!([{"role": "user", "content": "hello"}])
    );
    assert_eq!(s.body["max_tokens"], 1024);
    assert_eq!(seen[1].body["stream"], true);
}

#[tokio::test]
async fn ollama_request_shape_whole_and_ndjson_stream() {
    let fake = Fake::start().await;
    fake.push(Reply::Json(json!({
        "model": "llama3", "created_at": "2024-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "{\"o\":1}"},
        "done": true, "done_reason": "stop", "prompt_eval_count": 26, "eval_count": 8
    })));
    let line = |c: &str| {
        json!({"model":"llama3","message":{"role":"assistant","content":c},"done":false})
            .to_string()
    };
    fake.push(Reply::Stream(
        "application/x-ndjson",
        vec![
            line("{\"o\":"),
            line("2}"),
            json!({"model":"llama3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":20,"eval_count":4}).to_string(),
        ],
    ));
    let mut c = cfg(ProviderKind::Ollama, &fake.base);
    let r = LlmClient::new("l", c.clone())
        .expect("client")
        .chat(&req())
        .await
        .expect("chat");
    assert_eq!(
        (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
        ("{\"o\":1}", 26, 8)
    );
    c.stream = true;
    let r = LlmClient::new("l", c)
        .expect("client")
        .chat(&req())
        .await
        .expect("stream");
    assert_eq!(
        (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
        ("{\"o\":2}", 20, 4)
    );
    let seen = fake.seen();
    assert_eq!(seen[0].path, "/api/chat");
    assert_eq!(
        seen[0].body["stream"], false,
        "ollama streams unless told not to"
    );
    assert_eq!(seen[0].body["format"], "json");
    assert_eq!(seen[0].body["options"]["num_predict"], 1024);
    assert!(seen[0].headers.get("authorization").is_none());
    assert_eq!(seen[1].body["stream"], true);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let fake = Fake::start().await;
    fake.push(Reply::Raw(
        429,
        json!({"error": {"message": "rate limited", "type": "rate_limit"}}).to_string(),
        vec![("retry-after", "1".into())],
    ));
    fake.push(Reply::Json(openai_answer("fine")));
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.backoff_ms = 1;
    let started = Instant::now();
    let r = LlmClient::new("r", c)
        .expect("client")
        .chat(&req())
        .await
        .expect("chat");
    assert_eq!(r.text, "fine");
    assert_eq!(fake.seen().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was honoured, not the 1 ms backoff"
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries_and_4xx_is_not_retried() {
    let fake = Fake::start().await;
    for _ in 0..3 {
        fake.push(Reply::Raw(503, "overloaded".into(), vec![]));
    }
    let mut c = cfg(ProviderKind::Anthropic, &fake.base);
    c.max_retries = 2;
    let e = LlmClient::new("x", c.clone())
        .expect("client")
        .chat(&req())
        .await
        .expect_err("503s");
    assert!(e.to_string().contains("503"), "{e}");
    assert_eq!(fake.seen().len(), 3);
    fake.push(Reply::Raw(401, json!({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}).to_string(), vec![]));
    let e = LlmClient::new("x", c)
        .expect("client")
        .chat(&req())
        .await
        .expect_err("401");
    assert!(
        e.to_string().contains("401") && e.to_string().contains("invalid x-api-key"),
        "{e}"
    );
    assert_eq!(fake.seen().len(), 4, "a 401 is not retried");
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let fake = Fake::start().await;
    fake.push(Reply::Slow(
        Duration::from_secs(3),
        Box::new(Reply::Json(openai_answer("late"))),
    ));
    fake.push(Reply::Json(openai_answer("on time")));
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.timeout_secs = 1;
    c.max_retries = 1;
    let r = LlmClient::new("t", c.clone())
        .expect("client")
        .chat(&req())
        .await
        .expect("retry");
    assert_eq!(r.text, "on time");
    fake.push(Reply::Slow(
        Duration::from_secs(3),
        Box::new(Reply::Json(openai_answer("late"))),
    ));
    c.max_retries = 0;
    let e = LlmClient::new("t", c)
        .expect("client")
        .chat(&req())
        .await
        .expect_err("timeout");
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn malformed_answers_are_errors_not_panics() {
    let fake = Fake::start().await;
    let cases: Vec<(ProviderKind, bool, Reply)> = vec![
        (ProviderKind::Openai, false, Reply::Raw(200, "{\"choices\": [".into(), vec![])),
        (ProviderKind::Openai, false, Reply::Json(json!({"choices": []}))),
        (ProviderKind::Anthropic, false, Reply::Json(json!({"content": "nope"}))),
        (ProviderKind::Ollama, false, Reply::Raw(200, "<html>proxy error</html>".into(), vec![])),
        (ProviderKind::Openai, true, Reply::Stream("text/event-stream", vec!["data: {broken".into(), String::new()])),
        (ProviderKind::Ollama, true, Reply::Stream("application/x-ndjson", vec!["{\"message\":{\"content\":\"a\"},\"done\":false}".into(), "not json".into()])),
        (ProviderKind::Anthropic, true, Reply::Stream("text/event-stream", vec!["event: error".into(), "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}".into(), String::new()])),
    ];
    for (kind, stream, reply) in cases {
        fake.push(reply);
        let mut c = cfg(kind, &fake.base);
        c.stream = stream;
        c.max_retries = 0;
        let e = LlmClient::new("m", c).expect("client").chat(&req()).await;
        assert!(e.is_err(), "{kind:?} stream={stream}: {e:?}");
    }
    // A stream that stops before its end marker is incomplete.
    fake.push(Reply::Stream(
        "text/event-stream",
        vec![
            "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}".into(),
            String::new(),
        ],
    ));
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.stream = true;
    c.max_retries = 0;
    let e = LlmClient::new("m", c)
        .expect("client")
        .chat(&req())
        .await
        .expect_err("cut");
    assert!(
        e.to_string().contains("before the answer was complete"),
        "{e}"
    );
}

#[tokio::test]
async fn huge_answers_are_refused() {
    let fake = Fake::start().await;
    let big = "x".repeat(mcpsec_risk::llm::MAX_ANSWER_BYTES + 10);
    fake.push(Reply::Raw(200, big, vec![]));
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.max_retries = 0;
    let e = LlmClient::new("h", c)
        .expect("client")
        .chat(&req())
        .await
        .expect_err("huge");
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[tokio::test]
async fn the_concurrency_limit_holds() {
    let fake = Fake::start().await;
    for _ in 0..4 {
        fake.push(Reply::Slow(
            Duration::from_millis(400),
            Box::new(Reply::Json(openai_answer("ok"))),
        ));
    }
    let mut c = cfg(ProviderKind::Openai, &fake.base);
    c.max_concurrency = 1;
    let client = std::sync::Arc::new(LlmClient::new("c", c).expect("client"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let cl = client.clone();
        tasks.push(tokio::spawn(async move { cl.chat(&req()).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("chat");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1150),
        "one at a time: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unreachable_provider_is_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut c = cfg(ProviderKind::Ollama, &format!("http://127.0.0.1:{port}"));
    c.max_retries = 1;
    let e = LlmClient::new("u", c)
        .expect("client")
        .chat(&req())
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

//! A scripted model server on 127.0.0.1 that records what it was sent.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted reply.
#[derive(Clone)]
pub enum Reply {
    /// Status, body, extra headers.
    Raw(u16, String, Vec<(&'static str, String)>),
    /// 200 with a JSON body.
    Json(Value),
    /// 200 `text/event-stream` with these raw lines (each followed by `\n`).
    Stream(&'static str, Vec<String>),
    /// Wait, then reply.
    Slow(Duration, Box<Reply>),
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
}

/// The server.
#[derive(Clone)]
pub struct Fake {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

async fn handle(
    State(f): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let reply = {
        let mut g = f.inner.lock().expect("lock");
        g.seen.push(Seen {
            path: uri.path().to_owned(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        g.replies.pop_front()
    };
    let Some(mut reply) = reply else {
        return Response::builder()
            .status(500)
            .body(Body::from("no scripted reply"))
            .expect("resp");
    };
    loop {
        match reply {
            Reply::Slow(d, r) => {
                tokio::time::sleep(d).await;
                reply = *r;
            }
            Reply::Json(v) => {
                return Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from(v.to_string()))
                    .expect("resp");
            }
            Reply::Raw(status, body, headers) => {
                let mut b =
                    Response::builder().status(StatusCode::from_u16(status).expect("status"));
                for (k, v) in headers {
                    b = b.header(k, v);
                }
                return b.body(Body::from(body)).expect("resp");
            }
            Reply::Stream(ct, lines) => {
                // Sent in small chunks so the client must reassemble lines.
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text
                    .into_bytes()
                    .chunks(7)
                    .map(|c| Ok(c.to_vec()))
                    .collect();
                return Response::builder()
                    .header("content-type", ct)
                    .body(Body::from_stream(futures_util::stream::iter(chunks)))
                    .expect("resp");
            }
        }
    }
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let f = Fake {
            inner: Arc::default(),
            base: format!("http://{addr}"),
        };
        let app = axum::Router::new().fallback(handle).with_state(f.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        f
    }

    pub fn push(&self, r: Reply) {
        self.inner.lock().expect("lock").replies.push_back(r);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().expect("lock").seen.clone()
    }
}

/// An OpenAI chat completion carrying `content`.
pub fn openai_answer(content: &str) -> Value {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    })
}

pub const VERDICT: &str = r#"{"severity":"critical","confidence":0.9,"rationale":"LSASS memory was dumped with comsvcs.dll.","recommended_actions":["Isolate WS042","Reset credentials"],"attack_techniques":["T1003.001"]}"#;

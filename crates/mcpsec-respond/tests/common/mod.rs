//! A tiny HTTP/1.1 server on 127.0.0.1 that records requests and answers from a
//! handler, and an in-memory engine to run playbooks against it.
#![allow(dead_code, clippy::unwrap_used)]

use mcpsec_respond::config::Services;
use mcpsec_respond::live::LiveEffects;
use mcpsec_respond::secrets::SecretStore;
use mcpsec_respond::{Engine, Registry, StartRun};
use mcpsec_store::{SqliteState, StateStore};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> (u16, String) + Send + Sync>;

pub struct Mock {
    pub url: String,
    pub reqs: Arc<Mutex<Vec<Req>>>,
}

impl Mock {
    pub fn take(&self) -> Vec<Req> {
        std::mem::take(&mut *self.reqs.lock().unwrap())
    }
}

pub async fn mock(handler: impl Fn(&Req) -> (u16, String) + Send + Sync + 'static) -> Mock {
    let handler: Handler = Arc::new(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reqs = Arc::new(Mutex::new(Vec::new()));
    let r2 = reqs.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let reqs = r2.clone();
            tokio::spawn(async move {
                let (rd, mut wr) = sock.into_split();
                let mut rd = BufReader::new(rd);
                loop {
                    let mut line = String::new();
                    if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let mut headers = Vec::new();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        rd.read_line(&mut h).await.unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                        headers.push((k.to_owned(), v.trim().to_owned()));
                    }
                    let mut body = vec![0; len];
                    rd.read_exact(&mut body).await.unwrap();
                    let req = Req {
                        method,
                        path,
                        headers,
                        body: String::from_utf8(body).unwrap(),
                    };
                    reqs.lock().unwrap().push(req.clone());
                    // Handlers may sleep to play a slow service: on the blocking pool,
                    // so the mock never holds the runtime the engine under test runs on.
                    let h = handler.clone();
                    let r = req.clone();
                    let (status, text) = tokio::task::spawn_blocking(move || h(&r)).await.unwrap();
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if wr.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Mock { url, reqs }
}

pub fn secrets(pairs: &[(&str, &str)]) -> (tempfile::TempDir, Arc<SecretStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut map = BTreeMap::new();
    for (name, value) in pairs {
        let p = dir.path().join(name);
        std::fs::write(&p, value).unwrap();
        map.insert(name.to_string(), format!("file:{}", p.display()));
    }
    (dir, Arc::new(SecretStore::new(&map, None).unwrap()))
}

pub fn engine(services: Services, secrets: Arc<SecretStore>) -> (Arc<SqliteState>, Engine) {
    let store = Arc::new(SqliteState::in_memory().unwrap());
    let dyn_store: Arc<dyn StateStore> = store.clone();
    let fx = LiveEffects::new(services, secrets, Some(dyn_store.clone())).unwrap();
    (
        store,
        Engine::new(dyn_store, Registry::builtin(), Arc::new(fx)),
    )
}

pub fn start(engine: &Engine, yaml: &str, alert: serde_json::Value) -> String {
    engine
        .start(StartRun {
            tenant: mcpsec_core::TenantId::new("acme").unwrap(),
            yaml: yaml.into(),
            version: 1,
            alert: Some(alert),
            trigger: "manual".into(),
            actor: "tester".into(),
            input: serde_json::json!({}),
        })
        .unwrap()
        .id
}

pub fn alert() -> serde_json::Value {
    serde_json::json!({"id": "01ALERT", "rule_id": "r1", "rule_title": "Mimikatz", "level": "critical",
        "host": "web-1", "tags": ["attack.t1003"], "tenant": "acme",
        "events": [{"src_ip": "203.0.113.7", "user": "bob"}]})
}

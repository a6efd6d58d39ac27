//! Starting `mcpsec serve` on a free port and talking to it.

use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "integration-admin-token-0123456789";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcpsec")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

/// A JSON request as `key`: `(status, body as JSON or Null)`.
pub fn call(
    s: &Server,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, s.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().expect("request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// A GET as `key`: `(status, body bytes)`.
pub fn get_bytes(s: &Server, key: &str, path: &str) -> (u16, Vec<u8>) {
    let r = client()
        .get(s.url(path))
        .bearer_auth(key)
        .send()
        .expect("get");
    (r.status().as_u16(), r.bytes().expect("body").to_vec())
}

/// Runs a reader or tool the test needs and returns what it printed; fails the test with
/// its output if it fails.
pub fn tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `mcpsec serve`.
pub struct Server {
    pub child: Option<Child>,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[], &[])
    }

    pub fn start_with(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        std::fs::create_dir_all(data).expect("data dir");
        let log = data.with_extension(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("MCPSEC_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn serve");
        let mut s = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let c = client();
        loop {
            if let Some(status) = s.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("serve exited with {status}: {}", s.log_text());
            }
            if c.get(format!("{}/healthz", s.base))
                .send()
                .map(|r| r.status().is_success())
                .unwrap_or(false)
            {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not start: {}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn post_ndjson(&self, body: impl Into<reqwest::blocking::Body>) -> (u16, Value) {
        let r = client()
            .post(self.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn search(&self, q: &str, limit: usize, offset: usize) -> Value {
        let r = client()
            .get(self.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .query(&[
                ("q", q),
                ("limit", &limit.to_string()),
                ("offset", &offset.to_string()),
            ])
            .send()
            .expect("search");
        assert_eq!(r.status().as_u16(), 200, "search {q}");
        r.json().expect("json")
    }

    /// Waits until `q` matches at least `want` events; returns the total seen last.
    pub fn wait_for(&self, q: &str, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let total = self.search(q, 1, 0)["total"].as_u64().unwrap_or(0);
            if total >= want || Instant::now() > deadline {
                return total;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every value of `fields.<field>` among the events matching `q` (all pages).
    pub fn collect_field(&self, q: &str, field: &str) -> Vec<u64> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.search(q, 10_000, offset);
            let events = page["events"].as_array().cloned().unwrap_or_default();
            if events.is_empty() {
                return out;
            }
            offset += events.len();
            out.extend(events.iter().filter_map(|e| e["fields"][field].as_u64()));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn unique(v: &[u64]) -> usize {
    v.iter().collect::<HashSet<_>>().len()
}

pub fn mark() -> String {
    format!("m{}", ulid_like())
}

fn ulid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{t:x}{:x}", std::process::id())
}

/// Runs `mcpsec admin ARGS --data-dir DATA`.
pub fn admin(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("admin")
}

/// Creates the tenant (if needed) and a key with `role` for it; returns the key.
pub fn tenant_key(data: &Path, tenant: &str, role: &str) -> String {
    assert!(admin(data, &["tenant", "create", tenant]).status.success());
    let out = admin(data, &["key", "create", "--tenant", tenant, "--role", role]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Server {
    /// How many events `key` finds for `q`.
    pub fn count_as(&self, key: &str, q: &str) -> u64 {
        let r = client()
            .get(self.url("/api/v1/events"))
            .bearer_auth(key)
            .query(&[("q", q)])
            .send()
            .expect("get");
        r.json::<Value>()
            .map(|v| v["total"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Waits (up to 30 s) until `key` finds `want` events for `q`; returns the last count.
    pub fn wait_count_as(&self, key: &str, q: &str, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n = self.count_as(key, q);
            if n >= want || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

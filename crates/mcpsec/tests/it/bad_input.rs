//! Hostile and broken bodies get clear errors; the good parts are kept; nothing panics.

use crate::common::*;
use std::io::{Read, Write};

#[test]
fn malformed_lines_invalid_utf8_and_deep_nesting_keep_the_good_lines() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let m = mark();
    let mut body = Vec::new();
    for i in 0..10 {
        body.extend_from_slice(format!("{{\"mark\":\"{m}\",\"n\":{i}}}\n").as_bytes());
    }
    body.extend_from_slice(b"{this is not json\n"); // line 11
    body.extend_from_slice(b"{\"bad\":\"\xff\xfe\"}\n"); // line 12: invalid UTF-8
    let deep = format!("{{\"x\":{}{}}}\n", "[".repeat(10_000), "]".repeat(10_000)); // line 13
    body.extend_from_slice(deep.as_bytes());
    body.extend_from_slice(b"42\n"); // line 14: not an object
    body.extend_from_slice(format!("{{\"mark\":\"{m}\",\"n\":10}}").as_bytes()); // line 15, no newline
    let (status, answer) = server.post_ndjson(body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 11);
    assert_eq!(answer["rejected"], 4);
    let lines: Vec<u64> = answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![11, 12, 13, 14]);
    assert_eq!(server.wait_for(&format!("mark:{m}"), 11), 11);

    let (status, answer) = server.post_ndjson("{nope\n[1]\n");
    assert_eq!(status, 400, "all lines bad: {answer}");
    assert_eq!(answer["rejected"], 2);
}

#[test]
fn empty_body_truncated_gzip_and_bombs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("MCPSEC_HTTP__MAX_BODY_BYTES", "1048576"),
            ("MCPSEC_HTTP__MAX_DECODED_BYTES", "4194304"),
        ],
    );
    let (status, answer) = server.post_ndjson("");
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("empty"),
        "{answer}"
    );

    let post = |body: Vec<u8>, enc: &str| {
        let r = client()
            .post(server.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .header("content-encoding", enc)
            .body(body)
            .send()
            .expect("post");
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    // 100 MB of zeros compress to ~100 KB: under the wire limit, over the decoded one.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 100 << 20]).expect("gz");
    let bomb = gz.finish().expect("gz");
    assert!(bomb.len() < 1 << 20);
    let (status, text) = post(bomb, "gzip");
    assert_eq!(status, 413, "{text}");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"a\":1}\n".repeat(1000).as_slice())
        .expect("gz");
    let good = gz.finish().expect("gz");
    let (status, text) = post(good[..good.len() / 2].to_vec(), "gzip");
    assert_eq!(status, 400, "{text}");
    let (status, _) = post(
        zstd::encode_all(&b"{\"a\":1}\n"[..], 3).expect("zstd"),
        "zstd",
    );
    assert_eq!(status, 200);
    let (status, text) = post(b"{}".to_vec(), "br");
    assert_eq!(status, 400, "{text}");
}

#[test]
fn a_100_mb_body_gets_413_before_it_is_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    // As curl does for large uploads: announce the size, wait for 100 Continue.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        s,
        "POST /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        100 << 20
    )
    .expect("write");
    let mut answer = String::new();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    // And a 100 MB body actually streamed: refused with 413 once the limit is passed.
    let chunk = vec![b'x'; 1 << 20];
    let stream = (0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    let body = reqwest::blocking::Body::new(ChunkReader::new(stream));
    let r = client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(TOKEN)
        .body(body)
        .send();
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    // Either way the server is still healthy.
    let (status, _) = server.post_ndjson("{\"after\":\"big\"}\n");
    assert_eq!(status, 200);
}

struct ChunkReader<I> {
    it: I,
    cur: Vec<u8>,
    pos: usize,
}

impl<I> ChunkReader<I> {
    fn new(it: I) -> Self {
        ChunkReader {
            it,
            cur: Vec::new(),
            pos: 0,
        }
    }
}

impl<I: Iterator<Item = std::io::Result<Vec<u8>>>> Read for ChunkReader<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.it.next() {
                Some(c) => {
                    self.cur = c?;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn bad_search_parameters_are_400_with_a_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    for (k, v) in [
        ("q", "(unbalanced"),
        ("from", "yesterday"),
        ("limit", "0"),
        ("limit", "999999"),
        ("order", "up"),
    ] {
        let r = client()
            .get(server.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .query(&[(k, v)])
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 400, "{k}={v}");
        let j: serde_json::Value = r.json().expect("json");
        assert!(!j["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    let r = client()
        .get(server.url("/api/v1/events/not-an-id"))
        .bearer_auth(TOKEN)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 400);
}

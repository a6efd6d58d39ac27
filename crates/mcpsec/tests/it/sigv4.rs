//! An S3 `PUT` endpoint for tests on 127.0.0.1 that verifies AWS Signature Version 4
//! pre-signed requests itself, written from AWS's specification independently of the
//! signing crate the server uses: canonical request, string to sign, the derived key of
//! the secret it is given; `403 SignatureDoesNotMatch` when the signature differs,
//! `403 RequestTimeTooSkewed`-style refusal for expired ones is not modelled.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;

/// One verified object.
pub struct Put {
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("key");
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if b[i] == b'%'
            && let Some(Ok(v)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// Whether the pre-signed request verifies under `secret`.
fn verify(method: &str, target: &str, headers: &[(String, String)], secret: &str) -> bool {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(algo), Some(cred), Some(date), Some(signed), Some(sig)) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    ) else {
        return false;
    };
    if algo != "AWS4-HMAC-SHA256" {
        return false;
    }
    let scope: Vec<&str> = cred.splitn(2, '/').collect();
    let Some(scope) = scope.get(1).map(|s| s.to_string()) else {
        return false;
    };
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() != 4 || parts[2] != "s3" || parts[3] != "aws4_request" {
        return false;
    }
    params.retain(|(k, _)| k != "X-Amz-Signature");
    let mut canon_query: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    canon_query.sort();
    let canon_query = canon_query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canon_headers = String::new();
    for name in signed.split(';') {
        let Some((_, v)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) else {
            return false;
        };
        canon_headers.push_str(&format!("{name}:{}\n", v.trim()));
    }
    let canonical =
        format!("{method}\n{path}\n{canon_query}\n{canon_headers}\n{signed}\nUNSIGNED-PAYLOAD");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), parts[0]);
    let k = hmac(&k, parts[1]);
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    hex::encode(hmac(&k, &to_sign)) == sig
}

/// Starts the endpoint; `(endpoint URL, verified PUTs)`.
pub fn endpoint(secret: &'static str) -> (String, mpsc::Receiver<Put>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().expect("clone"));
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut it = line.split_whitespace();
            let (method, target) = (
                it.next().unwrap_or("").to_owned(),
                it.next().unwrap_or("").to_owned(),
            );
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let len = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let ok = method == "PUT" && verify(&method, &target, &headers, secret);
            let reply = if ok {
                "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
            } else {
                let x = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code></Error>";
                format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{x}",
                    x.len()
                )
            };
            let _ = conn.write_all(reply.as_bytes());
            if ok {
                let content_type = headers
                    .iter()
                    .find(|(k, _)| k == "content-type")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let path = target.split('?').next().unwrap_or("").to_owned();
                if tx
                    .send(Put {
                        path,
                        content_type,
                        body,
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    (url, rx)
}

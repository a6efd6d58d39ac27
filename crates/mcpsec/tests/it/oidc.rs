//! JWT bearer tokens from an OIDC issuer: discovery, JWKS, rotation, and every way a
//! token must be refused. The issuer is a small HTTP server started by the test.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer, SigningKey};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Serves the discovery document and a JWKS that the test can swap.
fn issuer(jwks: Arc<Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let issuer = base.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut r = BufReader::new(conn);
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let body = if line.contains("/.well-known/openid-configuration") {
                format!("{{\"issuer\":\"{issuer}\",\"jwks_uri\":\"{issuer}/jwks\"}}")
            } else {
                jwks.lock().expect("lock").clone()
            };
            let _ = write!(
                r.get_mut(),
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn jwks_of(keys: &[(&str, &SigningKey)]) -> String {
    let ks: Vec<String> = keys
        .iter()
        .map(|(kid, k)| {
            format!(
                "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"kid\":\"{kid}\",\"x\":\"{}\"}}",
                B64.encode(k.verifying_key().to_bytes())
            )
        })
        .collect();
    format!("{{\"keys\":[{}]}}", ks.join(","))
}

fn token(key: &SigningKey, header: serde_json::Value, claims: serde_json::Value) -> String {
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    let sig = key.sign(format!("{h}.{c}").as_bytes());
    format!("{h}.{c}.{}", B64.encode(sig.to_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn oidc_tokens_are_validated_against_the_issuers_rotating_keys() {
    let k1 = SigningKey::from_bytes(&[7u8; 32]);
    let k2 = SigningKey::from_bytes(&[9u8; 32]);
    let evil = SigningKey::from_bytes(&[13u8; 32]);
    let jwks = Arc::new(Mutex::new(jwks_of(&[("k1", &k1)])));
    let iss = issuer(jwks.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("mcpsec.toml");
    std::fs::write(
        &cfg,
        format!("[auth.oidc]\nissuer = \"{iss}\"\naudience = \"mcpsec\"\nmin_refetch_secs = 0\n"),
    )
    .expect("config");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("utf8")],
        &[],
    );
    let claims = |aud: &str, iss: &str, exp: i64, tenant: &str| serde_json::json!({"iss": iss, "aud": aud, "sub": "alice", "exp": exp, "nbf": now() - 10, "tenant": tenant, "role": "analyst"});
    let hdr = |kid: &str| serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let status = |tok: &str| {
        client()
            .get(server.url("/api/v1/events"))
            .bearer_auth(tok)
            .send()
            .expect("get")
            .status()
            .as_u16()
    };

    let good = token(
        &k1,
        hdr("k1"),
        claims("mcpsec", &iss, now() + 300, "default"),
    );
    assert_eq!(status(&good), 200, "{}", server.log_text());
    assert_eq!(
        status(&token(
            &k1,
            hdr("k1"),
            claims("mcpsec", &iss, now() - 300, "default")
        )),
        401,
        "expired"
    );
    assert_eq!(
        status(&token(
            &k1,
            hdr("k1"),
            claims("other-app", &iss, now() + 300, "default")
        )),
        401,
        "wrong audience"
    );
    assert_eq!(
        status(&token(
            &k1,
            hdr("k1"),
            claims("mcpsec", "https://evil.example", now() + 300, "default")
        )),
        401,
        "wrong issuer"
    );
    assert_eq!(
        status(&token(
            &evil,
            hdr("k1"),
            claims("mcpsec", &iss, now() + 300, "default")
        )),
        401,
        "wrong signature"
    );
    assert_eq!(
        status(&token(
            &k1,
            hdr("k1"),
            claims("mcpsec", &iss, now() + 300, "no-such-tenant")
        )),
        401,
        "unknown tenant"
    );
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims("mcpsec", &iss, now() + 300, "default").to_string())
    );
    assert_eq!(status(&none), 401, "alg none");
    let hs = token(
        &k1,
        serde_json::json!({"alg": "HS256", "kid": "k1"}),
        claims("mcpsec", &iss, now() + 300, "default"),
    );
    assert_eq!(status(&hs), 401, "symmetric algorithm");
    let mut tampered = good.clone();
    tampered.insert(good.find('.').expect("dot") + 5, 'A');
    assert_eq!(status(&tampered), 401, "tampered claims");

    // Rotation: the issuer now signs with k2; a token naming k2 triggers a fetch.
    *jwks.lock().expect("lock") = jwks_of(&[("k2", &k2)]);
    let rotated = token(
        &k2,
        hdr("k2"),
        claims("mcpsec", &iss, now() + 300, "default"),
    );
    assert_eq!(status(&rotated), 200, "new key after rotation");
    assert!(
        !server.log_text().contains(&good[good.len() - 20..]),
        "token reached the log"
    );
}

//! `[respond.services] ca_file`: actions reach an HTTPS service whose certificate comes
//! from a private CA when that CA is configured, and fail the handshake without it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcpsec_respond::config::Services;
use mcpsec_respond::live::LiveEffects;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A private CA (PEM) and a server certificate for 127.0.0.1 issued by it (DER).
fn private_ca() -> (String, Vec<u8>, Vec<u8>) {
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, "Test Private CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = p.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(p, ca_key);
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca.pem(), cert.der().to_vec(), key.serialize_der())
}

/// An HTTPS server on 127.0.0.1 answering `200 {}`; counts the requests it answered.
fn tls_server(cert: Vec<u8>, key: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::try_from(key).unwrap(),
        )
        .unwrap();
    let config = Arc::new(config);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let n = answered.clone();
    std::thread::spawn(move || {
        for tcp in l.incoming() {
            let Ok(mut tcp) = tcp else { return };
            let (config, n) = (config.clone(), n.clone());
            std::thread::spawn(move || {
                let Ok(mut conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => seen.extend_from_slice(&buf[..k]),
                    }
                }
                let resp = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                if tls.write_all(resp).is_ok() {
                    n.fetch_add(1, Ordering::SeqCst);
                }
                let _ = tls.flush();
            });
        }
    });
    (url, answered)
}

async fn call(services: Services, url: &str) -> (String, Option<String>) {
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(services, s);
    let yaml = format!(
        "id: t\nname: t\nsteps:\n  - id: call\n    action: http.request\n    with: {{url: '{url}/hook', body: {{a: 1}}}}\n"
    );
    let id = start(&e, &yaml, alert());
    let status = e.drive(&id).await.unwrap();
    use mcpsec_store::PlaybookStore as _;
    let err = store.step_runs(&id).unwrap()[0].error.clone();
    (status, err)
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_configured() {
    let (ca_pem, cert, key) = private_ca();
    let (url, answered) = tls_server(cert, key);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();

    let (status, err) = call(Services::default(), &url).await;
    assert_eq!(
        status, "failed",
        "the system roots do not know the private CA"
    );
    assert!(err.unwrap().contains("127.0.0.1"));
    assert_eq!(answered.load(Ordering::SeqCst), 0, "no request got through");

    let with_ca = Services {
        ca_file: Some(ca_file),
        ..Services::default()
    };
    let (status, err) = call(with_ca, &url).await;
    assert_eq!(status, "succeeded", "{err:?}");
    assert_eq!(answered.load(Ordering::SeqCst), 1);
}

#[test]
fn bad_ca_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, s) = secrets(&[]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.pem", Vec::new(), "no PEM certificate"),
        (
            "text.pem",
            b"hello, not a certificate\n".to_vec(),
            "no PEM certificate",
        ),
        (
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
            "not a PEM certificate bundle",
        ),
        ("huge.pem", vec![b'A'; (1 << 20) + 1], "larger than 1 MiB"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let services = Services {
            ca_file: Some(p),
            ..Services::default()
        };
        let err = LiveEffects::new(services, s.clone(), None).err().unwrap();
        assert!(err.contains(want) && err.contains(name), "{name}: {err}");
    }
    let missing = Services {
        ca_file: Some(dir.path().join("missing.pem")),
        ..Services::default()
    };
    let err = LiveEffects::new(missing, s, None).err().unwrap();
    assert!(err.contains("missing.pem"), "{err}");
}

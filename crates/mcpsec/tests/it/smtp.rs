//! A small SMTP relay for tests, on 127.0.0.1: EHLO, optional STARTTLS (rustls), AUTH
//! PLAIN, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT. It answers the first
//! MAIL with a temporary failure (so retries are exercised), refuses any recipient at
//! `nobody@…` for good, and hands every accepted message to the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

/// One accepted message.
pub struct Mail {
    /// `MAIL FROM` argument, e.g. `<reports@acme.example>`.
    pub from: String,
    /// `RCPT TO` arguments.
    pub rcpt: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed.
    pub data: Vec<u8>,
    /// The decoded `AUTH PLAIN` response (`\0user\0password`), if any.
    pub auth: Option<Vec<u8>>,
    /// Whether the session was inside TLS when the message came.
    pub tls: bool,
}

/// A relay's address and what it received.
pub struct Relay {
    pub port: u16,
    pub mails: mpsc::Receiver<Mail>,
}

/// Starts a relay; with `tls`, it offers STARTTLS with that server config and refuses
/// MAIL before it.
pub fn relay(tls: Option<Arc<rustls::ServerConfig>>) -> Relay {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, mails) = mpsc::channel();
    let first = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { continue };
            let (tx, tls, first) = (tx.clone(), tls.clone(), first.clone());
            std::thread::spawn(move || {
                let _ = tcp.write_all(b"220 mail.test ESMTP ready\r\n");
                let offer = tls.is_some();
                let Some(tcp) = session(tcp, offer, false, &tx, &first) else {
                    return;
                };
                let Some(cfg) = tls else { return };
                let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                    return;
                };
                let stream = rustls::StreamOwned::new(conn, tcp);
                session(stream, false, true, &tx, &first);
            });
        }
    });
    Relay { port, mails }
}

/// Serves one (plain or TLS) part of a session; returns the stream when the client
/// asked for STARTTLS.
fn session<S: Read + Write>(
    stream: S,
    offer_starttls: bool,
    in_tls: bool,
    tx: &mpsc::Sender<Mail>,
    first: &AtomicUsize,
) -> Option<S> {
    let mut r = BufReader::new(stream);
    let (mut from, mut rcpt, mut auth) = (String::new(), Vec::new(), None);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let cmd = line.trim_end().to_owned();
        let up = cmd.to_ascii_uppercase();
        let reply: &[u8] = if up.starts_with("EHLO") || up.starts_with("HELO") {
            if offer_starttls {
                b"250-mail.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            } else {
                b"250-mail.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
            }
        } else if up == "STARTTLS" && offer_starttls {
            let _ = r.get_mut().write_all(b"220 2.0.0 go ahead\r\n");
            let _ = r.get_mut().flush();
            return Some(r.into_inner());
        } else if let Some(rest) = up.strip_prefix("AUTH PLAIN") {
            let b64 = if rest.trim().is_empty() {
                let _ = r.get_mut().write_all(b"334 \r\n");
                let mut l = String::new();
                let _ = r.read_line(&mut l);
                l.trim().to_owned()
            } else {
                cmd[10..].trim().to_owned()
            };
            use base64::Engine as _;
            auth = base64::engine::general_purpose::STANDARD.decode(b64).ok();
            b"235 2.7.0 authenticated\r\n"
        } else if up.starts_with("MAIL FROM:") {
            if offer_starttls {
                b"530 5.7.0 must issue STARTTLS first\r\n"
            } else if first.fetch_add(1, Ordering::SeqCst) == 0 {
                b"451 4.3.0 try again later\r\n"
            } else {
                from = cmd[10..].trim().to_owned();
                rcpt.clear();
                b"250 2.1.0 ok\r\n"
            }
        } else if up.starts_with("RCPT TO:") {
            if up.contains("<NOBODY@") {
                b"550 5.1.1 no such user\r\n"
            } else {
                rcpt.push(cmd[8..].trim().to_owned());
                b"250 2.1.5 ok\r\n"
            }
        } else if up == "DATA" {
            let _ = r.get_mut().write_all(b"354 end with .\r\n");
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                    return None;
                }
                if l == b".\r\n" {
                    break;
                }
                let l = if l.starts_with(b"..") {
                    &l[1..]
                } else {
                    &l[..]
                };
                data.extend_from_slice(l);
            }
            let _ = tx.send(Mail {
                from: std::mem::take(&mut from),
                rcpt: std::mem::take(&mut rcpt),
                data,
                auth: auth.clone(),
                tls: in_tls,
            });
            b"250 2.0.0 queued\r\n"
        } else if up == "RSET" || up == "NOOP" {
            b"250 2.0.0 ok\r\n"
        } else if up == "QUIT" {
            let _ = r.get_mut().write_all(b"221 2.0.0 bye\r\n");
            let _ = r.get_mut().flush();
            return None;
        } else {
            b"502 5.5.2 not implemented\r\n"
        };
        if r.get_mut().write_all(reply).is_err() {
            return None;
        }
        let _ = r.get_mut().flush();
    }
}

//! The syslog listener: UDP (RFC 5426) and TCP (RFC 6587) into the [`Pipeline`].
//!
//! Every message becomes one event through [`mcpsec_normalize::normalize_line`] (RFC 5424,
//! RFC 3164, CEF, JSON or plain text), with source kind `syslog-udp` or `syslog-tcp` and
//! the peer address as source name. Bytes that are not UTF-8 are replaced (lossy).
//!
//! - **UDP**: one datagram is one message; a datagram holding several LF-separated lines
//!   gives one event per line. Trailing `\n`, `\r\n` and NUL are removed. Events are
//!   gathered into batches (1000 events or 50 ms). A full ingest queue is retried for
//!   about two seconds; then the batch is dropped and counted in
//!   `mcpsec_syslog_dropped_total` (UDP senders cannot be slowed down).
//! - **TCP**: the framing is detected per message: octet counting (`<length> <message>`)
//!   when the message starts with a digit 1-9 followed by digits and a space, else
//!   non-transparent framing (one message per LF-terminated line). A frame announcing more
//!   than `max_message_bytes` closes the connection; a longer line is cut. A full queue is
//!   retried without dropping: the connection is not read meanwhile, so the sender slows
//!   down.
//!
//! Metrics: `mcpsec_syslog_messages_total{transport}` (messages received),
//! `mcpsec_syslog_dropped_total{transport}` (messages lost), and
//! `mcpsec_syslog_rejected_connections_total` (over `max_connections`).
//!
//! On shutdown the listener stops accepting, turns what it has already received into
//! events, submits them, and returns.

use super::common::{
    WarnLimiter, is_blank, retry_queue_full, shutdown_requested, shutdown_signalled,
    trim_end_terminators,
};
use crate::{IngestError, Pipeline};
use mcpsec_core::{Event, SourceInfo, TenantId};
use mcpsec_normalize::{Context, normalize_line};
use mcpsec_store::StoreError;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// A batch is submitted when it holds this many events...
const BATCH_EVENTS: usize = 1000;
/// ...or when its first event has waited this long.
const BATCH_DELAY: Duration = Duration::from_millis(50);
/// How long a UDP batch is retried on a full queue before it is dropped.
const UDP_GIVE_UP: Duration = Duration::from_secs(2);
/// UDP batches waiting for submission; beyond this, new batches are dropped.
const UDP_QUEUED_BATCHES: usize = 16;
/// Datagrams still read from the socket buffer at shutdown, at most.
const UDP_DRAIN_AT_SHUTDOWN: usize = 10_000;
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// After shutdown, a TCP batch is retried on a full queue for at most this long.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// At most one warning of a kind per this interval.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// Bytes read from a TCP connection at once.
const READ_CHUNK: usize = 64 * 1024;
/// Longest octet count accepted as such; longer digit runs are text.
const MAX_COUNT_DIGITS: usize = 20;

fn default_tenant() -> String {
    TenantId::DEFAULT.to_owned()
}

fn default_max_message_bytes() -> usize {
    65_536
}

fn default_max_connections() -> usize {
    1024
}

/// Configuration of the syslog listener.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Address to receive UDP syslog on (RFC 5426), e.g. `"0.0.0.0:514"`. One datagram
    /// is one message, or one per line when it holds several LF-separated lines. No UDP
    /// listener when absent.
    #[serde(default)]
    pub udp: Option<SocketAddr>,
    /// Address to accept TCP syslog on (RFC 6587), e.g. `"0.0.0.0:601"`. Both octet
    /// counting (`<length> <message>`) and LF-terminated lines are understood, even mixed
    /// on one connection. No TCP listener when absent.
    #[serde(default)]
    pub tcp: Option<SocketAddr>,
    /// The tenant the received events belong to. Default: `"default"`.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Longest message in bytes. Longer UDP datagrams and TCP lines are cut to this
    /// length; a TCP octet-counted frame announcing more closes the connection.
    /// Default: 65536.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Most TCP connections served at once; further ones are closed right after they
    /// are accepted. Default: 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: None,
            tcp: None,
            tenant: default_tenant(),
            max_message_bytes: default_max_message_bytes(),
            max_connections: default_max_connections(),
        }
    }
}

/// Bound syslog sockets, ready to [`spawn`](SyslogListener::spawn).
#[derive(Debug)]
pub struct SyslogListener {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tenant: TenantId,
    max_message_bytes: usize,
    max_connections: usize,
}

fn invalid(msg: String) -> IngestError {
    IngestError::Store(StoreError::Invalid(msg))
}

impl SyslogListener {
    /// Checks the configuration and binds the configured sockets (port 0 picks a free
    /// port; see [`udp_addr`](Self::udp_addr) and [`tcp_addr`](Self::tcp_addr)).
    ///
    /// Errors when neither `udp` nor `tcp` is set, when the tenant name or a limit is
    /// invalid, or when a socket cannot be bound.
    pub async fn bind(cfg: &SyslogConfig) -> Result<SyslogListener, IngestError> {
        let tenant = TenantId::new(&cfg.tenant).map_err(|e| invalid(format!("syslog: {e}")))?;
        if cfg.udp.is_none() && cfg.tcp.is_none() {
            return Err(invalid("syslog: set `udp`, `tcp` or both".into()));
        }
        if cfg.max_message_bytes == 0 || cfg.max_connections == 0 {
            return Err(invalid(
                "syslog: `max_message_bytes` and `max_connections` must be at least 1".into(),
            ));
        }
        let udp = match cfg.udp {
            Some(addr) => Some(UdpSocket::bind(addr).await.map_err(|e| {
                IngestError::Store(StoreError::io(format!("bind syslog UDP socket {addr}"), e))
            })?),
            None => None,
        };
        let tcp = match cfg.tcp {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                IngestError::Store(StoreError::io(format!("bind syslog TCP socket {addr}"), e))
            })?),
            None => None,
        };
        Ok(SyslogListener {
            udp,
            tcp,
            tenant,
            max_message_bytes: cfg.max_message_bytes,
            max_connections: cfg.max_connections,
        })
    }

    /// The bound UDP address, if UDP is configured.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound TCP address, if TCP is configured.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Serves the sockets until `shutdown` turns `true` (or its sender is dropped); then
    /// stops accepting, submits what was received, and the task ends.
    pub fn spawn(self, pipeline: Pipeline, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let shared = Arc::new(Shared {
            tenant: self.tenant,
            pipeline,
            max: self.max_message_bytes,
            drop_warn: Mutex::new(WarnLimiter::new(WARN_EVERY)),
        });
        let (udp, tcp, max_connections) = (self.udp, self.tcp, self.max_connections);
        tokio::spawn(async move {
            let udp_task = async {
                if let Some(sock) = udp {
                    run_udp(sock, Arc::clone(&shared), shutdown.clone()).await;
                }
            };
            let tcp_task = async {
                if let Some(listener) = tcp {
                    run_tcp(
                        listener,
                        Arc::clone(&shared),
                        max_connections,
                        shutdown.clone(),
                    )
                    .await;
                }
            };
            tokio::join!(udp_task, tcp_task);
        })
    }
}

/// What every receiving task needs.
struct Shared {
    tenant: TenantId,
    pipeline: Pipeline,
    max: usize,
    drop_warn: Mutex<WarnLimiter>,
}

impl Shared {
    /// Counts lost messages and warns, at most once per [`WARN_EVERY`].
    fn dropped(&self, transport: &'static str, n: usize, why: &dyn std::fmt::Display) {
        metrics::counter!("mcpsec_syslog_dropped_total", "transport" => transport)
            .increment(n as u64);
        let allowed = self
            .drop_warn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .allow();
        if let Some(suppressed) = allowed {
            tracing::warn!(
                transport,
                messages = n,
                similar_warnings_suppressed = suppressed,
                reason = %why,
                "syslog messages dropped"
            );
        }
    }
}

/// Turns one message into an event unless it is blank.
fn push_message(out: &mut Vec<Event>, msg: &[u8], ctx: &Context) {
    let msg = trim_end_terminators(msg);
    if is_blank(msg) {
        return;
    }
    out.push(normalize_line(&String::from_utf8_lossy(msg), ctx));
}

// ---------------------------------------------------------------------------------------
// UDP

async fn run_udp(sock: UdpSocket, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let (tx, rx) = mpsc::channel(UDP_QUEUED_BATCHES);
    let submitter = tokio::spawn(submit_udp_batches(Arc::clone(&shared), rx));
    let mut buf = vec![0u8; shared.max.clamp(1, MAX_DATAGRAM)];
    let mut batch: Vec<Event> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut recv_warn = WarnLimiter::new(WARN_EVERY);
    loop {
        tokio::select! {
            biased;
            () = shutdown_signalled(&mut shutdown) => break,
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                deadline = None;
                hand_over(&shared, &tx, &mut batch);
            }
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, peer)) => {
                    on_datagram(&buf[..n], peer, &shared, &mut batch);
                    if batch.len() >= BATCH_EVENTS {
                        deadline = None;
                        hand_over(&shared, &tx, &mut batch);
                    } else if deadline.is_none() && !batch.is_empty() {
                        deadline = Some(Instant::now() + BATCH_DELAY);
                    }
                }
                Err(e) => {
                    if let Some(suppressed) = recv_warn.allow() {
                        tracing::warn!(error = %e, similar_warnings_suppressed = suppressed, "syslog UDP receive failed");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    // What the kernel already holds was received before shutdown: keep it.
    for _ in 0..UDP_DRAIN_AT_SHUTDOWN {
        match sock.try_recv_from(&mut buf) {
            Ok((n, peer)) => on_datagram(&buf[..n], peer, &shared, &mut batch),
            Err(_) => break,
        }
        if batch.len() >= BATCH_EVENTS {
            let full = std::mem::take(&mut batch);
            let n = full.len();
            if tx.send(full).await.is_err() {
                shared.dropped("udp", n, &"the submitter has stopped");
            }
        }
    }
    drop(sock);
    if !batch.is_empty() {
        let n = batch.len();
        if tx.send(batch).await.is_err() {
            shared.dropped("udp", n, &"the submitter has stopped");
        }
    }
    drop(tx);
    let _ = submitter.await;
}

/// Splits a datagram into lines and queues their events.
fn on_datagram(data: &[u8], peer: SocketAddr, shared: &Shared, batch: &mut Vec<Event>) {
    let ctx = Context::new(
        shared.tenant.clone(),
        SourceInfo::new("syslog-udp", peer.to_string()),
    );
    let before = batch.len();
    for line in data.split(|b| *b == b'\n') {
        push_message(batch, line, &ctx);
    }
    metrics::counter!("mcpsec_syslog_messages_total", "transport" => "udp")
        .increment((batch.len() - before) as u64);
}

/// Passes a batch to the submitter without waiting; drops it when the submitter is
/// too far behind.
fn hand_over(shared: &Shared, tx: &mpsc::Sender<Vec<Event>>, batch: &mut Vec<Event>) {
    if batch.is_empty() {
        return;
    }
    let events = std::mem::take(batch);
    if let Err(e) = tx.try_send(events) {
        let (n, why) = match e {
            mpsc::error::TrySendError::Full(b) => (b.len(), "ingest is too far behind"),
            mpsc::error::TrySendError::Closed(b) => (b.len(), "the submitter has stopped"),
        };
        shared.dropped("udp", n, &why);
    }
}

async fn submit_udp_batches(shared: Arc<Shared>, mut rx: mpsc::Receiver<Vec<Event>>) {
    while let Some(batch) = rx.recv().await {
        let (p, evs) = (&shared.pipeline, &batch[..]);
        let res = retry_queue_full(move || p.submit(evs), |spent| spent >= UDP_GIVE_UP).await;
        if let Err(e) = res {
            shared.dropped("udp", batch.len(), &e);
        }
    }
}

// ---------------------------------------------------------------------------------------
// TCP

async fn run_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut conns = JoinSet::new();
    let mut limit_warn = WarnLimiter::new(WARN_EVERY);
    let mut accept_warn = WarnLimiter::new(WARN_EVERY);
    loop {
        tokio::select! {
            biased;
            () = shutdown_signalled(&mut shutdown) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        conns.spawn(serve_connection(stream, peer, Arc::clone(&shared), shutdown.clone(), permit));
                    }
                    Err(_) => {
                        metrics::counter!("mcpsec_syslog_rejected_connections_total").increment(1);
                        if let Some(suppressed) = limit_warn.allow() {
                            tracing::warn!(%peer, max_connections, similar_warnings_suppressed = suppressed,
                                "syslog TCP connection limit reached; closing the new connection");
                        }
                        drop(stream);
                    }
                },
                Err(e) => {
                    // Typically out of file descriptors: back off a little.
                    if let Some(suppressed) = accept_warn.allow() {
                        tracing::warn!(error = %e, similar_warnings_suppressed = suppressed, "syslog TCP accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
) {
    read_connection(&mut stream, peer, &shared, shutdown).await;
    // Free the slot before the peer sees the close, so it can reconnect at once.
    drop(slot);
    drop(stream);
}

async fn read_connection(
    stream: &mut TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = SourceInfo::new("syslog-tcp", peer.to_string());
    let mut framer = Framer::new(shared.max);
    let mut batch: Vec<Event> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        tokio::select! {
            biased;
            () = shutdown_signalled(&mut shutdown) => break,
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                deadline = None;
                if !flush_tcp(shared, &mut batch, &shutdown).await {
                    return;
                }
            }
            r = stream.read(&mut buf) => {
                let n = match r {
                    Ok(0) => {
                        let ctx = Context::new(shared.tenant.clone(), source.clone());
                        if let Some(last) = framer.finish() {
                            push_tcp(&mut batch, &last, &ctx);
                        }
                        break;
                    }
                    Ok(n) => n,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "syslog TCP read failed");
                        break;
                    }
                };
                framer.push(&buf[..n]);
                let ctx = Context::new(shared.tenant.clone(), source.clone());
                loop {
                    match framer.next_message() {
                        Ok(Some(msg)) => {
                            push_tcp(&mut batch, &msg, &ctx);
                            if batch.len() >= BATCH_EVENTS {
                                deadline = None;
                                if !flush_tcp(shared, &mut batch, &shutdown).await {
                                    return;
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "closing syslog TCP connection");
                            flush_tcp(shared, &mut batch, &shutdown).await;
                            return;
                        }
                    }
                }
                if deadline.is_none() && !batch.is_empty() {
                    deadline = Some(Instant::now() + BATCH_DELAY);
                }
            }
        }
    }
    flush_tcp(shared, &mut batch, &shutdown).await;
}

fn push_tcp(batch: &mut Vec<Event>, msg: &[u8], ctx: &Context) {
    let before = batch.len();
    push_message(batch, msg, ctx);
    metrics::counter!("mcpsec_syslog_messages_total", "transport" => "tcp")
        .increment((batch.len() - before) as u64);
}

/// Submits the batch, waiting as long as the queue is full (which slows the sender).
/// `false` when the events could not be stored and the connection should be closed.
async fn flush_tcp(
    shared: &Shared,
    batch: &mut Vec<Event>,
    shutdown: &watch::Receiver<bool>,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    let events = std::mem::take(batch);
    let (p, evs) = (&shared.pipeline, &events[..]);
    let give_up = |spent| shutdown_requested(shutdown) && spent >= SHUTDOWN_GRACE;
    match retry_queue_full(move || p.submit(evs), give_up).await {
        Ok(_) => true,
        Err(e) => {
            shared.dropped("tcp", events.len(), &e);
            false
        }
    }
}

/// A TCP stream that cannot be framed any further.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum FrameError {
    /// An octet-counted frame announces more than the limit.
    #[error("octet-counted frame of {announced} bytes exceeds the {limit} byte limit")]
    TooLong {
        /// The announced length (saturated at `u64::MAX`).
        announced: u64,
        /// `max_message_bytes`.
        limit: usize,
    },
}

/// How the bytes at a message start read as an octet count.
enum Count {
    /// `<digits> ` complete: the header length and the announced message length.
    Frame { header: usize, len: u64 },
    /// Only digits so far.
    Incomplete,
    /// Not octet counting: a line.
    NotCounted,
}

fn octet_count(b: &[u8]) -> Count {
    if !matches!(b.first(), Some(b'1'..=b'9')) {
        return Count::NotCounted;
    }
    let digits = b
        .iter()
        .take(MAX_COUNT_DIGITS + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits > MAX_COUNT_DIGITS {
        return Count::NotCounted;
    }
    match b.get(digits) {
        None => Count::Incomplete,
        Some(b' ') => {
            let len = b[..digits]
                .iter()
                .try_fold(0u64, |acc, d| {
                    acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
                .unwrap_or(u64::MAX);
            Count::Frame {
                header: digits + 1,
                len,
            }
        }
        Some(_) => Count::NotCounted,
    }
}

/// Splits a TCP byte stream into messages (RFC 6587), detecting the framing per message.
#[derive(Debug)]
struct Framer {
    buf: Vec<u8>,
    pos: usize,
    max: usize,
    /// Inside a line longer than `max`: its first `max` bytes; the rest is skipped up to
    /// the next LF.
    overlong: Option<Vec<u8>>,
}

impl Framer {
    fn new(max: usize) -> Self {
        Framer {
            buf: Vec::new(),
            pos: 0,
            max,
            overlong: None,
        }
    }

    /// Adds received bytes.
    fn push(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, `None` when more bytes are needed.
    fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        if self.overlong.is_some() {
            return Ok(match memchr::memchr(b'\n', &self.buf[self.pos..]) {
                Some(i) => {
                    self.pos += i + 1;
                    self.overlong.take()
                }
                None => {
                    self.pos = self.buf.len();
                    None
                }
            });
        }
        self.skip_separators();
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        match octet_count(rest) {
            Count::Frame { header, len } => {
                if len > self.max as u64 {
                    return Err(FrameError::TooLong {
                        announced: len,
                        limit: self.max,
                    });
                }
                // `len <= max`, a usize.
                let end = header + len as usize;
                if rest.len() < end {
                    return Ok(None);
                }
                let msg = rest[header..end].to_vec();
                self.pos += end;
                return Ok(Some(msg));
            }
            Count::Incomplete => return Ok(None),
            Count::NotCounted => {}
        }
        Ok(match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = rest[..i].strip_suffix(b"\r").unwrap_or(&rest[..i]);
                let msg = line[..line.len().min(self.max)].to_vec();
                self.pos += i + 1;
                Some(msg)
            }
            None if rest.len() > self.max => {
                self.overlong = Some(rest[..self.max].to_vec());
                self.pos = self.buf.len();
                None
            }
            None => None,
        })
    }

    /// At the end of the stream: the last line if it lacked its LF. An unfinished
    /// octet-counted frame is dropped.
    fn finish(&mut self) -> Option<Vec<u8>> {
        if let Some(head) = self.overlong.take() {
            return Some(head);
        }
        self.skip_separators();
        let rest = &self.buf[self.pos..];
        self.pos = self.buf.len();
        match octet_count(rest) {
            _ if rest.is_empty() => None,
            Count::Frame { .. } => {
                tracing::debug!(bytes = rest.len(), "syslog TCP stream ended inside a frame");
                None
            }
            Count::Incomplete | Count::NotCounted => {
                Some(rest[..rest.len().min(self.max)].to_vec())
            }
        }
    }

    /// Skips LF, CR and NUL bytes between messages.
    fn skip_separators(&mut self) {
        let skip = self.buf[self.pos..]
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r' | 0))
            .count();
        self.pos += skip;
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{events, messages, test_log, wait_for_events};
    use super::*;
    use tokio::io::AsyncWriteExt;

    const WAIT: Duration = Duration::from_secs(10);

    fn octet(msg: &str) -> String {
        format!("{} {msg}", msg.len())
    }

    fn frames(f: &mut Framer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(m) = f.next_message().expect("frame") {
            out.push(String::from_utf8_lossy(&m).into_owned());
        }
        out
    }

    #[test]
    fn framer_mixes_octet_counting_and_lines() {
        let mut f = Framer::new(100);
        f.push(format!("{}\n{}plain line\r\n", octet("<13>one"), octet("two words")).as_bytes());
        f.push(b"2024-05-01 starts with a date\n\n15 <13>");
        assert_eq!(
            frames(&mut f),
            [
                "<13>one",
                "two words",
                "plain line",
                "2024-05-01 starts with a date"
            ]
        );
        f.push(b"split fr");
        assert!(frames(&mut f).is_empty());
        f.push(b"ame");
        assert_eq!(frames(&mut f), ["<13>split frame"]);
        f.push(b"no newline at the end");
        assert!(frames(&mut f).is_empty());
        assert_eq!(f.finish().as_deref(), Some(&b"no newline at the end"[..]));
    }

    #[test]
    fn framer_limits_sizes() {
        let mut f = Framer::new(8);
        f.push(b"abcdefghijklmnop");
        assert!(frames(&mut f).is_empty());
        f.push(b"qrs\nnext\n");
        assert_eq!(frames(&mut f), ["abcdefgh", "next"]);
        f.push(b"9 123456789");
        assert_eq!(
            f.next_message(),
            Err(FrameError::TooLong {
                announced: 9,
                limit: 8
            })
        );
        let mut f = Framer::new(8);
        f.push(b"99999999999999999999 x");
        assert!(matches!(
            f.next_message(),
            Err(FrameError::TooLong {
                announced: u64::MAX,
                ..
            })
        ));
        let mut f = Framer::new(8);
        f.push(b"5 abc");
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn config_defaults_and_unknown_fields() {
        let cfg: SyslogConfig =
            serde_json::from_str(r#"{"udp": "127.0.0.1:5514"}"#).expect("config");
        assert_eq!(cfg.udp, Some(SocketAddr::from(([127, 0, 0, 1], 5514))));
        assert_eq!(cfg.tcp, None);
        assert_eq!(cfg.tenant, "default");
        assert_eq!(cfg.max_message_bytes, 65_536);
        assert_eq!(cfg.max_connections, 1024);
        assert!(serde_json::from_str::<SyslogConfig>(r#"{"udpp": "127.0.0.1:1"}"#).is_err());
    }

    #[tokio::test]
    async fn bind_refuses_bad_configs() {
        assert!(
            SyslogListener::bind(&SyslogConfig::default())
                .await
                .is_err()
        );
        let cfg = SyslogConfig {
            udp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            tenant: "no/slash".into(),
            ..SyslogConfig::default()
        };
        assert!(SyslogListener::bind(&cfg).await.is_err());
    }

    fn local() -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn udp_datagrams_become_events() {
        let t = test_log();
        let cfg = SyslogConfig {
            udp: local(),
            ..SyslogConfig::default()
        };
        let listener = SyslogListener::bind(&cfg).await.expect("bind");
        let addr = listener.udp_addr().expect("udp addr");
        let (stop, rx) = watch::channel(false);
        let task = listener.spawn(t.pipeline.clone(), rx);

        let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
        let me = client.local_addr().expect("addr").to_string();
        let datagrams: [&[u8]; 3] = [
            b"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - first message\n",
            b"line a\nline b\r\n\n",
            b"bad \xff bytes\0",
        ];
        for d in datagrams {
            client.send_to(d, addr).await.expect("send");
        }
        let evs = wait_for_events(&t.log, 4).await;
        assert_eq!(
            messages(&evs),
            ["first message", "line a", "line b", "bad \u{fffd} bytes"]
        );
        assert_eq!(evs[0].format, mcpsec_core::EventFormat::Syslog5424);
        for e in &evs {
            assert_eq!(e.source.kind, "syslog-udp");
            assert_eq!(e.source.name, me);
            assert_eq!(e.tenant.as_str(), "default");
        }

        // Datagrams sent right before shutdown are still stored when the task ends.
        for i in 0..50 {
            client
                .send_to(format!("late {i}").as_bytes(), addr)
                .await
                .expect("send");
        }
        stop.send(true).expect("signal");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("stops")
            .expect("join");
        assert_eq!(events(&t.log).len(), 54);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tcp_framings_mix_and_split_frames_are_joined() {
        let t = test_log();
        let cfg = SyslogConfig {
            tcp: local(),
            ..SyslogConfig::default()
        };
        let listener = SyslogListener::bind(&cfg).await.expect("bind");
        let addr = listener.tcp_addr().expect("tcp addr");
        let (stop, rx) = watch::channel(false);
        let task = listener.spawn(t.pipeline.clone(), rx);

        let mut c = TcpStream::connect(addr).await.expect("connect");
        let me = c.local_addr().expect("addr").to_string();
        let head = format!(
            "{}second line\n{}\r\n",
            octet("<13>1 2024-05-01T12:00:00Z host app - - - first"),
            octet("third")
        );
        c.write_all(head.as_bytes()).await.expect("write");
        let split = octet("fourth, split across writes");
        for part in [&split[..1], &split[1..3], &split[3..12], &split[12..]] {
            c.write_all(part.as_bytes()).await.expect("write");
            c.flush().await.expect("flush");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.write_all(b"fifth\nsixth without newline")
            .await
            .expect("write");
        c.shutdown().await.expect("close");
        let evs = wait_for_events(&t.log, 6).await;
        assert_eq!(
            messages(&evs),
            [
                "first",
                "second line",
                "third",
                "fourth, split across writes",
                "fifth",
                "sixth without newline"
            ]
        );
        assert!(
            evs.iter()
                .all(|e| e.source.kind == "syslog-tcp" && e.source.name == me)
        );
        stop.send(true).expect("signal");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("stops")
            .expect("join");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
    }

    /// Reads until the server closes the connection.
    async fn closed_by_server(c: &mut TcpStream) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(WAIT, c.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tcp_limits_message_size_and_connections() {
        let t = test_log();
        let cfg = SyslogConfig {
            tcp: local(),
            max_message_bytes: 100,
            max_connections: 1,
            ..SyslogConfig::default()
        };
        let listener = SyslogListener::bind(&cfg).await.expect("bind");
        let addr = listener.tcp_addr().expect("tcp addr");
        let (stop, rx) = watch::channel(false);
        let task = listener.spawn(t.pipeline.clone(), rx);

        // An overlong line is cut; an oversized octet count closes the connection, after
        // what came before it is stored.
        let mut c = TcpStream::connect(addr).await.expect("connect");
        let long = "y".repeat(250);
        c.write_all(format!("{long}\nok before\n5000 xxxxxxxx").as_bytes())
            .await
            .expect("write");
        assert!(closed_by_server(&mut c).await);
        let evs = wait_for_events(&t.log, 2).await;
        assert_eq!(messages(&evs), ["y".repeat(100), "ok before".to_owned()]);

        // One connection at a time: the second is closed, the first still served.
        let mut a = TcpStream::connect(addr).await.expect("connect");
        a.write_all(b"from a\n").await.expect("write");
        assert_eq!(wait_for_events(&t.log, 3).await.len(), 3);
        let mut b = TcpStream::connect(addr).await.expect("connect");
        assert!(closed_by_server(&mut b).await);
        a.write_all(b"a again\n").await.expect("write");
        let evs = wait_for_events(&t.log, 4).await;
        assert_eq!(messages(&evs[2..]), ["from a", "a again"]);

        // Shutdown ends open connections too.
        stop.send(true).expect("signal");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("stops")
            .expect("join");
        assert!(closed_by_server(&mut a).await);
    }
}

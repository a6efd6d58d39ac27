//! Syslog (UDP and TCP) and a followed file deliver into search; rotation loses nothing.

use crate::common::*;
use std::io::Write;
use std::net::{TcpStream, UdpSocket};

#[test]
fn syslog_and_file_tail_deliver_into_search_across_rotation() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let followed = dir.path().join("app.log");
    let (udp, tcp) = (free_port(), free_port());
    let cfg = dir.path().join("mcpsec.toml");
    std::fs::write(
        &cfg,
        format!(
            "[syslog]\nudp = \"127.0.0.1:{udp}\"\ntcp = \"127.0.0.1:{tcp}\"\n\n[[files]]\npath = \"{}\"\npoll_interval_ms = 50\n",
            followed.display()
        ),
    )
    .expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("utf8")], &[]);
    let m = mark();

    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for i in 0..20 {
        let msg = format!("<34>1 2026-11-20T10:00:00Z web-1 sshd 42 - - udp {m} n{i}");
        sock.send_to(msg.as_bytes(), ("127.0.0.1", udp))
            .expect("send");
    }
    let mut t = TcpStream::connect(("127.0.0.1", tcp)).expect("tcp");
    for i in 0..20 {
        let msg = format!("<13>Nov 20 10:00:01 db-1 postgres[9]: tcp {m} n{i}");
        if i % 2 == 0 {
            write!(t, "{} {msg}", msg.len()).expect("octet counted");
        } else {
            writeln!(t, "{msg}").expect("lf framed");
        }
    }
    t.flush().expect("flush");
    drop(t);

    // The followed file: lines before rotation, a rename, lines to the new file.
    let mut f = std::fs::File::create(&followed).expect("create");
    for i in 0..50 {
        writeln!(f, "file {m} before n{i}").expect("write");
    }
    f.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(300));
    for i in 50..60 {
        writeln!(f, "file {m} before n{i}").expect("write"); // written right before rotation
    }
    drop(f);
    std::fs::rename(&followed, dir.path().join("app.log.1")).expect("rotate");
    let mut f = std::fs::File::create(&followed).expect("recreate");
    for i in 0..40 {
        writeln!(f, "file {m} after n{i}").expect("write");
    }
    drop(f);

    assert_eq!(
        server.wait_for(&format!("udp AND {m}"), 20),
        20,
        "UDP syslog"
    );
    assert_eq!(
        server.wait_for(&format!("tcp AND {m}"), 20),
        20,
        "TCP syslog"
    );
    assert_eq!(
        server.wait_for(&format!("before AND {m}"), 60),
        60,
        "file lines before rotation"
    );
    assert_eq!(
        server.wait_for(&format!("after AND {m}"), 40),
        40,
        "file lines after rotation"
    );
    // Parsed, not just stored: syslog fields are searchable.
    assert!(
        server.search(&format!("process.name:sshd AND {m}"), 1, 0)["total"].as_u64() >= Some(20)
    );
    assert!(
        server.search(&format!("_format:syslog3164 AND {m}"), 1, 0)["total"].as_u64() >= Some(20)
    );
}

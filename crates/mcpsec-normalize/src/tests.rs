//! End-to-end tests of `normalize_line` over every format, and a fuzz-style robustness test.

use super::*;
use chrono::TimeZone;
use mcpsec_core::{SourceInfo, TenantId};
use serde_json::json;

fn ctx() -> Context {
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).single();
    Context::new(
        TenantId::new("acme").expect("valid tenant"),
        SourceInfo::new("syslog-udp", "192.0.2.10:514"),
    )
    .with_received_at(at.expect("valid time"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("valid time")
}

fn line(s: &str) -> Event {
    normalize_line(s, &ctx())
}

#[test]
fn rfc5424_line() {
    let ev = line(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] \u{feff}An application event log entry...\n",
    );
    assert_eq!(ev.format, EventFormat::Syslog5424);
    assert_eq!(ev.time, at("2003-10-11T22:14:15.003Z"));
    assert_eq!(ev.received_at, ctx().received_at);
    assert_eq!(ev.tenant.as_str(), "acme");
    assert_eq!(
        ev.get("message"),
        Some(&json!("An application event log entry..."))
    );
    assert_eq!(
        ev.get("host.hostname"),
        Some(&json!("mymachine.example.com"))
    );
    assert_eq!(
        ev.get("log.syslog.structured_data.exampleSDID@32473.iut"),
        Some(&json!("3"))
    );
}

#[test]
fn rfc3164_line() {
    let ev = line(
        "<38>Feb 28 23:59:59 bastion sshd[811]: Accepted publickey for deploy from 198.51.100.4 port 40022 ssh2: ED25519 SHA256:abc\r\n",
    );
    assert_eq!(ev.format, EventFormat::Syslog3164);
    assert_eq!(ev.time, at("2025-02-28T23:59:59Z"));
    assert_eq!(ev.get("process.pid"), Some(&json!(811)));
    assert_eq!(ev.get("log.syslog.facility.name"), Some(&json!("auth")));
    assert_eq!(
        ev.get("log.syslog.severity.name"),
        Some(&json!("informational"))
    );
    assert_eq!(
        ev.get("message"),
        Some(&json!(
            "Accepted publickey for deploy from 198.51.100.4 port 40022 ssh2: ED25519 SHA256:abc"
        ))
    );
}

#[test]
fn bare_cef_line() {
    let text = "CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=hostname act=Quarantine fname=eicar.exe filePath=C:\\\\Users\\\\eicar.exe rt=1714564800000";
    let ev = line(text);
    assert_eq!(ev.format, EventFormat::Cef);
    assert_eq!(ev.time, at("2024-05-01T12:00:00Z"));
    assert_eq!(ev.get("message"), Some(&json!(text)));
    assert_eq!(ev.get("cef.severity"), Some(&json!(6)));
    assert_eq!(ev.get("cef.extensions.cn1Label"), Some(&json!("Host ID")));
    assert_eq!(
        ev.get("cef.extensions.filePath"),
        Some(&json!("C:\\Users\\eicar.exe"))
    );
    assert!(ev.get("host").is_none() && ev.get("log").is_none());
}

#[test]
fn cef_after_syslog_headers() {
    // Palo Alto style: 3164 header, no tag, CEF right after the host name.
    let ev = line(
        "<14>Feb 27 13:55:41 PA-VM CEF:0|Palo Alto Networks|PAN-OS|10.1.0|TRAFFIC|end|3|src=10.0.0.5 dst=8.8.8.8 act=allow",
    );
    assert_eq!(ev.format, EventFormat::Cef);
    assert_eq!(ev.time, at("2025-02-27T13:55:41Z"));
    assert_eq!(ev.get("host.hostname"), Some(&json!("PA-VM")));
    assert_eq!(ev.get("log.syslog.priority"), Some(&json!(14)));
    assert_eq!(ev.get("cef.device_product"), Some(&json!("PAN-OS")));
    assert_eq!(
        ev.get("message")
            .and_then(Value::as_str)
            .map(|m| m.starts_with("CEF:0|Palo")),
        Some(true)
    );
    // No host name at all.
    let ev = line("<14>Feb 27 13:55:41 CEF:0|v|p|1|s|n|5|a=b");
    assert_eq!((ev.format, ev.get("host")), (EventFormat::Cef, None));
    // A tag before CEF, and rt overriding the header time.
    let ev = line(
        "Feb 27 13:55:41 fw01 cefd[7]: CEF:0|Fortinet|Fortigate|v7.0.5|00013|traffic:forward close|3|rt=Feb 27 2025 13:00:00 UTC src=10.1.1.5",
    );
    assert_eq!(ev.format, EventFormat::Cef);
    assert_eq!(ev.time, at("2025-02-27T13:00:00Z"));
    assert_eq!(ev.get("process.name"), Some(&json!("cefd")));
    // RFC 5424 header.
    let ev = line("<134>1 2024-05-01T12:00:00Z fw01 firewall - - - CEF:1|v|p|1|s|n|Very-High|k=v");
    assert_eq!(ev.format, EventFormat::Cef);
    assert_eq!(ev.time, at("2024-05-01T12:00:00Z"));
    assert_eq!(ev.get("log.syslog.version"), Some(&json!(1)));
    assert_eq!(ev.get("cef.severity"), Some(&json!("Very-High")));
    // Broken CEF after a header stays a syslog message.
    let ev = line("<14>Feb 27 13:55:41 PA-VM CEF:0|only|three");
    assert_eq!(ev.format, EventFormat::Syslog3164);
    assert_eq!(ev.get("message"), Some(&json!("CEF:0|only|three")));
}

#[test]
fn json_lines() {
    let obj = json!({"Event": {"System": {"EventID": 4624,
        "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T12:00:00.000000Z"}}},
        "EventData": {"LogonType": 3}}});
    let ev = line(&format!("  {obj}\r\n"));
    assert_eq!(ev.format, EventFormat::Windows);
    assert_eq!(ev.time, at("2024-05-01T12:00:00Z"));
    assert_eq!(Value::Object(ev.fields), obj);
    // Not an object, or not valid JSON: text.
    for s in ["[1,2]", "{\"a\": 1} trailing", "{not json", "{", "\"str\""] {
        let ev = line(s);
        assert_eq!(ev.format, EventFormat::Text, "{s}");
        assert_eq!(ev.get("message"), Some(&json!(s)));
    }
}

#[test]
fn text_fallbacks_and_cleaning() {
    let cases = [
        ("", ""),
        ("<", "<"),
        ("<>", "<>"),
        ("<192>Feb  5 17:32:18 host x", "<192>Feb  5 17:32:18 host x"),
        ("<12", "<12"),
        ("plain words", "plain words"),
        ("\u{feff}hello\r\n", "hello"),
        ("nul\0in\0middle\0\0", "nul\0in\0middle"),
        (
            "172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin",
            "172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin",
        ),
        ("Record 12", "Record 12"),
        ("日本語のログ", "日本語のログ"),
    ];
    for (input, message) in cases {
        let ev = line(input);
        assert_eq!(ev.format, EventFormat::Text, "{input:?}");
        assert_eq!(
            Value::Object(ev.fields),
            json!({"message": message}),
            "{input:?}"
        );
        assert_eq!(ev.time, ctx().received_at);
    }
}

#[test]
fn huge_lines_in_every_format() {
    let big = "x ".repeat(512 * 1024);
    let eqs = "a=b=".repeat(256 * 1024);
    let lines = [
        format!("<13>1 2024-05-01T12:00:00Z h a p m - {big}"),
        format!(
            "<13>1 2024-05-01T12:00:00Z h a p m [id {}]",
            "k=\"v\" ".repeat(150_000)
        ),
        format!("<13>Feb  5 17:32:18 host tag[1]: {big}"),
        format!("CEF:0|v|p|1|s|n|5|{eqs}"),
        format!("CEF:0|v|p|1|s|n|5|msg={big}"),
        format!("CEF:0|{}", "\\".repeat(1 << 20)),
        format!("{{\"message\": \"{big}\"}}"),
        "[".repeat(1 << 20),
        "{".repeat(1 << 20),
        format!("<{}", "9".repeat(1 << 20)),
        big.clone(),
    ];
    for l in &lines {
        let ev = line(l);
        assert!(!ev.fields.is_empty(), "{}", l.get(..40).unwrap_or(""));
    }
    assert_eq!(
        line(lines.first().map_or("", String::as_str)).format,
        EventFormat::Syslog5424
    );
    assert_eq!(
        line(lines.get(3).map_or("", String::as_str)).format,
        EventFormat::Cef
    );
}

/// A small deterministic PRNG (xorshift64*), so the fuzz test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

const SEEDS: [&str; 12] = [
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed",
    "<165>1 2003-10-11T22:14:15.003Z h evntslog - ID47 [exampleSDID@32473 iut=\"3\" a=\"q\\\"\\]\\\\\"][p@1 class=\"high\"] msg",
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "Feb  5 17:32:18 web01 sshd[4123]: Failed password for invalid user admin",
    "2024-05-01T12:00:00.123456+02:00 web01 systemd[1]: Started Session 4.",
    "<13>Feb 29 2024 17:32:18.123 myapp[123]: héllo wörld ✓",
    "CEF:0|ACME\\|Corp|Fire\\\\wall|1.0|100|detect|High|msg=a\\=b c\\\\d\\n act=blocked rt=Mar 29 2024 13:55:41 +02:00",
    "<14>Feb 27 13:55:41 PA-VM CEF:0|Palo Alto Networks|PAN-OS|10.1.0|TRAFFIC|end|3|src=10.0.0.5 rt=1714564800000",
    "<134>1 2024-05-01T12:00:00Z fw01 firewall - - - CEF:1|v|p|1|s|n|5|k=v é=ü",
    "{\"Event\": {\"System\": {\"TimeCreated\": {\"#attributes\": {\"SystemTime\": \"2024-05-01T12:00:00Z\"}}}}}",
    "{\"@timestamp\": \"2024-05-01T12:00:00Z\", \"event.kind\": \"event\", \"message\": \"日本\"}",
    "plain text line with 日本語 and <brackets> [and] pipes | and = signs",
];

const NOISE: [&str; 20] = [
    "<", ">", "[", "]", "\"", "\\", "|", "=", " ", ":", "-", "\0", "\u{feff}", "é", "日", "🦀",
    "1", "CEF:", "{", "\n",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<char> = chars.clone();
    for _ in 0..=rng.below(3) {
        let pos = rng.below(out.len() + 1);
        match rng.below(4) {
            0 => {
                let noise = NOISE.get(rng.below(NOISE.len())).copied().unwrap_or("");
                let tail = out.split_off(pos.min(out.len()));
                out.extend(noise.chars());
                out.extend(tail);
            }
            1 => {
                let end = (pos + rng.below(8)).min(out.len());
                out.drain(pos.min(end)..end);
            }
            2 => {
                if let Some(c) = out.get_mut(pos) {
                    *c = NOISE
                        .get(rng.below(NOISE.len()))
                        .and_then(|n| n.chars().next())
                        .unwrap_or('x');
                }
            }
            _ => {
                let end = (pos + rng.below(16)).min(out.len());
                let copy: Vec<char> = out.get(pos.min(end)..end).unwrap_or(&[]).to_vec();
                let tail = out.split_off(end);
                out.extend(copy);
                out.extend(tail);
            }
        }
    }
    out.into_iter().collect()
}

fn check(input: &str, ctx: &Context) {
    let ev = normalize_line(input, ctx);
    assert_eq!(ev.received_at, ctx.received_at, "{input:?}");
    assert_eq!(ev.tenant, ctx.tenant);
    if ev.format == EventFormat::Text {
        assert_eq!(ev.fields.len(), 1, "{input:?}");
    }
}

#[test]
fn fuzz_truncations_and_mutations_never_panic() {
    let ctx = ctx();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut count = 0usize;
    for seed in SEEDS {
        // Every prefix and suffix on a char boundary.
        for (i, _) in seed.char_indices().chain([(seed.len(), ' ')]) {
            check(seed.get(..i).unwrap_or(""), &ctx);
            check(seed.get(i..).unwrap_or(""), &ctx);
            count += 2;
        }
        for _ in 0..2_000 {
            let m = mutate(&mut rng, seed);
            check(&m, &ctx);
            let cut = mutate(&mut rng, &m);
            let end = rng.below(cut.len() + 1);
            let end = (0..=end)
                .rev()
                .find(|&e| cut.is_char_boundary(e))
                .unwrap_or(0);
            check(cut.get(..end).unwrap_or(""), &ctx);
            count += 2;
        }
    }
    assert!(count > 40_000);
}

#[test]
fn json_and_errors_through_the_public_api() {
    let err = normalize_json(json!([1]), &ctx());
    assert_eq!(
        err.as_ref().err(),
        Some(&NormalizeError::NotAnObject { found: "array" })
    );
    let err = err.err().map(|e| (e.to_string(), e.code()));
    assert_eq!(
        err,
        Some((
            "expected a JSON object, found array".to_owned(),
            ErrorCode::BadRequest
        ))
    );
    let obj = json!({"@timestamp": "2024-05-01T12:00:00Z", "ecs": {"version": "8.0"}});
    let map = obj.as_object().cloned().expect("object");
    assert_eq!(detect_json_format(&map), EventFormat::Ecs);
    let ev = normalize_json(obj.clone(), &ctx()).map(|e| (e.format, Value::Object(e.fields)));
    assert_eq!(ev.ok(), Some((EventFormat::Ecs, obj)));
}

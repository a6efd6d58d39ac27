//! gRPC on the HTTP port: client-streaming ingest, search, tail, health, tenant scope.

use crate::common::*;
use mcpsec_grpc::pb;
use mcpsec_grpc::pb::event_service_client::EventServiceClient;
use tonic::metadata::MetadataValue;

async fn channel(base: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(base.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

fn authed<T>(msg: T, key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = MetadataValue::try_from(format!("Bearer {key}")) {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

#[test]
fn grpc_ingest_search_and_tail_share_auth_and_tenancy_with_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let mut c = EventServiceClient::new(channel(&server.base).await);
        let m = mark();
        // Start a tail first: it must see what is ingested afterwards.
        let mut tail = c
            .tail(authed(
                pb::TailRequest {
                    query: m.clone(),
                    after_seq: 0,
                },
                TOKEN,
            ))
            .await
            .expect("tail")
            .into_inner();
        let batches: Vec<pb::IngestRequest> = (0..5)
            .map(|b| pb::IngestRequest {
                json: (0..100)
                    .map(|i| format!("{{\"mark\":\"{m}\",\"n\":{}}}", b * 100 + i))
                    .collect(),
                lines: vec![format!("<34>1 2026-11-20T10:00:00Z h sshd - - - grpc {m}")],
            })
            .collect();
        let mut with_bad = batches.clone();
        with_bad[0].json.push("{not json".into());
        let answer = c
            .ingest(authed(tokio_stream::iter(with_bad), TOKEN))
            .await
            .expect("ingest")
            .into_inner();
        assert_eq!(answer.accepted, 505);
        assert_eq!(answer.rejected, 1);
        assert_eq!(answer.errors[0].index, 101);
        assert_eq!(answer.last_seq - answer.first_seq + 1, 505);

        let mut seen = 0;
        while seen < 505 {
            let ev = tokio::time::timeout(std::time::Duration::from_secs(30), tail.message())
                .await
                .expect("tail stalled")
                .expect("tail error")
                .expect("tail ended");
            assert!(ev.fields_json.contains(&m) || ev.format == "syslog5424");
            seen += 1;
        }

        let res = c
            .search(authed(
                pb::SearchRequest {
                    query: format!("mark:{m}"),
                    limit: 1000,
                    ..Default::default()
                },
                TOKEN,
            ))
            .await
            .expect("search")
            .into_inner();
        assert_eq!(res.total, 500);

        // No key, a wrong key, a bad query: the right status codes.
        let err = c
            .search(tonic::Request::new(pb::SearchRequest::default()))
            .await
            .expect_err("no key");
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let err = c
            .search(authed(pb::SearchRequest::default(), "wrong-key-wrong-key"))
            .await
            .expect_err("bad key");
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let err = c
            .search(authed(
                pb::SearchRequest {
                    query: "(unbalanced".into(),
                    ..Default::default()
                },
                TOKEN,
            ))
            .await
            .expect_err("bad query");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    });

    // Another tenant's key sees nothing over gRPC.
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .expect("admin")
    };
    assert!(
        run(&["admin", "tenant", "create", "other"])
            .status
            .success()
    );
    let key = String::from_utf8_lossy(
        &run(&[
            "admin", "key", "create", "--tenant", "other", "--role", "viewer",
        ])
        .stdout,
    )
    .trim()
    .to_owned();
    rt.block_on(async {
        let mut c = EventServiceClient::new(channel(&server.base).await);
        let res = c
            .search(authed(
                pb::SearchRequest {
                    query: "*".into(),
                    ..Default::default()
                },
                &key,
            ))
            .await
            .expect("search")
            .into_inner();
        assert_eq!(res.total, 0, "LEAK over gRPC");
        // The health service answers.
        let mut h = tonic_health::pb::health_client::HealthClient::new(channel(&server.base).await);
        let st = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: "mcpsec.v1.EventService".into(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(
            st.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    });
}

#[test]
fn grpc_alert_subscription_streams_the_tenants_new_alerts() {
    use mcpsec_grpc::pb::alert_service_client::AlertServiceClient;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    let other = tenant_key(&data, "globex", "viewer");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let mut c = AlertServiceClient::new(channel(&server.base).await);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let page = c
                .list(authed(pb::ListAlertsRequest { min_level: "high".into(), ..Default::default() }, TOKEN))
                .await
                .expect("list")
                .into_inner();
            if page.total >= 4 || std::time::Instant::now() > deadline {
                assert_eq!(page.total, 4, "high and critical demo alerts");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let bad = c
            .list(authed(pb::ListAlertsRequest { status: vec!["done".into()], ..Default::default() }, TOKEN))
            .await;
        assert_eq!(bad.expect_err("bad status").code(), tonic::Code::InvalidArgument);
        let denied = c
            .subscribe(authed(pb::SubscribeAlertsRequest::default(), "wrong-key-000000000000"))
            .await;
        assert_eq!(denied.expect_err("bad key").code(), tonic::Code::Unauthenticated);
        let mut mine = c
            .subscribe(authed(pb::SubscribeAlertsRequest { min_level: "critical".into() }, TOKEN))
            .await
            .expect("subscribe")
            .into_inner();
        let mut theirs = c
            .subscribe(authed(pb::SubscribeAlertsRequest::default(), &other))
            .await
            .expect("subscribe other")
            .into_inner();
        let body = "{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"ws7\"},\"EventData\":{\"Image\":\"C:\\\\Windows\\\\System32\\\\rundll32.exe\",\"CommandLine\":\"rundll32 comsvcs.dll MiniDump 9 out full\"}}}\n";
        let url = server.url("/api/v1/events");
        tokio::task::spawn_blocking(move || {
            client().post(url).bearer_auth(TOKEN).body(body).send().expect("post")
        })
        .await
        .expect("join");
        let a = tokio::time::timeout(std::time::Duration::from_secs(20), mine.message())
            .await
            .expect("no alert")
            .expect("stream")
            .expect("an alert");
        assert_eq!(a.level, "critical");
        assert_eq!(a.host, "ws7");
        assert_eq!(a.techniques, ["T1003.001"]);
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(700), theirs.message()).await;
        assert!(quiet.is_err(), "another tenant hears nothing");
    });
}

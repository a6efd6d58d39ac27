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

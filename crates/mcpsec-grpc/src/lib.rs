//! The gRPC adapter of mcpsec: `mcpsec.v1.EventService` (client-streaming ingest, search,
//! server-streaming tail), `mcpsec.v1.AlertService` (server-streaming alert subscription,
//! paging), the standard health service and reflection.
//!
//! Key design decision: gRPC is served on the same port as HTTP (HTTP/2 with prior
//! knowledge is detected per connection) and goes through the same authentication,
//! rate limits, audit, pipeline and index as REST, so the two can never disagree about
//! who may see what.

mod alerts;
mod convert;
mod service;

pub use alerts::AlertApi;
pub use service::EventApi;

/// Generated protobuf types and service stubs.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("mcpsec.v1");

    /// The encoded descriptors, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("mcpsec_descriptor");
}

use mcpsec_server::AppState;

/// The gRPC services as an axum router, to merge beside the HTTP API.
pub fn router(state: AppState) -> axum::Router {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let alerts = pb::alert_service_server::AlertServiceServer::new(AlertApi::new(state.clone()));
    let events = pb::event_service_server::EventServiceServer::new(EventApi::new(state));
    tokio::spawn(async move {
        reporter
            .set_serving::<pb::event_service_server::EventServiceServer<EventApi>>()
            .await;
        reporter
            .set_serving::<pb::alert_service_server::AlertServiceServer<AlertApi>>()
            .await;
    });
    let mut routes = tonic::service::Routes::new(events)
        .add_service(alerts)
        .add_service(health);
    if let Ok(r) = reflection {
        routes = routes.add_service(r);
    }
    routes.into_axum_router()
}

//! Conversions between the domain and the protobuf types, and error codes to statuses.

use crate::pb;
use mcpsec_core::ErrorCode;
use tonic::Status;

/// A domain event as a protobuf event.
pub(crate) fn event(e: &mcpsec_core::Event) -> pb::Event {
    pb::Event {
        id: e.id.to_string(),
        seq: e.seq,
        tenant: e.tenant.to_string(),
        time: mcpsec_core::to_rfc3339(&e.time),
        received_at: mcpsec_core::to_rfc3339(&e.received_at),
        source_kind: e.source.kind.clone(),
        source_name: e.source.name.clone(),
        format: e.format.as_str().to_owned(),
        fields_json: serde_json::to_string(&e.fields).unwrap_or_default(),
    }
}

/// The gRPC status for an API error (the shared error code decides, as for HTTP).
pub(crate) fn status(e: mcpsec_server::ApiError) -> Status {
    let msg = e.message;
    match e.code {
        ErrorCode::BadRequest => Status::invalid_argument(msg),
        ErrorCode::Unauthenticated => Status::unauthenticated(msg),
        ErrorCode::Forbidden => Status::permission_denied(msg),
        ErrorCode::NotFound => Status::not_found(msg),
        ErrorCode::Conflict => Status::aborted(msg),
        ErrorCode::Gone => Status::not_found(msg),
        ErrorCode::PayloadTooLarge | ErrorCode::Overloaded => Status::resource_exhausted(msg),
        ErrorCode::Unavailable => Status::unavailable(msg),
        ErrorCode::Internal => Status::internal(msg),
    }
}

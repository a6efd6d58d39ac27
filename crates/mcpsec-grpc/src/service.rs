//! `mcpsec.v1.EventService`.

use crate::convert::{event, status};
use crate::pb;
use mcpsec_core::SourceInfo;
use mcpsec_normalize::{Context, normalize_json, normalize_line};
use mcpsec_server::{ApiError, AppState, Principal, authenticate, parse_time_param};
use mcpsec_store::{MAX_LIMIT, SearchRequest, SortOrder};
use std::pin::Pin;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// Events that may wait for a slow `Tail` consumer before it is dropped.
const TAIL_BUFFER: usize = 10_000;
/// Most errors listed in an ingest answer.
const MAX_ERRORS: usize = 100;

/// The event service over the shared application state.
#[derive(Clone)]
pub struct EventApi {
    state: AppState,
}

impl EventApi {
    /// The service.
    pub fn new(state: AppState) -> Self {
        EventApi { state }
    }

    async fn who<T>(
        &self,
        req: &Request<T>,
        what: &str,
        action: mcpsec_server::Action,
    ) -> Result<Principal, Status> {
        caller(&self.state, req, "mcpsec.v1.EventService", what, action).await
    }
}

/// Authenticates a call's bearer token (or, over TLS, its client certificate) and checks
/// the action, as REST does.
pub(crate) async fn caller<T>(
    state: &AppState,
    req: &Request<T>,
    service: &str,
    what: &str,
    action: mcpsec_server::Action,
) -> Result<Principal, Status> {
    let token = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .unwrap_or_default();
    // Over TLS, a call without a token may authenticate with its client certificate.
    let who = match req.extensions().get::<mcpsec_server::tls::ClientCert>() {
        Some(cert) if token.is_empty() => mcpsec_server::authenticate_cert(state, cert, what).await,
        _ => authenticate(state, &token, what).await,
    }
    .map_err(status)?;
    let attrs = mcpsec_server::Attributes {
        transport: "grpc",
        method: what.into(),
        path: service.into(),
        resource_id: None,
    };
    state.authorize(&who, action, &attrs).map_err(status)?;
    Ok(who)
}

type TailStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl pb::event_service_server::EventService for EventApi {
    async fn ingest(
        &self,
        req: Request<Streaming<pb::IngestRequest>>,
    ) -> Result<Response<pb::IngestResponse>, Status> {
        let who = self
            .who(&req, "Ingest", mcpsec_server::Action::EventsWrite)
            .await?;
        let ctx = Context::new(
            who.tenant.clone(),
            SourceInfo::new("grpc", who.key_id.clone()),
        );
        let mut stream = req.into_inner();
        let mut out = pb::IngestResponse::default();
        let mut index = 0u64;
        while let Some(msg) = stream.next().await {
            let msg = msg?;
            let mut events = Vec::with_capacity(msg.json.len() + msg.lines.len());
            for text in msg.json {
                index += 1;
                let parsed = serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("invalid JSON: {e}"))
                    .and_then(|v| normalize_json(v, &ctx).map_err(|e| e.to_string()));
                match parsed {
                    Ok(ev) => events.push(ev),
                    Err(error) => {
                        out.rejected += 1;
                        if out.errors.len() < MAX_ERRORS {
                            out.errors.push(pb::IngestError { index, error });
                        }
                    }
                }
            }
            for line in msg.lines {
                index += 1;
                events.push(normalize_line(&line, &ctx));
            }
            let appended = self
                .state
                .pipeline
                .submit(&events)
                .await
                .map_err(|e| status(ApiError::from(e)))?;
            if appended.count > 0 {
                if out.first_seq == 0 {
                    out.first_seq = appended.first_seq;
                }
                out.last_seq = appended.first_seq + appended.count as u64 - 1;
                out.accepted += appended.count as u64;
            }
        }
        metrics::counter!("mcpsec_events_accepted_total").increment(out.accepted);
        metrics::counter!("mcpsec_events_rejected_total").increment(out.rejected);
        Ok(Response::new(out))
    }

    async fn search(
        &self,
        req: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let who = self
            .who(&req, "Search", mcpsec_server::Action::EventsRead)
            .await?;
        let r = req.into_inner();
        let now = chrono::Utc::now();
        let bound = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                parse_time_param(s, now)
                    .map(Some)
                    .map_err(Status::invalid_argument)
            }
        };
        let limit = if r.limit == 0 { 100 } else { r.limit as usize };
        if limit > MAX_LIMIT {
            return Err(Status::invalid_argument(format!(
                "limit must be at most {MAX_LIMIT}"
            )));
        }
        let sr = SearchRequest {
            query: r.query,
            from: bound(&r.from)?,
            to: bound(&r.to)?,
            limit,
            offset: r.offset as usize,
            order: if r.oldest_first {
                SortOrder::Asc
            } else {
                SortOrder::Desc
            },
        };
        let index = self.state.index.clone();
        let res = tokio::task::spawn_blocking(move || index.search(&who.tenant, &sr))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status(ApiError::from(e)))?;
        Ok(Response::new(pb::SearchResponse {
            total: res.total,
            events: res.events.iter().map(event).collect(),
        }))
    }

    type TailStream = TailStream;

    async fn tail(&self, req: Request<pb::TailRequest>) -> Result<Response<TailStream>, Status> {
        let who = self
            .who(&req, "Tail", mcpsec_server::Action::EventsRead)
            .await?;
        let r = req.into_inner();
        mcpsec_server::live::validate(&self.state.index, &who.tenant, &r.query)
            .await
            .map_err(status)?;
        let rx = mcpsec_server::live::follow(
            self.state.index.clone(),
            who.tenant,
            r.query,
            r.after_seq,
            TAIL_BUFFER,
        );
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|item| match item {
            Ok(e) => Ok(event(&e)),
            Err(mcpsec_server::live::FollowEnd::Failed(e)) => Err(status(e)),
            Err(mcpsec_server::live::FollowEnd::SlowConsumer) => Err(Status::resource_exhausted(
                "slow consumer: too many events waiting",
            )),
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

//! `mcpsec.v1.AlertService`: a live subscription to new alerts, and paging through them.

use crate::convert::status;
use crate::pb;
use crate::service::caller;
use mcpsec_server::{Action, AppState};
use mcpsec_store::{
    AlertFilter, AlertStatus, LEVEL_NAMES, MAX_ALERT_PAGE, level_rank, parse_level,
};
use std::pin::Pin;
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tonic::{Request, Response, Status};

const SERVICE: &str = "mcpsec.v1.AlertService";

/// The alert service over the shared application state.
#[derive(Clone)]
pub struct AlertApi {
    state: AppState,
}

impl AlertApi {
    /// The service.
    pub fn new(state: AppState) -> Self {
        AlertApi { state }
    }
}

fn min_level(s: &str) -> Result<u8, Status> {
    if s.is_empty() {
        return Ok(0);
    }
    parse_level(s)
        .ok_or_else(|| Status::invalid_argument(format!("unknown level {s:?}: use {LEVEL_NAMES}")))
}

/// The protobuf form of an alert.
pub(crate) fn alert(a: &mcpsec_store::Alert) -> pb::Alert {
    pb::Alert {
        id: a.id.clone(),
        tenant: a.tenant.to_string(),
        kind: a.kind.as_str().into(),
        rule_id: a.rule_id.clone(),
        rule_title: a.rule_title.clone(),
        rule_version: a.rule_version,
        level: a.level.clone(),
        tags: a.tags.clone(),
        techniques: a.techniques.clone(),
        tactics: a.tactics.clone(),
        host: a.host.clone().unwrap_or_default(),
        event_ids: a.event_ids.clone(),
        event_count: a.event_count,
        event_time: mcpsec_core::to_rfc3339(&a.event_time),
        created_at: mcpsec_core::to_rfc3339(&a.created_at),
        status: a.status.as_str().into(),
        events_json: serde_json::to_string(&a.events).unwrap_or_default(),
        group_json: a
            .group
            .as_ref()
            .map(|g| serde_json::to_string(g).unwrap_or_default())
            .unwrap_or_default(),
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::Alert, Status>> + Send>>;

#[tonic::async_trait]
impl pb::alert_service_server::AlertService for AlertApi {
    type SubscribeStream = AlertStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeAlertsRequest>,
    ) -> Result<Response<AlertStream>, Status> {
        let who = caller(&self.state, &req, SERVICE, "Subscribe", Action::AlertsRead).await?;
        let min = min_level(&req.get_ref().min_level)?;
        let detector = self
            .state
            .detector
            .as_ref()
            .ok_or_else(|| Status::unavailable("detection is not running on this server"))?;
        let tenant = who.tenant;
        let stream =
            BroadcastStream::new(detector.subscribe()).filter_map(move |item| match item {
                Ok(a) if a.tenant == tenant && level_rank(&a.level) >= min => Some(Ok(alert(&a))),
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Err(Status::resource_exhausted(
                    format!("slow consumer: {n} alerts missed; page through them with List"),
                ))),
            });
        // The first error ends the stream: a lagging subscriber must resynchronise.
        let mut failed = false;
        let stream = stream.take_while(move |r| {
            let go = !failed;
            failed |= r.is_err();
            go
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list(
        &self,
        req: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let who = caller(&self.state, &req, SERVICE, "List", Action::AlertsRead).await?;
        let r = req.into_inner();
        min_level(&r.min_level)?;
        let limit = if r.limit == 0 { 100 } else { r.limit as usize };
        if limit > MAX_ALERT_PAGE {
            return Err(Status::invalid_argument(format!(
                "limit must be at most {MAX_ALERT_PAGE}"
            )));
        }
        let statuses = r
            .status
            .iter()
            .map(|s| {
                AlertStatus::parse(s)
                    .ok_or_else(|| Status::invalid_argument(format!("unknown status {s:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let now = chrono::Utc::now();
        let time = |s: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, Status> {
            if s.is_empty() {
                return Ok(None);
            }
            mcpsec_server::parse_time_param(s, now)
                .map(Some)
                .map_err(Status::invalid_argument)
        };
        let filter = AlertFilter {
            min_level: (!r.min_level.is_empty()).then_some(r.min_level.clone()),
            statuses,
            rule_id: (!r.rule_id.is_empty()).then_some(r.rule_id.clone()),
            from: time(&r.from)?,
            to: time(&r.to)?,
            limit,
            offset: r.offset as usize,
            ..AlertFilter::default()
        };
        let state = self.state.state.clone();
        let page = tokio::task::spawn_blocking(move || state.list_alerts(&who.tenant, &filter))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(pb::ListAlertsResponse {
            total: page.total,
            alerts: page.alerts.iter().map(alert).collect(),
        }))
    }
}

//! `GET /api/v1/alerts/stream`: a WebSocket of the tenant's new alerts as JSON text
//! frames, the moment the detector has stored them. `min_level` narrows it. A consumer
//! that falls more than the detector's buffer behind is closed with 1008 "slow consumer"
//! (it can catch up through `GET /api/v1/alerts`).

use crate::{Action, ApiError, AppState, Principal};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use mcpsec_core::{ErrorCode, TenantId};
use mcpsec_store::{Alert, LEVEL_NAMES, level_rank, parse_level};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// Stream parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertStreamParams {
    /// Only alerts of this level or higher.
    min_level: Option<String>,
}

/// Opens the alert stream.
#[utoipa::path(get, path = "/api/v1/alerts/stream", tag = "alerts", params(AlertStreamParams),
    responses(
        (status = 101, description = "WebSocket of alerts as JSON text frames"),
        (status = 503, description = "Detection is off on this server", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn open(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AlertStreamParams>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &crate::events::http_attrs("GET", "/api/v1/alerts/stream", None),
    )?;
    let detector = st.detector.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "detection is not running on this server",
        )
    })?;
    let min = match p.min_level.as_deref() {
        None => 0,
        Some(l) => parse_level(l).ok_or_else(|| {
            ApiError::bad_request(format!("unknown level {l:?}: use {LEVEL_NAMES}"))
        })?,
    };
    let rx = detector.subscribe();
    metrics::gauge!("mcpsec_alert_stream_clients").increment(1.0);
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| pump(socket, rx, who.tenant, min)))
}

async fn pump(mut socket: WebSocket, mut rx: Receiver<Arc<Alert>>, tenant: TenantId, min: u8) {
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Ok(a) => {
                    if a.tenant != tenant || level_rank(&a.level) < min {
                        continue;
                    }
                    let text = serde_json::to_string(a.as_ref()).unwrap_or_default();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let reason = format!("slow consumer: {n} alerts missed; read /api/v1/alerts");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame { code: 1008, reason: reason.into() })))
                        .await;
                    break;
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    metrics::gauge!("mcpsec_alert_stream_clients").decrement(1.0);
}

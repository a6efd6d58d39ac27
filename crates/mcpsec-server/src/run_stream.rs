//! `GET /api/v1/stream?topic=runs`: live playbook run updates (a run's status, each
//! step's attempts and outcome, approval requests and decisions) of the caller's tenant
//! as JSON text frames, optionally of one run (`run=`). Needs `playbooks.read`. A client
//! that falls more than the engine's buffer behind is closed with code 1008.

use crate::{ApiError, AppState, Principal};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use mcpsec_core::ErrorCode;
use mcpsec_respond::updates::RunUpdate;
use tokio::sync::broadcast;

/// Upgrades to a WebSocket following the run updates of `who`'s tenant (and of one
/// run, when given). The caller has checked `playbooks.read`.
pub(crate) fn open(
    st: &AppState,
    who: &Principal,
    run: Option<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let responder = st.responder.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "response orchestration is not running",
        )
    })?;
    if run.as_ref().is_some_and(|r| r.is_empty() || r.len() > 64) {
        return Err(ApiError::bad_request("run must be a run id"));
    }
    let rx = responder.engine().subscribe();
    let tenant = who.tenant.clone();
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| pump(socket, rx, tenant, run)))
}

fn wanted(u: &RunUpdate, tenant: &mcpsec_core::TenantId, run: Option<&str>) -> bool {
    u.tenant == *tenant && run.is_none_or(|r| r == u.run_id)
}

async fn pump(
    mut socket: WebSocket,
    mut rx: broadcast::Receiver<RunUpdate>,
    tenant: mcpsec_core::TenantId,
    run: Option<String>,
) {
    metrics::gauge!("mcpsec_run_stream_clients").increment(1.0);
    loop {
        tokio::select! {
            u = rx.recv() => match u {
                Ok(u) if wanted(&u, &tenant, run.as_deref()) => {
                    let text = serde_json::to_string(&u).unwrap_or_default();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    metrics::counter!("mcpsec_stream_slow_consumers_total").increment(1);
                    let reason = format!("slow consumer: {n} run updates missed");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame { code: 1008, reason: reason.into() })))
                        .await;
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    metrics::gauge!("mcpsec_run_stream_clients").decrement(1.0);
}

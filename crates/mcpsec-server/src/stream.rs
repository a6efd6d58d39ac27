//! `GET /api/v1/stream`: a WebSocket of newly searchable events matching `q`, as JSON
//! text frames (or, with `topic=runs`, of playbook run updates: see `run_stream`). Authenticated like every API call (browsers, which cannot set headers on
//! a WebSocket, pass `access_token=` instead). A consumer that leaves `buffer` events
//! waiting for two seconds is closed with code 1008 and the reason "slow consumer".

use crate::{Action, ApiError, AppState, Principal, live};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

/// Stream parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamParams {
    /// Query that events must match (same language as search; default: all).
    q: Option<String>,
    /// Start after this log sequence number (default: from now).
    after_seq: Option<u64>,
    /// Events that may wait for a slow consumer before it is dropped (1-10000, default 1000).
    buffer: Option<usize>,
    /// `events` (default) or `runs`: playbook run updates (needs `playbooks.read`).
    topic: Option<String>,
    /// With `topic=runs`: only this run's updates.
    run: Option<String>,
}

/// Opens the live stream.
#[utoipa::path(get, path = "/api/v1/stream", tag = "events", params(StreamParams),
    responses(
        (status = 101, description = "WebSocket of events as JSON text frames"),
        (status = 400, description = "Invalid query", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn open(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<StreamParams>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    match p.topic.as_deref() {
        None | Some("events") => {}
        Some("runs") => {
            st.authorize(
                &who,
                Action::PlaybooksRead,
                &crate::events::http_attrs("GET", "/api/v1/stream", None),
            )?;
            return crate::run_stream::open(&st, &who, p.run, ws);
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown topic {other:?}: events or runs"
            )));
        }
    }
    st.authorize(
        &who,
        Action::EventsRead,
        &crate::events::http_attrs("GET", "/api/v1/stream", None),
    )?;
    let query = p.q.unwrap_or_default();
    if query.len() > 8192 {
        return Err(ApiError::bad_request("query longer than 8192 bytes"));
    }
    let buffer = p.buffer.unwrap_or(1000);
    if buffer == 0 || buffer > 10_000 {
        return Err(ApiError::bad_request("buffer must be between 1 and 10000"));
    }
    live::validate(&st.index, &who.tenant, &query).await?;
    let rx = live::follow(
        st.index.clone(),
        who.tenant.clone(),
        query,
        p.after_seq.unwrap_or(0),
        buffer,
    );
    metrics::gauge!("mcpsec_stream_clients").increment(1.0);
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| pump(socket, rx)))
}

async fn pump(mut socket: WebSocket, mut rx: tokio::sync::mpsc::Receiver<live::FollowItem>) {
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.chars().take(120).collect::<String>().into(),
        }))
    };
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(Ok(ev)) => {
                    let text = serde_json::to_string(&ev).unwrap_or_default();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Err(live::FollowEnd::SlowConsumer)) => {
                    let _ = socket.send(close(1008, "slow consumer: too many events waiting")).await;
                    break;
                }
                Some(Err(live::FollowEnd::Failed(e))) => {
                    let _ = socket.send(close(1011, &e.message)).await;
                    break;
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                // Clients only ever close; anything else is ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    metrics::gauge!("mcpsec_stream_clients").decrement(1.0);
}

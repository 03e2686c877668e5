//! The local listener that takes the reports of the messages' final
//! states and matches them to the messages: the gateway's status events
//! (`POST /callbacks`, a message's `callback_url`) and Kannel's delivery
//! reports (`GET /dlr?id=N&type=T`, a message's `dlr-url`).
//!
//! It listens on 127.0.0.1 only and answers every report `200` at once,
//! read or not, so that neither sender retries what was counted. Bodies
//! are limited, ids longer than any the gateway gives are refused, and the
//! states are counted by known names, so nothing a sender writes grows
//! without bound but the matching table, which holds one entry per message.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::super::super::CliError;
use super::super::stats::bump;
use super::connection::Run;
use super::requests::{CALLBACK_PATH, DLR_PATH};
use crate::store::MessageState;

/// The largest callback body read; a status event is a few hundred bytes.
const MAX_CALLBACK_BODY: usize = 64 << 10;
/// The longest message id taken (the gateway's are at most 64 characters).
const MAX_ID_LEN: usize = 64;

/// The listener's socket, bound before the run so its address can go
/// into the messages.
pub(super) async fn bind() -> Result<(TcpListener, SocketAddr), CliError> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("cannot listen for callbacks on 127.0.0.1: {e}"))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves the reports until the task is aborted.
pub(super) fn serve(listener: TcpListener, run: Arc<Run>) -> JoinHandle<()> {
    let app = Router::new()
        .route(CALLBACK_PATH, post(status_event))
        .route(DLR_PATH, get(kannel_report))
        .layer(DefaultBodyLimit::max(MAX_CALLBACK_BODY))
        .with_state(run);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("smsgate bench: the callback listener stopped: {error}");
        }
    })
}

/// The parts of a status event counted (see `delivery::webhook`).
#[derive(Debug, Deserialize)]
struct StatusEvent {
    id: String,
    state: String,
}

/// `POST /callbacks`: one of the gateway's status events.
async fn status_event(State(run): State<Arc<Run>>, body: Bytes) -> StatusCode {
    let received = Instant::now();
    let Ok(event) = serde_json::from_slice::<StatusEvent>(&body) else {
        bump(&run.malformed_callbacks);
        return StatusCode::OK;
    };
    match MessageState::parse(&event.state) {
        Some(MessageState::Accepted | MessageState::Queued | MessageState::Submitted) => {
            bump(&run.counters.intermediate);
        }
        Some(state) => report_final(&run, &event.id, state.as_str(), received),
        None => bump(&run.malformed_callbacks),
    }
    StatusCode::OK
}

/// Kannel's `dlr-url` query: our number for the message, and the type.
#[derive(Debug, Deserialize)]
struct KannelReport {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

/// `GET /dlr?id=N&type=T`: one of Kannel's delivery reports.
async fn kannel_report(
    State(run): State<Arc<Run>>,
    query: Result<Query<KannelReport>, axum::extract::rejection::QueryRejection>,
) -> StatusCode {
    let received = Instant::now();
    let Ok(Query(report)) = query else {
        bump(&run.malformed_callbacks);
        return StatusCode::OK;
    };
    match kannel_state(&report.kind) {
        Some(Some(state)) => report_final(&run, &report.id, state, received),
        Some(None) => bump(&run.counters.intermediate),
        None => bump(&run.malformed_callbacks),
    }
    StatusCode::OK
}

/// A Kannel report type: `Some(Some(name))` for a final one, `Some(None)`
/// for one on the way (4 buffered, 8 taken by the SMSC), `None` for one
/// that is no type.
fn kannel_state(kind: &str) -> Option<Option<&'static str>> {
    match kind.trim().parse::<u32>().ok()? {
        1 => Some(Some("delivered")),
        2 => Some(Some("undelivered")),
        16 => Some(Some("smsc_rejected")),
        4 | 8 => Some(None),
        _ => None,
    }
}

/// Matches a final report to its message and counts its state.
fn report_final(run: &Run, id: &str, state: &str, received: Instant) {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        bump(&run.malformed_callbacks);
        return;
    }
    run.finals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .add(state, 1);
    if run.tracker.receipt(id, received) {
        bump(&run.counters.receipts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kannel_types_1_2_and_16_are_final_and_4_and_8_on_the_way() {
        assert_eq!(kannel_state("1"), Some(Some("delivered")));
        assert_eq!(kannel_state("2"), Some(Some("undelivered")));
        assert_eq!(kannel_state("16"), Some(Some("smsc_rejected")));
        assert_eq!(kannel_state("8"), Some(None));
        assert_eq!(kannel_state("4"), Some(None));
        assert_eq!(kannel_state("%d"), None, "not substituted");
        assert_eq!(kannel_state("3"), None);
    }
}

//! What the session reports to the application: the peer's requests (each
//! with the means to answer it), notifications, and the session's end.

use std::io;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::command::CommandId;
use crate::error::DecodeError;
use crate::pdu::{AlertNotification, Body, Outbind, Pdu};
use crate::status::CommandStatus;

/// Something the peer did, or the end of the session.
#[derive(Debug)]
pub enum SessionEvent {
    /// A request the application must answer: bind, submit_sm, deliver_sm,
    /// data_sm, query_sm, cancel_sm, replace_sm, submit_multi.
    Request(InboundRequest),
    /// The SMSC asks us (an ESME) to bind back; it has no response.
    Outbind(Box<Outbind>),
    /// The SMSC reports a handset became available; it has no response.
    AlertNotification(Box<AlertNotification>),
    /// The peer unbound. The session has answered its requests received
    /// before the unbind (or waited `unbind_timeout` for them), then the
    /// unbind_resp, and closes next.
    Unbound,
    /// The session has ended and the connection is closed; always the last event.
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum CloseReason {
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    PeerClosed,
    /// The peer sent unbind (and we answered it).
    #[error("the peer unbound")]
    PeerUnbound,
    /// We unbound with [`super::SessionHandle::unbind`] (answered or timed out).
    #[error("unbound at our request")]
    Unbound,
    /// [`super::SessionHandle::close`] was called, or every handle was dropped.
    #[error("closed at our request")]
    Local,
    /// Nothing was received for the configured inactivity timeout.
    #[error("nothing received from the peer for {0:?}")]
    Inactivity(Duration),
    /// Our keepalive enquire_link got no response within the response timeout.
    #[error("the peer did not answer enquire_link within {0:?}")]
    KeepaliveTimeout(Duration),
    /// The peer sent a command_length from which the stream cannot be
    /// framed any more (it was answered with generic_nack first).
    #[error("the peer broke the PDU framing: {0}")]
    Framing(DecodeError),
    /// Reading or writing the connection failed.
    #[error("connection error: {0}")]
    Io(#[source] io::Error),
}

/// A request from the peer, and the [`Responder`] that answers it.
///
/// The two are separate fields so that the application can move the PDU out
/// (`let InboundRequest { pdu, responder } = request;`) and keep the
/// responder until it has an answer, e.g. until the message is stored.
#[derive(Debug)]
pub struct InboundRequest {
    /// The request as received (boxed: events wait in a channel whose
    /// slots are allocated ahead, and a `Pdu` is ~300 octets).
    pub pdu: Box<Pdu>,
    /// Answers it; answers ESME_RSYSERR if dropped unused.
    pub responder: Responder,
}

impl InboundRequest {
    /// Answers with ESME_ROK and `body` (the request's resp).
    pub fn respond(self, body: Body) {
        self.responder.respond(body);
    }

    /// Answers with `status` and the request's resp with every field empty.
    pub fn respond_status(self, status: CommandStatus) {
        self.responder.respond_status(status);
    }
}

/// Answers one request of the peer, once.
///
/// Holding it holds one slot of the peer window; answering (or dropping)
/// frees it. Dropping it unanswered answers ESME_RSYSERR, so the peer is
/// never left waiting on a request the application lost, e.g. in a panicking
/// or cancelled task. If the session has already closed, the answer is
/// discarded: there is no one left to send it to.
#[derive(Debug)]
pub struct Responder {
    sequence: u32,
    /// The command_id of the resp, for error answers with an empty body.
    response: CommandId,
    /// `None` once the answer has been sent.
    answers: Option<mpsc::Sender<Box<Pdu>>>,
}

impl Responder {
    pub(super) fn new(request: &Pdu, answers: mpsc::Sender<Box<Pdu>>) -> Self {
        Responder {
            sequence: request.sequence,
            response: request
                .body
                .command_id()
                .response()
                .unwrap_or(CommandId::GenericNack),
            answers: Some(answers),
        }
    }

    /// The sequence number of the request (and of its answer).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Answers with ESME_ROK and `body`, which must be the request's resp.
    pub fn respond(self, body: Body) {
        self.respond_with(CommandStatus::ESME_ROK, body);
    }

    /// Answers with `status` and the request's resp with every field empty
    /// (which goes on the wire without a body when `status` is an error).
    pub fn respond_status(self, status: CommandStatus) {
        let body = self.blank_answer();
        self.respond_with(status, body);
    }

    /// Answers with `status` and `body`, for error answers that carry
    /// something, e.g. a data_sm_resp with delivery_failure_reason.
    pub fn respond_with(mut self, status: CommandStatus, body: Body) {
        debug_assert!(
            body.command_id() == self.response || body.command_id() == CommandId::GenericNack,
            "answering a request that needs {} with {}",
            self.response,
            body.command_id()
        );
        self.send(status, body);
    }

    /// The resp with every field empty (generic_nack for a request whose
    /// resp we do not implement, which the session never hands out).
    fn blank_answer(&self) -> Body {
        Body::empty_response(self.response).unwrap_or(Body::GenericNack)
    }

    fn send(&mut self, status: CommandStatus, body: Body) {
        if let Some(answers) = self.answers.take() {
            // Never full (one place per peer-window slot); fails only when the
            // session has closed, and then there is nobody to answer.
            let _ = answers.try_send(Box::new(Pdu {
                sequence: self.sequence,
                status,
                body,
            }));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.answers.is_some() {
            let body = self.blank_answer();
            self.send(CommandStatus::ESME_RSYSERR, body);
        }
    }
}

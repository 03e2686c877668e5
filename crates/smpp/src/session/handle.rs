//! The application's side of a session: sending requests, unbinding, closing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::command::CommandId;
use crate::error::DecodeError;
use crate::pdu::{Body, Pdu};

use super::window::WindowLimit;

/// Why one of our requests got no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No response came within [`super::SessionConfig::response_timeout`]
    /// (or, for unbind, `unbind_timeout`). The request may still have been
    /// carried out by the peer.
    #[error("the peer did not respond in time")]
    Timeout,
    /// The session closed (or was closing) before a response came; the
    /// request may or may not have reached the peer.
    #[error("the SMPP session is closed")]
    Closed,
    /// The peer's response to this request could not be decoded.
    #[error("malformed response: {0}")]
    Malformed(DecodeError),
    /// This body is not a request that has a response (a response,
    /// generic_nack, outbind or alert_notification), so there is nothing to
    /// wait for.
    #[error("{0} is not a request that gets a response")]
    NotARequest(CommandId),
}

/// What a handle asks of the session task.
/// The body is boxed: commands wait in a channel whose slots (32 at a
/// time) are allocated ahead, once per session, and a `Body` is ~290
/// octets; one allocation per request costs less than 9 KiB per idle
/// session.
#[derive(Debug)]
pub(super) enum Command {
    /// Send a request and report its response. `slot` is the caller's window
    /// slot: the task holds it until the request is answered, times out or
    /// the session closes.
    Request {
        body: Box<Body>,
        slot: OwnedSemaphorePermit,
        reply: oneshot::Sender<Result<Pdu, RequestError>>,
    },
    /// Run the unbind handshake, then close.
    Unbind {
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
}

/// The response to a request handed to the session with
/// [`SessionHandle::start_request`].
#[derive(Debug)]
pub struct PendingResponse {
    response: oneshot::Receiver<Result<Pdu, RequestError>>,
}

impl PendingResponse {
    /// Waits for the response (bounded by the session's response timeout).
    pub async fn response(self) -> Result<Pdu, RequestError> {
        self.response.await.unwrap_or(Err(RequestError::Closed))
    }
}

/// Sends requests over a session and ends it. Cheap to clone; every clone
/// drives the same session, which closes when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    commands: mpsc::Sender<Command>,
    /// Our window. A semaphore rather than a counter in the task, because the
    /// waiting happens here, in the callers: any number of callers on any
    /// number of clones queue for a slot in order, the task never has to keep
    /// a list of them, and a slot is returned by dropping its permit on every
    /// path (response, timeout, close) so none can leak.
    slots: Arc<Semaphore>,
    /// `SessionConfig::window`: the semaphore's size.
    window: usize,
    /// The window in use, at most `window`.
    limit: Arc<WindowLimit>,
    close: CancellationToken,
    /// The peer window in force, read by the task before each request.
    peer_limit: Arc<AtomicUsize>,
    /// `SessionConfig::peer_window`: what the channels were sized for.
    peer_window: usize,
}

impl SessionHandle {
    pub(super) fn new(
        commands: mpsc::Sender<Command>,
        slots: Arc<Semaphore>,
        window: usize,
        close: CancellationToken,
        peer_limit: Arc<AtomicUsize>,
        peer_window: usize,
    ) -> Self {
        SessionHandle {
            commands,
            slots,
            window,
            limit: Arc::new(WindowLimit::new(window)),
            close,
            peer_limit,
            peer_window,
        }
    }

    /// Lowers (or raises again, up to `SessionConfig::peer_window`) how many
    /// of the peer's requests may wait for our answers at once; past it,
    /// they are handled as `SessionConfig::peer_window_full` says. An SMSC
    /// sets 1 until a bind succeeds, so an unauthenticated peer can never
    /// make it hold more than one request.
    pub fn set_peer_window(&self, requests: usize) {
        self.peer_limit.store(
            requests.clamp(1, self.peer_window.max(1)),
            Ordering::Relaxed,
        );
    }

    /// Lowers (or raises again, up to `SessionConfig::window`) how many of
    /// our requests may wait for the peer's responses at once, and returns
    /// the window now in force. Requests already in flight are not touched:
    /// when the window shrinks below them, new requests wait until enough
    /// of them are answered. An SMSC opens a session at its largest window
    /// and sets the customer's own once it knows who bound.
    pub fn set_window(&self, requests: usize) -> usize {
        self.limit.set(&self.slots, requests)
    }

    /// Sends a request and returns the peer's response, whatever its status.
    ///
    /// Waits (without a time limit) for a window slot first; the session then
    /// gives it the next sequence number, sends it and waits up to
    /// `response_timeout`. The response is the PDU the peer sent back with
    /// that sequence number: the request's resp, or generic_nack.
    ///
    /// Dropping the returned future does not withdraw a request already
    /// sent: it keeps its window slot until answered or timed out, as the
    /// peer still counts it.
    ///
    /// Use [`SessionHandle::unbind`] rather than sending unbind here: it also
    /// closes the session.
    pub async fn request(&self, body: Body) -> Result<Pdu, RequestError> {
        self.start_request(body).await?.response().await
    }

    /// Like [`SessionHandle::request`], in two steps: waits for a window
    /// slot and hands the request to the session (requests started one
    /// after another from one task go out in that order), then returns the
    /// response still to come. A caller can so keep several requests in
    /// flight in a fixed order without a task per request.
    pub async fn start_request(&self, body: Body) -> Result<PendingResponse, RequestError> {
        let id = body.command_id();
        if id.response().is_none() {
            return Err(RequestError::NotARequest(id));
        }
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| RequestError::Closed)?;
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Request {
                body: Box::new(body),
                slot,
                reply,
            })
            .await
            .map_err(|_| RequestError::Closed)?;
        Ok(PendingResponse { response })
    }

    /// Unbinds: sends unbind, waits for unbind_resp (at most
    /// `unbind_timeout`), then closes the connection either way.
    ///
    /// Requests made after this one fail with [`RequestError::Closed`];
    /// requests already sent keep waiting for their responses until the
    /// connection closes. To let them finish, await them before unbinding.
    pub async fn unbind(&self) -> Result<(), RequestError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Unbind { reply })
            .await
            .map_err(|_| RequestError::Closed)?;
        done.await.unwrap_or(Err(RequestError::Closed))
    }

    /// Closes the connection now, without unbinding. What is already queued
    /// for writing is still flushed (within `close_timeout`); outstanding
    /// requests fail with [`RequestError::Closed`].
    pub fn close(&self) {
        self.close.cancel();
    }

    /// How many of our requests may wait for their responses at once: the
    /// window last set with [`SessionHandle::set_window`], else
    /// `SessionConfig::window`.
    pub fn window(&self) -> usize {
        self.limit.limit()
    }

    /// How many of our requests hold a window slot (sent and unanswered, or
    /// about to be sent).
    pub fn in_flight(&self) -> usize {
        self.window
            .saturating_sub(self.slots.available_permits())
            .saturating_sub(self.limit.held())
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionEvent;

    /// The channels of every session allocate 32 slots each up front, so
    /// what travels in them stays small; the PDUs go boxed.
    #[test]
    fn what_the_session_channels_carry_stays_small() {
        let sizes = [
            ("Command", std::mem::size_of::<Command>()),
            ("SessionEvent", std::mem::size_of::<SessionEvent>()),
            ("Box<Pdu>", std::mem::size_of::<Box<Pdu>>()),
        ];
        for (name, size) in sizes {
            assert!(size <= 64, "{name} is {size} octets");
        }
    }
}

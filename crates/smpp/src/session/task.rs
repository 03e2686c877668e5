//! The session task: it owns the connection, reads and writes every PDU,
//! keeps the timers, and talks to the handles and the application over
//! channels.
//!
//! Each turn of the loop waits for one thing (a PDU from the peer, a finished
//! flush, a request from a handle, an answer from the application, the timer,
//! a close) and handles it without awaiting anything else: handlers only
//! append PDUs to the write buffer, and the buffer is flushed by the same
//! wait that reads. So the task can always read while a write is stuck, and
//! everything written between two flushes goes out in one.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use futures::{Sink, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, Sleep, sleep_until, timeout};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::event::{CloseReason, InboundRequest, Responder, SessionEvent};
use super::handle::{Command, RequestError};
use super::outstanding::{Outstanding, Waiter};
use super::tap::{Direction, PduTap, TappedCodec};
use super::{PeerWindowFull, SessionConfig};
use crate::command::CommandId;
use crate::error::DecodeError;
use crate::pdu::{Body, Pdu};
use crate::status::CommandStatus;

/// While this many octets are written but not yet flushed, the task takes no
/// new work (it stops reading the peer and taking requests and answers from
/// the application): a peer that does not read gets backpressure, not an
/// ever-growing buffer.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// How many requests or answers already queued by the application are
/// written in one turn, before the flush gets its chance.
const BATCH: usize = 64;

/// Room the events channel must have before the next PDU is read: one event
/// for that PDU and one for the final Closed, so Closed always fits.
const EVENT_ROOM_TO_READ: usize = 2;

/// The channel ends the task holds, built by [`super::start`].
pub(super) struct Channels {
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) events: mpsc::Sender<SessionEvent>,
    pub(super) responses: mpsc::Receiver<Box<Pdu>>,
    /// Cloned into every [`Responder`].
    pub(super) responder: mpsc::Sender<Box<Pdu>>,
    pub(super) slots: Arc<Semaphore>,
    pub(super) close: CancellationToken,
    /// The peer window in force (at most `SessionConfig::peer_window`), set
    /// by [`super::SessionHandle::set_peer_window`].
    pub(super) peer_limit: Arc<AtomicUsize>,
}

/// The state of one session, owned by its task.
pub(super) struct Session<T> {
    framed: Framed<T, TappedCodec>,
    config: SessionConfig,
    channels: Channels,
    /// Shown every PDU we write (the codec shows it those we read).
    tap: Option<Arc<dyn PduTap>>,
    outstanding: Outstanding,
    /// The peer's requests handed to the application and not answered yet.
    unanswered: usize,
    /// Our keepalive enquire_link is awaiting its resp.
    keepalive_pending: bool,
    /// unbind() was called: no more requests are sent.
    unbinding: bool,
    /// The peer sent unbind (its sequence number) while requests of its
    /// were still with the application: nothing more is read, and the
    /// unbind_resp goes out once they are answered (SMPP 3.4 section 2.9),
    /// or at the deadline.
    peer_unbind: Option<(u32, Instant)>,
    /// Something was written to the buffer since the last completed flush.
    unflushed: bool,
    last_sent: Instant,
    last_received: Instant,
    /// One timer, always set to the earliest of the session's deadlines.
    timer: Pin<Box<Sleep>>,
}

/// What the connection did.
#[expect(
    clippy::large_enum_variant,
    reason = "a short-lived value, mostly a received PDU: boxing it would cost an allocation per PDU"
)]
enum IoEvent {
    /// A PDU, a malformed PDU, a read error, or the end of the stream.
    Received(Option<Result<Result<Pdu, DecodeError>, io::Error>>),
    /// The write buffer was flushed, or flushing it failed.
    Flushed(io::Result<()>),
}

impl<T> Session<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(super) fn new(
        framed: Framed<T, TappedCodec>,
        config: SessionConfig,
        tap: Option<Arc<dyn PduTap>>,
        channels: Channels,
    ) -> Self {
        let now = Instant::now();
        Session {
            framed,
            config,
            channels,
            tap,
            outstanding: Outstanding::new(),
            unanswered: 0,
            peer_unbind: None,
            keepalive_pending: false,
            unbinding: false,
            unflushed: false,
            last_sent: now,
            last_received: now,
            timer: Box::pin(sleep_until(now)),
        }
    }

    fn peer_limit(&self) -> usize {
        self.channels.peer_limit.load(Ordering::Relaxed)
    }

    /// Runs the session to its end, then reports [`SessionEvent::Closed`].
    pub(super) async fn run(mut self) {
        let reason = loop {
            if let Some(reason) = self.turn().await {
                break reason;
            }
        };
        self.finish(reason).await;
    }

    /// Waits for one thing to happen and handles it; `Some` ends the session.
    async fn turn(&mut self) -> Option<CloseReason> {
        let writable = self.framed.write_buffer().len() < WRITE_HIGH_WATER;
        let events = &self.channels.events;
        let events_full = !events.is_closed() && events.capacity() < EVENT_ROOM_TO_READ;
        let window_full = self.config.peer_window_full == PeerWindowFull::StopReading
            && self.unanswered >= self.peer_limit();
        let readable = writable && !events_full && !window_full && self.peer_unbind.is_none();
        let deadline = self.next_deadline();
        if let Some(deadline) = deadline
            && self.timer.deadline() != deadline
        {
            self.timer.as_mut().reset(deadline);
        }

        tokio::select! {
            io = poll_io(&mut self.framed, readable, self.unflushed) => self.on_io(io),
            command = self.channels.commands.recv(), if writable => match command {
                Some(command) => {
                    self.on_command(command);
                    self.take_queued_commands();
                    None
                }
                None => Some(CloseReason::Local),
            },
            Some(response) = self.channels.responses.recv(), if writable => {
                self.on_application_response(response);
                self.take_queued_application_responses();
                match self.peer_unbind {
                    Some((sequence, _)) if self.unanswered == 0 => self.answer_peer_unbind(sequence),
                    _ => None,
                }
            }
            () = &mut self.timer, if deadline.is_some() => self.on_timer(),
            () = self.channels.close.cancelled() => Some(CloseReason::Local),
            () = room_for_events(&self.channels.events), if events_full => None,
        }
    }

    fn on_io(&mut self, event: IoEvent) -> Option<CloseReason> {
        match event {
            IoEvent::Received(None) => Some(CloseReason::PeerClosed),
            IoEvent::Received(Some(Err(error))) | IoEvent::Flushed(Err(error)) => {
                Some(CloseReason::Io(error))
            }
            IoEvent::Received(Some(Ok(decoded))) => {
                self.last_received = Instant::now();
                match decoded {
                    Ok(pdu) => self.on_pdu(pdu),
                    Err(error) => self.on_decode_error(error),
                }
            }
            IoEvent::Flushed(Ok(())) => {
                self.unflushed = false;
                None
            }
        }
    }

    fn on_pdu(&mut self, pdu: Pdu) -> Option<CloseReason> {
        if pdu.body.is_response() {
            return self.on_peer_response(pdu.sequence, Ok(pdu));
        }
        match pdu.body {
            Body::EnquireLink => {
                self.send(Pdu::new(pdu.sequence, Body::EnquireLinkResp));
                None
            }
            Body::Unbind if self.unanswered == 0 => self.answer_peer_unbind(pdu.sequence),
            Body::Unbind => {
                // Its requests first: the application is storing them.
                let deadline = Instant::now() + self.config.unbind_timeout;
                self.peer_unbind = Some((pdu.sequence, deadline));
                None
            }
            Body::Outbind(outbind) => {
                self.emit(SessionEvent::Outbind(Box::new(outbind)));
                None
            }
            Body::AlertNotification(alert) => {
                self.emit(SessionEvent::AlertNotification(Box::new(alert)));
                None
            }
            _ if self.unanswered >= self.peer_limit() => {
                if let Some(throttled) = pdu.error_response(CommandStatus::ESME_RTHROTTLED) {
                    self.send(throttled);
                }
                None
            }
            _ => {
                self.unanswered += 1;
                let responder = Responder::new(&pdu, self.channels.responder.clone());
                self.emit(SessionEvent::Request(InboundRequest {
                    pdu: Box::new(pdu),
                    responder,
                }));
                None
            }
        }
    }

    /// Answers what the codec could not decode, as it says; closes if the
    /// stream lost its framing; fails our request if it was its response.
    fn on_decode_error(&mut self, error: DecodeError) -> Option<CloseReason> {
        if let Some(reply) = error.reply() {
            self.send(reply);
        }
        if error.is_fatal() {
            return Some(CloseReason::Framing(error));
        }
        let is_response =
            CommandId::from_value(error.command_id).is_some_and(CommandId::is_response);
        if is_response {
            return self.on_peer_response(error.sequence, Err(error));
        }
        None
    }

    /// A response (or an undecodable one) from the peer: it goes to whoever
    /// waits for that sequence number. One that matches nothing of ours is
    /// ignored: it may answer a request that already timed out.
    fn on_peer_response(
        &mut self,
        sequence: u32,
        response: Result<Pdu, DecodeError>,
    ) -> Option<CloseReason> {
        match self.outstanding.take(sequence)? {
            Waiter::Caller { reply, .. } => {
                let _ = reply.send(response.map_err(RequestError::Malformed));
                None
            }
            Waiter::Keepalive => {
                self.keepalive_pending = false;
                None
            }
            Waiter::Unbind { reply } => {
                let _ = reply.send(response.map(drop).map_err(RequestError::Malformed));
                Some(CloseReason::Unbound)
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        if self.unbinding {
            fail_command(command);
            return;
        }
        match command {
            Command::Request { body, slot, reply } => {
                let deadline = Instant::now() + self.config.response_timeout;
                let waiter = Waiter::Caller { reply, _slot: slot };
                let sequence = self.outstanding.insert(waiter, deadline);
                self.send(Pdu::new(sequence, *body));
            }
            Command::Unbind { reply } => {
                self.unbinding = true;
                let deadline = Instant::now() + self.config.unbind_timeout;
                let sequence = self.outstanding.insert(Waiter::Unbind { reply }, deadline);
                self.send(Pdu::new(sequence, Body::Unbind));
            }
        }
    }

    /// Sends what other handles queued meanwhile, so it shares the next flush.
    fn take_queued_commands(&mut self) {
        for _ in 1..BATCH {
            if self.framed.write_buffer().len() >= WRITE_HIGH_WATER {
                return;
            }
            match self.channels.commands.try_recv() {
                Ok(command) => self.on_command(command),
                Err(_) => return,
            }
        }
    }

    /// The application answered one of the peer's requests.
    fn on_application_response(&mut self, response: Box<Pdu>) {
        self.unanswered = self.unanswered.saturating_sub(1);
        self.send(*response);
    }

    /// Sends the answers the application queued meanwhile, so they share the next flush.
    fn take_queued_application_responses(&mut self) {
        for _ in 1..BATCH {
            if self.framed.write_buffer().len() >= WRITE_HIGH_WATER {
                return;
            }
            match self.channels.responses.try_recv() {
                Ok(response) => self.on_application_response(response),
                Err(_) => return,
            }
        }
    }

    /// Expires our requests, checks inactivity, and sends the keepalive.
    /// Answers the peer's unbind and ends the session.
    fn answer_peer_unbind(&mut self, sequence: u32) -> Option<CloseReason> {
        self.send(Pdu::new(sequence, Body::UnbindResp));
        self.emit(SessionEvent::Unbound);
        Some(CloseReason::PeerUnbound)
    }

    fn on_timer(&mut self) -> Option<CloseReason> {
        let now = Instant::now();
        if let Some((sequence, deadline)) = self.peer_unbind
            && deadline <= now
        {
            // What is still unanswered gets ESME_RSYSERR from its dropped
            // responder, too late: the peer has what it was answered.
            return self.answer_peer_unbind(sequence);
        }
        while let Some(waiter) = self.outstanding.take_expired(now) {
            match waiter {
                Waiter::Caller { reply, .. } => {
                    let _ = reply.send(Err(RequestError::Timeout));
                }
                Waiter::Keepalive => {
                    return Some(CloseReason::KeepaliveTimeout(self.config.response_timeout));
                }
                Waiter::Unbind { reply } => {
                    let _ = reply.send(Err(RequestError::Timeout));
                    return Some(CloseReason::Unbound);
                }
            }
        }
        if let Some(limit) = self.config.inactivity_timeout
            && self.last_received + limit <= now
        {
            return Some(CloseReason::Inactivity(limit));
        }
        if self.keepalive_due().is_some_and(|due| due <= now) {
            self.keepalive_pending = true;
            let deadline = now + self.config.response_timeout;
            let sequence = self.outstanding.insert(Waiter::Keepalive, deadline);
            self.send(Pdu::new(sequence, Body::EnquireLink));
        }
        None
    }

    fn next_deadline(&self) -> Option<Instant> {
        let inactivity = self
            .config
            .inactivity_timeout
            .map(|limit| self.last_received + limit);
        [
            self.outstanding.next_deadline(),
            self.keepalive_due(),
            inactivity,
            self.peer_unbind.map(|(_, deadline)| deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When the link will have been idle (nothing sent or received) for the
    /// keepalive interval; `None` while a keepalive or unbind is under way.
    fn keepalive_due(&self) -> Option<Instant> {
        let interval = self.config.enquire_link_interval?;
        if self.keepalive_pending || self.unbinding || self.peer_unbind.is_some() {
            return None;
        }
        Some(self.last_sent.max(self.last_received) + interval)
    }

    /// Appends a PDU to the write buffer; the next turn flushes it.
    fn send(&mut self, pdu: Pdu) {
        let buffer = self.framed.write_buffer_mut();
        let start = buffer.len();
        pdu.encode(buffer);
        if let Some(tap) = &self.tap
            && tap.is_on()
        {
            tap.observe(Direction::Sent, &buffer[start..]);
        }
        self.unflushed = true;
        self.last_sent = Instant::now();
    }

    /// Hands an event to the application. The channel has room (reading
    /// waits for it); if the application dropped its receiver the event is
    /// dropped, and a request in it is answered ESME_RSYSERR by its responder.
    fn emit(&self, event: SessionEvent) {
        let _ = self.channels.events.try_send(event);
    }

    /// Fails everything still waiting, writes what is queued (within
    /// `close_timeout`), closes the connection, and reports why.
    async fn finish(mut self, reason: CloseReason) {
        let channels = &mut self.channels;
        channels.slots.close();
        channels.commands.close();
        while let Ok(command) = channels.commands.try_recv() {
            fail_command(command);
        }
        for waiter in self.outstanding.take_all() {
            match waiter {
                Waiter::Caller { reply, .. } => {
                    let _ = reply.send(Err(RequestError::Closed));
                }
                Waiter::Unbind { reply } => {
                    // Both ends sent unbind at once: the peer's is as good as a resp.
                    let unbound = matches!(reason, CloseReason::PeerUnbound);
                    let _ = reply.send(if unbound {
                        Ok(())
                    } else {
                        Err(RequestError::Closed)
                    });
                }
                Waiter::Keepalive => {}
            }
        }
        // Answers the application gave before the end still go out: the peer
        // may be waiting for them (it is gone only if the reason is an error).
        self.channels.responses.close();
        while let Ok(response) = self.channels.responses.try_recv() {
            self.send(*response);
        }
        let _ = timeout(
            self.config.close_timeout,
            SinkExt::<Pdu>::close(&mut self.framed),
        )
        .await;
        let Session {
            framed, channels, ..
        } = self;
        drop(framed);
        let _ = channels.events.send(SessionEvent::Closed(reason)).await;
    }
}

/// Answers a command the session will not carry out because it is closing.
fn fail_command(command: Command) {
    match command {
        Command::Request { reply, .. } => {
            let _ = reply.send(Err(RequestError::Closed));
        }
        Command::Unbind { reply } => {
            let _ = reply.send(Err(RequestError::Closed));
        }
    }
}

/// Waits until the application has made room in the events channel for the
/// next PDU to be read (or has dropped its receiver).
async fn room_for_events(events: &mpsc::Sender<SessionEvent>) {
    // The permits are only a signal: dropping them gives the room back.
    let _ = events.reserve_many(EVENT_ROOM_TO_READ).await;
}

/// Waits for the next received PDU (if `read`) or for the write buffer to be
/// flushed (if `flush`), whichever comes first. Reading is tried first, so
/// the answers to every PDU already received are flushed together.
fn poll_io<T>(
    framed: &mut Framed<T, TappedCodec>,
    read: bool,
    flush: bool,
) -> impl Future<Output = IoEvent> + '_
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    poll_fn(move |cx| {
        if read && let Poll::Ready(received) = framed.poll_next_unpin(cx) {
            return Poll::Ready(IoEvent::Received(received));
        }
        if flush && let Poll::Ready(flushed) = Sink::<Pdu>::poll_flush(Pin::new(&mut *framed), cx) {
            return Poll::Ready(IoEvent::Flushed(flushed));
        }
        Poll::Pending
    })
}

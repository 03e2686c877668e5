//! The session layer shared by our server (customers bind to us) and our
//! client connector (we bind to carriers).
//!
//! A session is one SMPP connection. [`start`] spawns a task that owns the
//! connection and everything about it: the framing, the sequence numbers of
//! our requests, both windows, enquire_link, the timeouts and the unbind
//! handshake. The application talks to the task over bounded channels: it
//! sends requests through a [`SessionHandle`] and receives the peer's
//! requests as [`SessionEvent`]s, each carrying a [`Responder`] that must
//! answer it.
//!
//! Why a task that owns the socket: every PDU we write (our requests, our
//! answers to the peer, the automatic enquire_link_resp and generic_nack) goes
//! through one writer, so writes never interleave, several PDUs can share one
//! flush, and no lock is ever held across an `.await`. Reading and flushing
//! are polled together, so a peer that is slow to read cannot stop us from
//! reading its responses (two sessions writing to each other never deadlock).
//!
//! What the session does on its own, without the application:
//! - answers enquire_link (in every state) and sends one when the link is idle;
//! - answers unbind with unbind_resp, reports [`SessionEvent::Unbound`] and closes;
//! - answers a malformed PDU with the status the codec chose (generic_nack or
//!   the PDU's own resp), and closes if the stream lost its framing;
//! - answers ESME_RTHROTTLED when the application already holds
//!   [`SessionConfig::peer_window`] of the peer's requests unanswered, or
//!   stops reading until it answers one ([`PeerWindowFull`]);
//! - answers ESME_RSYSERR for an [`InboundRequest`] dropped unanswered;
//! - closes after [`SessionConfig::inactivity_timeout`] without input.
//!
//! A [`PduTap`] given to [`start_tapped`] sees the octets of every PDU read
//! and written, for protocol traces; switched off it costs one check per PDU.
//!
//! It knows nothing of binds' meaning, accounts, routing or storage: a
//! bind_transmitter is just another request for the application to answer.
//!
//! The application must keep reading the events receiver (in its own task,
//! not in the one awaiting [`SessionHandle::request`]): when the receiver is
//! full the session stops reading the connection, which also holds back the
//! responses to our own requests.

mod event;
mod handle;
mod outstanding;
mod tap;
mod task;
mod window;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::codec::SmppCodec;
use crate::pdu::DecodeLimits;

pub use event::{CloseReason, InboundRequest, Responder, SessionEvent};

pub use handle::{PendingResponse, RequestError, SessionHandle};
pub use tap::{Direction, PduTap};

/// The limits and timers of one session. Every field has a default
/// ([`SessionConfig::default`]); the defaults follow common SMSC practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// How many of our requests may await their response at once. A caller of
    /// [`SessionHandle::request`] beyond it waits for a slot. 0 is treated as 1.
    /// Default 10.
    pub window: usize,
    /// How long we wait for the response to each request we send (counted
    /// from when it is sent, not while it waits for a window slot), including
    /// our keepalive enquire_link. Default 30 s.
    pub response_timeout: Duration,
    /// Send an enquire_link when nothing has been sent or received for this
    /// long; if its resp does not come within `response_timeout`, close.
    /// `None` never sends one. Default 30 s.
    pub enquire_link_interval: Option<Duration>,
    /// Close when nothing at all has been received for this long. `None`
    /// never closes for silence. Default 90 s.
    pub inactivity_timeout: Option<Duration>,
    /// How many of the peer's requests the application may hold unanswered.
    /// What happens to one beyond it is [`SessionConfig::peer_window_full`].
    /// Default 10.
    pub peer_window: usize,
    /// What the session does while the application holds `peer_window` of
    /// the peer's requests unanswered. Default [`PeerWindowFull::Throttle`].
    pub peer_window_full: PeerWindowFull,
    /// How long [`SessionHandle::unbind`] waits for unbind_resp before
    /// closing anyway; and how long the peer's unbind waits for the
    /// application to answer the peer's requests received before it (they
    /// are answered first, then the unbind: SMPP 3.4 section 2.9). Default 5 s.
    pub unbind_timeout: Duration,
    /// How long a closing session may spend writing what is already queued
    /// (the unbind_resp or generic_nack that ends it, answers the application
    /// gave just before) before it drops the connection. Default 5 s.
    pub close_timeout: Duration,
    /// The codec's decoding limits.
    pub limits: DecodeLimits,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            window: 10,
            response_timeout: Duration::from_secs(30),
            enquire_link_interval: Some(Duration::from_secs(30)),
            inactivity_timeout: Some(Duration::from_secs(90)),
            peer_window: 10,
            peer_window_full: PeerWindowFull::Throttle,
            unbind_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            limits: DecodeLimits::default(),
        }
    }
}

/// What a session does with the peer's requests while its application
/// already holds [`SessionConfig::peer_window`] of them unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerWindowFull {
    /// Read on, and answer each request beyond the window ESME_RTHROTTLED
    /// itself (the application never sees it): what an SMSC does to a
    /// customer that sends faster than its window.
    #[default]
    Throttle,
    /// Stop reading the connection until an answer frees a slot, so the
    /// peer meets TCP back-pressure and nothing is refused: what an ESME
    /// does when a carrier bursts receipts faster than they can be stored.
    /// Responses to our own requests wait behind the unread requests.
    StopReading,
}

/// Room in the events channel beyond the requests the peer window allows:
/// outbind, alert_notification, Unbound and the final Closed.
const EVENT_HEADROOM: usize = 8;

/// Room in the commands channel beyond one request per window slot: unbind calls.
const CONTROL_HEADROOM: usize = 4;

/// What the read and write buffers start with, in octets: about a dozen
/// typical PDUs. Idle sessions keep this little; busy ones grow (and keep)
/// what they need.
const INITIAL_BUFFER: usize = 1024;

/// Starts a session over `io` (a TCP or TLS stream, already connected) and
/// returns the handle to send requests with and the receiver of the peer's
/// requests and of the session's end.
///
/// The session runs until the connection ends, [`SessionHandle::close`] or
/// [`SessionHandle::unbind`] is called, or every [`SessionHandle`] is
/// dropped; the last event is always [`SessionEvent::Closed`].
///
/// Must be called from within a Tokio runtime (it spawns the session task).
pub fn start<T>(io: T, config: SessionConfig) -> (SessionHandle, mpsc::Receiver<SessionEvent>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    launch(io, config, None)
}

/// Like [`start`], and shows every PDU the session reads or writes to
/// `tap` (whenever [`PduTap::is_on`] says so), from the first one on.
pub fn start_tapped<T>(
    io: T,
    config: SessionConfig,
    tap: Arc<dyn PduTap>,
) -> (SessionHandle, mpsc::Receiver<SessionEvent>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    launch(io, config, Some(tap))
}

fn launch<T>(
    io: T,
    config: SessionConfig,
    tap: Option<Arc<dyn PduTap>>,
) -> (SessionHandle, mpsc::Receiver<SessionEvent>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let window = config.window.max(1);
    let (command_tx, command_rx) = mpsc::channel(window + CONTROL_HEADROOM);
    let (event_tx, event_rx) = mpsc::channel(config.peer_window + EVENT_HEADROOM);
    // Never full: a response is sent only for a request counted in the peer
    // window, and the slot is freed only when the task takes the response out.
    let (response_tx, response_rx) = mpsc::channel(config.peer_window.max(1));
    let slots = Arc::new(Semaphore::new(window));
    let close = CancellationToken::new();
    let peer_window = config.peer_window;
    let peer_limit = Arc::new(AtomicUsize::new(peer_window));

    let codec = tap::TappedCodec::new(SmppCodec::new(config.limits), tap.clone());
    // Small buffers to start with (tokio-util's default is 8 KiB each):
    // an idle session keeps them, a busy one grows them as it needs.
    let framed = Framed::with_capacity(io, codec, INITIAL_BUFFER);
    let session = task::Session::new(
        framed,
        config,
        tap,
        task::Channels {
            commands: command_rx,
            events: event_tx,
            responses: response_rx,
            responder: response_tx,
            slots: Arc::clone(&slots),
            close: close.clone(),
            peer_limit: Arc::clone(&peer_limit),
        },
    );
    tokio::spawn(session.run());
    (
        SessionHandle::new(command_tx, slots, window, close, peer_limit, peer_window),
        event_rx,
    )
}

//! One customer connection: the SMPP state machine on top of the protocol
//! session (`smpp::session`), which already handles framing, enquire_link,
//! unbind, timeouts and malformed PDUs.
//!
//! States follow the spec: open (not bound) → bound as transmitter,
//! receiver or transceiver → unbound/closed. A PDU not allowed in the
//! current state is answered with ESME_RINVBNDSTS; a second bind with
//! ESME_RALYBND. Submissions are accepted in their own tasks, so a session
//! can have up to its account's window of them being stored at once (and
//! the store can commit them together); past the window, ESME_RTHROTTLED.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use smpp::session::{
    self, InboundRequest, PeerWindowFull, SessionConfig, SessionEvent, SessionHandle,
};
use smpp::{
    Bind, BindResp, Body, COctetString, CommandStatus, DecodeLimits, MessageIdResp, Pdu,
    QuerySmResp, SubmitMultiResp, Tlv, UnsuccessSme,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::ServerContext;
use super::prebind::Unbound;
use super::registry::{BoundSession, SessionStats};
use crate::accept::Submission;
use crate::accounts::canonical_ip;
use crate::accounts::fields::{DEFAULT_DELIVER_WINDOW, MAX_DELIVER_WINDOW};
use crate::accounts::verifier::{Check, upgrade_password_hash};
use crate::pdu_trace::PduLogger;
use crate::store::{Account, BindType, MessageState, Origin};

/// How often a bound session re-reads its account, so that a changed
/// window or rate, or a disabled account, takes effect without a rebind.
const ACCOUNT_REFRESH: Duration = Duration::from_secs(5);

/// The session layer's own cap on unanswered customer requests once bound
/// (before, it is 1); the account's (smaller) window is enforced here,
/// above it.
const MAX_PEER_WINDOW: usize = 1000;

/// The system_id we answer binds with.
const SERVER_SYSTEM_ID: COctetString = COctetString::from_static("smsgate");

enum State {
    Open,
    Bound(Bound),
    Unbound,
}

struct Bound {
    bind_type: BindType,
    account: Arc<Account>,
    refreshed: Instant,
    /// Shared with the registry: the window in use and the messages counted.
    stats: Arc<SessionStats>,
}

/// Serves one connection until it closes.
pub(super) async fn serve_connection<T>(
    io: T,
    remote: SocketAddr,
    tls: bool,
    unbound: Unbound,
    ctx: Arc<ServerContext>,
    shutdown: CancellationToken,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &ctx.config;
    let session_config = SessionConfig {
        // The largest deliver window: the account's own is set at bind.
        window: MAX_DELIVER_WINDOW as usize,
        response_timeout: config.response_timeout,
        enquire_link_interval: Some(config.enquire_link_interval),
        inactivity_timeout: Some(config.inactivity_timeout),
        peer_window: MAX_PEER_WINDOW,
        peer_window_full: PeerWindowFull::Throttle,
        unbind_timeout: Duration::from_secs(5),
        close_timeout: Duration::from_secs(5),
        limits: DecodeLimits {
            max_command_length: config.max_pdu_len,
            max_credential_len: Some(config.max_credential_len.saturating_add(1)),
        },
    };
    let tap = Arc::new(PduLogger::customer_session(ctx.trace.clone(), remote));
    let (handle, mut events) = session::start_tapped(io, session_config, tap.clone());
    // Until a bind succeeds the peer may have one request waiting for us
    // (its bind, while the password is checked); whatever it pipelines
    // behind it is answered ESME_RTHROTTLED at once, never held.
    handle.set_peer_window(1);
    handle.set_window(DEFAULT_DELIVER_WINDOW as usize);
    let mut connection = Connection {
        id: ctx.registry.next_id(),
        remote,
        tls,
        ctx: ctx.clone(),
        handle: handle.clone(),
        state: State::Open,
        bound_as: None,
        tap,
        unbound,
    };
    let room = connection.unbound.closed().clone();
    debug!(session = connection.id, %remote, tls, "connection opened");
    let bind_deadline = tokio::time::sleep(config.bind_timeout);
    tokio::pin!(bind_deadline);
    let lifetime = tokio::time::sleep(config.session_lifetime);
    tokio::pin!(lifetime);
    let mut ending = false;
    loop {
        let bound = matches!(connection.state, State::Bound(_));
        tokio::select! {
            event = events.recv() => match event {
                Some(SessionEvent::Request(request)) => connection.on_request(request).await,
                Some(SessionEvent::Unbound) => {
                    let (system_id, bind_type) = connection.identity();
                    info!(session = connection.id, %remote, %system_id, bind_type, "customer unbound");
                    connection.unregister();
                }
                Some(SessionEvent::Outbind(_) | SessionEvent::AlertNotification(_)) => {
                    debug!(session = connection.id, "ignored an SMSC-only PDU from a customer");
                }
                Some(SessionEvent::Closed(reason)) => {
                    let (system_id, bind_type) = connection.identity();
                    info!(session = connection.id, %remote, %system_id, bind_type, reason = %reason, "session closed");
                    break;
                }
                None => break,
            },
            () = room.cancelled(), if matches!(connection.state, State::Open) && !ending => {
                debug!(session = connection.id, %remote, "not bound: closed to make room for a newer connection");
                ending = true;
                handle.close();
            }
            () = &mut bind_deadline, if matches!(connection.state, State::Open) && !ending => {
                info!(session = connection.id, %remote, "no bind within {:?}: closing", config.bind_timeout);
                ending = true;
                handle.close();
            }
            () = &mut lifetime, if bound && !ending => {
                info!(session = connection.id, "session lifetime reached: unbinding");
                ending = true;
                connection.unbind_in_background();
            }
            () = shutdown.cancelled(), if !ending => {
                ending = true;
                if bound {
                    connection.unbind_in_background();
                } else {
                    handle.close();
                }
            }
        }
        if let State::Bound(bound) = &mut connection.state
            && bound.refreshed.elapsed() >= ACCOUNT_REFRESH
            && !ending
        {
            match ctx.store.account(&bound.account.system_id).await {
                Ok(Some(account)) if account.enabled => {
                    bound.stats.window.store(account.window, Ordering::Relaxed);
                    if account.deliver_window != bound.account.deliver_window {
                        handle.set_window(account.deliver_window as usize);
                    }
                    bound.account = Arc::new(account);
                    bound.refreshed = Instant::now();
                }
                Ok(_) => {
                    info!(session = connection.id, account = %bound.account.system_id, "account disabled or deleted: unbinding");
                    ending = true;
                    connection.unbind_in_background();
                }
                Err(e) => warn!(session = connection.id, error = %e, "cannot refresh account"),
            }
        }
    }
    connection.unregister();
}

struct Connection {
    id: u64,
    remote: SocketAddr,
    tls: bool,
    ctx: Arc<ServerContext>,
    handle: SessionHandle,
    state: State,
    /// The account and bind type of the bind, kept after unbinding for
    /// the session's last log line.
    bound_as: Option<(String, BindType)>,
    /// Logs the session's PDUs while its account is traced.
    tap: Arc<PduLogger>,
    /// The connection's place in the pre-bind budget, left when it binds.
    unbound: Unbound,
}

impl Connection {
    /// The bound account's system_id and bind type, for log lines (`-`
    /// when not bound).
    fn identity(&self) -> (&str, &'static str) {
        match &self.bound_as {
            Some((system_id, bind_type)) => (system_id, bind_type.as_str()),
            None => ("-", "-"),
        }
    }

    async fn on_request(&mut self, request: InboundRequest) {
        let InboundRequest { pdu, responder } = request;
        match (&pdu.body, &self.state) {
            (Body::BindTransmitter(bind), State::Open) => {
                let answer = self.bind_in_budget(bind, BindType::Transmitter).await;
                responder.respond_with(answer.status, answer.body);
            }
            (Body::BindReceiver(bind), State::Open) => {
                let answer = self.bind_in_budget(bind, BindType::Receiver).await;
                responder.respond_with(answer.status, answer.body);
            }
            (Body::BindTransceiver(bind), State::Open) => {
                let answer = self.bind_in_budget(bind, BindType::Transceiver).await;
                responder.respond_with(answer.status, answer.body);
            }
            (
                Body::BindTransmitter(_) | Body::BindReceiver(_) | Body::BindTransceiver(_),
                State::Bound(_),
            ) => responder.respond_status(CommandStatus::ESME_RALYBND),
            (Body::SubmitSm(_) | Body::DataSm(_) | Body::SubmitMulti(_), State::Bound(bound))
                if bound.bind_type != BindType::Receiver =>
            {
                if bound.stats.in_flight.load(Ordering::Acquire) >= bound.account.window as usize {
                    responder.respond_status(CommandStatus::ESME_RTHROTTLED);
                    return;
                }
                self.submit(*pdu, responder);
            }
            (Body::QuerySm(query), State::Bound(bound))
                if bound.bind_type != BindType::Receiver =>
            {
                let status_or_resp = self
                    .query(&bound.account.system_id, &query.message_id)
                    .await;
                match status_or_resp {
                    Ok(resp) => responder.respond(Body::QuerySmResp(resp)),
                    Err(status) => responder.respond_status(status),
                }
            }
            // Cancelling and replacing stored messages come with the
            // dispatch stage; until then the honest answer is a failure.
            (Body::CancelSm(_), State::Bound(bound)) if bound.bind_type != BindType::Receiver => {
                responder.respond_status(CommandStatus::ESME_RCANCELFAIL)
            }
            (Body::ReplaceSm(_), State::Bound(bound)) if bound.bind_type != BindType::Receiver => {
                responder.respond_status(CommandStatus::ESME_RREPLACEFAIL)
            }
            _ => responder.respond_status(CommandStatus::ESME_RINVBNDSTS),
        }
    }

    /// [`Connection::bind`], with the connection kept from being closed for
    /// room while its bind is checked, and out of the pre-bind budget once
    /// bound.
    async fn bind_in_budget(&mut self, bind: &Bind, bind_type: BindType) -> Pdu {
        self.unbound.binding();
        let answer = self.bind(bind, bind_type).await;
        if answer.status == CommandStatus::ESME_ROK {
            self.unbound.bound();
            self.handle.set_peer_window(MAX_PEER_WINDOW);
        } else {
            self.unbound.bind_failed();
        }
        answer
    }

    /// Checks a bind and, if it succeeds, moves to the bound state.
    async fn bind(&mut self, bind: &Bind, bind_type: BindType) -> Pdu {
        let ctx = self.ctx.clone();
        let ip = self.remote.ip();
        let refuse = |status: CommandStatus| Pdu {
            sequence: 0,
            status,
            body: bind_resp_body(bind_type, BindResp::default()),
        };
        if ctx.guard.is_blocked(ip) {
            debug!(session = self.id, %ip, "bind from a blocked address refused");
            return refuse(CommandStatus::ESME_RBINDFAIL);
        }
        let system_id = bind.system_id.to_string_lossy().into_owned();
        self.tap.name_account(&system_id);
        let account = match ctx.store.account(&system_id).await {
            Ok(account) => account,
            Err(e) => {
                warn!(session = self.id, error = %e, "cannot read account for bind");
                return refuse(CommandStatus::ESME_RSYSERR);
            }
        };
        // Non-UTF-8 credentials cannot match anything we store; they are
        // still checked against a hash so the answer takes the usual time.
        let password = bind.password.to_str().unwrap_or("\u{fffd}");
        let check = ctx
            .verifier
            .check(
                &ctx.guard,
                Some(ip),
                &system_id,
                account.as_ref().map(|a| a.password_hash.as_str()),
                password,
            )
            .await;
        let (account, needs_upgrade) = match (account, check) {
            (Some(account), Check::Valid { needs_upgrade }) => (account, needs_upgrade),
            // The guard logs these refusals (at most once a minute per address).
            (_, Check::Blocked) => return refuse(CommandStatus::ESME_RBINDFAIL),
            (_, check) => {
                if check == (Check::Invalid { blocked_now: true }) {
                    ctx.guard.log_block_start(Some(ip));
                }
                info!(session = self.id, %ip, system_id = %system_id, "bind refused: invalid credentials");
                return refuse(CommandStatus::ESME_RINVPASWD);
            }
        };
        if needs_upgrade {
            upgrade_password_hash(
                ctx.store.clone(),
                ctx.verifier.clone(),
                account.system_id.clone(),
                password.to_string(),
            );
        }
        let refusal = if !account.enabled {
            Some("account disabled")
        } else if !account.allowed_ips.is_empty()
            && !account
                .allowed_ips
                .iter()
                .any(|net| net.contains(&canonical_ip(ip)))
        {
            Some("address not in the account's allowlist")
        } else if !account.bind_types.contains(&bind_type) {
            Some("bind type not allowed for the account")
        } else {
            None
        };
        if let Some(reason) = refusal {
            info!(session = self.id, %ip, system_id = %system_id, reason, "bind refused");
            return refuse(CommandStatus::ESME_RBINDFAIL);
        }
        let stats = Arc::new(SessionStats::new(account.window));
        // Before it is registered, so that no deliver_sm goes out past it.
        self.handle.set_window(account.deliver_window as usize);
        let registered = ctx.registry.try_register(
            BoundSession {
                id: self.id,
                system_id: account.system_id.clone(),
                bind_type,
                remote: self.remote,
                tls: self.tls,
                since: SystemTime::now(),
                handle: self.handle.clone(),
                stats: Arc::clone(&stats),
            },
            account.max_binds,
        );
        if !registered {
            info!(session = self.id, system_id = %system_id, max_binds = account.max_binds, "bind refused: too many binds");
            return refuse(CommandStatus::ESME_RBINDFAIL);
        }
        info!(session = self.id, %ip, system_id = %system_id, bind_type = bind_type.as_str(), tls = self.tls, "bound");
        let version = if bind.interface_version >= 0x50 {
            0x50
        } else {
            0x34
        };
        self.bound_as = Some((account.system_id.clone(), bind_type));
        self.state = State::Bound(Bound {
            bind_type,
            account: Arc::new(account),
            refreshed: Instant::now(),
            stats,
        });
        Pdu::new(
            0,
            bind_resp_body(
                bind_type,
                BindResp {
                    system_id: SERVER_SYSTEM_ID,
                    tlvs: vec![Tlv::ScInterfaceVersion(version)],
                },
            ),
        )
    }

    /// Accepts a submission in its own task, answering when it is stored.
    fn submit(&self, pdu: Pdu, responder: session::Responder) {
        let State::Bound(bound) = &self.state else {
            return;
        };
        let account = bound.account.clone();
        let stats = Arc::clone(&bound.stats);
        stats.count_in();
        stats.in_flight.fetch_add(1, Ordering::AcqRel);
        let responder = SlotResponder {
            responder,
            stats: Arc::clone(&stats),
        };
        let acceptor = self.ctx.acceptor.clone();
        let origin = Origin {
            protocol: "smpp".into(),
            remote_addr: Some(self.remote),
            tls: self.tls,
            session_id: Some(self.id),
        };
        self.ctx.tasks.spawn(async move {
            match pdu.body {
                Body::SubmitSm(sm) => {
                    match acceptor
                        .accept(&account, origin, Submission::from_submit_sm(&sm))
                        .await
                    {
                        Ok(accepted) => {
                            responder.respond(Body::SubmitSmResp(message_id_resp(&accepted.id)))
                        }
                        Err(rejection) => responder.respond_status(rejection.status),
                    }
                }
                Body::DataSm(sm) => {
                    match acceptor
                        .accept(&account, origin, Submission::from_data_sm(&sm))
                        .await
                    {
                        Ok(accepted) => {
                            responder.respond(Body::DataSmResp(message_id_resp(&accepted.id)))
                        }
                        Err(rejection) => responder.respond_status(rejection.status),
                    }
                }
                Body::SubmitMulti(multi) => {
                    // Each SME destination is accepted (and charged) on its
                    // own; the resp carries the first accepted id and lists
                    // the destinations that failed. Distribution lists are
                    // not held by this SMSC.
                    let mut first_id = None;
                    let mut unsuccess = Vec::new();
                    for destination in &multi.destinations {
                        let smpp::DestAddress::Sme(address) = destination else {
                            unsuccess.push(UnsuccessSme {
                                address: smpp::Address::default(),
                                error_status_code: CommandStatus::ESME_RINVDLNAME,
                            });
                            continue;
                        };
                        let submission = Submission::from_submit_multi(&multi, address);
                        match acceptor.accept(&account, origin.clone(), submission).await {
                            Ok(accepted) => {
                                first_id.get_or_insert(accepted.id);
                            }
                            Err(rejection) => unsuccess.push(UnsuccessSme {
                                address: address.clone(),
                                error_status_code: rejection.status,
                            }),
                        }
                    }
                    match first_id {
                        Some(id) => responder.respond(Body::SubmitMultiResp(SubmitMultiResp {
                            message_id: message_id_resp(&id).message_id,
                            unsuccess,
                            tlvs: Vec::new(),
                        })),
                        None => {
                            let status = unsuccess
                                .first()
                                .map(|u| u.error_status_code)
                                .unwrap_or(CommandStatus::ESME_RINVNUMDESTS);
                            responder.respond_status(status);
                        }
                    }
                }
                _ => responder.respond_status(CommandStatus::ESME_RINVBNDSTS),
            }
        });
    }

    async fn query(
        &self,
        system_id: &str,
        message_id: &COctetString,
    ) -> Result<QuerySmResp, CommandStatus> {
        let Ok(id) = message_id.to_str() else {
            return Err(CommandStatus::ESME_RINVMSGID);
        };
        match self.ctx.store.message(id).await {
            Ok(Some(message)) if message.account == system_id => Ok(QuerySmResp {
                message_id: message_id.clone(),
                final_date: COctetString::empty(),
                message_state: message_state_number(message.state),
                error_code: 0,
            }),
            Ok(_) => Err(CommandStatus::ESME_RQUERYFAIL),
            Err(e) => {
                warn!(session = self.id, error = %e, "query_sm: store error");
                Err(CommandStatus::ESME_RSYSERR)
            }
        }
    }

    fn unbind_in_background(&self) {
        let handle = self.handle.clone();
        let id = self.id;
        tokio::spawn(async move {
            if let Err(e) = handle.unbind().await {
                debug!(session = id, error = %e, "unbind not answered; closing");
                handle.close();
            }
        });
    }

    fn unregister(&mut self) {
        if matches!(self.state, State::Bound(_)) {
            self.ctx.registry.remove(self.id);
            self.state = State::Unbound;
        }
    }
}

fn bind_resp_body(bind_type: BindType, resp: BindResp) -> Body {
    match bind_type {
        BindType::Transmitter => Body::BindTransmitterResp(resp),
        BindType::Receiver => Body::BindReceiverResp(resp),
        BindType::Transceiver => Body::BindTransceiverResp(resp),
    }
}

fn message_id_resp(id: &str) -> MessageIdResp {
    // Our ids are ULIDs: ASCII, no NUL, 26 characters.
    MessageIdResp::new(COctetString::try_from(id).unwrap_or_default())
}

/// The message_state number (SMPP 3.4 5.2.28) for our state.
fn message_state_number(state: MessageState) -> u8 {
    match state {
        MessageState::Accepted | MessageState::Queued | MessageState::Submitted => 1,
        MessageState::Delivered => 2,
        MessageState::Expired => 3,
        MessageState::Deleted => 4,
        MessageState::Undeliverable | MessageState::Failed => 5,
        MessageState::Unknown => 7,
        MessageState::Rejected => 8,
    }
}

/// The responder of a submit holding a slot of the account's window: the
/// slot is freed before the answer is queued, so a customer that sends its
/// next request the moment it reads this answer always finds the slot free
/// (a customer keeping exactly its window outstanding is never throttled).
struct SlotResponder {
    responder: session::Responder,
    stats: Arc<SessionStats>,
}

impl SlotResponder {
    fn free_slot(&self) {
        self.stats.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn respond(self, body: Body) {
        self.free_slot();
        self.responder.respond(body);
    }

    fn respond_status(self, status: CommandStatus) {
        self.free_slot();
        self.responder.respond_status(status);
    }
}

//! The accept stage: validate a submission, charge it, store it, and only
//! then say yes. DESIGN.md rule 1, "ack means stored", lives here.
//!
//! Protocol-neutral: SMPP submit_sm, data_sm and submit_multi and the HTTP
//! API all build a [`Submission`] and call [`Acceptor::accept`], which
//! answers [`Accepted`] (the id to acknowledge) or a [`Rejection`] (the SMPP
//! status, a machine code for HTTP, and a reason). It knows nothing of
//! sockets or sessions: the caller says who (the [`Account`]) and where from
//! ([`Origin`]).
//!
//! The checks run in this order, and the first failure is the answer, with
//! nothing charged:
//! 1. destination present, at most 21 characters, a valid number
//!    (E.164 for international numbers) — ESME_RINVDSTADR ([`address`]);
//! 2. sender: the default if empty, allowed for the account, a well-formed
//!    alphanumeric id or number — ESME_RINVSRCADR ([`address`]);
//! 3. data_coding supported — ESME_RINVDCS ([`content`]);
//! 4. lengths (short_message at most 254 octets, not both short_message and
//!    message_payload, payload within the maximum, at most 255 segments) —
//!    ESME_RINVMSGLEN; a UDH that does not parse — ESME_RINVESMCLASS; bad
//!    SAR numbering — ESME_RINVOPTPARAMVAL ([`content`]);
//! 5. times — ESME_RINVSCHED / ESME_RINVEXPIRY ([`validity`]);
//! 6. the account's messages per second — ESME_RTHROTTLED ([`rate`]);
//! 7. credits for every segment, charged atomically with storing the
//!    message — ESME_RSUBMITFAIL; a store failure — ESME_RSYSERR.

pub mod address;
pub mod content;
pub mod ids;
pub mod numbers;
pub mod rate;
mod rejection;
mod submission;
pub mod validity;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smpp::CommandStatus;

use self::content::Content;
use self::ids::MessageIds;
pub use self::numbers::{E164, NumberTable, NumberTableError};
use self::rate::AccountRates;
pub use self::rejection::Rejection;
pub use self::submission::Submission;
use self::validity::Times;
use crate::dispatch::DispatchQueue;
use crate::metrics::Metrics;
use crate::store::{AcceptOutcome, Account, NewMessage, Origin, Store, StoredAddress};

/// The limits and defaults of acceptance: the `[accept]` section of
/// smsgate.toml.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptConfig {
    /// This node's name, written into every message's first trace event
    /// (from `[node]`, not from this section).
    #[serde(skip)]
    pub node: String,
    /// The largest message_payload taken, in octets. The default,
    /// 255 segments of 140 octets, is the most a concatenated SMS can carry.
    pub max_payload_len: usize,
    /// How long a message without a validity_period is tried for.
    #[serde(with = "crate::settings::duration")]
    pub default_validity: Duration,
    /// The longest a message is tried for, whatever the customer asks.
    #[serde(with = "crate::settings::duration")]
    pub max_validity: Duration,
}

impl Default for AcceptConfig {
    fn default() -> Self {
        AcceptConfig {
            node: "local".to_owned(),
            max_payload_len: smstext::MAX_SEGMENTS * 140,
            default_validity: Duration::from_secs(48 * 3600),
            max_validity: Duration::from_secs(72 * 3600),
        }
    }
}

/// A stored, charged message: what to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Our id for it, for submit_sm_resp (at most 64 characters).
    pub id: String,
    /// The id of the long message it is a part of (its own id otherwise).
    pub group_id: String,
    /// Segments it counts as.
    pub segments: u32,
    /// Credits charged.
    pub cost: i64,
}

/// Validates, charges and stores submissions. One per node, shared by every
/// session and HTTP request (`Arc<Acceptor>`): it owns the state that must
/// be shared across them — the number table, the per-account rate limiters
/// and the id generator.
pub struct Acceptor {
    store: Arc<dyn Store>,
    config: AcceptConfig,
    numbers: Arc<NumberTable>,
    rates: AccountRates,
    ids: MessageIds,
    /// Signalled after a message is stored for dispatch to read back from
    /// the store (its queue was full, or the message is scheduled), so
    /// dispatch need not wait for its next poll.
    stored: Arc<tokio::sync::Notify>,
    /// Dispatch's queue in memory: a message with a place in it is handed
    /// over right after its commit. `None`: every message goes through the
    /// store (a node without dispatch, tests).
    dispatch: Option<DispatchQueue>,
    /// Where accepted and rejected submissions are counted; `None`: not counted.
    metrics: Option<Arc<Metrics>>,
}

impl Acceptor {
    /// An acceptor storing into `store`. Compiles the phone number table
    /// (a few hundred milliseconds): build it once, at start-up, before the
    /// listeners open.
    pub fn new(store: Arc<dyn Store>, config: AcceptConfig) -> Result<Self, NumberTableError> {
        Ok(Acceptor {
            store,
            config,
            numbers: Arc::new(NumberTable::from_phonenumber_metadata()?),
            rates: AccountRates::new(),
            ids: MessageIds::new(),
            stored: Arc::new(tokio::sync::Notify::new()),
            dispatch: None,
            metrics: None,
        })
    }

    /// Hands each stored message to dispatch through `queue` while it has
    /// room (see [`crate::dispatch::queue`]).
    pub fn with_dispatch(mut self, queue: DispatchQueue) -> Self {
        self.dispatch = Some(queue);
        self
    }

    /// Counts every submission in `metrics`: accepted or rejected (by
    /// reason), and the time it took.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Notified each time a message has been stored for dispatch to read
    /// from the store (dispatch waits on it between polls of the store).
    pub fn stored_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.stored)
    }

    /// The configuration in force.
    pub fn config(&self) -> &AcceptConfig {
        &self.config
    }

    /// The phone number tables it validates destinations with (built once
    /// at start, ~370 ms): the admin API's route test reuses them.
    pub fn numbers(&self) -> &NumberTable {
        &self.numbers
    }

    /// Accepts one submission from `account`: checks it (see the module
    /// documentation for the order), charges its segments and stores it
    /// durably, and only then returns its id. On a rejection nothing was
    /// stored or charged.
    pub async fn accept(
        &self,
        account: &Account,
        origin: Origin,
        submission: Submission,
    ) -> Result<Accepted, Rejection> {
        let started = Instant::now();
        let answer = self.check_and_store(account, origin, submission).await;
        if let Some(metrics) = &self.metrics {
            let took = started.elapsed();
            match &answer {
                Ok(_) => metrics.accepted(&account.system_id, took),
                Err(rejection) => metrics.rejected(&account.system_id, rejection.code, took),
            }
        }
        answer
    }

    /// [`Acceptor::accept`] without the counting.
    async fn check_and_store(
        &self,
        account: &Account,
        origin: Origin,
        submission: Submission,
    ) -> Result<Accepted, Rejection> {
        let now = SystemTime::now();
        let checked = self
            .check(account, &submission, now)
            .inspect_err(|rejection| {
                tracing::debug!(
                    account = %account.system_id,
                    status = ?rejection.status,
                    code = rejection.code,
                    reason = %rejection.reason,
                    "submission rejected"
                );
            })?;
        let id = self.ids.next(now).ok_or_else(|| {
            Rejection::new(
                CommandStatus::ESME_RSYSERR,
                "system_error",
                "no message id is left for this millisecond",
            )
        })?;
        let cost = i64::from(checked.content.segments);
        let due_now = checked.times.schedule_at.is_none_or(|at| at <= now);
        let place = self
            .dispatch
            .as_ref()
            .filter(|_| due_now)
            .and_then(|queue| Some((queue.reserve()?, queue.node().to_string())));
        let (place, claimed_by) = match place {
            Some((place, node)) => (Some(place), Some(node)),
            None => (None, None),
        };
        let message = NewMessage {
            callback_url: submission.callback_url.clone(),
            client_ref: submission.client_ref.clone(),
            tags: submission.tags.clone(),
            trace_detail: self.trace_detail(account, &origin, &submission, &checked, cost),
            id: id.clone(),
            account: account.system_id.clone(),
            cost,
            source: checked.source,
            destination: checked.destination,
            esm_class: submission.esm_class,
            data_coding: submission.data_coding,
            protocol_id: submission.protocol_id,
            priority: submission.priority,
            registered_delivery: submission.registered_delivery,
            schedule_at: checked.times.schedule_at,
            expires_at: Some(checked.times.expires_at),
            payload: checked.content.payload.to_vec(),
            part: checked.content.part,
            segments: checked.content.segments,
            origin,
            accepted_at: now,
            claimed_by,
        };
        let claim = place.map(|place| (place, message.to_claimed(String::new())));
        match self.store.accept(message).await {
            Ok(AcceptOutcome::Accepted { group_id }) => {
                tracing::debug!(message_id = %id, account = %account.system_id, cost, "message accepted");
                match claim {
                    Some((place, mut claim)) => {
                        claim.message.group_id = group_id.clone();
                        place.send(claim);
                    }
                    None => self.stored.notify_one(),
                }
                Ok(Accepted {
                    id,
                    group_id,
                    segments: checked.content.segments,
                    cost,
                })
            }
            Ok(AcceptOutcome::InsufficientCredits { balance }) => Err(Rejection::new(
                CommandStatus::ESME_RSUBMITFAIL,
                "insufficient_credits",
                format!(
                    "the message costs {cost} credits and account {} has {balance}",
                    account.system_id
                ),
            )),
            Err(error) => {
                tracing::warn!(account = %account.system_id, %error, "the store could not accept a message");
                Err(Rejection::new(
                    CommandStatus::ESME_RSYSERR,
                    "system_error",
                    format!("the message could not be stored: {error}"),
                ))
            }
        }
    }

    /// Steps 1 to 6: everything but charging.
    fn check(
        &self,
        account: &Account,
        submission: &Submission,
        now: SystemTime,
    ) -> Result<Checked, Rejection> {
        let destination = address::destination(&submission.destination, &self.numbers)?;
        let source = address::sender(&submission.source, account)?;
        let encoding = content::encoding(submission)?;
        let content = content::content(submission, encoding, &self.config)?;
        let times = validity::times(submission, &self.config, now)?;
        if !self.rates.try_acquire(&account.system_id, account.tps) {
            return Err(Rejection::new(
                CommandStatus::ESME_RTHROTTLED,
                "throttled",
                format!(
                    "account {} is over its {} messages per second",
                    account.system_id,
                    account.tps.unwrap_or_default()
                ),
            ));
        }
        Ok(Checked {
            destination,
            source,
            content,
            times,
        })
    }

    /// The first trace event: who, from where, what was checked, what it
    /// cost. Never the message text.
    fn trace_detail(
        &self,
        account: &Account,
        origin: &Origin,
        submission: &Submission,
        checked: &Checked,
        cost: i64,
    ) -> String {
        let mut detail = format!(
            "accepted on node {} from account {} via {}",
            self.config.node, account.system_id, origin.protocol
        );
        if let Some(remote) = origin.remote_addr {
            let _ = write!(detail, " from {remote}");
        }
        if origin.tls {
            detail.push_str(" over TLS");
        }
        if let Some(session) = origin.session_id {
            let _ = write!(detail, ", session {session}");
        }
        let _ = write!(
            detail,
            "; checked: destination {} (TON {}), sender {:?} (TON {}{}), data_coding {:#04x} ({}), {} octets",
            checked.destination.addr,
            checked.destination.ton,
            checked.source.addr,
            checked.source.ton,
            if submission.source.addr.is_empty() {
                ", account default"
            } else {
                ""
            },
            submission.data_coding,
            checked.content.encoding,
            checked.content.payload.len(),
        );
        if let Some(part) = checked.content.part {
            let _ = write!(
                detail,
                ", part {} of {} (reference {})",
                part.seq, part.total, part.reference
            );
        }
        if let Some(at) = checked.times.schedule_at {
            let _ = write!(
                detail,
                ", scheduled for {}",
                humantime::format_rfc3339_seconds(at)
            );
        }
        let _ = write!(
            detail,
            ", expires {}; {} segment{}, cost {cost} credit{}",
            humantime::format_rfc3339_seconds(checked.times.expires_at),
            checked.content.segments,
            if checked.content.segments == 1 {
                ""
            } else {
                "s"
            },
            if cost == 1 { "" } else { "s" },
        );
        detail
    }
}

/// A submission that passed steps 1 to 6.
struct Checked {
    destination: StoredAddress,
    source: StoredAddress,
    content: Content,
    times: Times,
}

//! One message's dispatch pass: route it, then try the route's connectors
//! in order until one takes it, one refuses it for good, a transient
//! failure asks for a retry later, or none is left.
//!
//! Every step is written to the store before the next one starts: the
//! attempt before the submit is sent (a crash after that may leave the
//! provider with a copy: the at-least-once window), the outcome as soon as
//! it is known. A retry is not waited for here: the message goes back to
//! the store, due again after the delay, and the pass ends.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use smpp::{Address, COctetString, CommandStatus};
use tracing::{debug, warn};

use super::Context;
use crate::connectors::{OutboundSegment, SubmitFailure, SubmitOutcome};
use crate::routing::{RouteActions, RouteInput};
use crate::store::{AttemptResult, ClaimedMessage, StoreResult};

/// registered_delivery sent to providers: a final receipt, whatever the
/// customer asked for, because tracking needs it to end the message.
const FINAL_RECEIPT: u8 = 1;

/// What a submit's outcome means for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The provider has it.
    Submitted(String),
    /// This connector cannot carry it (ESME_RSUBMITFAIL: the recipient is
    /// not reachable through this channel): try the next one now.
    FailOver,
    /// Maybe later (throttled, provider busy or broken, no answer): retry
    /// the same connector after a delay, then fail over.
    Transient,
    /// The message itself is wrong for the provider (bad destination, bad
    /// length, ...): no other connector would do better.
    Final,
}

/// Classifies a submit's outcome, after the provider guides in the seeds
/// (see docs/smpp-errors.md).
pub(super) fn classify(outcome: &SubmitOutcome) -> Verdict {
    match outcome {
        SubmitOutcome::Accepted { provider_id } => Verdict::Submitted(provider_id.clone()),
        SubmitOutcome::Refused { status } => match *status {
            CommandStatus::ESME_RSUBMITFAIL => Verdict::FailOver,
            CommandStatus::ESME_RTHROTTLED
            | CommandStatus::ESME_RSYSERR
            | CommandStatus::ESME_RMSGQFUL => Verdict::Transient,
            _ => Verdict::Final,
        },
        // Malformed: the provider answered something we cannot read, so it
        // may or may not have the message; like no answer at all.
        SubmitOutcome::Failed {
            reason:
                SubmitFailure::Timeout
                | SubmitFailure::ConnectionLost
                | SubmitFailure::NotBound
                | SubmitFailure::Malformed,
        } => Verdict::Transient,
    }
}

/// The outcome in words, for the trace.
fn describe(outcome: &SubmitOutcome) -> String {
    match outcome {
        SubmitOutcome::Accepted { .. } => "accepted".to_string(),
        SubmitOutcome::Refused { status } => format!("refused with {status}"),
        SubmitOutcome::Failed { reason } => reason.to_string(),
    }
}

/// Runs one pass for a claimed message. Store errors end the pass (logged):
/// the message keeps its claim, and is taken up again when the claim lapses.
pub(super) async fn dispatch(context: Arc<Context>, claim: ClaimedMessage) {
    let id = claim.message.id.clone();
    if let Err(error) = run(&context, &claim).await {
        warn!(message_id = %id, %error, "dispatch: the store failed; the message waits for its claim to lapse");
    }
}

async fn run(context: &Context, claim: &ClaimedMessage) -> StoreResult<()> {
    let store = &context.store;
    let message = &claim.message;
    let refund = context.config.refund_on_failure;
    let id = message.id.as_str();
    let input = RouteInput {
        account: &message.account,
        group: None,
        source: &message.source.addr,
        destination: &message.destination.addr,
        text: None,
        data_coding: message.data_coding,
        tags: &[],
    };
    let health = |name: &str| context.connectors.is_healthy(name);
    let Some(decision) = context
        .routes
        .route_for(&input, jiff::Timestamp::now(), &health)
    else {
        return store
            .record_failure(id, "no route", refund, SystemTime::now())
            .await;
    };
    let segment = match segment(claim, &decision.actions) {
        Ok(segment) => segment,
        Err(why) => {
            return store
                .record_failure(id, &why, refund, SystemTime::now())
                .await;
        }
    };

    let progress = &claim.progress;
    let mut order: Vec<&Arc<str>> = decision
        .connectors
        .iter()
        .filter(|name| {
            !progress
                .abandoned
                .iter()
                .any(|gone| gone.as_str() == &***name)
        })
        .collect();
    // A retry goes back to the connector it is being retried on first.
    if let Some(current) = &progress.connector
        && let Some(position) = order.iter().position(|name| &***name == current.as_str())
    {
        order[..=position].rotate_right(1);
    }

    for name in order {
        let name: &str = name;
        let Some(client) = context.connectors.get(name) else {
            store
                .record_submit_result(
                    id,
                    name,
                    AttemptResult::FailOver,
                    "the connector is not running",
                    SystemTime::now(),
                )
                .await?;
            continue;
        };
        let earlier = match &progress.connector {
            Some(current) if current == name => progress.attempts,
            _ => 0,
        };
        store
            .record_attempt(id, name, &decision.route, SystemTime::now())
            .await?;
        let outcome = client.submit(&segment).await;
        let detail = describe(&outcome);
        debug!(message_id = %id, connector = %name, %detail, "dispatch: submit answered");
        let now = SystemTime::now();
        let result = match classify(&outcome) {
            Verdict::Submitted(provider_id) => AttemptResult::Submitted { provider_id },
            Verdict::Final => AttemptResult::Rejected { refund },
            Verdict::FailOver => AttemptResult::FailOver,
            Verdict::Transient => match usize::try_from(earlier)
                .ok()
                .and_then(|tried| context.config.retry_delays.get(tried))
            {
                Some(delay) => AttemptResult::RetryLater { at: now + *delay },
                None => AttemptResult::FailOver,
            },
        };
        let pass_over = result == AttemptResult::FailOver;
        store
            .record_submit_result(id, name, result, &detail, now)
            .await?;
        if !pass_over {
            return Ok(());
        }
    }
    store
        .record_failure(
            id,
            &format!(
                "every connector of route {} refused it or could not take it",
                decision.route
            ),
            refund,
            SystemTime::now(),
        )
        .await
}

/// The submit_sm fields for a stored message, with the route's actions
/// applied. The validity sent is the message's expiry, shortened to the
/// route's cap (counted from acceptance); our own expiry stays as stored.
fn segment(claim: &ClaimedMessage, actions: &RouteActions) -> Result<OutboundSegment, String> {
    let message = &claim.message;
    let text = |what: &str, value: &str| {
        COctetString::try_from(value)
            .map_err(|_| format!("the stored {what} {value:?} cannot be sent"))
    };
    let sender = actions.sender.as_deref().unwrap_or(&message.source.addr);
    let cap = actions
        .validity_cap
        .and_then(|cap| message.accepted_at.checked_add(cap));
    let expiry = match (message.expires_at, cap) {
        (Some(expires), Some(cap)) => Some(expires.min(cap)),
        (expires, cap) => expires.or(cap),
    };
    let validity_period = match expiry {
        Some(at) => {
            let written = smpp::time::format_absolute(at, 0)
                .map_err(|e| format!("the validity cannot be written: {e}"))?;
            text("validity", &written)?
        }
        None => COctetString::empty(),
    };
    Ok(OutboundSegment {
        message_id: message.id.clone(),
        source: Address::new(
            actions.source_ton.unwrap_or(message.source.ton),
            actions.source_npi.unwrap_or(message.source.npi),
            text("sender", sender)?,
        ),
        destination: Address::new(
            message.destination.ton,
            message.destination.npi,
            text("destination", &message.destination.addr)?,
        ),
        esm_class: message.esm_class,
        protocol_id: claim.protocol_id,
        priority: claim.priority,
        data_coding: message.data_coding,
        registered_delivery: FINAL_RECEIPT,
        validity_period,
        short_message: Bytes::from(message.payload.clone()),
        tlvs: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: CommandStatus) -> Verdict {
        classify(&SubmitOutcome::Refused { status })
    }

    #[test]
    fn submit_fail_fails_over_at_once() {
        assert_eq!(refused(CommandStatus::ESME_RSUBMITFAIL), Verdict::FailOver);
    }

    #[test]
    fn throttling_system_errors_and_lost_answers_are_retried() {
        for status in [
            CommandStatus::ESME_RTHROTTLED,
            CommandStatus::ESME_RSYSERR,
            CommandStatus::ESME_RMSGQFUL,
        ] {
            assert_eq!(refused(status), Verdict::Transient, "{status:?}");
        }
        for reason in [
            SubmitFailure::Timeout,
            SubmitFailure::ConnectionLost,
            SubmitFailure::NotBound,
        ] {
            assert_eq!(
                classify(&SubmitOutcome::Failed { reason }),
                Verdict::Transient
            );
        }
    }

    #[test]
    fn a_bad_destination_or_length_is_final() {
        assert_eq!(refused(CommandStatus::ESME_RINVDSTADR), Verdict::Final);
        assert_eq!(refused(CommandStatus::ESME_RINVMSGLEN), Verdict::Final);
    }
}

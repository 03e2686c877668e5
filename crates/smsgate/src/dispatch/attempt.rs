//! One message's dispatch pass: route it, then try the route's connectors
//! in order until one takes it, one refuses it for good, a transient
//! failure asks for a retry later, or none is left.
//!
//! Each attempt's outcome is written to the store as soon as it is known,
//! with the route, the connector and the attempt's number, in one write.
//! Nothing is written before the submit: a crash between the submit and
//! that write leaves the message `queued`, and it is sent again after the
//! restart (the at-least-once window: at most the messages in flight). A
//! retry is not waited for here: the message goes back to the store, due
//! again after the delay, and the pass ends.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use smpp::receipt::ReceiptStat;
use smpp::{Address, COctetString};
use tracing::{debug, info, warn};

use super::outcomes::Verdict;
use super::{Context, shape};
use crate::connectors::{OutboundSegment, SubmitOutcome};
use crate::routing::{RouteActions, RouteInput};
use crate::store::{Attempt, AttemptResult, ClaimedMessage, Store, StoreResult};

/// registered_delivery sent to providers: a final receipt, whatever the
/// customer asked for, because tracking needs it to end the message.
const FINAL_RECEIPT: u8 = 1;

/// How long a message whose only connectors left are paused waits before
/// it is looked at again. Each look writes a trace line, so not too often;
/// a resume is felt within this time.
const PAUSED_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The outcome in words, for the trace.
fn describe(outcome: &SubmitOutcome) -> String {
    match outcome {
        SubmitOutcome::Accepted { .. } => "accepted".to_string(),
        SubmitOutcome::Refused { status } => format!("refused with {status}"),
        SubmitOutcome::HttpRefused { status: 0, detail } => format!("not sendable: {detail}"),
        SubmitOutcome::HttpRefused { status, detail } => format!("HTTP {status}: {detail}"),
        SubmitOutcome::Failed { reason } => reason.to_string(),
    }
}

/// The text of a stored message, for routes that filter on it (and for
/// operators looking at it): its payload without a UDH, decoded by its
/// data_coding; `None` when it cannot be read as text (binary data), so
/// text filters do not match.
pub(crate) fn routing_text(esm_class: u8, data_coding: u8, payload: &[u8]) -> Option<String> {
    let body = if esm_class & smpp::types::esm_class::UDHI != 0 {
        let header = usize::from(*payload.first()?);
        payload.get(1 + header..)?
    } else {
        payload
    };
    smstext::decode(data_coding, body).ok()
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
    if message
        .expires_at
        .is_some_and(|expires| expires <= SystemTime::now())
    {
        info!(message_id = %id, "dispatch: message expired before sending");
        let attempt = Attempt {
            connector: "",
            route: "",
            number: 0,
        };
        return store
            .record_submit_result(id, attempt, AttemptResult::Expired, "", SystemTime::now())
            .await;
    }
    let setup = context.setup();
    let group = if setup.routes.uses_group() {
        context.group_of(&message.account).await
    } else {
        None
    };
    let text = if setup.routes.uses_text() {
        routing_text(message.esm_class, message.data_coding, &message.payload)
    } else {
        None
    };
    let input = RouteInput {
        account: &message.account,
        group: group.as_deref(),
        source: &message.source.addr,
        destination: &message.destination.addr,
        text: text.as_deref(),
        data_coding: message.data_coding,
        tags: &message.tags,
    };
    let health = |name: &str| context.is_healthy(&setup, name);
    let Some(decision) = setup
        .routes
        .route_for(&input, jiff::Timestamp::now(), &health)
    else {
        return record_failure(store.as_ref(), id, "no route", refund, SystemTime::now()).await;
    };
    let segment = match segment(claim, &decision.actions) {
        Ok(segment) => segment,
        Err(why) => {
            return record_failure(store.as_ref(), id, &why, refund, SystemTime::now()).await;
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
    // A retry goes back to the connector it is being retried on first,
    // unless that one has lost its binds since.
    if let Some(current) = &progress.connector
        && health(current)
        && let Some(position) = order.iter().position(|name| &***name == current.as_str())
    {
        order[..=position].rotate_right(1);
    }

    // A paused connector is passed over, not abandoned: the message waits
    // for it when nothing else takes it. So is one with no bind up while a
    // later one has a bind: no attempt (and no retries) against a carrier
    // known to be down when another can take the message now.
    let mut paused = None;
    for (index, name) in order.iter().enumerate() {
        let name: &str = name;
        if context.is_paused(name) {
            paused.get_or_insert(name);
            continue;
        }
        if !health(name)
            && order[index + 1..]
                .iter()
                .any(|other| health(other) && !context.is_paused(other))
        {
            continue;
        }
        let passed_over = Attempt {
            connector: name,
            route: &decision.route,
            number: 0,
        };
        let Some(link) = setup.connectors.get(name) else {
            store
                .record_submit_result(
                    id,
                    passed_over,
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
        let attempt = Attempt {
            number: earlier + 1,
            ..passed_over
        };
        let parts = shape::shape(message, link.long_messages());
        let mut provider_ids = Vec::with_capacity(parts.len());
        let mut refusal = None;
        for part in parts {
            let mut submit = segment.clone();
            submit.esm_class = part.esm_class;
            submit.short_message = part.short_message;
            submit.tlvs = part.tlvs;
            let sent = std::time::Instant::now();
            let answer = link.submit(&submit).await;
            if let Some(metrics) = &context.metrics {
                metrics.provider_answered(name, sent.elapsed());
            }
            match answer {
                SubmitOutcome::Accepted { provider_id } => provider_ids.push(provider_id),
                other => {
                    refusal = Some(other);
                    break;
                }
            }
        }
        let more_ids = provider_ids.split_off(provider_ids.len().min(1));
        let outcome = refusal.unwrap_or_else(|| SubmitOutcome::Accepted {
            provider_id: provider_ids.pop().unwrap_or_default(),
        });
        let detail = if more_ids.is_empty() {
            describe(&outcome)
        } else {
            format!("{} in {} segments", describe(&outcome), more_ids.len() + 1)
        };
        debug!(message_id = %id, route = %decision.route, connector = %name, %detail, "dispatch: submit answered");
        let now = SystemTime::now();
        let verdict = link.outcomes().classify(&outcome);
        if let Some(metrics) = &context.metrics {
            metrics.submitted(name, &outcome, verdict);
        }
        let result = match (verdict, outcome) {
            (Verdict::Submitted, SubmitOutcome::Accepted { provider_id }) => {
                if link.is_synchronous() {
                    return submitted_synchronously(
                        context,
                        id,
                        attempt,
                        provider_id,
                        &more_ids,
                        &detail,
                    )
                    .await;
                }
                AttemptResult::Submitted { provider_id }
            }
            // Only an accepted outcome classifies as submitted.
            (Verdict::Submitted, _) | (Verdict::Final, _) => AttemptResult::Rejected { refund },
            (Verdict::FailOver, _) => AttemptResult::FailOver,
            (Verdict::Retry, _) => match usize::try_from(earlier)
                .ok()
                .and_then(|tried| context.config.retry_delays.get(tried))
            {
                Some(delay) => AttemptResult::RetryLater { at: now + *delay },
                None => AttemptResult::FailOver,
            },
        };
        let pass_over = result == AttemptResult::FailOver;
        let submitted = matches!(result, AttemptResult::Submitted { .. });
        store
            .record_submit_result(id, attempt, result, &detail, now)
            .await?;
        if submitted && !more_ids.is_empty() {
            // The first segment's id went with the result; receipts for the
            // other segments find the message by theirs.
            store.add_provider_ids(id, name, &more_ids, now).await?;
        }
        if !pass_over {
            return Ok(());
        }
    }
    if let Some(name) = paused {
        let now = SystemTime::now();
        let waiting = Attempt {
            connector: name,
            route: &decision.route,
            number: match &progress.connector {
                Some(current) if current == name => progress.attempts,
                _ => 0,
            },
        };
        return store
            .record_submit_result(
                id,
                waiting,
                AttemptResult::RetryLater {
                    at: now + PAUSED_RECHECK,
                },
                "paused by an operator",
                now,
            )
            .await;
    }
    record_failure(
        store.as_ref(),
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

/// Ends a message that cannot be sent (`failed`), with its one log line.
async fn record_failure(
    store: &dyn Store,
    id: &str,
    reason: &str,
    refund: bool,
    now: SystemTime,
) -> StoreResult<()> {
    info!(message_id = %id, %reason, refund, "dispatch: message failed");
    store.record_failure(id, reason, refund, now).await
}

/// A synchronous connector took the message: its answer is the final
/// outcome, so the message is submitted and delivered in one go (the
/// DELIVRD receipt is applied as if the provider had sent it). A provider
/// that gave no id gets our message id as its id.
async fn submitted_synchronously(
    context: &Context,
    id: &str,
    attempt: Attempt<'_>,
    provider_id: String,
    more_ids: &[String],
    detail: &str,
) -> StoreResult<()> {
    let provider_id = if provider_id.is_empty() {
        id.to_string()
    } else {
        provider_id
    };
    let connector = attempt.connector;
    let now = SystemTime::now();
    context
        .store
        .record_submit_result(
            id,
            attempt,
            AttemptResult::Submitted {
                provider_id: provider_id.clone(),
            },
            &format!("{detail} (synchronous connector: this answer is final)"),
            now,
        )
        .await?;
    if !more_ids.is_empty() {
        context
            .store
            .add_provider_ids(id, connector, more_ids, now)
            .await?;
    }
    // Counted as a receipt: the message ends the way a DELIVRD one ends it.
    if let Some(metrics) = &context.metrics {
        metrics.receipt(connector, ReceiptStat::Delivered.as_str());
    }
    context
        .store
        .apply_receipt(connector, &provider_id, &ReceiptStat::Delivered, "", now)
        .await
        .map(drop)
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
    use super::routing_text;

    #[test]
    fn routing_text_skips_the_udh_and_decodes_by_data_coding() {
        let mut payload = vec![5, 0, 3, 7, 2, 1];
        payload.extend_from_slice(b"Hello");
        assert_eq!(routing_text(0x40, 0, &payload).as_deref(), Some("Hello"));
        assert_eq!(
            routing_text(0, 8, &[0, 0x48, 0, 0x69]).as_deref(),
            Some("Hi")
        );
        assert_eq!(
            routing_text(0x40, 0, &[9, 1]),
            None,
            "a UDH longer than the payload"
        );
    }
}

//! Step 5: when to send a message and when to give up on it.
//!
//! Both SMPP times are resolved to instants here, relative ones counted from
//! the moment of acceptance, so nothing downstream handles SMPP time text.
//! - A schedule in the past means "now" (clients with a skewed clock should
//!   not have their messages refused), so it is dropped.
//! - A validity that has already passed is refused (ESME_RINVEXPIRY); one
//!   beyond `max_validity` after the first send is shortened to it; none
//!   means `default_validity` after the first send.
//! - A schedule at or after the validity is refused (ESME_RINVSCHED): the
//!   message would expire before its first attempt.

use std::time::SystemTime;

use smpp::CommandStatus;
use smpp::time::{SmppTime, TimeError};

use super::{AcceptConfig, Rejection, Submission};

/// The resolved times of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// When to send it; `None` for now.
    pub schedule_at: Option<SystemTime>,
    /// When to give up on it.
    pub expires_at: SystemTime,
}

fn parse(field: &[u8], now: SystemTime) -> Result<Option<SystemTime>, TimeError> {
    SmppTime::parse(field)?
        .map(|time| time.resolve(now))
        .transpose()
}

/// Resolves and checks schedule_delivery_time and validity_period at `now`.
pub fn times(
    submission: &Submission,
    config: &AcceptConfig,
    now: SystemTime,
) -> Result<Times, Rejection> {
    let bad_schedule =
        |reason: String| Rejection::new(CommandStatus::ESME_RINVSCHED, "invalid_schedule", reason);
    let bad_validity =
        |reason: String| Rejection::new(CommandStatus::ESME_RINVEXPIRY, "invalid_validity", reason);

    let schedule_at = parse(submission.schedule_delivery_time.as_bytes(), now)
        .map_err(|error| bad_schedule(format!("schedule_delivery_time: {error}")))?
        .filter(|&at| at > now);
    let validity = parse(submission.validity_period.as_bytes(), now)
        .map_err(|error| bad_validity(format!("validity_period: {error}")))?;

    let first_send = schedule_at.unwrap_or(now);
    let latest = first_send
        .checked_add(config.max_validity)
        .ok_or_else(|| bad_schedule(TimeError::Unrepresentable.to_string()))?;
    let expires_at = match validity {
        Some(at) if at <= now => {
            return Err(bad_validity("validity_period has already passed".into()));
        }
        Some(at) => at.min(latest),
        None => first_send
            .checked_add(config.default_validity)
            .ok_or_else(|| bad_validity(TimeError::Unrepresentable.to_string()))?
            .min(latest),
    };
    if schedule_at.is_some_and(|at| at >= expires_at) {
        return Err(bad_schedule(
            "schedule_delivery_time is at or after the message expires (validity_period)".into(),
        ));
    }
    Ok(Times {
        schedule_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp::COctetString;
    use std::time::{Duration, UNIX_EPOCH};

    const HOUR: Duration = Duration::from_secs(3600);

    fn now() -> SystemTime {
        // 2026-03-01T12:00:00Z
        UNIX_EPOCH + Duration::from_secs(1_772_366_400)
    }

    fn submission(schedule: &str, validity: &str) -> Submission {
        Submission {
            callback_url: None,
            schedule_delivery_time: COctetString::try_from(schedule).expect("no NUL"),
            validity_period: COctetString::try_from(validity).expect("no NUL"),
            ..Submission::default()
        }
    }

    fn status(schedule: &str, validity: &str) -> CommandStatus {
        times(
            &submission(schedule, validity),
            &AcceptConfig::default(),
            now(),
        )
        .expect_err("rejected")
        .status
    }

    #[test]
    fn no_times_mean_now_and_the_default_validity() {
        let t = times(&submission("", ""), &AcceptConfig::default(), now()).expect("valid");
        assert_eq!(t.schedule_at, None);
        assert_eq!(
            t.expires_at,
            now() + AcceptConfig::default().default_validity
        );
    }

    #[test]
    fn relative_validity_counts_from_acceptance() {
        let t = times(
            &submission("", "000000020000000R"),
            &AcceptConfig::default(),
            now(),
        )
        .expect("valid");
        assert_eq!(t.expires_at, now() + 2 * HOUR);
    }

    #[test]
    fn validity_beyond_the_maximum_is_shortened() {
        let t = times(
            &submission("", "000030000000000R"),
            &AcceptConfig::default(),
            now(),
        )
        .expect("valid");
        assert_eq!(t.expires_at, now() + AcceptConfig::default().max_validity);
    }

    #[test]
    fn unreadable_validity_is_invalid_expiry() {
        assert_eq!(status("", "tomorrow"), CommandStatus::ESME_RINVEXPIRY);
    }

    #[test]
    fn validity_in_the_past_is_invalid_expiry() {
        assert_eq!(
            status("", "010101000000000+"),
            CommandStatus::ESME_RINVEXPIRY
        );
    }

    #[test]
    fn unreadable_schedule_is_invalid_schedule() {
        assert_eq!(
            status("261399000000000+", ""),
            CommandStatus::ESME_RINVSCHED
        );
    }

    #[test]
    fn schedule_after_validity_is_invalid_schedule() {
        assert_eq!(
            status("000000030000000R", "000000020000000R"),
            CommandStatus::ESME_RINVSCHED
        );
    }

    #[test]
    fn schedule_in_the_past_means_now() {
        let t = times(
            &submission("010101000000000+", ""),
            &AcceptConfig::default(),
            now(),
        )
        .expect("valid");
        assert_eq!(t.schedule_at, None);
    }

    #[test]
    fn default_validity_counts_from_the_schedule() {
        let t = times(
            &submission("000001000000000R", ""),
            &AcceptConfig::default(),
            now(),
        )
        .expect("valid");
        assert_eq!(t.schedule_at, Some(now() + 24 * HOUR));
        assert_eq!(
            t.expires_at,
            now() + 24 * HOUR + AcceptConfig::default().default_validity
        );
    }
}

//! Steps 1 and 2: the destination (a valid number) and the sender (one the
//! account may use). Both end as the [`StoredAddress`] the message is stored
//! with: international destinations normalised to E.164 digits without `+`.

use smpp::types::{npi, ton};
use smpp::{Address, CommandStatus};

use super::Rejection;
use super::numbers::NumberTable;
use crate::store::{Account, StoredAddress};

/// The longest address we take, in characters: submit_sm's field holds 20
/// (21 with its NUL); data_sm's longer field is held to the same bound.
pub const MAX_ADDRESS_LEN: usize = 21;
/// The longest alphanumeric sender id GSM can carry (11 septets).
pub const MAX_ALPHANUMERIC_SENDER_LEN: usize = 11;

/// Validates the destination: present, at most [`MAX_ADDRESS_LEN`]
/// characters, and a number. International numbers (TON 1, or TON 0 written
/// with a leading `+`) must be valid E.164 numbers and are stored as TON 1,
/// NPI 1, in E.164 digits (national prefix removed, no `+`); a `+` is also
/// tolerated on TON 1, which some clients send. Other TONs (national, short
/// codes) can only be checked to be digits.
pub fn destination(address: &Address, numbers: &NumberTable) -> Result<StoredAddress, Rejection> {
    let invalid = |reason: String| {
        Rejection::new(
            CommandStatus::ESME_RINVDSTADR,
            "invalid_destination",
            reason,
        )
    };
    let text = address
        .addr
        .to_str()
        .map_err(|_| invalid("the destination address is not text".into()))?;
    if text.is_empty() {
        return Err(Rejection::new(
            CommandStatus::ESME_RINVDSTADR,
            "missing_destination",
            "the destination address is empty",
        ));
    }
    if text.chars().count() > MAX_ADDRESS_LEN {
        return Err(invalid(format!(
            "the destination address has {} characters; at most {MAX_ADDRESS_LEN} are allowed",
            text.chars().count()
        )));
    }
    let international = match (address.ton, text.strip_prefix('+')) {
        (ton::INTERNATIONAL, digits) => Some(digits.unwrap_or(text)),
        (ton::UNKNOWN, Some(digits)) => Some(digits),
        _ => None,
    };
    match international {
        Some(digits) => {
            let number = numbers.validate(digits).ok_or_else(|| {
                invalid(format!(
                    "+{digits} is not a valid international (E.164) number"
                ))
            })?;
            Ok(StoredAddress {
                ton: ton::INTERNATIONAL,
                npi: npi::ISDN,
                addr: number.into_digits(),
            })
        }
        None if is_digits(text) => Ok(StoredAddress {
            ton: address.ton,
            npi: address.npi,
            addr: text.to_owned(),
        }),
        None => Err(invalid(format!(
            "destination {text:?} (TON {}) must be digits",
            address.ton
        ))),
    }
}

/// Validates the sender. An empty one takes the account's default sender
/// (the operator chose it, so the allowlist does not apply to it; its form
/// still must be right). A given sender must match the account's allowed
/// senders (if it has any). Alphanumeric senders (TON 5, or non-numeric text
/// on TON 0, which many clients send) must be at most 11 GSM characters;
/// other TONs must be digits (a leading `+` on TON 1 is dropped).
pub fn sender(address: &Address, account: &Account) -> Result<StoredAddress, Rejection> {
    let invalid =
        |reason: String| Rejection::new(CommandStatus::ESME_RINVSRCADR, "invalid_sender", reason);
    let text = address
        .addr
        .to_str()
        .map_err(|_| invalid("the source address is not text".into()))?;
    if text.is_empty() {
        let default = account.default_sender.as_deref().ok_or_else(|| {
            Rejection::new(
                CommandStatus::ESME_RINVSRCADR,
                "missing_sender",
                "the source address is empty and the account has no default sender",
            )
        })?;
        return well_formed_sender(&default_sender_address(default)).map_err(invalid);
    }
    if !sender_allowed(&account.allowed_senders, text) {
        return Err(Rejection::new(
            CommandStatus::ESME_RINVSRCADR,
            "sender_not_allowed",
            format!(
                "sender {text:?} is not among the senders account {} may use",
                account.system_id
            ),
        ));
    }
    well_formed_sender(&StoredAddress {
        ton: address.ton,
        npi: address.npi,
        addr: text.to_owned(),
    })
    .map_err(invalid)
}

/// The address of a configured default sender: digits (with or without `+`)
/// are an international number, anything else an alphanumeric id.
fn default_sender_address(default: &str) -> StoredAddress {
    let digits = default.strip_prefix('+').unwrap_or(default);
    if is_digits(digits) {
        StoredAddress {
            ton: ton::INTERNATIONAL,
            npi: npi::ISDN,
            addr: digits.to_owned(),
        }
    } else {
        StoredAddress {
            ton: ton::ALPHANUMERIC,
            npi: npi::UNKNOWN,
            addr: default.to_owned(),
        }
    }
}

/// Checks a sender's form and normalises it (drops the `+` of TON 1).
fn well_formed_sender(address: &StoredAddress) -> Result<StoredAddress, String> {
    let text = address.addr.as_str();
    let length = text.chars().count();
    if length > MAX_ADDRESS_LEN {
        return Err(format!(
            "the source address has {length} characters; at most {MAX_ADDRESS_LEN} are allowed"
        ));
    }
    let numeric = text
        .strip_prefix('+')
        .filter(|_| address.ton == ton::INTERNATIONAL)
        .unwrap_or(text);
    if is_digits(numeric) && address.ton != ton::ALPHANUMERIC {
        return Ok(StoredAddress {
            addr: numeric.to_owned(),
            ..address.clone()
        });
    }
    if address.ton != ton::ALPHANUMERIC && address.ton != ton::UNKNOWN {
        return Err(format!(
            "sender {text:?} (TON {}) must be digits",
            address.ton
        ));
    }
    if length > MAX_ALPHANUMERIC_SENDER_LEN {
        return Err(format!(
            "alphanumeric sender {text:?} has {length} characters; at most {MAX_ALPHANUMERIC_SENDER_LEN} fit"
        ));
    }
    if smstext::encode(text, smstext::Encoding::Gsm7).is_err() {
        return Err(format!(
            "alphanumeric sender {text:?} has characters outside the GSM alphabet"
        ));
    }
    Ok(address.clone())
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `sender` is one of `allowed`: an empty list allows any sender;
/// entries are exact ids or patterns where `*` stands for any run of
/// characters and `?` for one, compared without regard to ASCII case. A
/// leading `+` is ignored on both sides, so `+4477*` covers `447700900123`.
pub fn sender_allowed(allowed: &[String], sender: &str) -> bool {
    let sender = sender.strip_prefix('+').unwrap_or(sender);
    allowed.is_empty()
        || allowed.iter().any(|pattern| {
            let pattern = pattern.strip_prefix('+').unwrap_or(pattern);
            wildcard_match(pattern, sender)
        })
}

/// Glob matching with `*` and `?`, ASCII case-insensitive, in linear time
/// (the classic backtrack-to-last-star algorithm), so a hostile pattern or
/// sender costs no more than their lengths.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str], sender: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        sender_allowed(&patterns, sender)
    }

    #[test]
    fn empty_allowlist_allows_any_sender() {
        assert!(allowed(&[], "Anything"));
    }

    #[test]
    fn exact_sender_matches_without_regard_to_case() {
        assert!(allowed(&["MyBrand"], "MYBRAND"));
        assert!(!allowed(&["MyBrand"], "MyBrand2"));
    }

    #[test]
    fn star_and_question_mark_patterns_match() {
        assert!(allowed(&["4477*"], "447700900123"));
        assert!(allowed(&["+4477*"], "447700900123"));
        assert!(allowed(&["Shop?"], "shop1"));
        assert!(!allowed(&["Shop?"], "shop12"));
        assert!(allowed(&["*brand*"], "MyBrandUK"));
        assert!(allowed(&["a*b*c"], "aXXbYYbc"));
        assert!(!allowed(&["a*b*c"], "aXXbYYbd"));
    }
}

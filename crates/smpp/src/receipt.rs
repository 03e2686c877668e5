//! Delivery-receipt text (SMPP 3.4 Appendix B): parse what carriers send,
//! write the standard form for our customers.
//!
//! The standard form is
//! `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`,
//! but the appendix is informative, and carriers vary it: keys in other
//! cases or spellings (`Stat:`, `submit_date:`), fields missing or reordered,
//! 12-digit dates, extra spaces, extra fields. Parsing therefore asks only
//! for the id and reads everything else if it can; formatting always writes
//! the standard form, because our customers' parsers are often strict.
//!
//! `text:` is read as the last field, running to the end: it echoes the
//! start of the subscriber's message, which may hold spaces, colons, and
//! even words like `stat:DELIVRD`, and must never be read as fields.
//!
//! Carriers also disagree on how to write message ids: some answer
//! submit_sm with a hex id and put the same number in decimal in the
//! receipt, or the reverse. [`ids_match`] compares ids across the two.
//!
//! This module reads and writes the text only; the deliver_sm around it
//! (esm_class, receipted_message_id and message_state TLVs) is the caller's.

use std::fmt;
use std::time::SystemTime;

use crate::time::{ReceiptDateFormat, format_receipt_date, parse_receipt_date};

/// How many characters of the message a receipt echoes in `text:`.
const TEXT_LENGTH: usize = 20;
/// How much of an unreadable receipt an error quotes, for logs.
const EXCERPT_LENGTH: usize = 40;

/// One delivery receipt, as read from or written to a short_message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message id exactly as the carrier wrote it (decimal, hex, or
    /// anything else): comparing it with an id from submit_sm_resp is
    /// [`ids_match`]'s job, so nothing is lost by normalising early.
    pub id: String,
    /// `sub:`, messages submitted; 0 when absent or unreadable (the counts
    /// are informational and nothing depends on them).
    pub submitted: u32,
    /// `dlvrd:`, messages delivered; 0 when absent or unreadable.
    pub delivered: u32,
    /// `submit date:`, read as UTC; `None` when absent or not a valid date.
    pub submit_date: Option<SystemTime>,
    /// `done date:`, read as UTC; `None` when absent or not a valid date.
    pub done_date: Option<SystemTime>,
    /// `stat:`; [`ReceiptStat::Unknown`] when absent, which says no less
    /// than an absent word. Callers with a message_state TLV should prefer
    /// it: it is the machine-readable field.
    pub stat: ReceiptStat,
    /// `err:` as text, because carriers write it as 3-digit decimal, hex, or
    /// their own codes; empty when absent (and then written as `000`).
    pub err: String,
    /// `text:`, the start of the message. Read in full (trimmed of
    /// surrounding whitespace); written truncated to 20 characters.
    pub text: String,
}

/// A receipt with no id cannot be matched to any message, so it is the one
/// thing a receipt cannot lack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery receipt has no id field: {excerpt:?}")]
pub struct MissingReceiptId {
    /// The start of the receipt text, for the log.
    pub excerpt: String,
}

impl Receipt {
    /// Reads receipt text from a short_message (or message_payload). Octets
    /// that are not UTF-8 are replaced, which loses nothing a receipt uses:
    /// its keys and values are ASCII.
    pub fn parse(short_message: &[u8]) -> Result<Receipt, MissingReceiptId> {
        let decoded = String::from_utf8_lossy(short_message);
        let (fields, text) = split_off_text(&decoded);
        let mut id = None;
        let mut submitted = None;
        let mut delivered = None;
        let mut submit_date = None;
        let mut done_date = None;
        let mut stat = None;
        let mut err = None;
        // The first occurrence of a key wins: it is where the standard puts it.
        for (key, value) in key_values(fields) {
            match key {
                Key::Id => id = id.or(Some(value)),
                Key::Submitted => submitted = submitted.or(Some(value)),
                Key::Delivered => delivered = delivered.or(Some(value)),
                Key::SubmitDate => submit_date = submit_date.or(Some(value)),
                Key::DoneDate => done_date = done_date.or(Some(value)),
                Key::Stat => stat = stat.or(Some(value)),
                Key::Err => err = err.or(Some(value)),
                Key::Other => {}
            }
        }
        let id = match id {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(MissingReceiptId {
                    excerpt: decoded.chars().take(EXCERPT_LENGTH).collect(),
                });
            }
        };
        let count = |value: Option<&str>| value.and_then(|v| v.parse().ok()).unwrap_or(0);
        let date = |value: Option<&str>| value.and_then(|v| parse_receipt_date(v.as_bytes()).ok());
        Ok(Receipt {
            id,
            submitted: count(submitted),
            delivered: count(delivered),
            submit_date: date(submit_date),
            done_date: date(done_date),
            stat: ReceiptStat::from_word(stat.unwrap_or("")),
            err: err.unwrap_or("").to_string(),
            text: text.unwrap_or("").to_string(),
        })
    }

    /// The standard form, with 10-digit (`YYMMDDhhmm`) dates as SMPP 3.4
    /// shows them.
    pub fn format(&self) -> String {
        self.format_with(ReceiptDateFormat::Minutes)
    }

    /// The standard form, with dates as `dates` says (for customers whose
    /// software expects seconds). A missing date is written empty, which
    /// [`Receipt::parse`] reads back as missing.
    pub fn format_with(&self, dates: ReceiptDateFormat) -> String {
        let date = |date: Option<SystemTime>| {
            date.map(|d| format_receipt_date(d, dates))
                .unwrap_or_default()
        };
        let err = if self.err.is_empty() {
            "000"
        } else {
            &self.err
        };
        let text: String = self.text.chars().take(TEXT_LENGTH).collect();
        format!(
            "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{} text:{}",
            self.id,
            self.submitted,
            self.delivered,
            date(self.submit_date),
            date(self.done_date),
            self.stat,
            err,
            text
        )
    }

    /// The id read as hex and written in decimal (`1A` → `26`), for a
    /// carrier that gives the id in hex here and in decimal elsewhere;
    /// `None` if the id is not hex or exceeds 128 bits.
    pub fn id_as_decimal(&self) -> Option<String> {
        parse_hex(&self.id).map(|n| n.to_string())
    }

    /// The id read as decimal and written in lowercase hex (`26` → `1a`),
    /// for the reverse case; `None` if the id is not decimal or exceeds 128
    /// bits.
    pub fn id_as_hex(&self) -> Option<String> {
        parse_decimal(&self.id).map(|n| format!("{n:x}"))
    }
}

/// Whether a receipt's id names the message whose submit_sm_resp carried
/// `submitted_id`: the same text (ignoring ASCII case and leading zeros), or
/// the same number written in hex on one side and decimal on the other.
///
/// The cross-representation match can pair different messages (`10` read as
/// hex is 16), so callers look for an exact match first and use this for
/// carriers known to mix representations. Empty ids match nothing.
pub fn ids_match(receipt_id: &str, submitted_id: &str) -> bool {
    let receipt_id = receipt_id.trim();
    let submitted_id = submitted_id.trim();
    if receipt_id.is_empty() || submitted_id.is_empty() {
        return false;
    }
    if without_leading_zeros(receipt_id).eq_ignore_ascii_case(without_leading_zeros(submitted_id)) {
        return true;
    }
    let same = |a: Option<u128>, b: Option<u128>| matches!((a, b), (Some(a), Some(b)) if a == b);
    same(parse_hex(receipt_id), parse_decimal(submitted_id))
        || same(parse_decimal(receipt_id), parse_hex(submitted_id))
}

/// The `stat:` word of a receipt, which is also the message_state TLV.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReceiptStat {
    /// `ENROUTE` (message_state 1): on its way, not yet final.
    Enroute,
    /// `DELIVRD` (2): delivered to the handset.
    Delivered,
    /// `EXPIRED` (3): validity period ran out before delivery.
    Expired,
    /// `DELETED` (4): deleted at the SMSC (cancel_sm or administration).
    Deleted,
    /// `UNDELIV` (5): cannot be delivered (bad number, barred, ...).
    Undeliverable,
    /// `ACCEPTD` (6): accepted by the SMSC.
    Accepted,
    /// `UNKNOWN` (7): the SMSC does not know the outcome.
    Unknown,
    /// `REJECTD` (8): refused by the SMSC or the network.
    Rejected,
    /// A carrier-specific word (`FAILED`, `BUFFRED`, ...), kept as received
    /// so it reaches the message's trace.
    Other(String),
}

impl ReceiptStat {
    /// Reads a `stat:` word, ignoring case and accepting the spelled-out
    /// forms some carriers use (`DELIVERED`, `UNDELIVERABLE`). An empty word
    /// is [`ReceiptStat::Unknown`]; any other word is kept in
    /// [`ReceiptStat::Other`].
    pub fn from_word(word: &str) -> ReceiptStat {
        let word = word.trim();
        match word.to_ascii_uppercase().as_str() {
            "ENROUTE" => ReceiptStat::Enroute,
            "DELIVRD" | "DELIVERED" => ReceiptStat::Delivered,
            "EXPIRED" => ReceiptStat::Expired,
            "DELETED" => ReceiptStat::Deleted,
            "UNDELIV" | "UNDELIVERABLE" | "UNDELIVERED" => ReceiptStat::Undeliverable,
            "ACCEPTD" | "ACCEPTED" => ReceiptStat::Accepted,
            "UNKNOWN" | "" => ReceiptStat::Unknown,
            "REJECTD" | "REJECTED" => ReceiptStat::Rejected,
            _ => ReceiptStat::Other(word.to_string()),
        }
    }

    /// The standard 7-letter word (or the carrier's own word).
    pub fn as_str(&self) -> &str {
        match self {
            ReceiptStat::Enroute => "ENROUTE",
            ReceiptStat::Delivered => "DELIVRD",
            ReceiptStat::Expired => "EXPIRED",
            ReceiptStat::Deleted => "DELETED",
            ReceiptStat::Undeliverable => "UNDELIV",
            ReceiptStat::Accepted => "ACCEPTD",
            ReceiptStat::Unknown => "UNKNOWN",
            ReceiptStat::Rejected => "REJECTD",
            ReceiptStat::Other(word) => word,
        }
    }

    /// The state for a message_state TLV value (1-8); `None` for values
    /// SMPP 3.4 does not define.
    pub fn from_message_state(state: u8) -> Option<ReceiptStat> {
        Some(match state {
            1 => ReceiptStat::Enroute,
            2 => ReceiptStat::Delivered,
            3 => ReceiptStat::Expired,
            4 => ReceiptStat::Deleted,
            5 => ReceiptStat::Undeliverable,
            6 => ReceiptStat::Accepted,
            7 => ReceiptStat::Unknown,
            8 => ReceiptStat::Rejected,
            _ => return None,
        })
    }

    /// The message_state TLV value; `None` for a carrier-specific word.
    pub fn message_state(&self) -> Option<u8> {
        match self {
            ReceiptStat::Enroute => Some(1),
            ReceiptStat::Delivered => Some(2),
            ReceiptStat::Expired => Some(3),
            ReceiptStat::Deleted => Some(4),
            ReceiptStat::Undeliverable => Some(5),
            ReceiptStat::Accepted => Some(6),
            ReceiptStat::Unknown => Some(7),
            ReceiptStat::Rejected => Some(8),
            ReceiptStat::Other(_) => None,
        }
    }

    /// Whether no later receipt will change the outcome.
    ///
    /// `ACCEPTD` is not final here although SMPP 3.4 lists it with the final
    /// states: carriers send it as "accepted by the SMSC" before the real
    /// outcome (Kannel treats it the same way), and closing the message on
    /// it would drop that outcome. Carrier-specific words are not final
    /// either: the message stays open until a known final word arrives or
    /// its validity runs out, which loses nothing if the word was final.
    pub fn is_final(&self) -> bool {
        match self {
            ReceiptStat::Delivered
            | ReceiptStat::Expired
            | ReceiptStat::Deleted
            | ReceiptStat::Undeliverable
            | ReceiptStat::Unknown
            | ReceiptStat::Rejected => true,
            ReceiptStat::Enroute | ReceiptStat::Accepted | ReceiptStat::Other(_) => false,
        }
    }
}

impl fmt::Display for ReceiptStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields a receipt parser looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Submitted,
    Delivered,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Other,
}

impl Key {
    /// Recognises a key whatever its case or separators: `Submit_Date`,
    /// `submit date` and `submitdate` are all one key.
    fn from_name(name: &str) -> Key {
        let normalised: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalised.as_str() {
            "id" => Key::Id,
            "sub" => Key::Submitted,
            "dlvrd" => Key::Delivered,
            "submitdate" => Key::SubmitDate,
            "donedate" => Key::DoneDate,
            "stat" => Key::Stat,
            "err" => Key::Err,
            _ => Key::Other,
        }
    }
}

/// Splits receipt text into the fields before `text:` and the trimmed
/// message text after it (`None` when there is no `text:` key).
///
/// The key is the first `text` (any case) that starts the string or follows
/// whitespace, then optional spaces, then a colon.
fn split_off_text(receipt: &str) -> (&str, Option<&str>) {
    let octets = receipt.as_bytes();
    for start in 0..octets.len() {
        let at_word_start = start == 0 || is_separator(octets[start - 1]);
        let is_key = at_word_start
            && octets
                .get(start..start + 4)
                .is_some_and(|word| word.eq_ignore_ascii_case(b"text"));
        if !is_key {
            continue;
        }
        let mut colon = start + 4;
        while octets.get(colon).is_some_and(|&c| c == b' ') {
            colon += 1;
        }
        if octets.get(colon) != Some(&b':') {
            continue;
        }
        // Both cuts are next to ASCII octets, so they fall on char boundaries;
        // `get` keeps that reasoning from ever becoming a panic.
        if let (Some(fields), Some(text)) = (receipt.get(..start), receipt.get(colon + 1..)) {
            let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            return (fields, Some(text));
        }
    }
    (receipt, None)
}

/// Whitespace or the NUL some carriers leave at the end of short_message.
fn is_separator(octet: u8) -> bool {
    octet.is_ascii_whitespace() || octet == 0
}

/// The `key:value` pairs of the fields before `text:`.
///
/// Words are split on whitespace. A word with a colon is a key and its
/// value; the one or two words before it without a colon may be the start
/// of its key (`submit date:`), tried longest first so that a stray word
/// (`junk stat:`) does not hide a known key. A key with nothing after its
/// colon takes the next word as its value (`stat: DELIVRD`), unless that
/// word is itself a key or starts one.
fn key_values(fields: &str) -> Vec<(Key, &str)> {
    let mut words = fields
        .split(|c: char| c.is_ascii_whitespace() || c == '\0')
        .filter(|word| !word.is_empty())
        .peekable();
    let mut loose: Vec<&str> = Vec::new();
    let mut pairs = Vec::new();
    while let Some(word) = words.next() {
        let Some((name, value)) = word.split_once(':') else {
            loose.push(word);
            continue;
        };
        let key = (0..=loose.len().min(2))
            .rev()
            .map(|prefix_words| {
                let prefix = &loose[loose.len() - prefix_words..];
                Key::from_name(&format!("{}{name}", prefix.concat()))
            })
            .find(|&key| key != Key::Other)
            .unwrap_or(Key::Other);
        loose.clear();
        let value = match words.peek() {
            Some(next) if value.is_empty() && !next.contains(':') && !starts_a_key(next) => {
                words.next().unwrap_or(value)
            }
            _ => value,
        };
        pairs.push((key, value));
    }
    pairs
}

/// Whether a word without a colon is the first half of a two-word key.
fn starts_a_key(word: &str) -> bool {
    word.eq_ignore_ascii_case("submit") || word.eq_ignore_ascii_case("done")
}

/// The id without leading zeros, keeping one digit for an all-zero id.
fn without_leading_zeros(id: &str) -> &str {
    let trimmed = id.trim_start_matches('0');
    if trimmed.is_empty() && !id.is_empty() {
        "0"
    } else {
        trimmed
    }
}

/// The id as a hex number, if it is only hex digits and fits 128 bits.
fn parse_hex(id: &str) -> Option<u128> {
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// The id as a decimal number, if it is only digits and fits 128 bits.
fn parse_decimal(id: &str) -> Option<u128> {
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-02-12 14:30:00 UTC.
    const FEB_12_2026_1430: u64 = 1_770_906_600;

    fn unix(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn parse(text: &str) -> Receipt {
        match Receipt::parse(text.as_bytes()) {
            Ok(receipt) => receipt,
            Err(e) => panic!("{e} in {text:?}"),
        }
    }

    #[test]
    fn parses_the_provider_guide_receipt() {
        let receipt = parse(
            "id:abc-123 sub:001 dlvrd:001 submit date:2602121430 done date:2602121430 stat:DELIVRD err:000 text:",
        );
        assert_eq!(
            receipt,
            Receipt {
                id: "abc-123".to_string(),
                submitted: 1,
                delivered: 1,
                submit_date: Some(unix(FEB_12_2026_1430)),
                done_date: Some(unix(FEB_12_2026_1430)),
                stat: ReceiptStat::Delivered,
                err: "000".to_string(),
                text: String::new(),
            }
        );
    }

    #[test]
    fn parses_receipt_with_twelve_digit_dates() {
        let receipt = parse(
            "id:1234567890 sub:001 dlvrd:001 submit date:260212143005 done date:260212143059 stat:DELIVRD err:000 text:Hello",
        );
        assert_eq!(receipt.submit_date, Some(unix(FEB_12_2026_1430 + 5)));
        assert_eq!(receipt.done_date, Some(unix(FEB_12_2026_1430 + 59)));
    }

    #[test]
    fn text_runs_to_the_end_with_spaces_and_colons() {
        let receipt = parse(
            "id:77 sub:001 dlvrd:001 submit date:2602121430 done date:2602121431 stat:DELIVRD err:000 text:Your code: 1234 ok",
        );
        assert_eq!(receipt.text, "Your code: 1234 ok");
    }

    #[test]
    fn words_in_the_message_text_are_not_read_as_fields() {
        let receipt = parse("id:1 stat:UNDELIV err:001 text:id:2 stat:DELIVRD err:000");
        assert_eq!(receipt.id, "1");
        assert_eq!(receipt.stat, ReceiptStat::Undeliverable);
        assert_eq!(receipt.err, "001");
        assert_eq!(receipt.text, "id:2 stat:DELIVRD err:000");
    }

    #[test]
    fn keys_are_read_in_any_case_and_spelling() {
        let receipt = parse(
            "ID:0A1B2C3D Sub:1 DLVRD:0 Submit_Date:2602121430 DoneDate:2602121431 Stat:rejectd Err:0x0B Text:Hi",
        );
        assert_eq!(receipt.id, "0A1B2C3D");
        assert_eq!(receipt.submitted, 1);
        assert_eq!(receipt.delivered, 0);
        assert_eq!(receipt.submit_date, Some(unix(FEB_12_2026_1430)));
        assert_eq!(receipt.done_date, Some(unix(FEB_12_2026_1430 + 60)));
        assert_eq!(receipt.stat, ReceiptStat::Rejected);
        assert_eq!(receipt.err, "0x0B");
        assert_eq!(receipt.text, "Hi");
    }

    #[test]
    fn fields_are_read_in_any_order() {
        let receipt = parse(
            "stat:EXPIRED done date:2602121431 err:027 id:42 submit date:2602121430 dlvrd:000",
        );
        assert_eq!(receipt.id, "42");
        assert_eq!(receipt.stat, ReceiptStat::Expired);
        assert_eq!(receipt.err, "027");
        assert_eq!(receipt.submit_date, Some(unix(FEB_12_2026_1430)));
        assert_eq!(receipt.done_date, Some(unix(FEB_12_2026_1430 + 60)));
    }

    #[test]
    fn missing_fields_get_defaults() {
        // Seen from carriers that drop sub, dlvrd and text.
        let receipt =
            parse("id:7220225171 submit date:1012031423 done date:1012031424 stat:DELIVRD err:000");
        assert_eq!(receipt.submitted, 0);
        assert_eq!(receipt.delivered, 0);
        assert_eq!(receipt.text, "");

        let bare = parse("id:9");
        assert_eq!(bare.stat, ReceiptStat::Unknown);
        assert_eq!(bare.err, "");
        assert_eq!(bare.submit_date, None);
        assert_eq!(bare.done_date, None);
    }

    #[test]
    fn extra_spaces_and_space_after_colon_are_tolerated() {
        let receipt = parse(
            "  id: 42   sub:001  dlvrd:001 submit  date : 2602121430 stat: DELIVRD   err:000 text :  Hi there  ",
        );
        assert_eq!(receipt.id, "42");
        assert_eq!(receipt.submit_date, Some(unix(FEB_12_2026_1430)));
        assert_eq!(receipt.stat, ReceiptStat::Delivered);
        assert_eq!(receipt.text, "Hi there");
    }

    #[test]
    fn unknown_extra_fields_are_ignored() {
        let receipt = parse(
            "id:5f3a sub:001 dlvrd:001 submit date:2602121430 done date:2602121430 mccmnc:23410 stat:DELIVRD network name:Acme err:000 price:0.01 text:x",
        );
        assert_eq!(receipt.id, "5f3a");
        assert_eq!(receipt.stat, ReceiptStat::Delivered);
        assert_eq!(receipt.err, "000");
        assert_eq!(receipt.text, "x");
    }

    #[test]
    fn empty_date_is_read_as_missing_without_taking_the_next_field() {
        let receipt = parse("id:1 submit date: done date:2602121430 stat:DELIVRD");
        assert_eq!(receipt.submit_date, None);
        assert_eq!(receipt.done_date, Some(unix(FEB_12_2026_1430)));
    }

    #[test]
    fn invalid_dates_and_counts_are_read_as_missing() {
        let receipt =
            parse("id:1 sub:abc dlvrd:-1 submit date:2613121430 done date:26021214 stat:DELIVRD");
        assert_eq!(receipt.submitted, 0);
        assert_eq!(receipt.delivered, 0);
        assert_eq!(receipt.submit_date, None);
        assert_eq!(receipt.done_date, None);
    }

    #[test]
    fn trailing_nul_and_invalid_utf8_are_tolerated() {
        let receipt = Receipt::parse(b"id:88 stat:DELIVRD err:000 text:caf\xe9\0");
        let receipt = receipt.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(receipt.id, "88");
        assert_eq!(receipt.text, "caf\u{fffd}");
    }

    #[test]
    fn receipt_without_id_is_an_error() {
        assert_eq!(
            Receipt::parse(b"sub:001 dlvrd:001 stat:DELIVRD"),
            Err(MissingReceiptId {
                excerpt: "sub:001 dlvrd:001 stat:DELIVRD".to_string()
            })
        );
        assert!(Receipt::parse(b"").is_err());
        assert!(Receipt::parse(b"id: sub:001").is_err());
        assert!(Receipt::parse(b"text:id:1").is_err());
    }

    #[test]
    fn first_occurrence_of_a_key_wins() {
        assert_eq!(parse("id:1 id:2").id, "1");
    }

    #[test]
    fn stat_words_accept_common_spellings() {
        assert_eq!(ReceiptStat::from_word("delivered"), ReceiptStat::Delivered);
        assert_eq!(ReceiptStat::from_word("Delivrd"), ReceiptStat::Delivered);
        assert_eq!(
            ReceiptStat::from_word("UNDELIVERABLE"),
            ReceiptStat::Undeliverable
        );
        assert_eq!(ReceiptStat::from_word("accepted"), ReceiptStat::Accepted);
        assert_eq!(ReceiptStat::from_word("REJECTED"), ReceiptStat::Rejected);
        assert_eq!(
            ReceiptStat::from_word("Failed"),
            ReceiptStat::Other("Failed".to_string())
        );
    }

    #[test]
    fn stat_maps_to_and_from_message_state() {
        for state in 1..=8 {
            let stat = ReceiptStat::from_message_state(state);
            assert_eq!(stat.and_then(|s| s.message_state()), Some(state));
        }
        assert_eq!(ReceiptStat::from_message_state(0), None);
        assert_eq!(ReceiptStat::from_message_state(9), None);
        assert_eq!(
            ReceiptStat::from_message_state(2),
            Some(ReceiptStat::Delivered)
        );
        assert_eq!(ReceiptStat::Other("X".into()).message_state(), None);
    }

    #[test]
    fn only_outcomes_are_final() {
        assert!(ReceiptStat::Delivered.is_final());
        assert!(ReceiptStat::Undeliverable.is_final());
        assert!(ReceiptStat::Rejected.is_final());
        assert!(ReceiptStat::Unknown.is_final());
        assert!(!ReceiptStat::Enroute.is_final());
        assert!(!ReceiptStat::Accepted.is_final());
        assert!(!ReceiptStat::Other("BUFFRED".into()).is_final());
    }

    fn sample() -> Receipt {
        Receipt {
            id: "abc-123".to_string(),
            submitted: 1,
            delivered: 1,
            submit_date: Some(unix(FEB_12_2026_1430)),
            done_date: Some(unix(FEB_12_2026_1430 + 75)),
            stat: ReceiptStat::Delivered,
            err: "000".to_string(),
            text: "Your code is 123456, valid 5 min".to_string(),
        }
    }

    #[test]
    fn format_writes_the_standard_form() {
        assert_eq!(
            sample().format(),
            "id:abc-123 sub:001 dlvrd:001 submit date:2602121430 done date:2602121431 stat:DELIVRD err:000 text:Your code is 123456,"
        );
    }

    #[test]
    fn format_can_write_twelve_digit_dates() {
        let text = sample().format_with(ReceiptDateFormat::Seconds);
        assert!(text.contains("submit date:260212143000 done date:260212143115 "));
    }

    #[test]
    fn format_writes_empty_err_as_zeros_and_truncates_text_by_characters() {
        let receipt = Receipt {
            err: String::new(),
            text: "ééééééééééééééééééééééé".to_string(),
            ..sample()
        };
        let text = receipt.format();
        assert!(text.contains(" err:000 "));
        assert!(text.ends_with(&format!("text:{}", "é".repeat(20))));
    }

    #[test]
    fn format_then_parse_round_trips() {
        let receipt = Receipt {
            text: "Your code is 123456".to_string(),
            done_date: Some(unix(FEB_12_2026_1430 + 60)),
            ..sample()
        };
        assert_eq!(parse(&receipt.format()), receipt);
    }

    #[test]
    fn hex_and_decimal_ids_match() {
        assert!(ids_match("0A1B2C3D", "169552957"));
        assert!(ids_match("169552957", "0a1b2c3d"));
        assert!(ids_match("1234567890", "499602D2"));
        assert!(!ids_match("1234567890", "499602D3"));
    }

    #[test]
    fn ids_match_ignoring_case_and_leading_zeros() {
        assert!(ids_match("abc-123", "ABC-123"));
        assert!(ids_match("000123", "123"));
        assert!(ids_match("0", "000"));
        assert!(!ids_match("abc-123", "abc-124"));
        assert!(!ids_match("", ""));
        assert!(!ids_match("  ", "0"));
    }

    #[test]
    fn id_converts_between_hex_and_decimal() {
        let receipt = Receipt {
            id: "0A1B2C3D".to_string(),
            ..sample()
        };
        assert_eq!(receipt.id_as_decimal().as_deref(), Some("169552957"));
        assert_eq!(receipt.id_as_hex(), None);
        let receipt = Receipt {
            id: "1234567890".to_string(),
            ..sample()
        };
        assert_eq!(receipt.id_as_hex().as_deref(), Some("499602d2"));
        let receipt = Receipt {
            id: "abc-123".to_string(),
            ..sample()
        };
        assert_eq!(receipt.id_as_decimal(), None);
        assert_eq!(receipt.id_as_hex(), None);
    }

    fn receipt_strategy() -> impl Strategy<Value = Receipt> {
        let date =
            proptest::option::of((946_684_800u64..4_102_444_800).prop_map(|s| unix(s - s % 60)));
        let stat = prop_oneof![
            (1u8..=8)
                .prop_map(|s| ReceiptStat::from_message_state(s).unwrap_or(ReceiptStat::Unknown)),
            Just(ReceiptStat::Other("FAILED".to_string())),
        ];
        (
            "[A-Za-z0-9-]{1,24}",
            0u32..1000,
            0u32..1000,
            date.clone(),
            date,
            stat,
            "[0-9A-Fx]{1,4}",
            "([!-~]([ -~]{0,18}[!-~])?)?",
        )
            .prop_map(
                |(id, submitted, delivered, submit_date, done_date, stat, err, text)| Receipt {
                    id,
                    submitted,
                    delivered,
                    submit_date,
                    done_date,
                    stat,
                    err,
                    text,
                },
            )
    }

    fn receipt_like() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("id:".to_string()),
            Just("submit".to_string()),
            Just("date:".to_string()),
            Just("text:".to_string()),
            Just("stat:".to_string()),
            Just(":".to_string()),
            Just(" ".to_string()),
            Just("\0".to_string()),
            "[0-9]{10,12}",
            any::<String>(),
        ];
        proptest::collection::vec(word, 0..12).prop_map(|words| words.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_input_never_panics(
            octets in proptest::collection::vec(any::<u8>(), 0..200),
            text in receipt_like(),
            other_id in "[0-9a-fA-F]{0,40}",
        ) {
            for input in [&octets[..], text.as_bytes()] {
                if let Ok(receipt) = Receipt::parse(input) {
                    let _ = receipt.format();
                    let _ = receipt.id_as_decimal();
                    let _ = receipt.id_as_hex();
                    let _ = ids_match(&receipt.id, &other_id);
                }
            }
        }

        #[test]
        fn any_receipt_round_trips_through_format_and_parse(receipt in receipt_strategy()) {
            let text = receipt.format();
            prop_assert_eq!(Receipt::parse(text.as_bytes()), Ok(receipt));
        }

        #[test]
        fn decimal_and_hex_forms_of_a_number_match(n in any::<u64>(), zeros in 0usize..4) {
            let padding = "0".repeat(zeros);
            let decimal = format!("{padding}{n}");
            let upper_hex = format!("{n:X}");
            let lower_hex = format!("{n:x}");
            prop_assert!(ids_match(&decimal, &upper_hex));
            prop_assert!(ids_match(&lower_hex, &decimal));
        }
    }
}

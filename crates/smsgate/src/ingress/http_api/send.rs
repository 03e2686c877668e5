//! The body of `POST /api/v1/messages` (and of each batch entry), and how
//! it becomes [`Submission`]s: one per recipient, each the whole text.
//!
//! A text longer than one SMS is handed to acceptance whole, in
//! message_payload, not cut into UDH parts here: the acceptor then charges
//! all its segments atomically and takes one step of the account's rate (as
//! for an SMPP message_payload), the customer gets one id per recipient, and
//! dispatch cuts it the way each connector's carrier wants (UDH, SAR or
//! payload). Cutting here would store parts that a failure half way (credits,
//! rate) could leave as a broken long message.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use smpp::types::{npi, ton};
use smpp::{Address, COctetString};
use smstext::{EncodeOptions, Encoded, Encoding};
use utoipa::ToSchema;

use super::problem::Problem;
use crate::accept::Submission;
use crate::accept::content::MAX_SHORT_MESSAGE_LEN;
use crate::delivery::callback_targets::CallbackTargets;

/// The most recipients one message may list; more is a batch's job.
pub const MAX_RECIPIENTS: usize = 1000;

/// The most tags one message may carry.
pub const MAX_TAGS: usize = 10;

/// The longest tag, in characters.
pub const MAX_TAG_LEN: usize = 32;

/// The longest `client_ref`, in characters.
pub const MAX_CLIENT_REF_LEN: usize = 64;

/// registered_delivery asking for the final receipt.
const FINAL_RECEIPT: u8 = 0x01;

/// One message as the customer writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(
    json!({"to": "+447911123456", "from": "ACME", "text": "Your code is 123456"}),
    json!({
        "to": ["+447911123456", "14155551234"], "from": "ACME", "text": "Sale starts at 9",
        "send_at": "2030-05-01T09:00:00+02:00", "validity": "2h",
        "client_ref": "campaign-7", "callback_url": "https://example.com/sms/status",
        "tags": ["marketing"]
    })
))]
pub struct SendRequest {
    /// One international number or a list of them (E.164, `+` optional).
    pub to: Recipients,
    /// The sender: a number (digits, `+` optional) or an alphanumeric id of
    /// up to 11 characters; the account's default sender when absent.
    pub from: Option<String>,
    /// The text.
    pub text: String,
    /// The alphabet; `auto` picks GSM 7-bit when the text fits it, else UCS-2.
    #[serde(default)]
    pub encoding: TextEncoding,
    /// A flash SMS (message class 0): shown at once, not stored by the handset.
    #[serde(default)]
    pub flash: bool,
    /// How long to try, e.g. `"1h"` or `"2d 4h"`; the gateway's default when absent.
    #[schema(example = "1h")]
    pub validity: Option<String>,
    /// When to send, RFC 3339 (`2026-05-01T09:00:00+02:00`); now when absent or past.
    #[schema(format = DateTime)]
    pub send_at: Option<String>,
    /// The customer's own reference (up to 64 characters): echoed in the
    /// answer, stored with each message and put in its status callbacks.
    #[schema(max_length = 64)]
    pub client_ref: Option<String>,
    /// Labels the gateway's routes can match on (route `tag` filters), e.g.
    /// `["otp"]`: up to 10, each 1 to 32 letters, digits, `-`, `_` or `.`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub tags: Vec<String>,
    /// Whether to keep a delivery receipt for the account's SMPP receiver
    /// sessions (registered_delivery 1). Default false.
    #[serde(default)]
    pub registered_delivery: bool,
    /// Where to POST each state change of the message (submitted, then
    /// its final state) as a JSON status event signed with the account's
    /// callback secret; http or https, to a public address (loopback,
    /// private, link-local and other internal addresses are refused unless
    /// the operator allows them).
    #[schema(format = "uri", max_length = 2048)]
    pub callback_url: Option<String>,
}

/// `to`: one number or several.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Recipients {
    /// `"to": "447911123456"`.
    One(String),
    /// `"to": ["447911123456", "14155551234"]`.
    Many(Vec<String>),
}

/// `encoding`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    /// GSM 7-bit if the text fits it, else UCS-2 (Latin-1 is never picked:
    /// many carriers garble it).
    #[default]
    Auto,
    /// GSM 7-bit, refused if a character is not in it.
    Gsm7,
    /// ISO-8859-1, refused if a character is not in it.
    Latin1,
    /// UCS-2 (UTF-16): any text.
    Ucs2,
}

/// A request checked and ready for acceptance.
#[derive(Debug)]
pub struct Prepared {
    /// Each recipient as written, with its submission.
    pub submissions: Vec<(String, Submission)>,
    /// The customer's reference, to echo.
    pub client_ref: Option<String>,
}

impl SendRequest {
    /// Checks what acceptance cannot (the text's alphabet, the times'
    /// syntax, the recipient count, the callback URL against `targets`)
    /// and builds the submissions. The times stay SMPP times for
    /// acceptance to resolve; validity is relative, so it counts from the
    /// moment of acceptance.
    pub fn prepare(self, targets: &CallbackTargets) -> Result<Prepared, Problem> {
        let recipients = match self.to {
            Recipients::One(to) => vec![to],
            Recipients::Many(list) => list,
        };
        if recipients.is_empty() {
            return Err(Problem::unprocessable(
                "missing_destination",
                "`to` lists no recipient",
            ));
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(Problem::unprocessable(
                "too_many_recipients",
                format!(
                    "`to` lists {} recipients; at most {MAX_RECIPIENTS} fit one request (use the batch endpoint or several requests)",
                    recipients.len()
                ),
            ));
        }
        let encoded = encode(&self.text, self.encoding)?;
        let data_coding = data_coding(encoded.encoding(), self.flash)?;
        let octets = bytes::Bytes::from(encoded.into_data());
        let (short_message, message_payload) = if octets.len() <= MAX_SHORT_MESSAGE_LEN {
            (octets, None)
        } else {
            (bytes::Bytes::new(), Some(octets))
        };
        let callback_url = match self.callback_url {
            Some(url) => Some(callback(&url, targets)?),
            None => None,
        };
        if let Some(client_ref) = &self.client_ref
            && client_ref.chars().count() > MAX_CLIENT_REF_LEN
        {
            return Err(Problem::unprocessable(
                "invalid_client_ref",
                format!("`client_ref` is longer than {MAX_CLIENT_REF_LEN} characters"),
            ));
        }
        let template = Submission {
            callback_url,
            client_ref: self.client_ref.clone(),
            tags: tags(self.tags)?,
            source: source(self.from.as_deref())?,
            data_coding,
            registered_delivery: if self.registered_delivery {
                FINAL_RECEIPT
            } else {
                0
            },
            short_message,
            message_payload,
            schedule_delivery_time: schedule(self.send_at.as_deref())?,
            validity_period: validity(self.validity.as_deref())?,
            ..Submission::default()
        };
        let submissions = recipients
            .into_iter()
            .map(|to| {
                let destination = destination(&to)?;
                Ok((
                    to,
                    Submission {
                        destination,
                        ..template.clone()
                    },
                ))
            })
            .collect::<Result<_, Problem>>()?;
        Ok(Prepared {
            submissions,
            client_ref: self.client_ref,
        })
    }
}

/// The tags, checked: at most [`MAX_TAGS`], each 1 to [`MAX_TAG_LEN`]
/// ASCII letters, digits, `-`, `_` or `.` (so they print plainly in logs,
/// traces and route explanations); a tag given twice counts once.
fn tags(mut tags: Vec<String>) -> Result<Vec<String>, Problem> {
    let invalid = |why: String| Problem::unprocessable("invalid_tags", why);
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "`tags` lists {} tags; at most {MAX_TAGS} are allowed",
            tags.len()
        )));
    }
    for tag in &tags {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if tag.is_empty() || tag.len() > MAX_TAG_LEN || !tag.chars().all(allowed) {
            return Err(invalid(format!(
                "tag {tag:?} must be 1 to {MAX_TAG_LEN} letters, digits, '-', '_' or '.'"
            )));
        }
    }
    let mut seen = std::collections::HashSet::new();
    tags.retain(|tag| seen.insert(tag.clone()));
    Ok(tags)
}

/// A callback URL: see [`check_callback_url`].
fn callback(url: &str, targets: &CallbackTargets) -> Result<String, Problem> {
    check_callback_url(url, targets)
        .map(|()| url.to_string())
        .map_err(|why| Problem::unprocessable("invalid_callback_url", why))
}

/// Why `url` cannot be a callback URL (a message's or an account's
/// default): it must be an absolute http or https URL with a host, of at
/// most 2048 characters, and a literal address must be one `targets`
/// allows. A host name is checked when the callback connects, against
/// what it resolves to then.
pub fn check_callback_url(url: &str, targets: &CallbackTargets) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("`callback_url` is longer than 2048 characters".into());
    }
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            parsed
        }
        Ok(_) => return Err("`callback_url` must be an http or https URL with a host".into()),
        Err(error) => return Err(format!("`callback_url` is not a URL: {error}")),
    };
    targets.check_url(&parsed).map_err(|refused| {
        format!(
            "`callback_url` is refused: {refused}; callbacks go only to public addresses \
             (the gateway's operator can allow internal ones)"
        )
    })
}

fn encode(text: &str, encoding: TextEncoding) -> Result<Encoded, Problem> {
    if text.is_empty() {
        return Err(Problem::unprocessable("invalid_text", "`text` is empty"));
    }
    let forced = match encoding {
        TextEncoding::Auto => return Ok(smstext::encode_best(text, EncodeOptions::default())),
        TextEncoding::Gsm7 => Encoding::Gsm7,
        TextEncoding::Latin1 => Encoding::Latin1,
        TextEncoding::Ucs2 => Encoding::Ucs2,
    };
    smstext::encode(text, forced).map_err(|error| {
        Problem::unprocessable(
            "invalid_text",
            format!("{error} (use \"encoding\": \"auto\" or \"ucs2\")"),
        )
    })
}

/// The data_coding for the encoding; flash messages take the coding group
/// with a message class (class 0), which exists for GSM 7-bit and UCS-2 only.
fn data_coding(encoding: Encoding, flash: bool) -> Result<u8, Problem> {
    match (flash, encoding) {
        (false, encoding) => Ok(encoding.data_coding()),
        (true, Encoding::Gsm7) => Ok(0x10),
        (true, Encoding::Ucs2) => Ok(0x18),
        (true, other) => Err(Problem::unprocessable(
            "invalid_text",
            format!("a flash message cannot be sent in {other}; use GSM 7-bit or UCS-2"),
        )),
    }
}

/// A number (digits, `+` optional) is international; anything else an
/// alphanumeric sender id. Absent: empty, for the account's default.
fn source(from: Option<&str>) -> Result<Address, Problem> {
    let Some(from) = from else {
        return Ok(Address::default());
    };
    let digits = from.strip_prefix('+').unwrap_or(from);
    let (ton, npi) = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        (ton::INTERNATIONAL, npi::ISDN)
    } else {
        (ton::ALPHANUMERIC, npi::UNKNOWN)
    };
    let addr = COctetString::try_from(from)
        .map_err(|_| Problem::unprocessable("invalid_sender", "`from` contains a NUL character"))?;
    Ok(Address::new(ton, npi, addr))
}

/// Recipients are international numbers; acceptance checks them (E.164).
fn destination(to: &str) -> Result<Address, Problem> {
    let addr = COctetString::try_from(to).map_err(|_| {
        Problem::unprocessable(
            "invalid_destination",
            "a recipient contains a NUL character",
        )
    })?;
    Ok(Address::new(ton::INTERNATIONAL, npi::ISDN, addr))
}

/// `send_at` as an absolute SMPP time in UTC; acceptance checks it against
/// the validity and drops it if it is past.
fn schedule(send_at: Option<&str>) -> Result<COctetString, Problem> {
    let Some(text) = send_at else {
        return Ok(COctetString::empty());
    };
    let invalid = |why: String| {
        Problem::unprocessable("invalid_schedule", format!("`send_at` {text:?} {why}"))
    };
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|error| invalid(format!("is not an RFC 3339 time: {error}")))?;
    let smpp_time = smpp::time::format_absolute(SystemTime::from(at), 0)
        .map_err(|error| invalid(format!("cannot be scheduled: {error}")))?;
    COctetString::try_from(smpp_time).map_err(|_| invalid("cannot be scheduled".into()))
}

/// `validity` as a relative SMPP time, counted by acceptance from when it
/// accepts the message.
fn validity(validity: Option<&str>) -> Result<COctetString, Problem> {
    let Some(text) = validity else {
        return Ok(COctetString::empty());
    };
    let invalid = |why: String| {
        Problem::unprocessable("invalid_validity", format!("`validity` {text:?} {why}"))
    };
    let span: Duration = humantime::parse_duration(text)
        .map_err(|error| invalid(format!("is not a duration like \"1h\" or \"2d\": {error}")))?;
    if span < Duration::from_secs(1) {
        return Err(invalid("is shorter than a second".into()));
    }
    let smpp_time = smpp::time::format_relative(span)
        .map_err(|error| invalid(format!("is too long: {error}")))?;
    COctetString::try_from(smpp_time).map_err(|_| invalid("cannot be expressed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> SendRequest {
        serde_json::from_value(json).expect("a valid request")
    }

    fn problem_code(json: serde_json::Value) -> &'static str {
        match request(json).prepare(&CallbackTargets::default()) {
            Ok(prepared) => panic!("prepared: {prepared:?}"),
            Err(problem) => problem.code(),
        }
    }

    #[test]
    fn short_gsm_text_goes_in_short_message_to_each_recipient() {
        let prepared = request(serde_json::json!({
            "to": ["447911123456", "+14155551234"], "text": "hello", "from": "ACME"
        }))
        .prepare(&CallbackTargets::default())
        .expect("prepared");
        assert_eq!(prepared.submissions.len(), 2);
        let (to, submission) = &prepared.submissions[1];
        assert_eq!(to, "+14155551234");
        assert_eq!(submission.destination.ton, ton::INTERNATIONAL);
        assert_eq!(&submission.short_message[..], b"hello");
        assert_eq!(submission.message_payload, None);
        assert_eq!(submission.data_coding, 0);
        assert_eq!(submission.source.ton, ton::ALPHANUMERIC);
        assert_eq!(submission.registered_delivery, 0);
    }

    #[test]
    fn long_text_goes_whole_in_message_payload() {
        let text = "x".repeat(400);
        let prepared = request(serde_json::json!({ "to": "447911123456", "text": text }))
            .prepare(&CallbackTargets::default())
            .expect("prepared");
        let (_, submission) = &prepared.submissions[0];
        assert!(submission.short_message.is_empty());
        assert_eq!(
            submission.message_payload.as_ref().map(|p| p.len()),
            Some(400)
        );
        assert_eq!(submission.esm_class, 0, "no UDH: dispatch splits it");
    }

    #[test]
    fn text_outside_gsm_is_ucs2_unless_gsm7_is_forced() {
        let prepared = request(serde_json::json!({ "to": "447911123456", "text": "Привет" }))
            .prepare(&CallbackTargets::default())
            .expect("prepared");
        assert_eq!(prepared.submissions[0].1.data_coding, 8);
        assert_eq!(
            problem_code(
                serde_json::json!({ "to": "447911123456", "text": "Привет", "encoding": "gsm7" })
            ),
            "invalid_text"
        );
    }

    #[test]
    fn flash_uses_message_class_zero() {
        let gsm = request(serde_json::json!({ "to": "1", "text": "hi", "flash": true }))
            .prepare(&CallbackTargets::default())
            .expect("prepared");
        assert_eq!(gsm.submissions[0].1.data_coding, 0x10);
        let ucs2 = request(
            serde_json::json!({ "to": "1", "text": "hi", "flash": true, "encoding": "ucs2" }),
        )
        .prepare(&CallbackTargets::default())
        .expect("prepared");
        assert_eq!(ucs2.submissions[0].1.data_coding, 0x18);
        assert_eq!(
            problem_code(
                serde_json::json!({ "to": "1", "text": "hi", "flash": true, "encoding": "latin1" })
            ),
            "invalid_text"
        );
    }

    #[test]
    fn validity_and_send_at_become_smpp_times() {
        let prepared = request(serde_json::json!({
            "to": "1", "text": "hi", "validity": "1h 30m", "send_at": "2030-01-02T03:04:05+01:00",
            "registered_delivery": true
        }))
        .prepare(&CallbackTargets::default())
        .expect("prepared");
        let submission = &prepared.submissions[0].1;
        assert_eq!(
            submission.validity_period.to_str().ok(),
            Some("000000013000000R")
        );
        assert_eq!(
            submission.schedule_delivery_time.to_str().ok(),
            Some("300102020405000+")
        );
        assert_eq!(submission.registered_delivery, 1);
    }

    #[test]
    fn bad_times_empty_text_and_no_recipients_are_refused() {
        let base = |key: &str, value: serde_json::Value| {
            let mut json = serde_json::json!({ "to": "1", "text": "hi" });
            json[key] = value;
            problem_code(json)
        };
        assert_eq!(base("validity", "soon".into()), "invalid_validity");
        assert_eq!(base("validity", "200d".into()), "invalid_validity");
        assert_eq!(base("send_at", "tomorrow".into()), "invalid_schedule");
        assert_eq!(base("text", "".into()), "invalid_text");
        assert_eq!(base("to", serde_json::json!([])), "missing_destination");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed = serde_json::from_value::<SendRequest>(
            serde_json::json!({ "to": "1", "text": "hi", "priority": 3 }),
        );
        assert!(parsed.is_err());
    }

    #[test]
    fn tags_and_client_ref_go_with_every_recipient_once_each() {
        let prepared = request(serde_json::json!({
            "to": ["447911123456", "14155551234"], "text": "hi",
            "tags": ["otp", "bank.eu", "otp"], "client_ref": "order-7"
        }))
        .prepare(&CallbackTargets::default())
        .expect("prepared");
        for (_, submission) in &prepared.submissions {
            assert_eq!(submission.tags, ["otp", "bank.eu"]);
            assert_eq!(submission.client_ref.as_deref(), Some("order-7"));
        }
        assert_eq!(prepared.client_ref.as_deref(), Some("order-7"));
    }

    #[test]
    fn a_callback_url_at_an_internal_address_is_refused_unless_allowed() {
        let json = serde_json::json!({
            "to": "1", "text": "hi", "callback_url": "http://169.254.169.254/latest/meta-data/"
        });
        let problem = request(json.clone())
            .prepare(&CallbackTargets::default())
            .expect_err("refused");
        assert_eq!(problem.code(), "invalid_callback_url");
        let allowed = CallbackTargets::new(vec!["169.254.0.0/16".parse().expect("net")], []);
        let prepared = request(json).prepare(&allowed).expect("allowed");
        assert_eq!(
            prepared.submissions[0].1.callback_url.as_deref(),
            Some("http://169.254.169.254/latest/meta-data/")
        );
        assert_eq!(
            check_callback_url("http://[::ffff:10.0.0.1]/", &CallbackTargets::default()),
            Err(
                "`callback_url` is refused: ::ffff:10.0.0.1 is a private address \
                 (10.0.0.0/8) in IPv4-mapped form; callbacks go only to public addresses \
                 (the gateway's operator can allow internal ones)"
                    .into()
            )
        );
    }

    #[test]
    fn bad_tags_and_a_long_client_ref_are_refused() {
        let with = |key: &str, value: serde_json::Value| {
            let mut json = serde_json::json!({ "to": "1", "text": "hi" });
            json[key] = value;
            problem_code(json)
        };
        assert_eq!(with("tags", serde_json::json!([""])), "invalid_tags");
        assert_eq!(
            with("tags", serde_json::json!(["two words"])),
            "invalid_tags"
        );
        assert_eq!(
            with("tags", serde_json::json!(["x".repeat(33)])),
            "invalid_tags"
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(with("tags", serde_json::json!(eleven)), "invalid_tags");
        assert_eq!(
            with("client_ref", "r".repeat(65).into()),
            "invalid_client_ref"
        );
    }
}

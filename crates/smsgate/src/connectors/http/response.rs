//! Reading the provider's answer: did it take the segment, and what did it
//! name it.
//!
//! A 2xx answer is success when the optional response check holds (a JSON
//! field equal to a value); the provider's id is then read by JSON pointer
//! or regular expression. Any other status is a refusal, with the start of
//! the body as its detail.

use regex::Regex;
use serde_json::Value;

use super::config::{HttpConnectorConfig, invalid};
use crate::connectors::SubmitOutcome;
use crate::settings::InvalidSetting;

/// How much of a body a refusal's detail keeps, in characters.
const DETAIL_CHARS: usize = 200;

/// How one connector judges its provider's answers.
#[derive(Debug)]
pub(super) struct AnswerCheck {
    /// The JSON pointer that must hold the value, and the value.
    success: Option<(String, String)>,
    id: IdSource,
}

/// Where the provider's id is in a successful answer.
#[derive(Debug)]
enum IdSource {
    /// Nowhere: the id is empty.
    None,
    /// At a JSON pointer.
    Pointer(String),
    /// In the first capture group of a regular expression over the body.
    Regex(Regex),
}

impl AnswerCheck {
    /// Checks the pointers and the regular expression.
    pub(super) fn new(
        name: &str,
        config: &HttpConnectorConfig,
    ) -> Result<AnswerCheck, InvalidSetting> {
        let success = match (&config.success_field, &config.success_value) {
            (None, None) => None,
            (Some(field), Some(value)) => {
                check_pointer(field).map_err(|e| invalid(name, format!("success_field {e}")))?;
                Some((field.clone(), value.clone()))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    name,
                    "success_field and success_value must be set together",
                ));
            }
        };
        let id = match (&config.id_pointer, &config.id_regex) {
            (None, None) => IdSource::None,
            (Some(pointer), None) => {
                check_pointer(pointer).map_err(|e| invalid(name, format!("id_pointer {e}")))?;
                IdSource::Pointer(pointer.clone())
            }
            (None, Some(pattern)) => {
                let regex = Regex::new(pattern).map_err(|e| {
                    invalid(name, format!("id_regex is not a regular expression: {e}"))
                })?;
                if regex.captures_len() < 2 {
                    return Err(invalid(
                        name,
                        "id_regex has no capture group: put the id in ( )",
                    ));
                }
                IdSource::Regex(regex)
            }
            (Some(_), Some(_)) => {
                return Err(invalid(name, "set id_pointer or id_regex, not both"));
            }
        };
        Ok(AnswerCheck { success, id })
    }

    /// Whether a 2xx answer's body must be read to judge it.
    pub(super) fn needs_body(&self) -> bool {
        self.success.is_some() || !matches!(self.id, IdSource::None)
    }

    /// What an answer with `status` and `body` means. `Err` says why a 2xx
    /// answer could not be read (not JSON, no id where one was expected):
    /// the provider may or may not have taken the segment.
    pub(super) fn judge(&self, status: u16, body: &[u8]) -> Result<SubmitOutcome, String> {
        if !(200..300).contains(&status) {
            return Ok(SubmitOutcome::HttpRefused {
                status,
                detail: body_start(body).unwrap_or_else(|| reason(status)),
            });
        }
        let json = match (&self.success, &self.id) {
            (None, IdSource::None | IdSource::Regex(_)) => None,
            _ => Some(serde_json::from_slice::<Value>(body).map_err(|e| {
                format!(
                    "the answer is not JSON ({e}): {}",
                    body_start(body).unwrap_or_default()
                )
            })?),
        };
        if let (Some((field, expected)), Some(json)) = (&self.success, &json) {
            let found = json.pointer(field).map(render);
            if found.as_deref() != Some(expected) {
                let was = match found {
                    Some(value) => format!("{value:?}"),
                    None => "missing".to_string(),
                };
                return Ok(SubmitOutcome::HttpRefused {
                    status,
                    detail: format!(
                        "{field} is {was}, not {expected:?}: {}",
                        body_start(body).unwrap_or_default()
                    ),
                });
            }
        }
        let provider_id = match (&self.id, &json) {
            (IdSource::Pointer(pointer), Some(json)) => match json.pointer(pointer) {
                Some(Value::String(id)) => id.trim().to_string(),
                Some(Value::Number(id)) => id.to_string(),
                Some(other) => {
                    return Err(format!(
                        "the id at {pointer} is not a string or number: {other}"
                    ));
                }
                None => return Err(format!("the answer has no id at {pointer}")),
            },
            (IdSource::Regex(regex), _) => {
                let text = String::from_utf8_lossy(body);
                match regex.captures(&text).and_then(|c| c.get(1)) {
                    Some(id) => id.as_str().trim().to_string(),
                    None => {
                        return Err(format!(
                            "id_regex {} does not match the answer",
                            regex.as_str()
                        ));
                    }
                }
            }
            (IdSource::None | IdSource::Pointer(_), _) => String::new(),
        };
        Ok(SubmitOutcome::Accepted { provider_id })
    }
}

/// A JSON value as the text `success_value` is compared with: a string as
/// it is, anything else as JSON (`0`, `true`, `null`).
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks RFC 6901 syntax, which `Value::pointer` would otherwise treat as
/// "not found" on every answer.
fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "{pointer:?} is not a JSON pointer: it starts with '/', as in \"/status\""
        ));
    }
    let mut escapes = pointer.split('~').skip(1);
    if escapes.any(|after| !after.starts_with(['0', '1'])) {
        return Err(format!(
            "{pointer:?} is not a JSON pointer: '~' must be followed by 0 or 1"
        ));
    }
    Ok(())
}

/// The start of a body as text for a detail (at most [`DETAIL_CHARS`]
/// characters, trimmed); `None` if it is blank.
pub(super) fn body_start(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut start: String = text.chars().take(DETAIL_CHARS).collect();
    if start.len() < text.len() {
        start.push('…');
    }
    Some(start)
}

/// The status's standard reason phrase, for an answer with no body.
pub(super) fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no reason given")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(configure: impl FnOnce(&mut HttpConnectorConfig)) -> AnswerCheck {
        let mut config = HttpConnectorConfig::new("http://h/");
        configure(&mut config);
        AnswerCheck::new("acme", &config).expect("valid")
    }

    fn accepted(id: &str) -> Result<SubmitOutcome, String> {
        Ok(SubmitOutcome::Accepted {
            provider_id: id.into(),
        })
    }

    #[test]
    fn any_2xx_is_accepted_without_a_check() {
        let plain = check(|_| {});
        assert!(!plain.needs_body());
        assert_eq!(plain.judge(200, b"whatever"), accepted(""));
        assert_eq!(plain.judge(204, b""), accepted(""));
    }

    #[test]
    fn other_statuses_are_refused_with_the_start_of_the_body() {
        let plain = check(|_| {});
        assert_eq!(
            plain.judge(400, b"  {\"error\":\"bad number\"}\n"),
            Ok(SubmitOutcome::HttpRefused {
                status: 400,
                detail: "{\"error\":\"bad number\"}".into()
            })
        );
        assert_eq!(
            plain.judge(429, b""),
            Ok(SubmitOutcome::HttpRefused {
                status: 429,
                detail: "Too Many Requests".into()
            })
        );
        let Ok(SubmitOutcome::HttpRefused { detail, .. }) = plain.judge(500, &[b'x'; 5000]) else {
            panic!("refused");
        };
        assert_eq!(detail.chars().count(), DETAIL_CHARS + 1);
        let Ok(SubmitOutcome::HttpRefused { detail, .. }) = plain.judge(502, b"\xFF\xFEbad") else {
            panic!("refused");
        };
        assert!(detail.ends_with("bad"), "{detail}");
    }

    #[test]
    fn the_success_field_must_hold_the_value() {
        let status = check(|c| {
            c.success_field = Some("/status".into());
            c.success_value = Some("success".into());
        });
        assert!(status.needs_body());
        assert_eq!(status.judge(200, br#"{"status":"success"}"#), accepted(""));
        assert_eq!(
            status.judge(200, br#"{"status":"error","message":"no money"}"#),
            Ok(SubmitOutcome::HttpRefused {
                status: 200,
                detail:
                    r#"/status is "error", not "success": {"status":"error","message":"no money"}"#
                        .into()
            })
        );
        let Ok(SubmitOutcome::HttpRefused { detail, .. }) = status.judge(200, b"{}") else {
            panic!("refused");
        };
        assert!(detail.starts_with("/status is missing"), "{detail}");
        assert!(status.judge(200, b"<html>oops</html>").is_err());
    }

    #[test]
    fn numbers_and_booleans_compare_as_written() {
        let code = check(|c| {
            c.success_field = Some("/code".into());
            c.success_value = Some("0".into());
        });
        assert_eq!(code.judge(200, br#"{"code":0}"#), accepted(""));
        assert_eq!(code.judge(200, br#"{"code":"0"}"#), accepted(""));
        assert!(matches!(
            code.judge(200, br#"{"code":1}"#),
            Ok(SubmitOutcome::HttpRefused { status: 200, .. })
        ));
        let ok = check(|c| {
            c.success_field = Some("/ok".into());
            c.success_value = Some("true".into());
        });
        assert_eq!(ok.judge(201, br#"{"ok":true}"#), accepted(""));
    }

    #[test]
    fn the_id_is_read_by_pointer_strings_and_numbers() {
        let pointer = check(|c| c.id_pointer = Some("/messages/0/id".into()));
        assert!(pointer.needs_body());
        assert_eq!(
            pointer.judge(200, br#"{"messages":[{"id":"ab-12"}]}"#),
            accepted("ab-12")
        );
        assert_eq!(
            pointer.judge(200, br#"{"messages":[{"id":1234567890123}]}"#),
            accepted("1234567890123")
        );
        assert!(pointer.judge(200, br#"{"messages":[]}"#).is_err());
        assert!(
            pointer
                .judge(200, br#"{"messages":[{"id":null}]}"#)
                .is_err()
        );
        assert!(pointer.judge(200, b"not json").is_err());
    }

    #[test]
    fn the_id_is_read_by_the_regex_first_group() {
        let regex = check(|c| c.id_regex = Some(r"OK: (\w+)".into()));
        assert_eq!(regex.judge(200, b"OK: 7f3a\n"), accepted("7f3a"));
        assert!(regex.judge(200, b"ERR: no credit").is_err());
    }

    #[test]
    fn a_failed_check_refuses_before_the_id_is_looked_for() {
        let both = check(|c| {
            c.success_field = Some("/status".into());
            c.success_value = Some("success".into());
            c.id_pointer = Some("/id".into());
        });
        assert_eq!(
            both.judge(200, br#"{"status":"success","id":"x1"}"#),
            accepted("x1")
        );
        assert!(matches!(
            both.judge(200, br#"{"status":"error"}"#),
            Ok(SubmitOutcome::HttpRefused { status: 200, .. })
        ));
    }

    #[test]
    fn pointer_syntax_is_checked() {
        assert_eq!(check_pointer(""), Ok(()));
        assert_eq!(check_pointer("/a/0/~0~1"), Ok(()));
        assert!(check_pointer("a").is_err());
        assert!(check_pointer("/a~").is_err());
        assert!(check_pointer("/a~2").is_err());
    }
}

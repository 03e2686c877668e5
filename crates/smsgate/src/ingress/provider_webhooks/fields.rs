//! The fields of a provider's request, whatever form they came in: a
//! urlencoded form, a JSON object, or a query string.
//!
//! Providers nest their fields in different places: Twilio posts a flat
//! form, others a JSON object with the message inside, and Zadarma a form
//! whose `result` field holds JSON. Everything is read into one JSON tree,
//! with form values that are JSON objects or arrays opened up, and a field
//! is looked for at the top level first, then depth-first inside nested
//! objects and arrays. Field names are compared ignoring ASCII case.

use axum::http::{HeaderValue, StatusCode};
use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use super::Refusal;

/// A request's fields.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fields(Value);

impl Fields {
    /// Reads a POST body by its Content-Type: `application/json` (or any
    /// `+json` type) or `application/x-www-form-urlencoded`.
    pub(super) fn from_body(
        content_type: Option<&HeaderValue>,
        body: &[u8],
    ) -> Result<Fields, Refusal> {
        let media_type = content_type
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media_type == "application/json" || media_type.ends_with("+json") {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid JSON: {e}"),
                )
            })?;
            return Ok(Fields(value));
        }
        if media_type == "application/x-www-form-urlencoded" {
            return Fields::from_urlencoded(body);
        }
        Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-www-form-urlencoded or application/json",
        ))
    }

    /// Reads a urlencoded form or query string.
    pub(super) fn from_urlencoded(text: &[u8]) -> Result<Fields, Refusal> {
        let mut fields = Map::new();
        for pair in text.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = decode_component(parts.next().unwrap_or_default())?;
            let value = decode_component(parts.next().unwrap_or_default())?;
            // The first of repeated names wins, as for the other forms.
            fields.entry(name).or_insert_with(|| open_json(value));
        }
        Ok(Fields(Value::Object(fields)))
    }

    /// The value of `key`, if present as a string or a number.
    pub(super) fn get(&self, key: &str) -> Option<String> {
        find(&self.0, key)
    }

    /// The value of `key`; a 400 naming the key if it is absent.
    pub(super) fn require(&self, key: &str) -> Result<String, Refusal> {
        self.get(key).ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("the request has no {key:?} field"),
            )
        })
    }
}

/// `+` is a space in forms; the rest is percent-decoded and must be UTF-8.
fn decode_component(octets: &[u8]) -> Result<String, Refusal> {
    let spaced: Vec<u8> = octets
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "the form is not UTF-8; send it as UTF-8",
            )
        })
}

/// A form value holding a JSON object or array becomes that JSON, so its
/// fields can be found; any other value stays a string.
fn open_json(value: String) -> Value {
    if value.starts_with(['{', '['])
        && let Ok(json @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(&value)
    {
        return json;
    }
    Value::String(value)
}

fn find(value: &Value, key: &str) -> Option<String> {
    match value {
        Value::Object(map) => {
            let direct = map.iter().find_map(|(name, value)| {
                name.eq_ignore_ascii_case(key)
                    .then(|| scalar(value))
                    .flatten()
            });
            direct.or_else(|| map.values().find_map(|value| find(value, key)))
        }
        Value::Array(items) => items.iter().find_map(|item| find(item, key)),
        _ => None,
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: &str) -> Fields {
        Fields::from_urlencoded(text.as_bytes()).unwrap()
    }

    fn body(content_type: &str, text: &str) -> Result<Fields, StatusCode> {
        Fields::from_body(
            Some(&HeaderValue::from_str(content_type).unwrap()),
            text.as_bytes(),
        )
        .map_err(|refusal| refusal.status)
    }

    #[test]
    fn form_values_are_decoded() {
        let fields = form("To=%2B12025550160&Body=Hello+w%C3%B6rld%21&empty=");
        assert_eq!(fields.get("To").as_deref(), Some("+12025550160"));
        assert_eq!(fields.get("Body").as_deref(), Some("Hello wörld!"));
        assert_eq!(fields.get("empty").as_deref(), Some(""));
        assert_eq!(fields.get("missing"), None);
    }

    #[test]
    fn names_are_compared_ignoring_case() {
        assert_eq!(form("to=1").get("To").as_deref(), Some("1"));
        assert_eq!(form("TO=1").get("to").as_deref(), Some("1"));
    }

    #[test]
    fn the_first_of_repeated_names_wins() {
        assert_eq!(form("a=1&a=2").get("a").as_deref(), Some("1"));
    }

    #[test]
    fn a_form_that_is_not_utf8_is_refused() {
        assert!(Fields::from_urlencoded(b"Body=%FF").is_err());
    }

    #[test]
    fn json_inside_a_form_field_is_searched() {
        let fields = form(
            "event=SMS&result=%7B%22caller_id%22%3A%22%2B15017122661%22%2C%22text%22%3A%22Hi%22%7D",
        );
        assert_eq!(fields.get("caller_id").as_deref(), Some("+15017122661"));
        assert_eq!(fields.get("text").as_deref(), Some("Hi"));
    }

    #[test]
    fn top_level_fields_come_before_nested_ones() {
        let fields = body(
            "application/json",
            r#"{"a": {"id": "inner"}, "id": "outer"}"#,
        )
        .unwrap();
        assert_eq!(fields.get("id").as_deref(), Some("outer"));
    }

    #[test]
    fn nested_json_and_numbers_are_found() {
        let fields = body(
            "application/json; charset=utf-8",
            r#"{"data": [{"message": {"to": 12025550160, "flag": true}}]}"#,
        )
        .unwrap();
        assert_eq!(fields.get("to").as_deref(), Some("12025550160"));
        assert_eq!(fields.get("flag"), None, "booleans are not values");
    }

    #[test]
    fn content_type_chooses_the_parser() {
        assert!(body("application/x-www-form-urlencoded", "a=1").is_ok());
        assert!(body("application/vnd.provider+json", "{}").is_ok());
        assert_eq!(
            body("application/json", "a=1").err(),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            body("text/plain", "a=1").err(),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            Fields::from_body(None, b"a=1").map_err(|r| r.status).err(),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn missing_fields_are_named_in_the_refusal() {
        let refusal = form("a=1").require("Body").unwrap_err();
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert!(refusal.reason.contains("\"Body\""), "{}", refusal.reason);
    }
}

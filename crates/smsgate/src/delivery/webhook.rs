//! Webhooks: MO messages and message-status events POSTed to customers'
//! HTTP endpoints.
//!
//! One [`Webhook::post`] is one attempt, and its [`PostOutcome`] says what
//! to do next: a 2xx answer is [`PostOutcome::Delivered`]; a timeout, a
//! connection failure, 408, 429 or 5xx is worth trying again later
//! ([`PostOutcome::Retry`], after [`retry_delay`]); any other answer
//! (redirects are not followed, other 4xx) will not get better by itself
//! ([`PostOutcome::Permanent`]). Retrying stops once the event is older
//! than the webhook's `max_age` (default 24 h); keeping the event until
//! then is the caller's durable queue's job.
//!
//! A reason names the answer's status only, never what its body says: a
//! reason ends up in a message's trace, which the customer reads, and the
//! body of whatever a callback URL points at is not theirs to read.
//!
//! A webhook whose URL a customer chose (a status callback) is built with
//! [`Webhook::guarded`]: it connects only to addresses
//! [`callback_targets`](super::callback_targets) allows, checked at each
//! connection, and a refused target is a [`PostOutcome::Permanent`]
//! `target refused: ...`.
//!
//! # The request
//!
//! A flat object: JSON (`application/json`, absent values as `null`) or a
//! form (`application/x-www-form-urlencoded`, absent values left out),
//! with the keys below (each can be renamed) followed by the webhook's
//! constant `fields`. An MO message:
//!
//! ```json
//! {"event":"mo","id":"01J0...","from":"+447700900123","to":"31699887766",
//!  "text":"Hello","connector":"carrier","received_at":"2024-05-01T12:00:00Z","segments":1}
//! ```
//!
//! A status event (`state` and `previous_state` are the message states of
//! DESIGN.md, `err` the provider's error code, `client_ref` the customer's
//! own reference given at submit):
//!
//! ```json
//! {"event":"status","id":"01J0...","state":"delivered","previous_state":"submitted",
//!  "err":null,"at":"2024-05-01T12:00:05Z","client_ref":"order-7"}
//! ```
//!
//! # Signature
//!
//! Every request carries `X-Smsgate-Timestamp: <unix seconds>`. With a
//! `secret`, it also carries `X-Smsgate-Signature: sha256=<hex>` (the
//! header name can be changed), where `<hex>` is the lowercase hex
//! HMAC-SHA256, keyed with the secret, of `<timestamp>.<body>`: the
//! timestamp header's value, a dot, and the body's exact bytes. To verify,
//! the receiver:
//! 1. reads the raw body before parsing it;
//! 2. computes `HMAC-SHA256(secret, timestamp + "." + body)` in hex;
//! 3. compares it with the header's value after `sha256=`, in constant time;
//! 4. refuses a timestamp more than a few minutes from its own clock, so a
//!    captured request cannot be replayed later.
//!
//! # Configuration
//!
//! ```toml
//! [webhooks.crm]
//! url = "https://crm.example.com/sms/inbound"  # required; http or https
//! format = "json"                    # or "form"
//! secret = "a long random string"    # optional: sign requests
//! signature_header = "X-Smsgate-Signature"
//! timeout = "10s"                    # for the whole request
//! max_age = "24h"                    # stop retrying an event this old
//!
//! [webhooks.crm.keys]                # rename keys; these are the defaults
//! event = "event"
//! id = "id"
//! from = "from"
//! to = "to"
//! text = "text"
//! connector = "connector"
//! received_at = "received_at"
//! segments = "segments"
//! state = "state"
//! previous_state = "previous_state"
//! err = "err"
//! at = "at"
//! client_ref = "client_ref"
//!
//! [webhooks.crm.fields]              # constant fields added to every request
//! account = "acme"
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{CONTENT_TYPE, HeaderName};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::Sha256;

use super::callback_targets::{CallbackTargets, GuardedResolver, TargetRefused};
use crate::settings::InvalidSetting;
use crate::store::MessageState;
use crate::tls_roots::system_roots;

/// The header with the request's time, in unix seconds; part of what the
/// signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Smsgate-Timestamp";

/// The wait before the first retry; it doubles with each further one.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(10);

/// The longest wait between two attempts (before jitter).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// What form encoding leaves alone (as browsers do); a space becomes `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// One `[webhooks.NAME]` table. See the module documentation for the TOML
/// and the defaults. Its `Debug` hides the secret, the constant fields'
/// values and the URL's credentials and query.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST; http or https. Required.
    pub url: String,
    /// How the body is encoded.
    pub format: WebhookFormat,
    /// The name of each key in the body.
    pub keys: WebhookKeys,
    /// Constant fields added to every request, after the payload's.
    pub fields: BTreeMap<String, String>,
    /// The HMAC key that signs requests; unsigned without it.
    pub secret: Option<String>,
    /// The header that carries the signature.
    pub signature_header: String,
    /// The longest a request may take, connecting and reading the answer
    /// included; past it the attempt counts as failed and is retried.
    #[serde(with = "crate::settings::duration")]
    pub timeout: Duration,
    /// How long an event is retried, counted from when it happened; older
    /// events are given up on.
    #[serde(with = "crate::settings::duration")]
    pub max_age: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            format: WebhookFormat::default(),
            keys: WebhookKeys::default(),
            fields: BTreeMap::new(),
            secret: None,
            signature_header: "X-Smsgate-Signature".to_string(),
            timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field("format", &self.format)
            .field("keys", &self.keys)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("secret", &self.secret.as_ref().map(|_| "<hidden>"))
            .field("signature_header", &self.signature_header)
            .field("timeout", &self.timeout)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `application/json`: a flat object.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

impl WebhookFormat {
    fn content_type(self) -> &'static str {
        match self {
            WebhookFormat::Json => "application/json",
            WebhookFormat::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// The name of each key in a request body, so a customer's existing
/// endpoint can be fed as it expects (`To`, `From`, `Body`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookKeys {
    /// What the request is about: `mo` or `status`.
    pub event: String,
    /// Our message id (the MO message's, or the message whose state changed).
    pub id: String,
    /// MO: the handset's number.
    pub from: String,
    /// MO: our number it was sent to.
    pub to: String,
    /// MO: the text.
    pub text: String,
    /// MO: the connector it came through.
    pub connector: String,
    /// MO: when we received it (RFC 3339).
    pub received_at: String,
    /// MO: how many segments it came in.
    pub segments: String,
    /// Status: the message's new state.
    pub state: String,
    /// Status: the state before, if known.
    pub previous_state: String,
    /// Status: the provider's error code, if any.
    pub err: String,
    /// Status: when the message reached the state (RFC 3339).
    pub at: String,
    /// Status: the customer's reference for the message, if it gave one.
    pub client_ref: String,
}

impl Default for WebhookKeys {
    fn default() -> Self {
        WebhookKeys {
            event: "event".to_string(),
            id: "id".to_string(),
            from: "from".to_string(),
            to: "to".to_string(),
            text: "text".to_string(),
            connector: "connector".to_string(),
            received_at: "received_at".to_string(),
            segments: "segments".to_string(),
            state: "state".to_string(),
            previous_state: "previous_state".to_string(),
            err: "err".to_string(),
            at: "at".to_string(),
            client_ref: "client_ref".to_string(),
        }
    }
}

impl WebhookKeys {
    /// Every key with its setting's name, for checks.
    fn all(&self) -> [(&'static str, &str); 13] {
        [
            ("event", &self.event),
            ("id", &self.id),
            ("from", &self.from),
            ("to", &self.to),
            ("text", &self.text),
            ("connector", &self.connector),
            ("received_at", &self.received_at),
            ("segments", &self.segments),
            ("state", &self.state),
            ("previous_state", &self.previous_state),
            ("err", &self.err),
            ("at", &self.at),
            ("client_ref", &self.client_ref),
        ]
    }
}

/// What a webhook carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookPayload {
    /// A message from a handset (`"event": "mo"`).
    Mo(MoEvent),
    /// A change of a message's state (`"event": "status"`).
    Status(StatusEvent),
}

/// A message from a handset, reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoEvent {
    /// Our id of the MO message.
    pub id: String,
    /// The handset's number.
    pub from: String,
    /// Our number it was sent to.
    pub to: String,
    /// The decoded text.
    pub text: String,
    /// The connector it came through.
    pub connector: String,
    /// When we received it (its last segment).
    pub received_at: Timestamp,
    /// How many segments it came in.
    pub segments: u32,
}

/// A change of a message's state, e.g. a delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// Our id of the message.
    pub id: String,
    /// The state it reached.
    pub state: MessageState,
    /// The state it left, if known.
    pub previous_state: Option<MessageState>,
    /// The provider's error code, if it gave one.
    pub err: Option<String>,
    /// When it reached the state.
    pub at: Timestamp,
    /// The customer's reference for the message, if it gave one.
    pub client_ref: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// Worth another attempt later: why this one failed.
    Retry(String),
    /// Another attempt would fail the same way: why.
    Permanent(String),
}

/// A checked webhook, with its own HTTP client (and connection pool).
pub struct Webhook {
    name: String,
    url: Url,
    format: WebhookFormat,
    keys: WebhookKeys,
    fields: Vec<(String, String)>,
    /// The keyed HMAC, cloned for each request.
    signer: Option<Hmac<Sha256>>,
    signature_header: HeaderName,
    /// For reasons; the client enforces it.
    timeout: Duration,
    max_age: Duration,
    client: reqwest::Client,
    /// For a customer's URL: the addresses it may reach.
    targets: Option<Arc<CallbackTargets>>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &redacted_url(self.url.as_str()))
            .field("format", &self.format)
            .field("signed", &self.signer.is_some())
            .field("guarded", &self.targets.is_some())
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Checks `[webhooks.<name>]` and builds its HTTP client (for https,
    /// with the system's root certificates).
    pub fn new(name: &str, config: WebhookConfig) -> Result<Webhook, InvalidSetting> {
        Webhook::build(name, config, None)
    }

    /// [`Webhook::new`] for a URL a customer chose: its client connects
    /// only to addresses `targets` allows. A literal address in the URL is
    /// checked before each attempt; a host name is resolved by the client's
    /// own resolver ([`GuardedResolver`]), which hands it only the allowed
    /// addresses, at each new connection. The system's proxy settings are
    /// ignored: a proxy would resolve the name itself, unchecked.
    pub fn guarded(
        name: &str,
        config: WebhookConfig,
        targets: Arc<CallbackTargets>,
    ) -> Result<Webhook, InvalidSetting> {
        Webhook::build(name, config, Some(targets))
    }

    fn build(
        name: &str,
        config: WebhookConfig,
        targets: Option<Arc<CallbackTargets>>,
    ) -> Result<Webhook, InvalidSetting> {
        let invalid = |problem: String| InvalidSetting(format!("webhooks.{name}: {problem}"));
        if config.url.is_empty() {
            return Err(invalid("url is required".into()));
        }
        let url = Url::parse(&config.url).map_err(|e| {
            invalid(format!(
                "url {} is not a URL: {e}",
                redacted_url(&config.url)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid(format!(
                "url {} must be http:// or https:// with a host",
                redacted_url(&config.url)
            )));
        }
        let keys = config.keys.all();
        for (index, (setting, key)) in keys.iter().enumerate() {
            if key.is_empty() {
                return Err(invalid(format!("keys.{setting} is empty")));
            }
            if let Some((other, _)) = keys[..index].iter().find(|(_, earlier)| earlier == key) {
                return Err(invalid(format!(
                    "keys.{other} and keys.{setting} are both {key:?}; every key needs its own name"
                )));
            }
        }
        for field in config.fields.keys() {
            if field.is_empty() {
                return Err(invalid("fields has an empty key".into()));
            }
            if let Some((setting, _)) = keys.iter().find(|(_, key)| key == field) {
                return Err(invalid(format!(
                    "fields.{field} has the name of keys.{setting}; rename one of them"
                )));
            }
        }
        let signer = match config.secret.as_deref() {
            None => None,
            Some("") => {
                return Err(invalid(
                    "secret is empty: set a long random string, or remove it to send unsigned"
                        .into(),
                ));
            }
            Some(secret) => Some(
                Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                    .map_err(|e| invalid(format!("secret cannot key HMAC-SHA256: {e}")))?,
            ),
        };
        let signature_header =
            HeaderName::from_bytes(config.signature_header.as_bytes()).map_err(|_| {
                invalid(format!(
                    "signature_header {:?} is not a header name",
                    config.signature_header
                ))
            })?;
        if signature_header
            .as_str()
            .eq_ignore_ascii_case(TIMESTAMP_HEADER)
            || signature_header == CONTENT_TYPE
        {
            return Err(invalid(format!(
                "signature_header may not be {signature_header}, which smsgate sets itself"
            )));
        }
        if config.timeout.is_zero() || config.max_age.is_zero() {
            return Err(invalid("timeout and max_age must be above zero".into()));
        }
        let client = http_client(config.timeout, url.scheme() == "https", targets.clone())
            .map_err(invalid)?;
        Ok(Webhook {
            name: name.to_string(),
            url,
            format: config.format,
            keys: config.keys,
            fields: config.fields.into_iter().collect(),
            signer,
            signature_header,
            timeout: config.timeout,
            max_age: config.max_age,
            client,
            targets,
        })
    }

    /// The webhook's name, as in `[webhooks.NAME]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long an event is retried, counted from when it happened.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Makes one attempt to deliver `payload`. Never panics and never
    /// puts the URL's query or credentials, nor anything of the answer but
    /// its status, into a reason. A reason reads after the webhook's name
    /// ("answered HTTP 500 Internal Server Error", "target refused: ...").
    pub async fn post(&self, payload: &WebhookPayload) -> PostOutcome {
        if let Some(targets) = &self.targets
            && let Err(refused) = targets.check_url(&self.url)
        {
            return PostOutcome::Permanent(format!("target refused: {refused}"));
        }
        let body = match self.body(payload) {
            Ok(body) => body,
            Err(e) => {
                return PostOutcome::Permanent(format!(
                    "could not be sent: cannot encode the payload: {e}"
                ));
            }
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, self.format.content_type())
            .header(TIMESTAMP_HEADER, timestamp.to_string());
        if let Some(signer) = &self.signer {
            request = request.header(
                self.signature_header.clone(),
                signature(signer, timestamp, &body),
            );
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(e) => return self.failure(e),
        };
        let status = response.status();
        if status.is_success() {
            return PostOutcome::Delivered;
        }
        // The body stays unread: see the module documentation.
        drop(response);
        let reason = format!("answered HTTP {status}");
        if status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
        {
            PostOutcome::Retry(reason)
        } else if status.is_redirection() {
            PostOutcome::Permanent(format!(
                "{reason} (redirects are not followed: fix the url)"
            ))
        } else {
            PostOutcome::Permanent(reason)
        }
    }

    /// The request body: the payload's fields, then the constant ones.
    fn body(&self, payload: &WebhookPayload) -> Result<Vec<u8>, serde_json::Error> {
        let keys = &self.keys;
        let text = |value: &str| Value::Text(Cow::Owned(value.to_string()));
        let mut fields: Vec<(&str, Value<'_>)> = match payload {
            WebhookPayload::Mo(mo) => vec![
                (&keys.event, Value::Text(Cow::Borrowed("mo"))),
                (&keys.id, Value::Text(Cow::Borrowed(&mo.id))),
                (&keys.from, Value::Text(Cow::Borrowed(&mo.from))),
                (&keys.to, Value::Text(Cow::Borrowed(&mo.to))),
                (&keys.text, Value::Text(Cow::Borrowed(&mo.text))),
                (&keys.connector, Value::Text(Cow::Borrowed(&mo.connector))),
                (&keys.received_at, text(&mo.received_at.to_string())),
                (&keys.segments, Value::Number(mo.segments)),
            ],
            WebhookPayload::Status(status) => vec![
                (&keys.event, Value::Text(Cow::Borrowed("status"))),
                (&keys.id, Value::Text(Cow::Borrowed(&status.id))),
                (
                    &keys.state,
                    Value::Text(Cow::Borrowed(status.state.as_str())),
                ),
                (
                    &keys.previous_state,
                    status.previous_state.map_or(Value::Null, |state| {
                        Value::Text(Cow::Borrowed(state.as_str()))
                    }),
                ),
                (
                    &keys.err,
                    status
                        .err
                        .as_deref()
                        .filter(|err| !err.is_empty())
                        .map_or(Value::Null, |err| Value::Text(Cow::Borrowed(err))),
                ),
                (&keys.at, text(&status.at.to_string())),
                (
                    &keys.client_ref,
                    status
                        .client_ref
                        .as_deref()
                        .map_or(Value::Null, |client_ref| {
                            Value::Text(Cow::Borrowed(client_ref))
                        }),
                ),
            ],
        };
        fields.extend(
            self.fields
                .iter()
                .map(|(key, value)| (key.as_str(), Value::Text(Cow::Borrowed(value)))),
        );
        match self.format {
            WebhookFormat::Json => json_object(&fields),
            WebhookFormat::Form => Ok(form(&fields)),
        }
    }

    /// What a request that got no answer comes to.
    fn failure(&self, error: reqwest::Error) -> PostOutcome {
        let error = error.without_url();
        if let Some(refused) = target_refusal(&error) {
            return PostOutcome::Permanent(format!("target refused: {refused}"));
        }
        if error.is_builder() {
            return PostOutcome::Permanent(format!(
                "could not be sent: cannot build the request: {}",
                chain(&error)
            ));
        }
        if error.is_timeout() {
            return PostOutcome::Retry(format!(
                "did not answer within {}",
                humantime::format_duration(self.timeout)
            ));
        }
        PostOutcome::Retry(format!("could not be reached: {}", chain(&error)))
    }
}

/// A value in a request body.
enum Value<'a> {
    Text(Cow<'a, str>),
    Number(u32),
    /// JSON `null`; left out of forms.
    Null,
}

/// A flat JSON object, keys in the given order.
fn json_object(fields: &[(&str, Value<'_>)]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key)?;
        out.push(b':');
        match value {
            Value::Text(text) => serde_json::to_writer(&mut out, text.as_ref())?,
            Value::Number(number) => out.extend_from_slice(number.to_string().as_bytes()),
            Value::Null => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    Ok(out)
}

/// `key=value&...`, form-encoded; `Null` values left out.
fn form(fields: &[(&str, Value<'_>)]) -> Vec<u8> {
    let encode = |text: &str| {
        utf8_percent_encode(text, FORM)
            .to_string()
            .replace("%20", "+")
    };
    fields
        .iter()
        .filter_map(|(key, value)| {
            let value = match value {
                Value::Text(text) => encode(text),
                Value::Number(number) => number.to_string(),
                Value::Null => return None,
            };
            Some(format!("{}={value}", encode(key)))
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
fn signature(signer: &Hmac<Sha256>, timestamp: u64, body: &[u8]) -> String {
    let mut mac = signer.clone();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", super::hex(&mac.finalize().into_bytes()))
}

/// The [`GuardedResolver`]'s refusal among an error's causes, if it is one.
fn target_refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a TargetRefused> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(refused) = error.downcast_ref::<TargetRefused>() {
            return Some(refused);
        }
        cause = error.source();
    }
    None
}

/// An error and its causes, `outer: inner: ...`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait before retry number `attempt` (1 for the first retry, after
/// the first failed attempt): 10 s, doubling each time up to 1 h, then
/// 1 h; each spread at random over ±20 % so that webhooks failing
/// together do not retry together.
pub fn retry_delay(attempt: u32) -> Duration {
    spread_delay(attempt, rand::random::<f64>())
}

/// [`retry_delay`] with the random draw given: `unit` in [0, 1) maps to
/// 80 % ... 120 % of the base delay.
fn spread_delay(attempt: u32, unit: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let base = FIRST_RETRY_DELAY
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_DELAY);
    base.mul_f64(0.8 + 0.4 * unit.clamp(0.0, 1.0))
}

/// The HTTP client of one webhook: rustls with the ring provider (no
/// process-wide provider is assumed), the system roots for https, no
/// redirects, and `timeout` for the whole request. With `targets`, names
/// resolve through the [`GuardedResolver`] and no proxy is used.
fn http_client(
    timeout: Duration,
    https: bool,
    targets: Option<Arc<CallbackTargets>>,
) -> Result<reqwest::Client, String> {
    let roots = if https {
        system_roots()?
    } else {
        rustls::RootCertStore::empty()
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("cannot set up TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("smsgate/", env!("CARGO_PKG_VERSION")));
    if let Some(targets) = targets {
        builder = builder
            .dns_resolver(GuardedResolver::new(targets))
            .no_proxy();
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))
}

/// The URL without credentials and with its query hidden, for errors and
/// `Debug` (tokens often travel in either).
fn redacted_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            if parsed.query().is_some() {
                parsed.set_query(Some("<hidden>"));
            }
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "<not a URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> WebhookConfig {
        toml::from_str(toml_text).expect("test config parses")
    }

    fn refusal(toml_text: &str) -> String {
        Webhook::new("crm", config(toml_text))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn retry_delay_doubles_from_ten_seconds_up_to_an_hour() {
        let middle: Vec<u64> = (1..=11).map(|n| spread_delay(n, 0.5).as_secs()).collect();
        assert_eq!(
            middle,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(spread_delay(0, 0.5), Duration::from_secs(10));
        assert_eq!(spread_delay(u32::MAX, 0.5), MAX_RETRY_DELAY);
    }

    #[test]
    fn retry_delay_jitter_stays_within_twenty_percent() {
        assert_eq!(spread_delay(1, 0.0), Duration::from_secs(8));
        assert_eq!(spread_delay(1, 1.0), Duration::from_secs(12));
        for attempt in [1, 5, 20] {
            let base = spread_delay(attempt, 0.5);
            for _ in 0..100 {
                let delay = retry_delay(attempt);
                assert!(
                    delay >= base.mul_f64(0.8) && delay <= base.mul_f64(1.2),
                    "{delay:?}"
                );
            }
        }
    }

    #[test]
    fn empty_table_gives_the_defaults_but_needs_a_url() {
        let defaults = config("");
        assert_eq!(defaults.format, WebhookFormat::Json);
        assert_eq!(defaults.keys, WebhookKeys::default());
        assert_eq!(defaults.signature_header, "X-Smsgate-Signature");
        assert_eq!(defaults.timeout, Duration::from_secs(10));
        assert_eq!(defaults.max_age, Duration::from_secs(24 * 3600));
        assert!(refusal("").contains("webhooks.crm: url is required"));
        assert!(toml::from_str::<WebhookConfig>("uri = \"http://x\"").is_err());
        assert!(toml::from_str::<WebhookConfig>("[keys]\nbody = \"Body\"").is_err());
    }

    #[test]
    fn debug_hides_the_secret_field_values_and_url_credentials() {
        let config = config(
            "url = \"https://user:pw0rd@crm.example.com/in?token=t0ken\"\n\
             secret = \"s3cret\"\n[fields]\napi_key = \"k3y\"\n",
        );
        let shown = format!("{config:?}");
        for hidden in ["s3cret", "k3y", "pw0rd", "t0ken", "user"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
        assert!(shown.contains("crm.example.com/in") && shown.contains("api_key"));
        let webhook = Webhook::new(
            "crm",
            WebhookConfig {
                url: "http://user:pw0rd@127.0.0.1:9/in?token=t0ken".into(),
                ..config
            },
        )
        .expect("valid");
        let shown = format!("{webhook:?}");
        for hidden in ["s3cret", "k3y", "pw0rd", "t0ken"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
    }

    #[test]
    fn invalid_settings_are_refused_with_the_key_named() {
        assert!(refusal("url = \"ftp://example.com/\"").contains("http:// or https://"));
        assert!(refusal("url = \"not a url\"").contains("is not a URL"));
        assert!(
            refusal("url = \"http://x/\"\n[keys]\nto = \"from\"")
                .contains("keys.from and keys.to are both \"from\"")
        );
        assert!(refusal("url = \"http://x/\"\n[keys]\ntext = \"\"").contains("keys.text is empty"));
        assert!(
            refusal("url = \"http://x/\"\n[fields]\nid = \"1\"")
                .contains("fields.id has the name of keys.id")
        );
        assert!(refusal("url = \"http://x/\"\nsecret = \"\"").contains("secret is empty"));
        assert!(
            refusal("url = \"http://x/\"\nsignature_header = \"bad header\"")
                .contains("signature_header")
        );
        assert!(
            refusal("url = \"http://x/\"\nsignature_header = \"x-smsgate-timestamp\"")
                .contains("sets itself")
        );
        assert!(refusal("url = \"http://x/\"\ntimeout = \"0s\"").contains("timeout"));
    }

    #[test]
    fn form_encoding_is_that_of_browsers() {
        let fields = [
            ("a b", Value::Text(Cow::Borrowed("x+y z&=%/é*-._~"))),
            ("n", Value::Number(2)),
            ("gone", Value::Null),
        ];
        assert_eq!(
            String::from_utf8(form(&fields)).expect("ascii"),
            "a+b=x%2By+z%26%3D%25%2F%C3%A9*-._%7E&n=2"
        );
    }
}

//! The http connector's settings: where to send, how to write the request,
//! how to authenticate, how to read the answer, and the limits.
//!
//! Every key has its default here, in the `default_*` functions and the
//! `#[default]` variants, and nowhere else.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::request::RequestTemplate;
use super::response::AnswerCheck;
use crate::settings::InvalidSetting;

/// The most requests in flight a connector may allow: far beyond what any
/// provider accepts from one client, and small enough for a semaphore's
/// `acquire_many` at shutdown.
const CONCURRENCY_MAX: usize = 10_000;

/// A provider's HTTP API. A TOML table (here Zadarma's SMS API; every key
/// but `url` is optional and shown with its default unless marked):
///
/// ```toml
/// url = "https://api.zadarma.com/v1/sms/send/"
/// method = "post"                   # or "get"
/// format = "form"                   # or "json", "query" (required for get)
/// key_to = "number"                 # default "to"
/// key_from = "caller_id"            # default "from"
/// key_text = "message"              # default "text"
/// key_message_id = "ref"            # absent (default): our id is not sent
/// fields = { format = "json" }      # default empty: constants sent with every request
/// secret_fields = { api_key = "…" } # default empty: as fields, never logged
/// number_format = "digits"          # default "as_is"; or "e164"
/// charset = "ucs2"                  # default "unicode"; or "gsm7"
/// auth = { kind = "zadarma", key = "1a2b3c", secret = "…" }  # default { kind = "none" }
/// # auth = { kind = "basic", user = "acme", password = "…" }
/// # auth = { kind = "bearer", token = "…" }
/// success_field = "/status"         # absent (default): any 2xx is success
/// success_value = "success"
/// id_pointer = "/messages/0/id"     # absent (default): no provider id
/// # id_regex = "id=(\\w+)"          # or the first capture group over the body
/// timeout = "30s"
/// concurrency = 10                  # requests in flight
/// tps = 5                           # absent (default): unlimited
/// ca_file = "/etc/smsgate/provider-ca.pem"  # absent (default): the system's roots
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConnectorConfig {
    /// The full URL to send each segment to, `http` or `https`. Keep keys
    /// out of it (it is shown in logs and the console): use `secret_fields`.
    pub url: String,
    /// The HTTP method. Default POST.
    #[serde(default)]
    pub method: Method,
    /// How the parameters travel. Default form.
    #[serde(default)]
    pub format: Format,
    /// The parameter holding the recipient. Default "to".
    #[serde(default = "default_key_to")]
    pub key_to: String,
    /// The parameter holding the sender, left out when the segment has
    /// none (so the provider uses its default). Default "from".
    #[serde(default = "default_key_from")]
    pub key_from: String,
    /// The parameter holding the text (UTF-8). Default "text".
    #[serde(default = "default_key_text")]
    pub key_text: String,
    /// The parameter to send our message id in, for providers that echo it
    /// in their receipts. Absent: not sent. Default absent.
    #[serde(default)]
    pub key_message_id: Option<String>,
    /// Constant parameters added to every request. Default none.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Constant parameters whose values are secret (API keys, passwords in
    /// the body): sent as `fields` are, never logged or shown. Default none.
    #[serde(default)]
    pub secret_fields: BTreeMap<String, Secret>,
    /// How the recipient and sender numbers are written. Default as_is.
    #[serde(default)]
    pub number_format: NumberFormat,
    /// The characters the provider can carry; a segment with others is
    /// refused before sending. Default unicode (any).
    #[serde(default)]
    pub charset: Charset,
    /// How requests are authenticated. Default none.
    #[serde(default)]
    pub auth: Auth,
    /// A JSON pointer (RFC 6901, e.g. "/status") into the answer's body that
    /// must equal `success_value` for a 2xx answer to count as accepted.
    /// Absent: every 2xx is accepted. Default absent.
    #[serde(default)]
    pub success_field: Option<String>,
    /// What `success_field` must hold, compared as text (a JSON number or
    /// boolean as written, e.g. "0" or "true"). Set with `success_field`.
    #[serde(default)]
    pub success_value: Option<String>,
    /// A JSON pointer to the provider's id of the segment in the answer
    /// (a string, or a number written in decimal), which its receipts will
    /// refer to. Default absent.
    #[serde(default)]
    pub id_pointer: Option<String>,
    /// A regular expression whose first capture group, over the raw body,
    /// is the provider's id; for answers that are not JSON. Not with
    /// `id_pointer`. Absent with it: the provider's id is empty. Default
    /// absent.
    #[serde(default)]
    pub id_regex: Option<String>,
    /// How long one request may take, connecting to reading the whole
    /// answer. Default 30 s.
    #[serde(default = "default_timeout", with = "crate::settings::duration")]
    pub timeout: Duration,
    /// Requests in flight at once; a submit beyond it waits for one to end.
    /// Default 10.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Requests per second, spaced evenly (no burst). Absent: unlimited.
    /// Default absent.
    #[serde(default)]
    pub tps: Option<u32>,
    /// The CA certificates (PEM) to trust for an https `url`. Absent: the
    /// system's roots. Default absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// The HTTP method of each request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// POST.
    #[default]
    #[serde(alias = "POST")]
    Post,
    /// GET; its parameters must travel in the query string.
    #[serde(alias = "GET")]
    Get,
}

/// How the parameters travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An `application/x-www-form-urlencoded` body.
    #[default]
    Form,
    /// An `application/json` body: one object of strings.
    Json,
    /// The URL's query string (after any query the `url` has); no body.
    Query,
}

/// How the recipient and sender numbers are written. Only numbers change:
/// an alphanumeric sender or a short code is always sent as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// As the message has it (SMPP international numbers have no `+`).
    #[default]
    AsIs,
    /// An international number (TON 1, or already written with `+`) with
    /// a leading `+`.
    E164,
    /// Without a leading `+`.
    Digits,
}

/// The characters a provider can carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Charset {
    /// Any Unicode text.
    #[default]
    Unicode,
    /// The Basic Multilingual Plane only: no character above U+FFFF, such
    /// as most emoji (providers that count in UCS-2 and mangle surrogates).
    Ucs2,
    /// Only the GSM 03.38 default alphabet and its extension table.
    Gsm7,
}

/// How requests are authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Auth {
    /// No authentication (or keys in `secret_fields`).
    #[default]
    None,
    /// HTTP Basic: `Authorization: Basic base64(user:password)`.
    Basic {
        /// The user; may not contain `:`.
        user: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// Zadarma's signature: `Authorization: <key>:<signature>`, the
    /// signature being base64(hex(HMAC-SHA1(secret, path + params +
    /// hex(MD5(params))))) over the URL's path and the parameters sorted by
    /// name and encoded as PHP's `http_build_query` does (a query written
    /// in `url` itself is not signed: put constants in `fields`).
    Zadarma {
        /// The user key.
        key: String,
        /// The secret key.
        secret: Secret,
    },
}

/// A secret from the configuration: shown as `***` in Debug output, so it
/// never reaches a log through the configuration.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

fn default_key_to() -> String {
    "to".into()
}

fn default_key_from() -> String {
    "from".into()
}

fn default_key_text() -> String {
    "text".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_concurrency() -> usize {
    10
}

impl HttpConnectorConfig {
    /// A configuration with every optional key at its default.
    pub fn new(url: impl Into<String>) -> HttpConnectorConfig {
        HttpConnectorConfig {
            url: url.into(),
            method: Method::default(),
            format: Format::default(),
            key_to: default_key_to(),
            key_from: default_key_from(),
            key_text: default_key_text(),
            key_message_id: None,
            fields: BTreeMap::new(),
            secret_fields: BTreeMap::new(),
            number_format: NumberFormat::default(),
            charset: Charset::default(),
            auth: Auth::default(),
            success_field: None,
            success_value: None,
            id_pointer: None,
            id_regex: None,
            timeout: default_timeout(),
            concurrency: default_concurrency(),
            tps: None,
            ca_file: None,
        }
    }

    /// Checks what serde cannot: the URL, the parameter names, the
    /// credentials, the response check and id extraction, the limits.
    /// `name` is the connector's, for the message. The CA file is read
    /// only when the connector starts.
    pub fn validate(&self, name: &str) -> Result<(), InvalidSetting> {
        self.check_limits(name)?;
        RequestTemplate::new(name, self)?;
        AnswerCheck::new(name, self)?;
        Ok(())
    }

    /// The checks of [`HttpConnectorConfig::validate`] that build nothing.
    pub(super) fn check_limits(&self, name: &str) -> Result<(), InvalidSetting> {
        if self.timeout.is_zero() {
            return Err(invalid(name, "timeout must be above zero"));
        }
        if !(1..=CONCURRENCY_MAX).contains(&self.concurrency) {
            return Err(invalid(
                name,
                format!("concurrency must be between 1 and {CONCURRENCY_MAX}"),
            ));
        }
        if self.tps == Some(0) {
            return Err(invalid(
                name,
                "tps must be at least 1 (leave it out for unlimited)",
            ));
        }
        Ok(())
    }
}

/// A configuration error naming the connector.
pub(super) fn invalid(name: &str, what: impl std::fmt::Display) -> InvalidSetting {
    InvalidSetting(format!("connector {name}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HttpConnectorConfig, toml::de::Error> {
        toml::from_str(text)
    }

    fn error(config: &HttpConnectorConfig) -> String {
        config
            .validate("acme")
            .expect_err("the configuration is refused")
            .to_string()
    }

    #[test]
    fn minimal_table_gets_every_default() {
        let config = parse(r#"url = "https://api.example.com/sms""#).expect("valid");
        assert_eq!(
            config,
            HttpConnectorConfig::new("https://api.example.com/sms")
        );
        assert_eq!(config.method, Method::Post);
        assert_eq!(config.format, Format::Form);
        assert_eq!(
            (&*config.key_to, &*config.key_from, &*config.key_text),
            ("to", "from", "text")
        );
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.concurrency, 10);
        config.validate("acme").expect("valid");
    }

    #[test]
    fn the_documented_example_parses_and_validates() {
        let config = parse(
            r#"
            url = "https://api.zadarma.com/v1/sms/send/"
            method = "post"
            format = "form"
            key_to = "number"
            key_from = "caller_id"
            key_text = "message"
            key_message_id = "ref"
            fields = { format = "json" }
            secret_fields = { api_key = "k" }
            number_format = "digits"
            charset = "ucs2"
            auth = { kind = "zadarma", key = "1a2b3c", secret = "s" }
            success_field = "/status"
            success_value = "success"
            id_pointer = "/messages/0/id"
            timeout = "5s"
            concurrency = 4
            tps = 5
            "#,
        )
        .expect("valid");
        assert_eq!(
            config.auth,
            Auth::Zadarma {
                key: "1a2b3c".into(),
                secret: Secret::new("s")
            }
        );
        assert_eq!(config.number_format, NumberFormat::Digits);
        assert_eq!(config.charset, Charset::Ucs2);
        assert_eq!(config.timeout, Duration::from_secs(5));
        config.validate("acme").expect("valid");
    }

    #[test]
    fn auth_kinds_parse_and_unknown_auth_keys_are_refused() {
        let basic = parse(
            r#"
            url = "http://h/"
            auth = { kind = "basic", user = "u", password = "p" }
            "#,
        )
        .expect("valid");
        assert_eq!(
            basic.auth,
            Auth::Basic {
                user: "u".into(),
                password: Secret::new("p")
            }
        );
        let bearer = parse("url = \"http://h/\"\nauth = { kind = \"bearer\", token = \"t\" }")
            .expect("valid");
        assert_eq!(
            bearer.auth,
            Auth::Bearer {
                token: Secret::new("t")
            }
        );
        assert!(
            parse("url = \"http://h/\"\nauth = { kind = \"bearer\", token = \"t\", user = \"u\" }")
                .is_err()
        );
        assert!(parse("url = \"http://h/\"\nauth = { kind = \"basic\", user = \"u\" }").is_err());
        assert!(parse("url = \"http://h/\"\nauth = { kind = \"digest\" }").is_err());
    }

    #[test]
    fn uppercase_methods_are_accepted_and_unknown_keys_refused() {
        let config =
            parse("url = \"http://h/\"\nmethod = \"GET\"\nformat = \"query\"").expect("valid");
        assert_eq!(config.method, Method::Get);
        assert!(parse("url = \"http://h/\"\nkey_body = \"b\"").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = HttpConnectorConfig::new("https://h/");
        config.auth = Auth::Zadarma {
            key: "k".into(),
            secret: Secret::new("zadarma-secret"),
        };
        config
            .secret_fields
            .insert("api_key".into(), Secret::new("field-secret"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("zadarma-secret"), "{shown}");
        assert!(!shown.contains("field-secret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        for auth in [
            Auth::Basic {
                user: "u".into(),
                password: Secret::new("pw-secret"),
            },
            Auth::Bearer {
                token: Secret::new("token-secret"),
            },
        ] {
            assert!(!format!("{auth:?}").contains("-secret"));
        }
    }

    #[test]
    fn bad_urls_are_refused_naming_the_key() {
        for url in ["not a url", "ftp://h/x", "http://", "https://:80/x", ""] {
            let message = error(&HttpConnectorConfig::new(url));
            assert!(message.contains("connector acme"), "{message}");
            assert!(message.contains("url"), "{message}");
        }
    }

    #[test]
    fn get_needs_the_query_format() {
        let mut config = HttpConnectorConfig::new("http://h/");
        config.method = Method::Get;
        assert!(error(&config).contains("format"));
        config.format = Format::Query;
        config.validate("acme").expect("valid");
    }

    #[test]
    fn parameter_names_must_be_distinct_and_non_empty() {
        let mut config = HttpConnectorConfig::new("http://h/");
        config.key_text = "to".into();
        assert!(error(&config).contains("key_text"));
        config.key_text = String::new();
        assert!(error(&config).contains("key_text"));
        config.key_text = "text".into();
        config.fields.insert("from".into(), "x".into());
        assert!(error(&config).contains("fields"));
        config.fields.clear();
        config.secret_fields.insert("text".into(), Secret::new("x"));
        assert!(error(&config).contains("secret_fields"));
        config.secret_fields.clear();
        config.fields.insert("k".into(), "1".into());
        config.secret_fields.insert("k".into(), Secret::new("2"));
        assert!(error(&config).contains("\"k\""));
        config.secret_fields.clear();
        config.key_message_id = Some("to".into());
        assert!(error(&config).contains("key_message_id"));
    }

    #[test]
    fn missing_or_unusable_credentials_are_refused() {
        let mut config = HttpConnectorConfig::new("http://h/");
        let refused = |config: &HttpConnectorConfig, key: &str| {
            let message = error(config);
            assert!(message.contains(key), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        };
        config.auth = Auth::Basic {
            user: "u".into(),
            password: Secret::new(""),
        };
        refused(&config, "password");
        config.auth = Auth::Basic {
            user: "a:b".into(),
            password: Secret::new("s3cret"),
        };
        refused(&config, "user");
        config.auth = Auth::Bearer {
            token: Secret::new(""),
        };
        refused(&config, "token");
        config.auth = Auth::Bearer {
            token: Secret::new("s3cret\nX: y"),
        };
        refused(&config, "token");
        config.auth = Auth::Zadarma {
            key: "k".into(),
            secret: Secret::new(""),
        };
        refused(&config, "secret");
        config.auth = Auth::Zadarma {
            key: String::new(),
            secret: Secret::new("s3cret"),
        };
        refused(&config, "key");
    }

    #[test]
    fn response_check_settings_are_checked() {
        let mut config = HttpConnectorConfig::new("http://h/");
        config.success_field = Some("/status".into());
        assert!(error(&config).contains("success_value"));
        config.success_value = Some("ok".into());
        config.validate("acme").expect("valid");
        config.success_field = Some("status".into());
        assert!(error(&config).contains("success_field"));
        config.success_field = Some("/a~2b".into());
        assert!(error(&config).contains("success_field"));
        config.success_field = Some("/a~1b/~0c".into());
        config.validate("acme").expect("valid");
        config.id_pointer = Some("id".into());
        assert!(error(&config).contains("id_pointer"));
        config.id_pointer = Some("/id".into());
        config.id_regex = Some("id=(\\d+)".into());
        assert!(error(&config).contains("id_regex"));
        config.id_pointer = None;
        config.validate("acme").expect("valid");
        config.id_regex = Some("id=(\\d+".into());
        assert!(error(&config).contains("id_regex"));
        config.id_regex = Some("id=\\d+".into());
        assert!(error(&config).contains("capture group"));
    }

    #[test]
    fn impossible_limits_are_refused() {
        let mut config = HttpConnectorConfig::new("http://h/");
        config.concurrency = 0;
        assert!(error(&config).contains("concurrency"));
        config.concurrency = 10;
        config.tps = Some(0);
        assert!(error(&config).contains("tps"));
        config.tps = None;
        config.timeout = Duration::ZERO;
        assert!(error(&config).contains("timeout"));
    }
}

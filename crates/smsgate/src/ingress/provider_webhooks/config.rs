//! The settings of one connector's webhooks: where the provider calls, how
//! its requests are read, who may call, and what it is answered.
//!
//! The keys follow the `[websmsd]` section of the WebSMS bridge (key_to,
//! key_from, key_body, key_echo, report_success, permit_addr, proxy_addr,
//! proxy_header), so a working websms.conf translates line by line; the
//! receipt keys, authentication and limits are ours.
//!
//! A webhook is never open by accident: [`ProviderWebhookConfig::validate`]
//! refuses one that has neither `auth` nor `permit_addr` unless the
//! operator writes `insecure = true`, because anyone who can reach an open
//! webhook can forge receipts and inbound messages.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::http::HeaderName;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use smpp::receipt::ReceiptStat;

use crate::settings::InvalidSetting;

/// How a connector's provider calls us back. A TOML table, every key
/// optional (the defaults are [`ProviderWebhookConfig::default`]):
///
/// ```toml
/// mo_path = "/hooks/acme/mo"            # default /hooks/<connector>/mo
/// receipt_path = "/hooks/acme/receipt"  # default /hooks/<connector>/receipt
/// key_to = "To"                         # field names; case is ignored
/// key_from = "From"
/// key_body = "Body"
/// key_echo = "zd_echo"                  # default: no echo
/// report_success = "<Response></Response>"  # default: an empty body
/// permit_addr = ["185.45.152.42", "3.104.90.0/24"]  # default: none
/// proxy_addr = ["172.16.0.0/12"]        # default: no proxy is trusted
/// proxy_header = "X-Forwarded-For"
/// auth = { method = "basic", user = "acme", password = "s3cret" }
/// # auth = { method = "hmac", secret = "s3cret", header = "X-Signature",
/// #          timestamp_header = "X-Timestamp", max_age = "5m",
/// #          max_seen_signatures = 100000, algorithm = "sha256", encoding = "hex" }
/// # auth = { method = "none" }         # the default
/// # insecure = true                    # neither auth nor permit_addr: anyone may call
/// key_id = "id"
/// key_status = "status"
/// key_err = "err"                       # default: no error code
/// key_done_at = "done_at"               # default: no time
/// status_map = { OK = "DELIVRD", NOK = "UNDELIV" }
/// max_body_size = 65536
/// event_handoff_timeout = "2s"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderWebhookConfig {
    /// Where the provider POSTs MO messages. Absent: `/hooks/<connector>/mo`.
    /// Paths must be unique across every router merged into one listener.
    pub mo_path: Option<String>,
    /// Where the provider POSTs delivery receipts. Absent:
    /// `/hooks/<connector>/receipt`.
    pub receipt_path: Option<String>,
    /// The field holding our number (the MO's destination). Default `To`.
    ///
    /// Every `key_*` is compared ignoring ASCII case, since providers
    /// disagree on it (Twilio's `To`, the JSON `to`), and is looked for
    /// first among the top-level fields, then inside nested objects, and
    /// inside form fields whose value is JSON (Zadarma's `result`).
    pub key_to: String,
    /// The field holding the handset's number (the MO's source). Default `From`.
    pub key_from: String,
    /// The field holding the text. Default `Body`.
    pub key_body: String,
    /// A query parameter some providers (Zadarma: `zd_echo`) send, on a GET
    /// or a POST, to check the URL: such a request is answered with the
    /// parameter's value and nothing else. Default: none.
    pub key_echo: Option<String>,
    /// The exact body of a success answer (200). Its first character sets
    /// the Content-Type: `<` XML, `{` or `[` JSON, anything else plain
    /// text. Default: empty.
    pub report_success: String,
    /// Who may call: address ranges (`3.104.90.0/24`) or single addresses,
    /// matched against the TCP peer (or, behind a trusted proxy, the client
    /// it names). Others are answered 403 and logged with their address.
    /// Empty: any address, which needs `auth` or `insecure`.
    pub permit_addr: Vec<AddressRange>,
    /// The reverse proxies whose [`proxy_header`](Self::proxy_header) is
    /// believed. Default: none. (websmsd trusts 172.16.0.0/12 by default;
    /// we do not, as any host in that range, a container for one, could
    /// then claim a permitted address.)
    pub proxy_addr: Vec<AddressRange>,
    /// The header a trusted proxy names the client in. Default
    /// `X-Forwarded-For`. Write the header's name, not PHP's
    /// `HTTP_X_FORWARDED_FOR`.
    pub proxy_header: String,
    /// How requests prove they come from the provider. Default none, which
    /// needs `permit_addr` or `insecure`.
    pub auth: WebhookAuth,
    /// Accept requests from anyone: true is the only way to run a webhook
    /// with neither `auth` nor `permit_addr`, so an open webhook, on which
    /// anyone can forge receipts and MO, is always written down. Refused
    /// together with either of them, which would make it a lie. Default false.
    pub insecure: bool,
    /// The receipt's field holding the provider's message id. Default `id`.
    pub key_id: String,
    /// The receipt's field holding the status word. Default `status`.
    pub key_status: String,
    /// The receipt's field holding the provider's error code. Default: none.
    pub key_err: Option<String>,
    /// The receipt's field holding when the state was reached, as RFC 3339
    /// or unix seconds. Default: none.
    pub key_done_at: Option<String>,
    /// Status words of this provider and the receipt states they mean
    /// (`DELIVRD`, `UNDELIV`, `EXPIRED`, `REJECTD`, `ACCEPTD`, `ENROUTE`,
    /// `DELETED`, `UNKNOWN`), compared ignoring case. They come before the
    /// built-in words (delivered, failed, expired, rejected, sent,
    /// queued, ...: see `receipt.rs`). Default: empty.
    pub status_map: BTreeMap<String, StatusWord>,
    /// The largest request body read, in bytes; larger ones are answered
    /// 413. Default 64 KiB.
    pub max_body_size: usize,
    /// How long a request waits for room in the channel to tracking before
    /// it is answered 503, so the provider tries again later. Default 2 s.
    #[serde(with = "crate::settings::duration")]
    pub event_handoff_timeout: Duration,
}

impl Default for ProviderWebhookConfig {
    fn default() -> Self {
        ProviderWebhookConfig {
            mo_path: None,
            receipt_path: None,
            key_to: "To".into(),
            key_from: "From".into(),
            key_body: "Body".into(),
            key_echo: None,
            report_success: String::new(),
            permit_addr: Vec::new(),
            proxy_addr: Vec::new(),
            proxy_header: "X-Forwarded-For".into(),
            auth: WebhookAuth::None,
            insecure: false,
            key_id: "id".into(),
            key_status: "status".into(),
            key_err: None,
            key_done_at: None,
            status_map: BTreeMap::new(),
            max_body_size: 64 * 1024,
            event_handoff_timeout: Duration::from_secs(2),
        }
    }
}

/// The two paths a connector's router serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPaths {
    /// MO messages.
    pub mo: String,
    /// Delivery receipts.
    pub receipt: String,
}

impl ProviderWebhookConfig {
    /// The paths, defaults filled in. Routers with a path in common cannot
    /// be merged (axum panics), so whoever merges several checks these
    /// first.
    pub fn paths(&self, connector: &str) -> WebhookPaths {
        let path = |configured: &Option<String>, kind: &str| {
            configured
                .clone()
                .unwrap_or_else(|| format!("/hooks/{connector}/{kind}"))
        };
        WebhookPaths {
            mo: path(&self.mo_path, "mo"),
            receipt: path(&self.receipt_path, "receipt"),
        }
    }

    /// Checks what serde cannot: paths, field names, the header names, the
    /// credentials, and that the webhook is not open to anyone unless
    /// `insecure` says so.
    pub fn validate(&self, connector: &str) -> Result<(), InvalidSetting> {
        let invalid = |what: String| {
            Err(InvalidSetting(format!(
                "connector {connector:?} webhooks: {what}"
            )))
        };
        let paths = self.paths(connector);
        for (key, path) in [("mo_path", &paths.mo), ("receipt_path", &paths.receipt)] {
            if let Err(why) = check_path(path) {
                return invalid(format!("{key} {path:?} {why}"));
            }
        }
        if paths.mo == paths.receipt {
            return invalid(format!(
                "mo_path and receipt_path are both {:?}; they must differ",
                paths.mo
            ));
        }
        let keys = [
            ("key_to", Some(&self.key_to)),
            ("key_from", Some(&self.key_from)),
            ("key_body", Some(&self.key_body)),
            ("key_echo", self.key_echo.as_ref()),
            ("key_id", Some(&self.key_id)),
            ("key_status", Some(&self.key_status)),
            ("key_err", self.key_err.as_ref()),
            ("key_done_at", self.key_done_at.as_ref()),
        ];
        for (key, value) in keys {
            if value.is_some_and(|v| v.trim().is_empty()) {
                return invalid(format!("{key} must not be empty"));
            }
        }
        if let Err(why) = check_header_name(&self.proxy_header) {
            return invalid(format!("proxy_header {why}"));
        }
        let mut words = BTreeMap::new();
        for word in self.status_map.keys() {
            let folded = word.trim().to_ascii_lowercase();
            if folded.is_empty() {
                return invalid("status_map has an empty status word".into());
            }
            if let Some(other) = words.insert(folded, word) {
                return invalid(format!(
                    "status_map has both {other:?} and {word:?}; words are compared ignoring case"
                ));
            }
        }
        if self.max_body_size == 0 {
            return invalid("max_body_size must be at least 1".into());
        }
        let restricted = self.auth != WebhookAuth::None || !self.permit_addr.is_empty();
        if !restricted && !self.insecure {
            return invalid(
                "anyone could call them and forge receipts and MO: set auth \
                 (method = \"hmac\" or \"basic\"), or permit_addr (the address ranges \
                 the provider calls from), or insecure = true to accept requests from anyone"
                    .into(),
            );
        }
        if restricted && self.insecure {
            return invalid(
                "insecure = true accepts requests from anyone, but auth or permit_addr \
                 is set: remove insecure"
                    .into(),
            );
        }
        match &self.auth {
            WebhookAuth::None => {}
            WebhookAuth::Basic { user, password } => {
                if user.is_empty() || user.contains(':') {
                    return invalid("auth.user must be non-empty and hold no ':'".into());
                }
                if password.expose().is_empty() {
                    return invalid("auth.password must not be empty".into());
                }
            }
            WebhookAuth::Hmac {
                secret,
                header,
                timestamp_header,
                max_age,
                max_seen_signatures,
                ..
            } => {
                if secret.expose().is_empty() {
                    return invalid("auth.secret must not be empty".into());
                }
                if let Err(why) = check_header_name(header) {
                    return invalid(format!("auth.header {why}"));
                }
                if let Err(why) = check_header_name(timestamp_header) {
                    return invalid(format!("auth.timestamp_header {why}"));
                }
                if header.eq_ignore_ascii_case(timestamp_header) {
                    return invalid(format!(
                        "auth.header and auth.timestamp_header are both {header:?}; they must differ"
                    ));
                }
                if max_age.is_zero() {
                    return invalid("auth.max_age must be above zero, e.g. \"5m\"".into());
                }
                if *max_seen_signatures == 0 {
                    return invalid("auth.max_seen_signatures must be at least 1".into());
                }
            }
        }
        Ok(())
    }
}

/// A path we can serve: absolute, and only the characters that need no
/// escaping (axum reads `{` and `*` as captures).
fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') || path.len() < 2 {
        return Err("must start with / and name something");
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/-._~".contains(c);
    if !path.chars().all(plain) {
        return Err("may hold only letters, digits, and / - . _ ~");
    }
    if path.contains("//") {
        return Err("must not hold an empty segment (//)");
    }
    Ok(())
}

fn check_header_name(name: &str) -> Result<(), String> {
    if name.to_ascii_uppercase().starts_with("HTTP_") {
        return Err(format!(
            "{name:?} is PHP's name for a header; write the header's own name, e.g. X-Forwarded-For"
        ));
    }
    HeaderName::from_str(name)
        .map(drop)
        .map_err(|_| format!("{name:?} is not a valid HTTP header name"))
}

/// How a request proves it comes from the provider. A table with a
/// `method`: `none`, `basic` (`user`, `password`) or `hmac` (`secret`,
/// `header`, `timestamp_header`, `max_age`, `max_seen_signatures`,
/// `algorithm` (`sha256`, the default, or `sha1`) and `encoding` (`hex`,
/// the default, or `base64`)). Credentials are compared in constant time
/// and never logged. URL checks ([`ProviderWebhookConfig::key_echo`])
/// need none: they carry nothing to sign and produce no event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum WebhookAuth {
    /// Anyone [`permit_addr`](ProviderWebhookConfig::permit_addr) lets in.
    #[default]
    None,
    /// HTTP basic authentication (`Authorization: Basic ...`).
    Basic {
        /// The user name the provider sends.
        user: String,
        /// Its password.
        password: Secret,
    },
    /// An HMAC, in a header, of the request's timestamp, a full stop and
    /// the raw body (`1767225600.{"id":...}`): signing the timestamp with
    /// the body means a captured request cannot be sent again later with a
    /// fresh one. docs/connectors.md says how a provider signs.
    Hmac {
        /// The key shared with the provider.
        secret: Secret,
        /// The header holding the signature.
        header: String,
        /// The header holding when the request was signed, in unix seconds
        /// (decimal digits). Default `X-Timestamp`.
        #[serde(default = "default_timestamp_header")]
        timestamp_header: String,
        /// How far the timestamp may be from our clock, either way: older
        /// (or later) requests are answered 401. Default 5 minutes.
        #[serde(default = "default_max_age", with = "crate::settings::duration")]
        max_age: Duration,
        /// How many signatures taken within `max_age` are remembered, so
        /// that the same request sent again is answered 401. A signature is
        /// forgotten once its timestamp is older than `max_age`. When this
        /// many are remembered, none of them that old, further signed
        /// requests are answered 503 (the provider sends them again later)
        /// rather than let a replay through. Default 100,000 (some 10 MB).
        #[serde(default = "default_max_seen_signatures")]
        max_seen_signatures: usize,
        /// The hash.
        #[serde(default)]
        algorithm: HmacAlgorithm,
        /// How the signature is written.
        #[serde(default)]
        encoding: SignatureEncoding,
    },
}

fn default_timestamp_header() -> String {
    "X-Timestamp".into()
}

fn default_max_age() -> Duration {
    Duration::from_secs(5 * 60)
}

fn default_max_seen_signatures() -> usize {
    100_000
}

/// The hash of an HMAC signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    #[default]
    Sha256,
    /// HMAC-SHA1, which older providers still use.
    Sha1,
}

/// How an HMAC signature is written in its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Hexadecimal, either case.
    #[default]
    Hex,
    /// Standard base64, padded or not.
    Base64,
}

/// A password or key: kept out of `Debug` output, and so out of logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that compares it.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// An address range, written in CIDR form (`3.104.90.0/24`) or as one
/// address (`185.45.152.42`), as websms.conf allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange(IpNet);

impl AddressRange {
    /// Whether `addr` is in the range. IPv4 clients reaching an IPv6
    /// socket (`::ffff:a.b.c.d`) count as their IPv4 address.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr.to_canonical())
    }
}

impl FromStr for AddressRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let net = match IpNet::from_str(text) {
            Ok(net) => net.trunc(),
            Err(_) => IpAddr::from_str(text).map(IpNet::from).map_err(|_| {
                format!("{text:?} is not an address range; write 10.0.0.0/8 or 192.0.2.1")
            })?,
        };
        Ok(AddressRange(net))
    }
}

impl<'de> Deserialize<'de> for AddressRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A receipt state, written as SMPP's `stat` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum StatusWord {
    /// Delivered to the handset.
    #[serde(rename = "DELIVRD")]
    Delivered,
    /// Cannot be delivered.
    #[serde(rename = "UNDELIV")]
    Undeliverable,
    /// The validity period ran out.
    #[serde(rename = "EXPIRED")]
    Expired,
    /// Refused by the provider or the network.
    #[serde(rename = "REJECTD")]
    Rejected,
    /// Accepted (SMPP's final ACCEPTD).
    #[serde(rename = "ACCEPTD")]
    Accepted,
    /// On its way, not final.
    #[serde(rename = "ENROUTE")]
    Enroute,
    /// Deleted at the provider.
    #[serde(rename = "DELETED")]
    Deleted,
    /// The provider does not know.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl From<StatusWord> for ReceiptStat {
    fn from(word: StatusWord) -> Self {
        match word {
            StatusWord::Delivered => ReceiptStat::Delivered,
            StatusWord::Undeliverable => ReceiptStat::Undeliverable,
            StatusWord::Expired => ReceiptStat::Expired,
            StatusWord::Rejected => ReceiptStat::Rejected,
            StatusWord::Accepted => ReceiptStat::Accepted,
            StatusWord::Enroute => ReceiptStat::Enroute,
            StatusWord::Deleted => ReceiptStat::Deleted,
            StatusWord::Unknown => ReceiptStat::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProviderWebhookConfig {
        match toml::from_str(text) {
            Ok(config) => config,
            Err(e) => panic!("config does not parse: {e}"),
        }
    }

    fn validate(text: &str) -> Result<(), String> {
        parse(text).validate("acme").map_err(|e| e.to_string())
    }

    #[test]
    fn empty_table_gives_the_defaults() {
        assert_eq!(parse(""), ProviderWebhookConfig::default());
    }

    #[test]
    fn a_webhook_open_to_anyone_is_refused_naming_the_three_ways_out() {
        let err = validate("").unwrap_err();
        assert!(err.contains("connector \"acme\""), "{err}");
        for option in ["auth", "permit_addr", "insecure = true"] {
            assert!(err.contains(option), "{option} missing from: {err}");
        }
        let explicit_none = validate(r#"auth = { method = "none" }"#).unwrap_err();
        assert!(explicit_none.contains("insecure = true"), "{explicit_none}");
    }

    #[test]
    fn auth_or_permit_addr_or_insecure_each_suffice() {
        assert_eq!(validate("insecure = true"), Ok(()));
        assert_eq!(validate(r#"permit_addr = ["192.0.2.1"]"#), Ok(()));
        assert_eq!(
            validate(r#"auth = { method = "basic", user = "u", password = "p" }"#),
            Ok(())
        );
        assert_eq!(
            validate(r#"auth = { method = "hmac", secret = "k", header = "X-Signature" }"#),
            Ok(())
        );
    }

    #[test]
    fn insecure_beside_auth_or_permit_addr_is_refused() {
        let err = validate("insecure = true\npermit_addr = [\"192.0.2.1\"]").unwrap_err();
        assert!(err.contains("remove insecure"), "{err}");
        let err = validate(
            "insecure = true\nauth = { method = \"basic\", user = \"u\", password = \"p\" }",
        )
        .unwrap_err();
        assert!(err.contains("remove insecure"), "{err}");
    }

    #[test]
    fn default_paths_name_the_connector() {
        let paths = ProviderWebhookConfig::default().paths("acme");
        assert_eq!(paths.mo, "/hooks/acme/mo");
        assert_eq!(paths.receipt, "/hooks/acme/receipt");
    }

    #[test]
    fn the_documented_example_parses_and_validates() {
        let example = r#"
            mo_path = "/hooks/acme/mo"
            receipt_path = "/hooks/acme/receipt"
            key_to = "To"
            key_from = "From"
            key_body = "Body"
            key_echo = "zd_echo"
            report_success = "<Response></Response>"
            permit_addr = ["185.45.152.42", "3.104.90.0/24"]
            proxy_addr = ["172.16.0.0/12"]
            proxy_header = "X-Forwarded-For"
            auth = { method = "hmac", secret = "s3cret", header = "X-Signature", timestamp_header = "X-Signature-Time", max_age = "2m", max_seen_signatures = 1000, algorithm = "sha1", encoding = "base64" }
            key_id = "id"
            key_status = "status"
            key_err = "err"
            key_done_at = "done_at"
            status_map = { OK = "DELIVRD", NOK = "UNDELIV" }
            max_body_size = 65536
            event_handoff_timeout = "2s"
        "#;
        let config = parse(example);
        assert_eq!(config.validate("acme").map_err(|e| e.to_string()), Ok(()));
        assert_eq!(config.status_map["NOK"], StatusWord::Undeliverable);
        assert!(config.permit_addr[0].contains("185.45.152.42".parse().unwrap()));
        assert!(!config.permit_addr[0].contains("185.45.152.43".parse().unwrap()));
    }

    #[test]
    fn paths_must_start_with_a_slash() {
        let err = validate(r#"mo_path = "hooks/mo""#).unwrap_err();
        assert!(
            err.contains("mo_path") && err.contains("start with /"),
            "{err}"
        );
    }

    #[test]
    fn paths_must_not_hold_capture_syntax() {
        let err = validate(r#"receipt_path = "/hooks/{id}""#).unwrap_err();
        assert!(err.contains("receipt_path"), "{err}");
    }

    #[test]
    fn mo_and_receipt_paths_must_differ() {
        let err = validate("mo_path = \"/hook\"\nreceipt_path = \"/hook\"").unwrap_err();
        assert!(err.contains("must differ"), "{err}");
    }

    #[test]
    fn a_connector_name_unfit_for_a_path_needs_explicit_paths() {
        let config = ProviderWebhookConfig::default();
        assert!(config.validate("my provider").is_err());
    }

    #[test]
    fn empty_field_names_are_refused() {
        let err = validate(r#"key_body = """#).unwrap_err();
        assert!(err.contains("key_body"), "{err}");
    }

    #[test]
    fn php_style_proxy_header_is_refused_with_a_hint() {
        let err = validate(r#"proxy_header = "HTTP_X_FORWARDED_FOR""#).unwrap_err();
        assert!(err.contains("X-Forwarded-For"), "{err}");
    }

    #[test]
    fn status_words_differing_only_in_case_are_refused() {
        let err = validate(r#"status_map = { ok = "DELIVRD", OK = "UNDELIV" }"#).unwrap_err();
        assert!(err.contains("ignoring case"), "{err}");
    }

    #[test]
    fn status_map_takes_only_smpp_words() {
        assert!(
            toml::from_str::<ProviderWebhookConfig>(r#"status_map = { ok = "delivered" }"#)
                .is_err()
        );
    }

    #[test]
    fn address_ranges_take_cidr_or_single_addresses() {
        let config = parse(r#"permit_addr = ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]"#);
        let range = |i: usize, addr: &str| config.permit_addr[i].contains(addr.parse().unwrap());
        assert!(range(0, "10.200.1.1"));
        assert!(range(1, "192.0.2.1"));
        assert!(!range(1, "192.0.2.2"));
        assert!(range(2, "2001:db8::1"));
        assert!(
            range(0, "::ffff:10.1.2.3"),
            "IPv4-mapped addresses count as IPv4"
        );
        assert!(
            toml::from_str::<ProviderWebhookConfig>(r#"permit_addr = ["10.0.0.0/33"]"#).is_err()
        );
        assert!(
            toml::from_str::<ProviderWebhookConfig>(r#"permit_addr = ["example.com"]"#).is_err()
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ProviderWebhookConfig>(r#"key_account = "x""#).is_err());
        assert!(
            toml::from_str::<ProviderWebhookConfig>(
                r#"auth = { method = "basic", user = "u", password = "p", realm = "x" }"#
            )
            .is_err()
        );
    }

    #[test]
    fn hmac_defaults_to_sha256_in_hex_with_a_five_minute_timestamp() {
        let config = parse(r#"auth = { method = "hmac", secret = "k", header = "X-Signature" }"#);
        let WebhookAuth::Hmac {
            algorithm,
            encoding,
            timestamp_header,
            max_age,
            max_seen_signatures,
            ..
        } = config.auth
        else {
            panic!("not hmac: {:?}", config.auth);
        };
        assert_eq!(algorithm, HmacAlgorithm::Sha256);
        assert_eq!(encoding, SignatureEncoding::Hex);
        assert_eq!(timestamp_header, "X-Timestamp");
        assert_eq!(max_age, Duration::from_secs(300));
        assert_eq!(max_seen_signatures, 100_000);
    }

    #[test]
    fn hmac_window_and_timestamp_header_are_checked() {
        let hmac = |extra: &str| {
            validate(&format!(
                "auth = {{ method = \"hmac\", secret = \"k\", header = \"X-Signature\", {extra} }}"
            ))
        };
        assert!(hmac(r#"max_age = "0s""#).unwrap_err().contains("max_age"));
        assert!(
            hmac("max_seen_signatures = 0")
                .unwrap_err()
                .contains("max_seen_signatures")
        );
        assert!(
            hmac(r#"timestamp_header = "x-signature""#)
                .unwrap_err()
                .contains("must differ")
        );
        assert!(
            hmac(r#"timestamp_header = "bad header""#)
                .unwrap_err()
                .contains("timestamp_header")
        );
        assert!(
            toml::from_str::<ProviderWebhookConfig>(
                r#"auth = { method = "hmac", secret = "k", header = "X-Signature", max_age = "soon" }"#
            )
            .is_err()
        );
    }

    #[test]
    fn credentials_must_not_be_empty() {
        assert!(validate(r#"auth = { method = "basic", user = "u", password = "" }"#).is_err());
        assert!(validate(r#"auth = { method = "hmac", secret = "", header = "X-Sig" }"#).is_err());
        assert!(
            validate(r#"auth = { method = "hmac", secret = "k", header = "bad header" }"#).is_err()
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let config = parse(r#"auth = { method = "basic", user = "acme", password = "hunter2" }"#);
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("acme"), "{shown}");
    }
}

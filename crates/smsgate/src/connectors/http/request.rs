//! Writing one segment as the provider's HTTP request: the parameters
//! (recipient, sender, text, our id, the constant fields), where they
//! travel (form body, JSON body or query string) and the authentication.
//!
//! Everything that can be checked once is checked when the connector
//! starts ([`RequestTemplate::new`]); what remains per segment is whether
//! its text can be sent at all.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use smpp::Address;
use smpp::types::ton;

use super::auth::Signer;
use super::config::{Charset, Format, HttpConnectorConfig, Method, NumberFormat, Secret, invalid};
use super::text;
use crate::connectors::OutboundSegment;
use crate::settings::InvalidSetting;

/// What PHP's `urlencode` (and so `http_build_query` with RFC 1738) leaves
/// as it is: letters, digits and `-_.`. A space becomes `+`.
const PHP_URLENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// How every request of one connector is written.
pub(super) struct RequestTemplate {
    method: reqwest::Method,
    url: Url,
    format: Format,
    key_to: String,
    key_from: String,
    key_text: String,
    key_message_id: Option<String>,
    fields: BTreeMap<String, String>,
    secret_fields: BTreeMap<String, Secret>,
    number_format: NumberFormat,
    charset: Charset,
    signer: Signer,
}

impl std::fmt::Debug for RequestTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTemplate")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("format", &self.format)
            .field("fields", &self.fields)
            .field("secret_fields", &self.secret_fields)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl RequestTemplate {
    /// Checks the URL, the parameter names and the credentials.
    pub(super) fn new(
        name: &str,
        config: &HttpConnectorConfig,
    ) -> Result<RequestTemplate, InvalidSetting> {
        let url = Url::parse(&config.url)
            .map_err(|e| invalid(name, format!("url {:?} is not a URL: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                name,
                format!("url {:?} must start with http:// or https://", config.url),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(name, format!("url {:?} has no host", config.url)));
        }
        if config.method == Method::Get && config.format != Format::Query {
            return Err(invalid(
                name,
                "method = \"get\" sends no body: set format = \"query\"",
            ));
        }
        check_keys(name, config)?;
        Ok(RequestTemplate {
            method: match config.method {
                Method::Post => reqwest::Method::POST,
                Method::Get => reqwest::Method::GET,
            },
            url,
            format: config.format,
            key_to: config.key_to.clone(),
            key_from: config.key_from.clone(),
            key_text: config.key_text.clone(),
            key_message_id: config.key_message_id.clone(),
            fields: config.fields.clone(),
            secret_fields: config.secret_fields.clone(),
            number_format: config.number_format,
            charset: config.charset,
            signer: Signer::new(name, &config.auth)?,
        })
    }

    /// `text` (a request line, a body, an answer) with every configured
    /// secret field's value replaced by `***`, as written raw, form- or
    /// query-encoded, or inside a JSON string: for trace lines.
    pub(super) fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_string();
        for secret in self.secret_fields.values().map(Secret::expose) {
            if secret.is_empty() {
                continue;
            }
            let quoted = serde_json::Value::from(secret).to_string();
            let json = quoted
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(&quoted)
                .to_string();
            let encoded = utf8_percent_encode(secret, PHP_URLENCODE)
                .to_string()
                .replace("%20", "+");
            for form in [encoded, json, secret.to_string()] {
                if !form.is_empty() {
                    redacted = redacted.replace(&form, "***");
                }
            }
        }
        redacted
    }

    /// Whether the URL is `https`.
    pub(super) fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The request carrying `segment`, or why it cannot be sent on this
    /// connector (a text it cannot decode or its provider cannot carry).
    ///
    /// The sender is left out when the segment has none, so the provider
    /// uses its default.
    pub(super) fn build(
        &self,
        client: &reqwest::Client,
        segment: &OutboundSegment,
    ) -> Result<reqwest::RequestBuilder, String> {
        let text = text::segment_text(segment)?;
        text::check_charset(&text, self.charset)?;
        let to = format_number(&segment.destination, self.number_format);
        let from = format_number(&segment.source, self.number_format);
        let mut params = vec![(self.key_to.as_str(), to.as_str())];
        if !from.is_empty() {
            params.push((&self.key_from, &from));
        }
        params.push((&self.key_text, &text));
        if let Some(key) = &self.key_message_id {
            params.push((key, &segment.message_id));
        }
        params.extend(self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        params.extend(
            self.secret_fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.expose())),
        );

        let authorization = self.signer.authorization(self.url.path(), &params)?;
        let request = match self.format {
            Format::Query => {
                let mut url = self.url.clone();
                let query = match url.query() {
                    Some(existing) if !existing.is_empty() => {
                        format!("{existing}&{}", form_encode(&params))
                    }
                    _ => form_encode(&params),
                };
                url.set_query(Some(&query));
                client.request(self.method.clone(), url)
            }
            Format::Form => client
                .request(self.method.clone(), self.url.clone())
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(form_encode(&params)),
            Format::Json => {
                let object: serde_json::Map<String, serde_json::Value> = params
                    .iter()
                    .map(|&(k, v)| (k.to_string(), serde_json::Value::from(v)))
                    .collect();
                client
                    .request(self.method.clone(), self.url.clone())
                    .json(&object)
            }
        };
        Ok(match authorization {
            Some(value) => request.header(AUTHORIZATION, value),
            None => request,
        })
    }
}

/// The parameter names must be non-empty and distinct, or one value would
/// silently replace another.
fn check_keys(name: &str, config: &HttpConnectorConfig) -> Result<(), InvalidSetting> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let named = [
        ("key_to", Some(&config.key_to)),
        ("key_from", Some(&config.key_from)),
        ("key_text", Some(&config.key_text)),
        ("key_message_id", config.key_message_id.as_ref()),
    ];
    let keys = named
        .into_iter()
        .filter_map(|(setting, key)| Some((setting, key?.as_str())))
        .chain(config.fields.keys().map(|key| ("fields", key.as_str())))
        .chain(
            config
                .secret_fields
                .keys()
                .map(|key| ("secret_fields", key.as_str())),
        );
    for (setting, key) in keys {
        if key.is_empty() {
            return Err(invalid(
                name,
                format!("{setting} has an empty parameter name"),
            ));
        }
        if let Some(first) = seen.insert(key, setting) {
            return Err(invalid(
                name,
                format!("{setting} and {first} both name the parameter {key:?}"),
            ));
        }
    }
    Ok(())
}

/// An address as the provider wants it. Only numbers (digits, perhaps
/// after a `+`) are reformatted: an alphanumeric sender stays as it is.
fn format_number(address: &Address, format: NumberFormat) -> String {
    let addr = address.addr.to_string_lossy();
    let digits = addr.strip_prefix('+').unwrap_or(&addr);
    let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match format {
        NumberFormat::Digits if is_number => digits.to_string(),
        NumberFormat::E164 if is_number && address.ton == ton::INTERNATIONAL => {
            format!("+{digits}")
        }
        NumberFormat::AsIs | NumberFormat::Digits | NumberFormat::E164 => addr.into_owned(),
    }
}

/// `name=value` pairs joined by `&`, each percent-encoded as PHP's
/// `http_build_query` does by default (RFC 1738: space as `+`, everything
/// but letters, digits and `-_.` as `%XX`); a valid
/// `application/x-www-form-urlencoded` body and query string, and the text
/// Zadarma signs.
pub(super) fn form_encode(params: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        utf8_percent_encode(text, PHP_URLENCODE)
            .to_string()
            .replace("%20", "+")
    };
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use smpp::COctetString;
    use smpp::types::npi;

    use super::*;
    use crate::connectors::http::config::Auth;

    fn address(ton: u8, addr: &'static str) -> Address {
        Address::new(ton, npi::ISDN, COctetString::from_static(addr))
    }

    fn segment(text: &str) -> OutboundSegment {
        OutboundSegment {
            message_id: "01JMSG".into(),
            source: address(ton::INTERNATIONAL, "447700900001"),
            destination: address(ton::INTERNATIONAL, "447700900123"),
            esm_class: 0,
            protocol_id: 0,
            priority: 0,
            data_coding: 8,
            registered_delivery: 1,
            validity_period: COctetString::empty(),
            short_message: text
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Bytes>(),
            tlvs: Vec::new(),
        }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .tls_backend_preconfigured(
                rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("ring supports the defaults")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )
            .build()
            .expect("a client")
    }

    fn built(config: &HttpConnectorConfig, segment: &OutboundSegment) -> reqwest::Request {
        RequestTemplate::new("acme", config)
            .expect("valid")
            .build(&client(), segment)
            .expect("sendable")
            .build()
            .expect("a request")
    }

    fn body(request: &reqwest::Request) -> String {
        let bytes = request
            .body()
            .and_then(|b| b.as_bytes())
            .unwrap_or_default();
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[test]
    fn form_encoding_follows_php_http_build_query() {
        // PHP: http_build_query(['a b' => "x~*-_.+&=/é"]) === 'a+b=x%7E%2A-_.%2B%26%3D%2F%C3%A9'
        assert_eq!(
            form_encode(&[("a b", "x~*-_.+&=/é")]),
            "a+b=x%7E%2A-_.%2B%26%3D%2F%C3%A9"
        );
        assert_eq!(form_encode(&[("a", ""), ("b", "1")]), "a=&b=1");
        assert_eq!(form_encode(&[]), "");
    }

    #[test]
    fn numbers_are_formatted_and_alphanumeric_senders_kept() {
        let intl = address(ton::INTERNATIONAL, "447700900123");
        let plus = address(ton::UNKNOWN, "+447700900123");
        let short = address(ton::NETWORK_SPECIFIC, "12345");
        let alpha = address(ton::ALPHANUMERIC, "Shop");
        let f = format_number;
        assert_eq!(f(&intl, NumberFormat::E164), "+447700900123");
        assert_eq!(f(&plus, NumberFormat::E164), "+447700900123");
        assert_eq!(f(&short, NumberFormat::E164), "12345");
        assert_eq!(f(&alpha, NumberFormat::E164), "Shop");
        assert_eq!(f(&plus, NumberFormat::Digits), "447700900123");
        assert_eq!(f(&intl, NumberFormat::Digits), "447700900123");
        assert_eq!(f(&alpha, NumberFormat::Digits), "Shop");
        assert_eq!(f(&plus, NumberFormat::AsIs), "+447700900123");
        assert_eq!(f(&intl, NumberFormat::AsIs), "447700900123");
        let plus_alpha = address(ton::ALPHANUMERIC, "+Shop");
        assert_eq!(f(&plus_alpha, NumberFormat::Digits), "+Shop");
    }

    #[test]
    fn form_request_carries_every_parameter() {
        let mut config = HttpConnectorConfig::new("https://api.example.com/send?v=2");
        config.key_text = "body".into();
        config.key_message_id = Some("ref".into());
        config.number_format = NumberFormat::E164;
        config.fields.insert("type".into(), "sms".into());
        config
            .secret_fields
            .insert("api_key".into(), Secret::new("k&y"));
        let request = built(&config, &segment("Hi & bye"));
        assert_eq!(request.method(), reqwest::Method::POST);
        assert_eq!(request.url().as_str(), "https://api.example.com/send?v=2");
        assert_eq!(
            request.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(
            body(&request),
            "to=%2B447700900123&from=%2B447700900001&body=Hi+%26+bye&ref=01JMSG&type=sms&api_key=k%26y"
        );
    }

    #[test]
    fn traces_show_secret_fields_as_stars_in_every_encoding() {
        let mut config = HttpConnectorConfig::new("https://api.example.com/send");
        config
            .secret_fields
            .insert("api_key".into(), Secret::new("k&y \"1\""));
        let template = RequestTemplate::new("acme", &config).expect("valid");
        let form = template.redact("to=1&api_key=k%26y+%221%22");
        assert_eq!(form, "to=1&api_key=***");
        let json = template.redact(r#"{"api_key":"k&y \"1\"","to":"1"}"#);
        assert_eq!(json, r#"{"api_key":"***","to":"1"}"#);
        assert_eq!(template.redact("raw k&y \"1\" here"), "raw *** here");
    }

    #[test]
    fn query_format_appends_to_the_urls_query() {
        let mut config = HttpConnectorConfig::new("http://h/send?user=u");
        config.method = Method::Get;
        config.format = Format::Query;
        let request = built(&config, &segment("a b"));
        assert_eq!(request.method(), reqwest::Method::GET);
        assert_eq!(
            request.url().as_str(),
            "http://h/send?user=u&to=447700900123&from=447700900001&text=a+b"
        );
        assert!(request.body().is_none());
    }

    #[test]
    fn json_format_sends_one_object_of_strings() {
        let mut config = HttpConnectorConfig::new("http://h/send");
        config.format = Format::Json;
        let mut no_sender = segment("Привет");
        no_sender.source = address(ton::ALPHANUMERIC, "");
        let request = built(&config, &no_sender);
        let sent: serde_json::Value = serde_json::from_str(&body(&request)).expect("JSON");
        assert_eq!(
            sent,
            serde_json::json!({"to": "447700900123", "text": "Привет"})
        );
        assert_eq!(request.headers()[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn unsendable_text_is_refused_before_any_request() {
        let mut config = HttpConnectorConfig::new("http://h/send");
        config.charset = Charset::Ucs2;
        let template = RequestTemplate::new("acme", &config).expect("valid");
        let err = template
            .build(&client(), &segment("smile 😀"))
            .expect_err("refused");
        assert!(err.contains("UCS-2"), "{err}");
    }

    #[test]
    fn zadarma_requests_are_signed_over_the_path_and_sorted_parameters() {
        let mut config = HttpConnectorConfig::new("https://api.zadarma.com/v1/sms/send/");
        config.key_to = "number".into();
        config.key_from = "caller_id".into();
        config.key_text = "message".into();
        config.number_format = NumberFormat::E164;
        config.fields.insert("format".into(), "json".into());
        config.auth = Auth::Zadarma {
            key: "a1b2c3".into(),
            secret: Secret::new("s3cr3t"),
        };
        let mut shop = segment("Hi there & €5!");
        shop.source = address(ton::ALPHANUMERIC, "Shop");
        let request = built(&config, &shop);
        // The vector of auth.rs's test, computed independently.
        assert_eq!(
            request.headers()[AUTHORIZATION],
            "a1b2c3:YjFjOTg3NmM2NTE2MGMzODQyNGVmZTExNzk4Zjc0MDhlOTU0Y2U5MA=="
        );
    }
}

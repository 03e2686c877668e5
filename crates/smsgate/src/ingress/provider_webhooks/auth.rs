//! Checking that a request comes from the provider: basic credentials, or
//! an HMAC of a timestamp and the raw body, taken once within the window
//! the timestamp allows. Comparisons take the same time whatever the
//! input, so timing reveals nothing of the secret; refusals say what was
//! wrong (missing, unreadable, not matching, too old, already taken) but
//! never echo a secret.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Refusal;
use super::config::{HmacAlgorithm, SignatureEncoding, WebhookAuth};
use super::replay::{NotTaken, SeenSignatures};

/// The longest timestamp read: 12 digits is past the year 30000, and a
/// bound keeps the conversion from overflowing.
const TIMESTAMP_DIGITS_MAX: usize = 12;

/// A signature taken for a request: its bytes, for
/// [`SeenSignatures::forget`] if the request is then not stored.
pub(super) type TakenSignature = Vec<u8>;

/// Whether the request carries what `auth` asks for, at `now`. For an
/// HMAC, the signature is remembered in `seen` and returned.
pub(super) fn authenticate(
    auth: &WebhookAuth,
    seen: &SeenSignatures,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Option<TakenSignature>, Refusal> {
    match auth {
        WebhookAuth::None => Ok(None),
        WebhookAuth::Basic { user, password } => {
            check_basic(headers, user.as_bytes(), password.expose().as_bytes()).map(|()| None)
        }
        WebhookAuth::Hmac {
            secret,
            header,
            timestamp_header,
            max_age,
            algorithm,
            encoding,
            ..
        } => {
            let check = HmacCheck {
                secret: secret.expose().as_bytes(),
                header,
                timestamp_header,
                max_age: *max_age,
                algorithm: *algorithm,
                encoding: *encoding,
            };
            check.run(seen, headers, body, now).map(Some)
        }
    }
}

fn check_basic(headers: &HeaderMap, user: &[u8], password: &[u8]) -> Result<(), Refusal> {
    let refuse = |reason: &str| Err(Refusal::unauthorized_basic(reason));
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return refuse("basic credentials are required");
    };
    let credentials = value
        .to_str()
        .ok()
        .and_then(|text| text.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD_PAD_INDIFFERENT.decode(encoded.trim()).ok());
    let Some(credentials) = credentials else {
        return refuse("the Authorization header is not Basic credentials");
    };
    let (given_user, given_password) = match credentials.iter().position(|&b| b == b':') {
        Some(colon) => (&credentials[..colon], &credentials[colon + 1..]),
        None => (&credentials[..], &[][..]),
    };
    // Digests first, so that the comparison does not reveal the lengths.
    let same = |a: &[u8], b: &[u8]| {
        Sha256::digest(a)
            .as_slice()
            .ct_eq(Sha256::digest(b).as_slice())
    };
    let matches = same(given_user, user) & same(given_password, password);
    if bool::from(matches) {
        Ok(())
    } else {
        refuse("wrong user or password")
    }
}

/// An HMAC check with the connector's settings.
struct HmacCheck<'a> {
    secret: &'a [u8],
    header: &'a str,
    timestamp_header: &'a str,
    max_age: Duration,
    algorithm: HmacAlgorithm,
    encoding: SignatureEncoding,
}

impl HmacCheck<'_> {
    /// The signature must be readable, match the timestamp and body, the
    /// timestamp must be within `max_age` of `now`, and the signature must
    /// not have been taken before. The signature is checked before the
    /// time, so only the provider learns that its clock is off.
    fn run(
        &self,
        seen: &SeenSignatures,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<TakenSignature, Refusal> {
        let (header, timestamp_header) = (self.header, self.timestamp_header);
        let signature = self.signature(headers)?;
        let Some(stamp) = headers.get(timestamp_header) else {
            return Err(Refusal::unauthorized(format!(
                "the {timestamp_header} header with the signing time (unix seconds) is required"
            )));
        };
        let Some(signed_at) = read_timestamp(stamp.as_bytes()) else {
            return Err(Refusal::unauthorized(format!(
                "the {timestamp_header} header is not unix seconds (decimal digits)"
            )));
        };
        let signed = [stamp.as_bytes(), b".", body];
        let matches = match self.algorithm {
            HmacAlgorithm::Sha256 => {
                signature_matches::<Hmac<Sha256>>(self.secret, &signed, &signature)
            }
            HmacAlgorithm::Sha1 => {
                signature_matches::<Hmac<Sha1>>(self.secret, &signed, &signature)
            }
        };
        if !matches {
            return Err(Refusal::unauthorized(format!(
                "the {header} signature does not match the {timestamp_header} header and the body"
            )));
        }
        let max_age = self.max_age;
        let window = humantime::format_duration(max_age);
        match now.duration_since(signed_at) {
            Ok(age) if age > max_age => {
                return Err(Refusal::unauthorized(format!(
                    "the {timestamp_header} is {} old; signatures are taken for {window} \
                     (is the provider's clock right?)",
                    humantime::format_duration(Duration::from_secs(age.as_secs()))
                )));
            }
            Err(ahead) if ahead.duration() > max_age => {
                return Err(Refusal::unauthorized(format!(
                    "the {timestamp_header} is {} in the future; signatures are taken for {window} \
                     (is the provider's clock right?)",
                    humantime::format_duration(Duration::from_secs(ahead.duration().as_secs()))
                )));
            }
            _ => {}
        }
        let Some(expires) = signed_at.checked_add(max_age) else {
            return Err(Refusal::unauthorized(format!(
                "the {timestamp_header} is too far in the future"
            )));
        };
        match seen.take(&signature, expires, now) {
            Ok(()) => Ok(signature),
            Err(NotTaken::Replayed) => Err(Refusal::unauthorized(format!(
                "this {header} signature was taken before; a signed request is taken once"
            ))),
            Err(NotTaken::Full) => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "too many signed requests within {window} to check for replays; try again later"
                ),
            )),
        }
    }

    /// The signature, decoded.
    fn signature(&self, headers: &HeaderMap) -> Result<Vec<u8>, Refusal> {
        let header = self.header;
        let Some(value) = headers.get(header) else {
            return Err(Refusal::unauthorized(format!(
                "the {header} header with the request's signature is required"
            )));
        };
        let text = value.to_str().unwrap_or_default().trim();
        let signature = match self.encoding {
            SignatureEncoding::Hex => decode_hex(text),
            SignatureEncoding::Base64 => STANDARD_PAD_INDIFFERENT.decode(text).ok(),
        };
        signature.filter(|s| !s.is_empty()).ok_or_else(|| {
            Refusal::unauthorized(format!(
                "the {header} header is not a {} signature",
                match self.encoding {
                    SignatureEncoding::Hex => "hex",
                    SignatureEncoding::Base64 => "base64",
                }
            ))
        })
    }
}

/// Unix seconds, decimal digits only: exactly the bytes that were signed,
/// with nothing a parser might skip (a sign, spaces, a fraction).
fn read_timestamp(text: &[u8]) -> Option<SystemTime> {
    if text.is_empty() || text.len() > TIMESTAMP_DIGITS_MAX || !text.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let secs = std::str::from_utf8(text).ok()?.parse::<u64>().ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Whether `signature` is the HMAC of `parts`, one after the other.
/// `verify_slice` compares in constant time.
fn signature_matches<M: Mac + KeyInit>(secret: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    // HMAC takes keys of any length, so this cannot fail; if it did, the
    // request would be refused, never let through.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const BODY: &[u8] = b"The quick brown fox jumps over the lazy dog";
    /// When the test requests are signed: 2026-01-01T00:00:00Z.
    const SIGNED_AT: u64 = 1_767_225_600;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn hmac_auth(algorithm: HmacAlgorithm, encoding: SignatureEncoding) -> WebhookAuth {
        let text = format!(
            "method = \"hmac\"\nsecret = \"key\"\nheader = \"X-Signature\"\nalgorithm = \"{}\"\nencoding = \"{}\"",
            match algorithm {
                HmacAlgorithm::Sha256 => "sha256",
                HmacAlgorithm::Sha1 => "sha1",
            },
            match encoding {
                SignatureEncoding::Hex => "hex",
                SignatureEncoding::Base64 => "base64",
            }
        );
        toml::from_str(&text).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC-SHA256 with the key "key" of `timestamp.body`, in hex.
    fn sign(timestamp: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }

    fn signed(timestamp: &str, signature: &str) -> HeaderMap {
        headers(&[("x-timestamp", timestamp), ("x-signature", signature)])
    }

    fn check(
        auth: &WebhookAuth,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<(), Refusal> {
        let seen = SeenSignatures::new(16);
        authenticate(auth, &seen, headers, body, at(now)).map(drop)
    }

    #[test]
    fn hex_decoding_takes_either_case_and_refuses_odd_lengths() {
        assert_eq!(decode_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
    }

    #[test]
    fn the_mac_of_the_parts_is_the_known_vector_of_their_concatenation() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let sha256 = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let parts: [&[u8]; 3] = [b"The quick", b" ", b"brown fox jumps over the lazy dog"];
        let signature = decode_hex(sha256).unwrap();
        assert!(signature_matches::<Hmac<Sha256>>(
            b"key", &parts, &signature
        ));
        assert!(!signature_matches::<Hmac<Sha256>>(
            b"key",
            &parts[..2],
            &signature
        ));
        // HMAC-SHA1 of the same, base64.
        let sha1 = STANDARD_PAD_INDIFFERENT
            .decode("3nybhbi3iqa8ino29wqQcBydtNk=")
            .unwrap();
        assert!(signature_matches::<Hmac<Sha1>>(b"key", &[BODY], &sha1));
    }

    #[test]
    fn the_documented_signing_example_is_taken() {
        // docs/connectors.md: HMAC-SHA256, key "k3y", over
        // `1767225600.{"id":"SM1","status":"delivered"}` (computed with
        // Python's hmac module).
        let auth: WebhookAuth =
            toml::from_str("method = \"hmac\"\nsecret = \"k3y\"\nheader = \"X-Signature\"")
                .unwrap();
        let body = br#"{"id":"SM1","status":"delivered"}"#;
        let signature = "e78e94115ab595725aa58446d8d5e16391be9284b3c88cb75fc7423f2d1eb492";
        let request = signed("1767225600", signature);
        assert!(check(&auth, &request, body, SIGNED_AT + 10).is_ok());
    }

    #[test]
    fn hmac_over_the_timestamp_and_body_is_taken_and_a_change_to_either_is_not() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let stamp = SIGNED_AT.to_string();
        let signature = sign(&stamp, BODY);
        assert!(check(&auth, &signed(&stamp, &signature), BODY, SIGNED_AT).is_ok());
        assert!(
            check(
                &auth,
                &signed(&stamp, &signature.to_uppercase()),
                BODY,
                SIGNED_AT
            )
            .is_ok()
        );
        assert!(check(&auth, &signed(&stamp, &signature), b"tampered", SIGNED_AT).is_err());
        let later = (SIGNED_AT + 1).to_string();
        assert!(check(&auth, &signed(&later, &signature), BODY, SIGNED_AT).is_err());
    }

    #[test]
    fn a_signature_over_the_body_alone_is_unauthorized() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let body_only = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let refusal = check(
            &auth,
            &headers(&[("x-signature", body_only)]),
            BODY,
            SIGNED_AT,
        )
        .unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
        assert!(refusal.reason.contains("X-Timestamp"), "{}", refusal.reason);
        let stamp = SIGNED_AT.to_string();
        assert!(check(&auth, &signed(&stamp, body_only), BODY, SIGNED_AT).is_err());
    }

    #[test]
    fn timestamps_are_decimal_unix_seconds_only() {
        assert_eq!(read_timestamp(b"1767225600"), Some(at(SIGNED_AT)));
        for bad in [
            &b""[..],
            b"+1767225600",
            b" 1767225600",
            b"1767225600.5",
            b"1e9",
            b"9999999999999",
        ] {
            assert_eq!(
                read_timestamp(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let iso = "2026-01-01T00:00:00Z";
        let refusal = check(&auth, &signed(iso, &sign(iso, BODY)), BODY, SIGNED_AT).unwrap_err();
        assert!(
            refusal.reason.contains("unix seconds"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn the_window_reaches_max_age_either_way_and_no_further() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let stamp = SIGNED_AT.to_string();
        let request = signed(&stamp, &sign(&stamp, BODY));
        let five_minutes = 300;
        assert!(check(&auth, &request, BODY, SIGNED_AT + five_minutes).is_ok());
        assert!(check(&auth, &request, BODY, SIGNED_AT - five_minutes).is_ok());
        let old = check(&auth, &request, BODY, SIGNED_AT + five_minutes + 1).unwrap_err();
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        assert!(old.reason.contains("5m 1s old"), "{}", old.reason);
        let ahead = check(&auth, &request, BODY, SIGNED_AT - five_minutes - 1).unwrap_err();
        assert!(ahead.reason.contains("in the future"), "{}", ahead.reason);
    }

    #[test]
    fn a_signature_is_taken_once_whatever_its_encoding() {
        let auth = hmac_auth(HmacAlgorithm::Sha1, SignatureEncoding::Base64);
        let seen = SeenSignatures::new(16);
        let stamp = SIGNED_AT.to_string();
        let mut mac = Hmac::<Sha1>::new_from_slice(b"key").unwrap();
        mac.update(format!("{stamp}.").as_bytes());
        mac.update(BODY);
        let padded = STANDARD_PAD_INDIFFERENT.encode(mac.finalize().into_bytes());
        let unpadded = padded.trim_end_matches('=').to_string();
        let now = at(SIGNED_AT);
        let first = authenticate(&auth, &seen, &signed(&stamp, &padded), BODY, now);
        assert!(first.is_ok_and(|taken| taken.is_some()));
        let again = authenticate(&auth, &seen, &signed(&stamp, &unpadded), BODY, now).unwrap_err();
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);
        assert!(again.reason.contains("taken before"), "{}", again.reason);
    }

    #[test]
    fn a_full_replay_set_answers_503() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let seen = SeenSignatures::new(1);
        let stamp = SIGNED_AT.to_string();
        let now = at(SIGNED_AT);
        let first = signed(&stamp, &sign(&stamp, b"one"));
        assert!(authenticate(&auth, &seen, &first, b"one", now).is_ok());
        let second = signed(&stamp, &sign(&stamp, b"two"));
        let full = authenticate(&auth, &seen, &second, b"two", now).unwrap_err();
        assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(full.reason.contains("try again later"), "{}", full.reason);
    }

    #[test]
    fn a_missing_or_unreadable_signature_is_unauthorized() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let stamp = SIGNED_AT.to_string();
        let missing =
            check(&auth, &headers(&[("x-timestamp", &stamp)]), b"x", SIGNED_AT).unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let garbage = check(&auth, &signed(&stamp, "xyz"), b"x", SIGNED_AT).unwrap_err();
        assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn basic_credentials_must_match_both_parts() {
        let auth: WebhookAuth =
            toml::from_str("method = \"basic\"\nuser = \"acme\"\npassword = \"pa:ss\"").unwrap();
        let basic = |credentials: &str| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            check(
                &auth,
                &headers(&[("authorization", &format!("Basic {encoded}"))]),
                b"",
                0,
            )
        };
        assert!(basic("acme:pa:ss").is_ok(), "a password may hold ':'");
        assert!(basic("acme:pass").is_err());
        assert!(basic("other:pa:ss").is_err());
        assert!(basic("acme").is_err());
        assert!(check(&auth, &headers(&[("authorization", "Bearer abc")]), b"", 0).is_err());
        let refusal = check(&auth, &HeaderMap::new(), b"", 0).unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
        assert!(refusal.challenge);
    }
}

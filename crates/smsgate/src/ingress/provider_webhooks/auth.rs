//! Checking that a request comes from the provider: basic credentials, or
//! an HMAC of the raw body. Comparisons take the same time whatever the
//! input, so timing reveals nothing of the secret; refusals say what was
//! wrong (missing, unreadable, not matching) but never echo a secret.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Refusal;
use super::config::{HmacAlgorithm, SignatureEncoding, WebhookAuth};

/// Whether the request carries what `auth` asks for.
pub(super) fn authenticate(
    auth: &WebhookAuth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    match auth {
        WebhookAuth::None => Ok(()),
        WebhookAuth::Basic { user, password } => {
            check_basic(headers, user.as_bytes(), password.expose().as_bytes())
        }
        WebhookAuth::Hmac {
            secret,
            header,
            algorithm,
            encoding,
        } => check_hmac(
            headers,
            header,
            *algorithm,
            *encoding,
            secret.expose().as_bytes(),
            body,
        ),
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

fn check_hmac(
    headers: &HeaderMap,
    header: &str,
    algorithm: HmacAlgorithm,
    encoding: SignatureEncoding,
    secret: &[u8],
    body: &[u8],
) -> Result<(), Refusal> {
    let Some(value) = headers.get(header) else {
        return Err(Refusal::unauthorized(format!(
            "the {header} header with the body's signature is required"
        )));
    };
    let text = value.to_str().unwrap_or_default().trim();
    let signature = match encoding {
        SignatureEncoding::Hex => decode_hex(text),
        SignatureEncoding::Base64 => STANDARD_PAD_INDIFFERENT.decode(text).ok(),
    };
    let Some(signature) = signature.filter(|s| !s.is_empty()) else {
        return Err(Refusal::unauthorized(format!(
            "the {header} header is not a {} signature",
            match encoding {
                SignatureEncoding::Hex => "hex",
                SignatureEncoding::Base64 => "base64",
            }
        )));
    };
    let matches = match algorithm {
        HmacAlgorithm::Sha256 => signature_matches::<Hmac<Sha256>>(secret, body, &signature),
        HmacAlgorithm::Sha1 => signature_matches::<Hmac<Sha1>>(secret, body, &signature),
    };
    if matches {
        Ok(())
    } else {
        Err(Refusal::unauthorized(format!(
            "the {header} signature does not match the body"
        )))
    }
}

/// `verify_slice` compares in constant time.
fn signature_matches<M: Mac + KeyInit>(secret: &[u8], body: &[u8], signature: &[u8]) -> bool {
    // HMAC takes keys of any length, so this cannot fail; if it did, the
    // request would be refused, never let through.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
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
    use axum::http::{HeaderValue, StatusCode};

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
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

    #[test]
    fn hex_decoding_takes_either_case_and_refuses_odd_lengths() {
        assert_eq!(decode_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
    }

    #[test]
    fn hmac_sha256_hex_matches_the_known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let signature = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let body = b"The quick brown fox jumps over the lazy dog";
        assert!(authenticate(&auth, &headers("x-signature", signature), body).is_ok());
        assert!(authenticate(&auth, &headers("x-signature", signature), b"tampered").is_err());
    }

    #[test]
    fn hmac_sha1_base64_is_checked() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), base64.
        let signature = "3nybhbi3iqa8ino29wqQcBydtNk=";
        let auth = hmac_auth(HmacAlgorithm::Sha1, SignatureEncoding::Base64);
        let body = b"The quick brown fox jumps over the lazy dog";
        assert!(authenticate(&auth, &headers("x-signature", signature), body).is_ok());
        let unpadded = signature.trim_end_matches('=');
        assert!(authenticate(&auth, &headers("x-signature", unpadded), body).is_ok());
    }

    #[test]
    fn a_missing_or_unreadable_signature_is_unauthorized() {
        let auth = hmac_auth(HmacAlgorithm::Sha256, SignatureEncoding::Hex);
        let missing = authenticate(&auth, &HeaderMap::new(), b"x").unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let garbage = authenticate(&auth, &headers("x-signature", "xyz"), b"x").unwrap_err();
        assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn basic_credentials_must_match_both_parts() {
        let auth: WebhookAuth =
            toml::from_str("method = \"basic\"\nuser = \"acme\"\npassword = \"pa:ss\"").unwrap();
        let basic = |credentials: &str| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            authenticate(
                &auth,
                &headers("authorization", &format!("Basic {encoded}")),
                b"",
            )
        };
        assert!(basic("acme:pa:ss").is_ok(), "a password may hold ':'");
        assert!(basic("acme:pass").is_err());
        assert!(basic("other:pa:ss").is_err());
        assert!(basic("acme").is_err());
        assert!(authenticate(&auth, &headers("authorization", "Bearer abc"), b"").is_err());
        let refusal = authenticate(&auth, &HeaderMap::new(), b"").unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
        assert!(refusal.challenge);
    }
}

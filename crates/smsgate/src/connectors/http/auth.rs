//! Authenticating requests: a fixed `Authorization` header (Basic, Bearer)
//! built once at start, or Zadarma's per-request signature.
//!
//! Secrets live here only inside sensitive header values and the keyed
//! HMAC state; nothing here is printed with them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use reqwest::header::HeaderValue;
use sha1::Sha1;

use super::config::{Auth, invalid};
use super::request::form_encode;
use crate::settings::InvalidSetting;

/// What each request carries to authenticate itself.
#[derive(Clone)]
pub(super) enum Signer {
    /// Nothing.
    None,
    /// The same `Authorization` value on every request.
    Fixed(HeaderValue),
    /// Zadarma's signature over the URL's path and the parameters.
    Zadarma {
        /// The user key, the first half of the header.
        key: String,
        /// HMAC-SHA1 keyed with the secret, cloned for each request.
        mac: Hmac<Sha1>,
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::None => f.write_str("None"),
            Signer::Fixed(_) => f.write_str("Fixed(***)"),
            Signer::Zadarma { key, .. } => write!(f, "Zadarma {{ key: {key:?}, secret: *** }}"),
        }
    }
}

impl Signer {
    /// Checks the credentials and prepares what every request needs.
    pub(super) fn new(name: &str, auth: &Auth) -> Result<Signer, InvalidSetting> {
        let no_control = |key: &str, value: &str| {
            if value.is_empty() {
                Err(invalid(name, format!("auth.{key} is empty")))
            } else if value.chars().any(|c| c.is_control()) {
                Err(invalid(
                    name,
                    format!("auth.{key} has control characters, which a header cannot carry"),
                ))
            } else {
                Ok(())
            }
        };
        match auth {
            Auth::None => Ok(Signer::None),
            Auth::Basic { user, password } => {
                if user.contains(':') {
                    return Err(invalid(name, "auth.user may not contain ':' (RFC 7617)"));
                }
                no_control("password", password.expose())?;
                let credentials = BASE64.encode(format!("{user}:{}", password.expose()));
                Ok(Signer::Fixed(
                    sensitive(&format!("Basic {credentials}")).map_err(|()| {
                        invalid(name, "auth.user has characters a header cannot carry")
                    })?,
                ))
            }
            Auth::Bearer { token } => {
                no_control("token", token.expose())?;
                Ok(Signer::Fixed(
                    sensitive(&format!("Bearer {}", token.expose())).map_err(|()| {
                        invalid(name, "auth.token has characters a header cannot carry")
                    })?,
                ))
            }
            Auth::Zadarma { key, secret } => {
                no_control("key", key)?;
                no_control("secret", secret.expose())?;
                sensitive(key)
                    .map_err(|()| invalid(name, "auth.key has characters a header cannot carry"))?;
                let mac = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes())
                    .map_err(|e| invalid(name, format!("auth.secret cannot key HMAC-SHA1: {e}")))?;
                Ok(Signer::Zadarma {
                    key: key.clone(),
                    mac,
                })
            }
        }
    }

    /// The `Authorization` value for a request to `path` with `params`;
    /// `None` without authentication. Fails only if a header cannot carry
    /// the value, which the checks at start rule out.
    pub(super) fn authorization(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Option<HeaderValue>, String> {
        match self {
            Signer::None => Ok(None),
            Signer::Fixed(value) => Ok(Some(value.clone())),
            Signer::Zadarma { key, mac } => {
                let signature = zadarma_signature(mac.clone(), path, params);
                sensitive(&format!("{key}:{signature}"))
                    .map(Some)
                    .map_err(|()| "the Authorization header cannot be written".to_string())
            }
        }
    }
}

/// A header value marked sensitive (hidden in reqwest's and hyper's Debug
/// output, and never indexed by HTTP/2 header compression).
fn sensitive(text: &str) -> Result<HeaderValue, ()> {
    let mut value = HeaderValue::from_str(text).map_err(drop)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Zadarma's signature, as its PHP client computes it: the parameters
/// sorted by name (`ksort`) and encoded by `http_build_query` (RFC 1738),
/// then `base64_encode(hash_hmac('sha1', $path . $params . md5($params),
/// $secret))`, where `hash_hmac` and `md5` give lowercase hex.
fn zadarma_signature(mut mac: Hmac<Sha1>, path: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let query = form_encode(&sorted);
    let query_md5 = hex(&Md5::digest(query.as_bytes()));
    mac.update(path.as_bytes());
    mac.update(query.as_bytes());
    mac.update(query_md5.as_bytes());
    BASE64.encode(hex(&mac.finalize().into_bytes()))
}

/// Lowercase hex, as PHP's `md5()` and `hash_hmac()` return by default.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0F)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::config::Secret;
    use super::*;

    fn signer(auth: Auth) -> Signer {
        Signer::new("acme", &auth).expect("valid credentials")
    }

    fn header(signer: &Signer, params: &[(&str, &str)]) -> String {
        let value = signer
            .authorization("/v1/sms/send/", params)
            .expect("writable")
            .expect("a header");
        assert!(value.is_sensitive());
        value.to_str().expect("ASCII").to_string()
    }

    #[test]
    fn zadarma_signature_matches_an_independent_computation() {
        // Computed with Python's standard library, following Zadarma's PHP
        // client (ksort, http_build_query RFC 1738, hash_hmac hex, base64):
        //
        // python3 -c 'import hmac,hashlib,base64,urllib.parse as u
        // p=sorted({"number":"+447700900123","message":"Hi there & €5!","caller_id":"Shop","format":"json"}.items())
        // q=u.urlencode(p); s="/v1/sms/send/"+q+hashlib.md5(q.encode()).hexdigest()
        // print(q); print(base64.b64encode(hmac.new(b"s3cr3t",s.encode(),hashlib.sha1).hexdigest().encode()).decode())'
        let zadarma = signer(Auth::Zadarma {
            key: "a1b2c3".into(),
            secret: Secret::new("s3cr3t"),
        });
        let params = [
            ("number", "+447700900123"),
            ("message", "Hi there & €5!"),
            ("caller_id", "Shop"),
            ("format", "json"),
        ];
        assert_eq!(
            header(&zadarma, &params),
            "a1b2c3:YjFjOTg3NmM2NTE2MGMzODQyNGVmZTExNzk4Zjc0MDhlOTU0Y2U5MA=="
        );
    }

    #[test]
    fn zadarma_signature_ignores_parameter_order() {
        let zadarma = signer(Auth::Zadarma {
            key: "k".into(),
            secret: Secret::new("s"),
        });
        assert_eq!(
            header(&zadarma, &[("b", "2"), ("a", "1")]),
            header(&zadarma, &[("a", "1"), ("b", "2")])
        );
    }

    #[test]
    fn basic_and_bearer_headers_are_fixed_and_sensitive() {
        let basic = signer(Auth::Basic {
            user: "Aladdin".into(),
            password: Secret::new("open sesame"),
        });
        assert_eq!(header(&basic, &[]), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let bearer = signer(Auth::Bearer {
            token: Secret::new("tok-123"),
        });
        assert_eq!(header(&bearer, &[("a", "b")]), "Bearer tok-123");
        assert_eq!(signer(Auth::None).authorization("/", &[]), Ok(None));
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        for auth in [
            Auth::Basic {
                user: "u".into(),
                password: Secret::new("hidden-1"),
            },
            Auth::Bearer {
                token: Secret::new("hidden-2"),
            },
            Auth::Zadarma {
                key: "k".into(),
                secret: Secret::new("hidden-3"),
            },
        ] {
            let shown = format!("{:?}", signer(auth));
            assert!(!shown.contains("hidden"), "{shown}");
            assert!(!shown.contains("aGlkZGVu"), "{shown}");
        }
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_per_octet() {
        assert_eq!(hex(&[0x00, 0x0A, 0xFF, 0x5c]), "000aff5c");
    }
}

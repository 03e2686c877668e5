//! HTTP API keys: `sgk_<id>_<secret>`, where the id (12 hex digits) is
//! public — it names the key in lists and `revoke` — and the secret is 32
//! random octets in hex. The store keeps only the SHA-256 of the whole key:
//! a key carries 256 random bits, so unlike a password it needs no slow
//! hash, and a request finds its key by that hash alone (no compare of
//! secrets, so nothing to time).

use sha2::{Digest, Sha256};

/// What every key starts with, so a leaked one is recognisable (secret
/// scanners) and a password is never mistaken for one.
pub const PREFIX: &str = "sgk_";

/// A freshly made key: show `key` once, store `id` and `hash`.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The public id.
    pub id: String,
    /// The whole key, for the customer's `Authorization: Bearer` header.
    pub key: String,
    /// Its SHA-256, lowercase hex.
    pub hash: String,
}

/// Makes a new random key.
pub fn generate() -> GeneratedKey {
    generate_with_prefix(PREFIX)
}

/// Makes a new random key starting with `prefix` (the admin API's tokens
/// are made the same way, with their own prefix).
pub(crate) fn generate_with_prefix(prefix: &str) -> GeneratedKey {
    let id = hex(&rand::random::<[u8; 6]>());
    let key = format!("{prefix}{id}_{}", hex(&rand::random::<[u8; 32]>()));
    let hash = hash(&key);
    GeneratedKey { id, key, hash }
}

/// The SHA-256 of a presented key, lowercase hex: what the store looks it up by.
pub fn hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(octets: &[u8]) -> String {
    octets.iter().map(|octet| format!("{octet:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_carries_its_id_and_hashes_to_its_hash() {
        let generated = generate();
        assert_eq!(generated.id.len(), 12);
        assert!(
            generated
                .key
                .starts_with(&format!("{PREFIX}{}_", generated.id))
        );
        assert_eq!(generated.key.len(), PREFIX.len() + 12 + 1 + 64);
        assert_eq!(hash(&generated.key), generated.hash);
        assert_ne!(generate().key, generated.key);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

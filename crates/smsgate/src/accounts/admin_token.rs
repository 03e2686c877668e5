//! Admin API tokens: `sga_<id>_<secret>`, made and stored exactly as the
//! customer API's keys ([`super::api_key`]: a public id, 256 random bits,
//! only the SHA-256 kept), with their own prefix so that neither kind can
//! ever be taken for the other: a customer key sent to `/admin/api` and an
//! admin token sent to `/api/v1` are both refused before any lookup.

pub use super::api_key::{GeneratedKey, hash};

/// What every admin token starts with.
pub const PREFIX: &str = "sga_";

/// Makes a new random admin token.
pub fn generate() -> GeneratedKey {
    super::api_key::generate_with_prefix(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_tokens_have_their_own_prefix_and_hash_to_their_hash() {
        let token = generate();
        assert!(token.key.starts_with(&format!("sga_{}_", token.id)));
        assert!(!token.key.starts_with(super::super::api_key::PREFIX));
        assert_eq!(hash(&token.key), token.hash);
    }
}

//! Password hashes: argon2id for every password we set, and verification of
//! the legacy `sha1-utf16le$HEX` hashes an operator imports from another SMS
//! server (SHA-1 of the UTF-16LE password), which are upgraded to argon2id
//! on the next good bind.
//!
//! Nothing here logs or returns a password. Verification costs ~30 ms of CPU
//! and 19 MiB of working memory for argon2id: the gateway runs it on the
//! long-lived threads of [`super::workers`], each of which keeps one
//! [`Memory`] for every check it runs (so memory use is fixed by the number
//! of threads, however many checks an attacker asks for).

use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// The prefix that marks a legacy hash in the store.
const LEGACY_PREFIX: &str = "sha1-utf16le$";

/// The prefix every hash we produce starts with.
const ARGON2ID_PREFIX: &str = "$argon2id$";

/// An argon2id hash (with today's parameters) of a random password nobody
/// knows. A bind for an unknown system_id is verified against it, so it costs
/// what a real one costs and timing does not reveal which ids exist. Made
/// once, in the memory of the first check that needs it.
pub fn dummy_hash(memory: &mut Memory) -> &'static str {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    DUMMY_HASH.get_or_init(|| {
        let unguessable: String = (0..32)
            .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
            .collect();
        // Hashing with the default parameters and a 16-byte salt does not
        // fail; if it ever did, a fixed hash keeps the comparison just as
        // expensive.
        hash_in(memory, &unguessable).unwrap_or_else(|_| FALLBACK_DUMMY_HASH.to_string())
    })
}

/// See [`dummy_hash`]: a well-formed argon2id hash with the default
/// parameters and random salt and output, so no password is known to match.
const FALLBACK_DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
    5t3wQpJ7S0yP1mLh0gQ2vA$S9m6d0n8Qe7pDzqW0m4o3k3Xb2kq2m2sZ3yQ0n9w6tE";

/// The verdict on a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `needs_upgrade` says the stored hash is legacy
    /// or uses older argon2 parameters: store [`hash`] of this password now.
    Valid {
        /// Whether to replace the stored hash.
        needs_upgrade: bool,
    },
    /// Wrong password, or a stored hash we cannot read.
    Invalid,
}

/// Why a hash could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// A legacy hash was not 40 hexadecimal digits.
    #[error(
        "a SHA-1 hash is 40 hexadecimal digits (0-9, a-f), e.g. DC215545BA63D605FBCD647A9555270F566D918B"
    )]
    NotSha1Hex,
    /// argon2 refused (in practice: the system's random source failed).
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

/// The largest argon2 memory cost (KiB) a stored hash may ask for: a hash
/// wanting more is not checked (and never matches), so an imported hash
/// cannot make a check allocate without bound. Ours use 19,456.
const MAX_M_COST_KIB: u32 = 1 << 20;

/// Working memory for argon2: kept by a thread between checks, so that a
/// check allocates nothing and memory use does not depend on how the
/// allocator treats a freed 19 MiB block.
#[derive(Default)]
pub struct Memory {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({} KiB)", self.blocks.len())
    }
}

impl Memory {
    /// `count` blocks of working memory (growing it once if needed).
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::new());
        }
        &mut self.blocks[..count]
    }

    /// Gives back whatever a hash with more than today's memory cost made
    /// it grow to, keeping what today's hashes need.
    fn settle(&mut self) {
        let keep = Params::default().block_count();
        if self.blocks.len() > keep {
            self.blocks.truncate(keep);
            self.blocks.shrink_to_fit();
        }
    }

    /// The working memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.blocks.len() * Block::SIZE
    }
}

/// An argon2id PHC string (`$argon2id$v=19$…`) of `password`, with a random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_in(&mut Memory::default(), password)
}

/// [`hash`] with the caller's working memory.
pub fn hash_in(memory: &mut Memory, password: &str) -> Result<String, PasswordError> {
    let failed = |error: &dyn std::fmt::Display| PasswordError::Hashing(error.to_string());
    let params = Params::default();
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt_bytes,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// The stored form of a legacy hash: `sha1-utf16le$` and the 40 hex digits in upper case.
pub fn legacy_sha1(hex: &str) -> Result<String, PasswordError> {
    decode_sha1_hex(hex).ok_or(PasswordError::NotSha1Hex)?;
    Ok(format!("{LEGACY_PREFIX}{}", hex.to_ascii_uppercase()))
}

/// Checks `password` against a stored hash. A malformed hash is
/// [`Verification::Invalid`], never a panic; the caller logs it.
pub fn verify(hash: &str, password: &str) -> Verification {
    verify_in(&mut Memory::default(), hash, password)
}

/// [`verify`] with the caller's working memory.
pub fn verify_in(memory: &mut Memory, hash: &str, password: &str) -> Verification {
    verify_costed(memory, hash, password).0
}

/// [`verify_in`], and whether an argon2id computation ran (it does not for
/// a legacy or unreadable hash).
fn verify_costed(memory: &mut Memory, hash: &str, password: &str) -> (Verification, bool) {
    if let Some(hex) = hash.strip_prefix(LEGACY_PREFIX) {
        return (verify_legacy(hex, password), false);
    }
    if !hash.starts_with(ARGON2ID_PREFIX) {
        return (Verification::Invalid, false);
    }
    let Ok(parsed) = PasswordHash::new(hash) else {
        return (Verification::Invalid, false);
    };
    let matches = argon2id_matches(memory, &parsed, password);
    memory.settle();
    match matches {
        Some(true) => (
            Verification::Valid {
                needs_upgrade: has_older_parameters(&parsed),
            },
            true,
        ),
        Some(false) => (Verification::Invalid, true),
        None => (Verification::Invalid, false),
    }
}

/// Checks `password` against `hash` (`None`: an unknown name) so that every
/// failure costs what an argon2id check costs: an unknown name is checked
/// against [`dummy_hash`], and a legacy (SHA-1) or unreadable hash, which
/// checks in microseconds, is followed by a check against it too. So the
/// time of a refusal does not tell which names exist or which were imported.
pub fn verify_evenly(memory: &mut Memory, hash: Option<&str>, password: &str) -> Verification {
    let (verdict, costed) = match hash {
        Some(hash) => verify_costed(memory, hash, password),
        None => (Verification::Invalid, false),
    };
    if !costed {
        let dummy = dummy_hash(memory);
        verify_in(memory, dummy, password);
    }
    verdict
}

#[cfg(test)]
thread_local! {
    /// argon2id computations run on this thread, for tests of what a check costs.
    static ARGON2_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Recomputes an argon2id hash with the stored salt and parameters in
/// `memory` and compares it in constant time; `None` when the hash cannot
/// be computed (missing salt, bad parameters, too much memory asked).
fn argon2id_matches(memory: &mut Memory, parsed: &PasswordHash, password: &str) -> Option<bool> {
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return None;
    };
    let Ok(params) = Params::try_from(parsed) else {
        return None;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        return None;
    }
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return None,
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer.get_mut(..expected.len())?;
    let blocks = memory.blocks(params.block_count());
    #[cfg(test)]
    ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
    let argon2 = Argon2::new(Algorithm::Argon2id, version, params);
    if argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
        .is_err()
    {
        return None;
    }
    Some(bool::from(out.ct_eq(expected.as_bytes())))
}

/// Whether `hash` is the legacy kind (for `account show`).
pub fn is_legacy(hash: &str) -> bool {
    hash.starts_with(LEGACY_PREFIX)
}

fn verify_legacy(hex: &str, password: &str) -> Verification {
    let Some(expected) = decode_sha1_hex(hex) else {
        return Verification::Invalid;
    };
    let utf16le: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let actual = Sha1::digest(&utf16le);
    if bool::from(actual.as_slice().ct_eq(&expected)) {
        Verification::Valid {
            needs_upgrade: true,
        }
    } else {
        Verification::Invalid
    }
}

/// True when a hash was made with weaker parameters than today's defaults.
fn has_older_parameters(hash: &PasswordHash) -> bool {
    let current = argon2::Params::default();
    match argon2::Params::try_from(hash) {
        Ok(stored) => {
            stored.m_cost() < current.m_cost()
                || stored.t_cost() < current.t_cost()
                || stored.p_cost() < current.p_cost()
        }
        Err(_) => true,
    }
}

fn decode_sha1_hex(hex: &str) -> Option<[u8; 20]> {
    let digits = hex.as_bytes();
    if digits.len() != 40 {
        return None;
    }
    let mut bytes = [0u8; 20];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        if !text.bytes().all(|digit| digit.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// The how-to's example: SHA-1 of "Pwd1" in UTF-16LE.
    const PWD1_SHA1: &str = "DC215545BA63D605FBCD647A9555270F566D918B";

    #[test]
    fn legacy_hash_of_the_howto_example_accepts_its_password_and_asks_for_an_upgrade() {
        let stored = legacy_sha1(PWD1_SHA1).unwrap();
        assert_eq!(
            verify(&stored, "Pwd1"),
            Verification::Valid {
                needs_upgrade: true
            }
        );
    }

    #[test]
    fn legacy_hash_rejects_a_password_differing_in_case() {
        let stored = legacy_sha1(PWD1_SHA1).unwrap();
        assert_eq!(verify(&stored, "pwd1"), Verification::Invalid);
        assert_eq!(verify(&stored, ""), Verification::Invalid);
    }

    #[test]
    fn legacy_hash_accepts_lowercase_hex() {
        let stored = format!("{LEGACY_PREFIX}{}", PWD1_SHA1.to_ascii_lowercase());
        assert!(matches!(
            verify(&stored, "Pwd1"),
            Verification::Valid { .. }
        ));
        assert_eq!(
            legacy_sha1(&PWD1_SHA1.to_ascii_lowercase()).unwrap(),
            format!("{LEGACY_PREFIX}{PWD1_SHA1}")
        );
    }

    #[test]
    fn legacy_sha1_rejects_anything_but_40_hex_digits() {
        for bad in [
            "",
            "DC215545",
            &format!("{PWD1_SHA1}00"),
            "XC215545BA63D605FBCD647A9555270F566D918B",
            "+C215545BA63D605FBCD647A9555270F566D918B",
            "DC215545BA63D605FBCD647A9555270F566D91é",
        ] {
            assert!(legacy_sha1(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn argon2id_hash_round_trips_and_needs_no_upgrade() {
        let stored = hash("s3cret-Pässwörd").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(
            verify(&stored, "s3cret-Pässwörd"),
            Verification::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(verify(&stored, "s3cret-passwörd"), Verification::Invalid);
    }

    /// How many argon2id computations `check` runs on this thread.
    fn argon2_runs(check: impl FnOnce()) -> u64 {
        let before = ARGON2_RUNS.with(|runs| runs.get());
        check();
        ARGON2_RUNS.with(|runs| runs.get()) - before
    }

    #[test]
    fn every_refusal_costs_one_argon2id_check_whether_the_name_is_unknown_legacy_or_argon2id() {
        let mut memory = Memory::default();
        let argon2id = hash("right").unwrap();
        let legacy = legacy_sha1(PWD1_SHA1).unwrap();
        dummy_hash(&mut memory);
        let cases: [(&str, Option<&str>); 4] = [
            ("unknown name", None),
            ("argon2id hash", Some(&argon2id)),
            ("legacy SHA-1 hash", Some(&legacy)),
            ("unreadable hash", Some("$argon2id$garbage")),
        ];
        for (case, stored) in cases {
            let mut verdict = Verification::Valid {
                needs_upgrade: false,
            };
            let runs = argon2_runs(|| verdict = verify_evenly(&mut memory, stored, "wrong"));
            assert_eq!(verdict, Verification::Invalid, "{case}");
            assert_eq!(runs, 1, "{case}: argon2id computations for a refusal");
        }
        assert!(matches!(
            verify_evenly(&mut memory, Some(&legacy), "Pwd1"),
            Verification::Valid {
                needs_upgrade: true
            }
        ));
    }

    #[test]
    fn hashes_made_in_kept_memory_are_standard_phc_strings_both_ways() {
        let mut memory = Memory::default();
        let ours = hash_in(&mut memory, "pw").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"pW", &parsed).is_err());
        let theirs = Argon2::default().hash_password(b"pw").unwrap().to_string();
        assert_eq!(
            verify_in(&mut memory, &theirs, "pw"),
            Verification::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(verify_in(&mut memory, &theirs, "p"), Verification::Invalid);
        assert_eq!(memory.bytes(), 19_456 * 1024);
    }

    #[test]
    fn a_hash_asking_for_more_memory_than_allowed_never_matches_and_allocates_nothing() {
        let stored = hash("pw")
            .unwrap()
            .replace("m=19456", &format!("m={}", MAX_M_COST_KIB + 8));
        assert!(PasswordHash::new(&stored).is_ok());
        let mut memory = Memory::default();
        assert_eq!(verify_in(&mut memory, &stored, "pw"), Verification::Invalid);
        assert_eq!(memory.bytes(), 0);
    }

    #[test]
    fn hashing_twice_salts_differently() {
        assert_ne!(hash("same").unwrap(), hash("same").unwrap());
    }

    #[test]
    fn argon2id_hash_with_weaker_parameters_asks_for_an_upgrade() {
        let weak = argon2::Params::new(1024, 1, 1, None).unwrap();
        let stored = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, weak)
            .hash_password(b"pw")
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&stored, "pw"),
            Verification::Valid {
                needs_upgrade: true
            }
        );
    }

    #[test]
    fn malformed_stored_hashes_are_invalid() {
        let good = hash("pw").unwrap();
        let truncated = &good[..good.len() - 10];
        for bad in [
            "",
            "plaintext",
            "pw",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            truncated,
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "$2b$12$abcdefghijklmnopqrstuv",
            "sha1-utf16le$",
            "sha1-utf16le$DC215545",
            "sha1-utf16le$ZZ215545BA63D605FBCD647A9555270F566D918B",
        ] {
            assert_eq!(verify(bad, "pw"), Verification::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash_that_rejects_guesses() {
        let mut memory = Memory::default();
        let dummy = dummy_hash(&mut memory);
        assert!(PasswordHash::new(dummy).is_ok());
        assert!(dummy.starts_with(ARGON2ID_PREFIX));
        assert_eq!(verify_in(&mut memory, dummy, ""), Verification::Invalid);
        assert_eq!(memory.bytes(), 19_456 * 1024, "kept today's working memory");
        assert_eq!(
            verify(FALLBACK_DUMMY_HASH, "password"),
            Verification::Invalid
        );
        assert!(PasswordHash::new(FALLBACK_DUMMY_HASH).is_ok());
    }
}

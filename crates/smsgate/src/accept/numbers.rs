//! The fast E.164 check: is `+<digits>` a valid phone number, and what is
//! its E.164 form?
//!
//! `phonenumber` answers this correctly but slowly (~25 µs per number, and
//! ~370 ms on first use): its regexes live in a 100-entry LRU cache behind a
//! mutex, so every check locks, and most checks recompile regexes that the
//! cache evicted. [`NumberTable`] is built once, at start-up, from the same
//! metadata (`phonenumber::metadata::DATABASE`), with every regex compiled
//! ahead of time, and then answers without locks or allocations on the
//! common path.
//!
//! It AGREES with `phonenumber::parse(None, "+<digits>")` followed by
//! `phonenumber::is_valid`, because it runs the same algorithm on the same
//! data — including the port's quirks, which are part of what "valid" means
//! to the rest of the system (the routing and the HTTP API also ask
//! `phonenumber`):
//! - the country calling code is the shortest prefix (1 to 3 digits) that
//!   has metadata;
//! - the national prefix is stripped even from international numbers (so
//!   `+4407700900123` is the same number as `+447700900123`), and where the
//!   metadata has no "national prefix for parsing" rule it is stripped twice;
//! - a descriptor's pattern needs to match at the start of the national
//!   number, not all of it (the port uses `find` and checks the start), with
//!   the descriptor's possible lengths deciding how long the number is;
//! - a region whose id `phonenumber::country::Id` cannot name is never
//!   valid (the port cannot look its metadata up again).
//!
//! The one known divergence: where the port would panic (a "national prefix
//! transform rule" whose first group did not take part in the match, which
//! no current metadata triggers), this table answers "not valid" instead.
//! The agreement test in this module compares both on every calling code.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// The longest national significant number E.164 and `phonenumber` allow.
const MAX_NATIONAL_LEN: usize = 17;
/// The shortest national significant number `phonenumber` accepts.
const MIN_NATIONAL_LEN: usize = 2;
/// The longest country calling code.
const MAX_CALLING_CODE_LEN: usize = 3;
/// National numbers are held by `phonenumber` in 56 bits.
const NATIONAL_VALUE_LIMIT: u64 = 1 << 56;
/// The region id of non-geographic calling codes (+800, +882, ...).
const NON_GEOGRAPHIC: &str = "001";
/// The longest input the table judges. Longer digit strings are refused
/// without a look: an SMPP address holds at most 20 characters (64 in
/// data_sm), and no prefix rule shortens a number by more than a few digits,
/// so nothing this long can come down to 17 national digits.
pub const MAX_DIGITS: usize = 32;

/// A number that passed the check, in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct E164 {
    country_code: u16,
    /// Calling code and national number, without `+`.
    digits: String,
}

impl E164 {
    /// The country calling code, e.g. 44.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The number without `+`: calling code then national number, e.g.
    /// `447700900123`. This is the form destinations are stored in.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Takes the digits.
    pub fn into_digits(self) -> String {
        self.digits
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.digits)
    }
}

/// A metadata pattern that could not be compiled (the bundled metadata is
/// broken, or too large for the regex engine's limits).
#[derive(Debug, thiserror::Error)]
#[error("cannot compile the phone number pattern of region {region}: {source}")]
pub struct NumberTableError {
    /// The region whose metadata failed.
    pub region: String,
    /// What the regex engine said.
    #[source]
    pub source: regex::Error,
}

/// Every country calling code's rules, compiled. Cheap to share (`Arc`) and
/// immutable once built.
pub struct NumberTable {
    /// Indexed by calling code (1-999); `None` where there is none.
    codes: Vec<Option<CallingCode>>,
}

impl fmt::Debug for NumberTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumberTable")
            .field("calling_codes", &self.codes.iter().flatten().count())
            .finish()
    }
}

/// The regions that share one calling code, in `phonenumber`'s order: the
/// main country first (e.g. US for +1, GB for +44).
struct CallingCode {
    regions: Vec<Region>,
}

/// One region's rules (`phonenumber::Metadata`), compiled.
struct Region {
    /// Whether `phonenumber` can name this region; if not, it calls all its
    /// numbers invalid.
    known_id: bool,
    /// Which national numbers belong to this region when it shares its
    /// calling code; without it, a number belongs here if it is valid here.
    leading_digits: Option<Regex>,
    /// The prefix dialled before national numbers (e.g. `0`).
    national_prefix: Option<String>,
    /// How to find (and rewrite) a national prefix, carrier code included.
    prefix_rule: Option<PrefixRule>,
    /// The general description every valid number matches.
    general: Pattern,
    /// `possible_local_length` of the general description.
    general_local_lengths: Vec<u16>,
    /// Per national number length, the index in `type_unions` of the union
    /// of the number types (mobile, fixed line, toll free, ...) that allow
    /// that length; `None` where no type does.
    union_by_length: [Option<usize>; MAX_DIGITS + 1],
    /// Anchored alternations of type patterns, one per distinct set of types.
    type_unions: Vec<Regex>,
}

/// A descriptor: possible lengths (empty: any) and a pattern anchored at
/// the start.
struct Pattern {
    lengths: Vec<u16>,
    regex: Regex,
}

impl Pattern {
    /// `phonenumber::metadata::Descriptor::is_match`.
    fn is_match(&self, national: &str) -> bool {
        length_allowed(&self.lengths, national.len()) && self.regex.is_match(national)
    }
}

/// `national_prefix_for_parsing` and `national_prefix_transform_rule`.
struct PrefixRule {
    regex: Regex,
    transform: Option<String>,
}

fn length_allowed(lengths: &[u16], len: usize) -> bool {
    lengths.is_empty() || lengths.iter().any(|&allowed| usize::from(allowed) == len)
}

/// Compiles a metadata pattern as `phonenumber` does (whitespace ignored),
/// anchored at the start: `find(..)` starting at 0 is `is_match` of `^(?:..)`.
/// Unicode is off: the input is ASCII digits, on which `\d` means the same
/// either way, and ASCII classes compile several times faster.
/// The newline ends any comment the pattern might hold before our `)`.
fn anchored(patterns: &[&str], region: &str) -> Result<Regex, NumberTableError> {
    let alternatives: Vec<String> = patterns
        .iter()
        .map(|pattern| format!("(?:{pattern}\n)"))
        .collect();
    RegexBuilder::new(&format!("^(?:{})", alternatives.join("|")))
        .ignore_whitespace(true)
        .unicode(false)
        .build()
        .map_err(|source| NumberTableError {
            region: region.to_owned(),
            source,
        })
}

/// The descriptors whose match makes `phonenumber::validator::number_type`
/// return something other than `Unknown`.
fn valid_types(meta: &Metadata) -> Vec<&Descriptor> {
    let d = meta.descriptors();
    [
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
        d.fixed_line(),
        d.mobile(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Region {
    fn compile(meta: &Metadata) -> Result<Region, NumberTableError> {
        let id = meta.id();
        let general = meta.descriptors().general();
        let types = valid_types(meta);
        let mut union_by_length = [None; MAX_DIGITS + 1];
        let mut type_unions = Vec::new();
        let mut union_of: HashMap<Vec<usize>, usize> = HashMap::new();
        for (len, slot) in union_by_length.iter_mut().enumerate() {
            let members: Vec<usize> = (0..types.len())
                .filter(|&i| length_allowed(types[i].possible_length(), len))
                .collect();
            if members.is_empty() {
                continue;
            }
            let index = match union_of.get(&members) {
                Some(&index) => index,
                None => {
                    let patterns: Vec<&str> = members
                        .iter()
                        .map(|&i| types[i].national_number().as_str())
                        .collect();
                    type_unions.push(anchored(&patterns, id)?);
                    union_of.insert(members, type_unions.len() - 1);
                    type_unions.len() - 1
                }
            };
            *slot = Some(index);
        }
        Ok(Region {
            known_id: id == NON_GEOGRAPHIC || id.parse::<phonenumber::country::Id>().is_ok(),
            leading_digits: meta
                .leading_digits()
                .map(|re| anchored(&[re.as_str()], id))
                .transpose()?,
            national_prefix: meta.national_prefix().map(str::to_owned),
            prefix_rule: meta
                .national_prefix_for_parsing()
                .map(|re| {
                    Ok(PrefixRule {
                        regex: anchored(&[re.as_str()], id)?,
                        transform: meta.national_prefix_transform_rule().map(str::to_owned),
                    })
                })
                .transpose()?,
            general: Pattern {
                lengths: general.possible_length().to_vec(),
                regex: anchored(&[general.national_number().as_str()], id)?,
            },
            general_local_lengths: general.possible_local_length().to_vec(),
            union_by_length,
            type_unions,
        })
    }

    /// `number_type(meta, national) != Type::Unknown`.
    fn has_valid_type(&self, national: &str) -> bool {
        let Some(Some(union)) = self.union_by_length.get(national.len()) else {
            return false;
        };
        self.general.is_match(national) && self.type_unions[*union].is_match(national)
    }

    /// `validator::length(meta, number, Type::Unknown) == TooShort`.
    fn too_short(&self, len: usize) -> bool {
        let Some(&minimum) = self.general.lengths.first() else {
            return false;
        };
        !self
            .general_local_lengths
            .iter()
            .any(|&local| usize::from(local) == len)
            && len < usize::from(minimum)
    }

    /// `parser::helper::national_number`: removes a national prefix (and
    /// carrier code), or rewrites it by the transform rule. `None` where the
    /// port would panic.
    fn strip_prefix_rule<'a>(&self, national: &'a str) -> Option<Cow<'a, str>> {
        let Some(rule) = &self.prefix_rule else {
            return Some(match &self.national_prefix {
                Some(prefix) => {
                    Cow::Borrowed(national.strip_prefix(prefix.as_str()).unwrap_or(national))
                }
                None => Cow::Borrowed(national),
            });
        };
        let Some(captures) = rule.regex.captures(national) else {
            return Some(Cow::Borrowed(national));
        };
        let end = captures.get(0).map_or(0, |whole| whole.end());
        let last_group_matched = captures.get(captures.len() - 1).is_some();
        match &rule.transform {
            Some(transform) if last_group_matched => {
                // The port unwraps the first group here.
                captures.get(1)?;
                let mut transformed = String::with_capacity(national.len());
                captures.expand(transform, &mut transformed);
                transformed.push_str(&national[end..]);
                if self.general.is_match(national) && !self.general.is_match(&transformed) {
                    return Some(Cow::Borrowed(national));
                }
                Some(Cow::Owned(transformed))
            }
            // The port's check that the rest is still viable compares the
            // whole number with itself, so it never keeps the prefix.
            _ => Some(Cow::Borrowed(&national[end..])),
        }
    }
}

impl CallingCode {
    /// `validator::source_for`: the region a national number belongs to.
    fn region_for(&self, national: &str) -> Option<&Region> {
        let region = match self.regions.as_slice() {
            [only] => only,
            regions => regions.iter().find(|region| match &region.leading_digits {
                Some(leading) => leading.is_match(national),
                None => region.has_valid_type(national),
            })?,
        };
        region.known_id.then_some(region)
    }
}

impl NumberTable {
    /// Compiles the rules of every calling code in `phonenumber`'s bundled
    /// metadata. Takes a few hundred milliseconds: do it once, at start-up.
    pub fn from_phonenumber_metadata() -> Result<NumberTable, NumberTableError> {
        let mut codes: Vec<Option<CallingCode>> = (0..1000).map(|_| None).collect();
        let mut calling_codes: Vec<u16> = DATABASE.iter().map(Metadata::country_code).collect();
        calling_codes.sort_unstable();
        calling_codes.dedup();
        for code in calling_codes {
            let Some(slot) = codes.get_mut(usize::from(code)) else {
                continue;
            };
            let regions = DATABASE
                .by_code(&code)
                .unwrap_or_default()
                .into_iter()
                .map(Region::compile)
                .collect::<Result<Vec<_>, _>>()?;
            *slot = Some(CallingCode { regions });
        }
        Ok(NumberTable { codes })
    }

    fn calling_code(&self, digits: &str) -> Option<&CallingCode> {
        digits
            .parse::<usize>()
            .ok()
            .and_then(|code| self.codes.get(code)?.as_ref())
    }

    /// Checks an international number given as its digits (no `+`), as
    /// `phonenumber::parse(None, "+<digits>")` and `phonenumber::is_valid`
    /// would, and returns its E.164 form (national prefix removed).
    /// Anything but ASCII digits is not a number.
    pub fn validate(&self, digits: &str) -> Option<E164> {
        if digits.len() <= MIN_NATIONAL_LEN
            || digits.len() > MAX_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        let (code_len, calling_code) = (1..=MAX_CALLING_CODE_LEN)
            .find_map(|len| Some((len, self.calling_code(&digits[..len])?)))?;
        let given = &digits[code_len..];

        let mut stripped = None;
        if let Some(region) = calling_code.region_for(given.trim_start_matches('0')) {
            let potential = region.strip_prefix_rule(given)?;
            let potential = match (&region.national_prefix, potential) {
                (Some(prefix), Cow::Borrowed(text)) => {
                    Cow::Borrowed(text.strip_prefix(prefix.as_str()).unwrap_or(text))
                }
                (Some(prefix), Cow::Owned(text)) => match text.strip_prefix(prefix.as_str()) {
                    Some(rest) => Cow::Owned(rest.to_owned()),
                    None => Cow::Owned(text),
                },
                (None, potential) => potential,
            };
            if !region.too_short(potential.len()) {
                stripped = Some(potential);
            }
        }
        let national = stripped.as_deref().unwrap_or(given);

        if !(MIN_NATIONAL_LEN..=MAX_NATIONAL_LEN).contains(&national.len()) {
            return None;
        }
        let significant = national.trim_start_matches('0');
        if !significant
            .parse::<u64>()
            .is_ok_and(|value| value < NATIONAL_VALUE_LIMIT)
        {
            return None;
        }
        let region = calling_code.region_for(national)?;
        if !region.has_valid_type(national) {
            return None;
        }
        let mut normalised = String::with_capacity(code_len + national.len());
        normalised.push_str(&digits[..code_len]);
        normalised.push_str(national);
        Some(E164 {
            country_code: digits[..code_len].parse().ok()?,
            digits: normalised,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::panic;
    use std::sync::{Arc, LazyLock};

    static TABLE: LazyLock<Arc<NumberTable>> = LazyLock::new(|| {
        Arc::new(NumberTable::from_phonenumber_metadata().expect("bundled metadata compiles"))
    });

    /// One table for every test in the crate: building it is slow in debug builds.
    pub(crate) fn shared_table() -> Arc<NumberTable> {
        Arc::clone(&TABLE)
    }

    /// What `phonenumber` says about `+<digits>`: `Ok(Some(e164))` if valid,
    /// `Ok(None)` if not, `Err(())` if it panics.
    fn reference(digits: &str) -> Result<Option<String>, ()> {
        let text = format!("+{digits}");
        let outcome = panic::catch_unwind(|| {
            phonenumber::parse(None, &text)
                .ok()
                .filter(phonenumber::is_valid)
                .map(|number| number.format().mode(phonenumber::Mode::E164).to_string())
        });
        outcome.map_err(|_| ())
    }

    fn ours(digits: &str) -> Option<String> {
        TABLE.validate(digits).map(|number| number.to_string())
    }

    /// A small deterministic generator (SplitMix64), so a failure names a
    /// number that fails again on the next run.
    struct Digits(u64);

    impl Digits {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }

        fn digits(&mut self, len: usize) -> String {
            (0..len)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }
    }

    /// Numbers worth asking about for one calling code: each type's example
    /// (valid), the example with its national prefix, one digit changed,
    /// one digit short or long, and random digits of every plausible length.
    fn cases_for(code: u16, random: &mut Digits) -> Vec<String> {
        let mut cases = Vec::new();
        for meta in DATABASE.by_code(&code).unwrap_or_default() {
            let d = meta.descriptors();
            let descriptors = [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
                d.short_code(),
                d.emergency(),
                d.no_international(),
            ];
            for example in descriptors
                .into_iter()
                .flatten()
                .filter_map(Descriptor::example)
            {
                cases.push(format!("{code}{example}"));
                if let Some(prefix) = meta.national_prefix() {
                    cases.push(format!("{code}{prefix}{example}"));
                }
                cases.push(format!("{code}0{example}"));
                cases.push(format!("{code}{example}{}", random.below(10)));
                cases.push(format!("{code}{}", &example[..example.len() - 1]));
                let mut changed = example.as_bytes().to_vec();
                let at = random.below(changed.len());
                changed[at] = b'0' + random.below(10) as u8;
                cases.push(format!("{code}{}", String::from_utf8_lossy(&changed)));
            }
        }
        for len in 1..=18 {
            for _ in 0..3 {
                cases.push(format!("{code}{}", random.digits(len)));
            }
        }
        cases
    }

    fn calling_codes() -> Vec<u16> {
        let mut codes: Vec<u16> = DATABASE.iter().map(Metadata::country_code).collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    #[test]
    fn agrees_with_phonenumber_on_every_calling_code() {
        let mut random = Digits(0x5EED);
        let mut cases: Vec<String> = calling_codes()
            .into_iter()
            .flat_map(|code| cases_for(code, &mut random))
            .collect();
        for len in 1..=22 {
            for _ in 0..100 {
                cases.push(random.digits(len));
            }
        }
        let previous_hook = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let mut disagreements = Vec::new();
        let mut valid = 0;
        let mut port_panics = 0;
        for digits in &cases {
            match reference(digits) {
                Ok(expected) => {
                    valid += usize::from(expected.is_some());
                    let actual = ours(digits);
                    if actual != expected {
                        disagreements.push(format!(
                            "+{digits}: phonenumber {expected:?}, ours {actual:?}"
                        ));
                    }
                }
                Err(()) => port_panics += 1,
            }
        }
        panic::set_hook(previous_hook);
        assert!(
            disagreements.is_empty(),
            "{} of {} numbers disagree:\n{}",
            disagreements.len(),
            cases.len(),
            disagreements.join("\n")
        );
        assert_eq!(port_panics, 0, "phonenumber panicked on some numbers");
        assert!(cases.len() > 10_000, "only {} cases", cases.len());
        assert!(
            valid > cases.len() / 6,
            "only {valid} of {} cases are valid",
            cases.len()
        );
    }

    #[test]
    fn known_numbers_are_judged_as_phonenumber_judges_them() {
        for digits in [
            "447700900123",
            "14155551234",
            "31699887766",
            "4915112345678",
        ] {
            assert_eq!(
                ours(digits),
                reference(digits).expect("no panic"),
                "+{digits}"
            );
        }
        assert_eq!(ours("14155551234").as_deref(), Some("+14155551234"));
        assert_eq!(ours("4915112345678").as_deref(), Some("+4915112345678"));
        assert_eq!(ours("447912345678").as_deref(), Some("+447912345678"));
        // Ofcom's drama range (07700 900xxx) is reserved for fiction, and
        // libphonenumber's metadata leaves it out of the valid UK mobiles.
        assert_eq!(ours("447700900123"), None);
        // The seeds' MO address: the metadata has no Dutch mobiles in 0699.
        assert_eq!(ours("31699887766"), None);
    }

    #[test]
    fn national_prefix_after_the_calling_code_is_removed() {
        assert_eq!(
            TABLE
                .validate("4407912345678")
                .map(E164::into_digits)
                .as_deref(),
            Some("447912345678"),
        );
    }

    #[test]
    fn non_digits_and_leading_zero_are_not_numbers() {
        for input in [
            "",
            "44",
            "4477OO900123",
            "+447700900123",
            "0447700900123",
            "44 7700900123",
        ] {
            assert_eq!(TABLE.validate(input), None, "{input:?}");
        }
    }

    #[test]
    fn every_input_longer_than_the_table_is_refused() {
        assert_eq!(TABLE.validate(&"4".repeat(MAX_DIGITS + 1)), None);
    }
}

//! Price tables: what a connector charges per destination prefix, read from
//! CSV, for `least_cost` routes.
//!
//! Prices are integer micro-units (millionths of the currency) so that
//! comparing and adding them is exact; the currency itself is whatever the
//! operator's tables agree on.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::{Path, PathBuf};

use super::RouteError;

/// Micro-units per currency unit: prices have at most 6 decimals.
const MICROS_PER_UNIT: u64 = 1_000_000;
/// The most decimals a price may have.
const MAX_DECIMALS: usize = 6;
/// E.164 numbers have at most 15 digits, so no longer prefix can match.
const MAX_PREFIX_LEN: usize = 15;

/// A price in micro-units (0.031 is 31 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(u64);

impl Price {
    /// A price of `micros` millionths.
    pub fn from_micros(micros: u64) -> Price {
        Price(micros)
    }

    /// The price in millionths.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// Reads a non-negative decimal with at most 6 decimals (`0.031`, `2`).
    pub fn parse(text: &str) -> Result<Price, String> {
        let (units, decimals) = match text.split_once('.') {
            Some((units, decimals)) => (units, Some(decimals)),
            None => (text, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(units) || decimals.is_some_and(|d| !all_digits(d)) {
            return Err(format!("price {text:?} is not a decimal number like 0.031"));
        }
        let decimals = decimals.unwrap_or("");
        if decimals.len() > MAX_DECIMALS {
            return Err(format!(
                "price {text:?} has more than {MAX_DECIMALS} decimals"
            ));
        }
        let too_large = || format!("price {text:?} is too large");
        let units: u64 = units.parse().map_err(|_| too_large())?;
        let mut fraction: u64 = 0;
        for position in 0..MAX_DECIMALS {
            let digit = decimals
                .as_bytes()
                .get(position)
                .map_or(0, |b| u64::from(b - b'0'));
            fraction = fraction * 10 + digit;
        }
        units
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|micros| micros.checked_add(fraction))
            .map(Price)
            .ok_or_else(too_large)
    }
}

impl fmt::Display for Price {
    /// Decimal, without trailing zeros: `0.031`, `2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = self.0 / MICROS_PER_UNIT;
        let fraction = self.0 % MICROS_PER_UNIT;
        if fraction == 0 {
            return write!(f, "{units}");
        }
        let decimals = format!("{fraction:06}");
        write!(f, "{units}.{}", decimals.trim_end_matches('0'))
    }
}

/// One connector's prices by destination prefix. The longest prefix that
/// starts the destination gives the price; a destination no prefix covers
/// has no price, which `least_cost` reads as "this connector does not serve
/// it".
#[derive(Debug)]
pub struct PriceTable {
    /// Where it was read from, for explanations.
    path: PathBuf,
    prices: HashMap<Box<str>, Price>,
    /// Bit `n` is set when some prefix has `n` digits: the lookup tries
    /// only lengths that exist, longest first.
    lengths: u32,
}

impl PriceTable {
    /// Reads a CSV file of `prefix,price` lines: an optional `prefix,price`
    /// header, `#` comments, blank lines ignored.
    pub fn load(path: &Path) -> Result<PriceTable, RouteError> {
        let text = std::fs::read_to_string(path).map_err(|source| RouteError::PriceFile {
            path: path.to_path_buf(),
            source,
        })?;
        PriceTable::parse(&text, path)
    }

    /// Reads the CSV text of the file at `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<PriceTable, RouteError> {
        let mut prices: HashMap<Box<str>, Price> = HashMap::new();
        let mut first_line_of: HashMap<Box<str>, usize> = HashMap::new();
        let mut lengths = 0u32;
        let mut seen_data = false;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let problem = |problem: String| RouteError::PriceLine {
                path: path.to_path_buf(),
                line,
                problem,
            };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split(',').map(str::trim).collect();
            let [prefix, price] = fields[..] else {
                return Err(problem(format!(
                    "expected `prefix,price`, found {} fields in {content:?}",
                    fields.len()
                )));
            };
            let header = !seen_data
                && prefix.eq_ignore_ascii_case("prefix")
                && price.eq_ignore_ascii_case("price");
            seen_data = true;
            if header {
                continue;
            }
            let prefix = prefix.strip_prefix('+').unwrap_or(prefix);
            if prefix.is_empty()
                || prefix.len() > MAX_PREFIX_LEN
                || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(problem(format!(
                    "prefix {prefix:?} is not 1 to {MAX_PREFIX_LEN} digits"
                )));
            }
            let price = Price::parse(price).map_err(problem)?;
            match first_line_of.entry(prefix.into()) {
                Entry::Occupied(first) => {
                    return Err(problem(format!(
                        "prefix {prefix} is priced twice (first on line {})",
                        first.get()
                    )));
                }
                Entry::Vacant(slot) => {
                    slot.insert(line);
                }
            }
            prices.insert(prefix.into(), price);
            lengths |= 1 << prefix.len();
        }
        if prices.is_empty() {
            return Err(RouteError::PriceLine {
                path: path.to_path_buf(),
                line: text.lines().count(),
                problem: "the table has no prices".into(),
            });
        }
        Ok(PriceTable {
            path: path.to_path_buf(),
            prices,
            lengths,
        })
    }

    /// A table with no prices, standing in for a file while a
    /// configuration is only being checked (see [`super::check_routes`]).
    pub(super) fn unread(path: &Path) -> PriceTable {
        PriceTable {
            path: path.to_path_buf(),
            prices: HashMap::new(),
            lengths: 0,
        }
    }

    /// The price of sending to `destination` (E.164 digits) and the prefix
    /// that set it, or `None` when no prefix covers it.
    pub fn price_for<'a>(&'a self, destination: &str) -> Option<(&'a str, Price)> {
        let longest = destination.len().min(MAX_PREFIX_LEN);
        (1..=longest)
            .rev()
            .filter(|len| self.lengths & (1 << len) != 0)
            .find_map(|len| {
                let (prefix, price) = self.prices.get_key_value(destination.get(..len)?)?;
                Some((&**prefix, *price))
            })
    }

    /// The file the table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many prefixes are priced.
    pub fn prefix_count(&self) -> usize {
        self.prices.len()
    }
}

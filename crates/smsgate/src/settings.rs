//! What the settings of every stage share, apart from the file that puts
//! them together (`config.rs`): the error a stage gives for a value it
//! cannot use, and how durations are written. Each stage owns its settings
//! (their struct, defaults and checks); `config.rs` only assembles them
//! into the one `Config`, and no stage imports it.

/// A setting a stage cannot use; the text names the key and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct InvalidSetting(pub String);

/// serde: durations written as `30s`, `10m`, `24h`, `1h 30m`.
pub(crate) mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// serde: a list of durations, each written as [`duration`] is.
pub(crate) mod durations {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                humantime::parse_duration(text).map_err(|e| {
                    serde::de::Error::custom(format!("invalid duration {text:?}: {e}"))
                })
            })
            .collect()
    }
}

/// serde: an optional duration, written as [`duration`] is; use with
/// `#[serde(default, with = "crate::settings::option_duration")]`.
pub(crate) mod option_duration {
    use serde::Deserializer;
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

/// serde: address ranges written as CIDR or as one address (`10.1.2.3` is
/// `10.1.2.3/32`); an entry that is neither is refused by name, and the
/// file's error shows the key, line and column. Use with
/// `#[serde(deserialize_with = "crate::settings::ip_ranges")]`.
pub(crate) fn ip_ranges<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<ipnet::IpNet>, D::Error> {
    use serde::Deserialize;
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| {
            crate::accounts::fields::parse_ip_range(text.trim()).map_err(serde::de::Error::custom)
        })
        .collect()
}

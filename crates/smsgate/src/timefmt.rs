//! Times as people and scripts read them: RFC 3339 in UTC.

use std::time::SystemTime;

/// serde: a `SystemTime` as an RFC 3339 string.
pub mod rfc3339 {
    use super::*;
    use serde::Serializer;

    /// Serializes as `2026-11-21T23:09:14.123Z`.
    pub fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*time))
    }
}

/// serde: an optional `SystemTime` as an RFC 3339 string or null.
pub mod rfc3339_option {
    use super::*;
    use serde::Serializer;

    /// Serializes `Some` as an RFC 3339 string and `None` as null.
    pub fn serialize<S: Serializer>(time: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.collect_str(&humantime::format_rfc3339_millis(*time)),
            None => s.serialize_none(),
        }
    }
}

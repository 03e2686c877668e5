//! What every table's SQL shares: reading and checking columns, the JSON the
//! list columns hold, times as Unix milliseconds, and the errors a statement
//! turns into.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use rusqlite::Row;
use rusqlite::types::FromSql;

use crate::store::{BindType, StoreError, StoreResult};

/// SQLite integers are signed; a session id keeps its 64 bits by reinterpretation.
pub(super) fn session_to_sql(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

pub(super) fn column<T: FromSql>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    row.get(name)
        .map_err(|error| StoreError::Backend(format!("column {name}: {error}")))
}

/// An integer column that must fit a narrower type (a u8 esm_class, a u32 window).
pub(super) fn int_column<T: TryFrom<i64>>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    let value: i64 = column(row, name)?;
    T::try_from(value).map_err(|_| bad_column(name, value))
}

pub(super) fn json_strings(row: &Row<'_>, name: &str) -> StoreResult<Vec<String>> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|_| bad_column(name, &text))
}

pub(super) fn bad_column(name: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("column {name} holds an invalid value: {value}"))
}

pub(super) fn strings_json(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

pub(super) fn bind_types_json(types: &[BindType]) -> String {
    serde_json::Value::from(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
}

pub(super) fn ips_json(nets: &[IpNet]) -> String {
    serde_json::Value::from(nets.iter().map(IpNet::to_string).collect::<Vec<_>>()).to_string()
}

pub(super) fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

pub(super) fn not_queued(id: &str) -> StoreError {
    StoreError::NotFound(format!("message {id} in state queued"))
}

pub(super) fn account_not_found(system_id: &str) -> StoreError {
    StoreError::NotFound(format!("account {system_id}"))
}

/// Unix milliseconds, negative before 1970, saturating far out.
pub(super) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

pub(super) fn from_millis(millis: i64) -> SystemTime {
    let offset = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.unwrap_or(UNIX_EPOCH)
}

//! Accounts and their API keys: the `accounts` and `api_keys` tables.

use std::time::SystemTime;

use ipnet::IpNet;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::{
    Account, AccountPatch, ApiKey, BindType, IdempotencyClaim, NewAccount, NewApiKey, StoreError,
    StoreResult,
};

use super::sql::{
    account_not_found, backend, bad_column, bind_types_json, column, from_millis, int_column,
    ips_json, json_strings, strings_json, to_millis,
};
use super::writer::Writer;

/// The columns of an API key row, as [`api_key_from_row`] reads them.
const API_KEY_COLUMNS: &str = "id, account, label, created_at, last_used_at";

/// The columns of an account row.
const ACCOUNT_COLUMNS: &str = "system_id, password_hash, enabled, credits, max_binds, tps, window, \
    bind_types, allowed_ips, allowed_senders, default_sender, address_ranges, group_name, created_at, \
    callback_url, deliver_window";

impl Writer {
    // Idempotency keys of the customer API

    pub(super) fn claim_idempotency_key(
        &self,
        account: &str,
        key: &str,
        request_hash: &[u8],
        now: SystemTime,
        stale_before: SystemTime,
        expired_before: SystemTime,
    ) -> StoreResult<IdempotencyClaim> {
        self.conn
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE rowid IN \
                 (SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT 100)",
            )
            .and_then(|mut statement| statement.execute([to_millis(expired_before)]))
            .map_err(backend)?;
        let found = self
            .conn
            .prepare_cached(
                "SELECT request_hash, created_at, status, body FROM idempotency_keys \
                 WHERE account = ?1 AND key = ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![account, key], |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, Option<i64>>(2)?,
                            row.get::<_, Option<Vec<u8>>>(3)?,
                        ))
                    })
                    .optional()
            })
            .map_err(backend)?;
        match found {
            Some((request_hash, _, Some(status), body)) => Ok(IdempotencyClaim::Done {
                request_hash,
                status: u16::try_from(status).map_err(|_| bad_column("status", status))?,
                body: body.unwrap_or_default(),
            }),
            Some((held, created_at, None, _)) if created_at >= to_millis(stale_before) => {
                Ok(IdempotencyClaim::Running { request_hash: held })
            }
            _ => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO idempotency_keys (account, key, request_hash, created_at) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account, key) DO UPDATE SET \
                         request_hash = excluded.request_hash, created_at = excluded.created_at, \
                         status = NULL, body = NULL",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![account, key, request_hash, to_millis(now)])
                    })
                    .map_err(backend)?;
                Ok(IdempotencyClaim::New)
            }
        }
    }

    pub(super) fn finish_idempotency_key(
        &self,
        account: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE account = ?1 AND key = ?2",
            )
            .and_then(|mut statement| statement.execute(params![account, key, status, body]))
            .map(drop)
            .map_err(backend)
    }

    pub(super) fn release_idempotency_key(&self, account: &str, key: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE account = ?1 AND key = ?2 AND status IS NULL",
            )
            .and_then(|mut statement| statement.execute(params![account, key]))
            .map(drop)
            .map_err(backend)
    }

    pub(super) fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let created_at = from_millis(to_millis(SystemTime::now()));
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (system_id, password_hash, enabled, credits, max_binds, tps, \
                 window, bind_types, allowed_ips, allowed_senders, default_sender, address_ranges, \
                 group_name, created_at, deliver_window) \
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
                 ON CONFLICT (system_id) DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    account.system_id,
                    account.password_hash,
                    account.credits,
                    account.max_binds,
                    account.tps,
                    account.window,
                    bind_types_json(&account.bind_types),
                    ips_json(&account.allowed_ips),
                    strings_json(&account.allowed_senders),
                    account.default_sender,
                    strings_json(&account.address_ranges),
                    account.group,
                    to_millis(created_at),
                    account.deliver_window,
                ])
            })
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "account {}",
                account.system_id
            )));
        }
        Ok(Account {
            system_id: account.system_id,
            password_hash: account.password_hash,
            enabled: true,
            credits: account.credits,
            max_binds: account.max_binds,
            tps: account.tps,
            window: account.window,
            deliver_window: account.deliver_window,
            bind_types: account.bind_types,
            allowed_ips: account.allowed_ips,
            allowed_senders: account.allowed_senders,
            default_sender: account.default_sender,
            address_ranges: account.address_ranges,
            group: account.group,
            callback_url: None,
            created_at,
        })
    }

    pub(super) fn update_account(
        &self,
        system_id: &str,
        patch: AccountPatch,
    ) -> StoreResult<Account> {
        let mut account =
            load_account(&self.conn, system_id)?.ok_or_else(|| account_not_found(system_id))?;
        patch.apply_to(&mut account);
        self.conn
            .prepare_cached(
                "UPDATE accounts SET enabled = ?2, max_binds = ?3, tps = ?4, window = ?5, \
                 bind_types = ?6, allowed_ips = ?7, allowed_senders = ?8, default_sender = ?9, \
                 address_ranges = ?10, group_name = ?11, callback_url = ?12, deliver_window = ?13 \
                 WHERE system_id = ?1",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    account.system_id,
                    account.enabled,
                    account.max_binds,
                    account.tps,
                    account.window,
                    bind_types_json(&account.bind_types),
                    ips_json(&account.allowed_ips),
                    strings_json(&account.allowed_senders),
                    account.default_sender,
                    strings_json(&account.address_ranges),
                    account.group,
                    account.callback_url,
                    account.deliver_window,
                ])
            })
            .map_err(backend)?;
        Ok(account)
    }

    /// Adds `delta` unless that would take the balance below zero.
    pub(super) fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64> {
        let balance: Option<i64> = self
            .conn
            .prepare_cached(
                "UPDATE accounts SET credits = credits + ?2 \
                 WHERE system_id = ?1 AND credits + ?2 >= 0 RETURNING credits",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![system_id, delta], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)?;
        if let Some(balance) = balance {
            return Ok(balance);
        }
        match self.balance(system_id)? {
            None => Err(account_not_found(system_id)),
            Some(balance) => Err(StoreError::Backend(format!(
                "the credits of account {system_id} cannot go below zero \
                 (balance {balance}, change {delta})"
            ))),
        }
    }

    pub(super) fn balance(&self, system_id: &str) -> StoreResult<Option<i64>> {
        self.conn
            .prepare_cached("SELECT credits FROM accounts WHERE system_id = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([system_id], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)
    }

    /// See [`Store::create_api_key`].
    ///
    /// [`Store::create_api_key`]: crate::store::Store::create_api_key
    pub(super) fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        if self.balance(&key.account)?.is_none() {
            return Err(account_not_found(&key.account));
        }
        let created_at = from_millis(to_millis(SystemTime::now()));
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO api_keys (id, account, key_hash, label, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    key.id,
                    key.account,
                    key.key_hash,
                    key.label,
                    to_millis(created_at)
                ])
            })
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!("API key {}", key.id)));
        }
        Ok(ApiKey {
            id: key.id,
            account: key.account,
            label: key.label,
            created_at,
            last_used_at: None,
        })
    }

    pub(super) fn set_password_hash(&self, system_id: &str, hash: &str) -> StoreResult<()> {
        let changed = self
            .conn
            .prepare_cached("UPDATE accounts SET password_hash = ?1 WHERE system_id = ?2")
            .and_then(|mut statement| statement.execute(params![hash, system_id]))
            .map_err(backend)?;
        if changed == 0 {
            return Err(account_not_found(system_id));
        }
        Ok(())
    }

    pub(super) fn delete_account(&self, system_id: &str) -> StoreResult<()> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM accounts WHERE system_id = ?1")
            .and_then(|mut statement| statement.execute([system_id]))
            .map_err(backend)?;
        if deleted == 0 {
            return Err(account_not_found(system_id));
        }
        Ok(())
    }

    pub(super) fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "DELETE FROM api_keys WHERE id = ?1 RETURNING {API_KEY_COLUMNS}"
            ))
            .map_err(backend)?;
        let mut rows = statement.query([id]).map_err(backend)?;
        match rows.next().map_err(backend)? {
            Some(row) => api_key_from_row(row),
            None => Err(StoreError::NotFound(format!("API key {id}"))),
        }
    }

    /// Records that API key `id` was used at `now` (Unix milliseconds).
    pub(super) fn touch_api_key(&self, id: &str, now: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
            .and_then(|mut statement| statement.execute(params![id, now]))
            .map(drop)
            .map_err(backend)
    }
}

pub(super) fn list_accounts(conn: &Connection) -> StoreResult<Vec<Account>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY system_id"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([]).map_err(backend)?;
    let mut accounts = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        accounts.push(account_from_row(row)?);
    }
    Ok(accounts)
}

pub(super) fn list_api_keys(conn: &Connection, account: &str) -> StoreResult<Vec<ApiKey>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account = ?1 \
             ORDER BY created_at, id"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([account]).map_err(backend)?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        keys.push(api_key_from_row(row)?);
    }
    Ok(keys)
}

/// The API key with hash `key_hash`, if any: its id, when it was last used
/// (Unix milliseconds), and its account (if that still exists).
pub(super) fn api_key_account(
    conn: &Connection,
    key_hash: &str,
) -> StoreResult<Option<(String, Option<i64>, Account)>> {
    let key: Option<(String, String, Option<i64>)> = conn
        .prepare_cached("SELECT id, account, last_used_at FROM api_keys WHERE key_hash = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([key_hash], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()
        })
        .map_err(backend)?;
    let Some((id, account, last_used)) = key else {
        return Ok(None);
    };
    Ok(load_account(conn, &account)?.map(|account| (id, last_used, account)))
}

pub(super) fn load_account(conn: &Connection, system_id: &str) -> StoreResult<Option<Account>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE system_id = ?1"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([system_id]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => account_from_row(row).map(Some),
        None => Ok(None),
    }
}

fn account_from_row(row: &Row<'_>) -> StoreResult<Account> {
    let bind_types = json_strings(row, "bind_types")?
        .iter()
        .map(|name| BindType::parse(name).ok_or_else(|| bad_column("bind_types", name)))
        .collect::<StoreResult<Vec<_>>>()?;
    let allowed_ips = json_strings(row, "allowed_ips")?
        .iter()
        .map(|net| {
            net.parse::<IpNet>()
                .map_err(|_| bad_column("allowed_ips", net))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Account {
        system_id: column(row, "system_id")?,
        password_hash: column(row, "password_hash")?,
        enabled: column(row, "enabled")?,
        credits: column(row, "credits")?,
        max_binds: int_column(row, "max_binds")?,
        tps: column::<Option<i64>>(row, "tps")?
            .map(|tps| u32::try_from(tps).map_err(|_| bad_column("tps", tps)))
            .transpose()?,
        window: int_column(row, "window")?,
        deliver_window: int_column(row, "deliver_window")?,
        bind_types,
        allowed_ips,
        allowed_senders: json_strings(row, "allowed_senders")?,
        default_sender: column(row, "default_sender")?,
        address_ranges: json_strings(row, "address_ranges")?,
        group: column(row, "group_name")?,
        callback_url: column(row, "callback_url")?,
        created_at: from_millis(column(row, "created_at")?),
    })
}

fn api_key_from_row(row: &Row<'_>) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: column(row, "id")?,
        account: column(row, "account")?,
        label: column(row, "label")?,
        created_at: from_millis(column(row, "created_at")?),
        last_used_at: column::<Option<i64>>(row, "last_used_at")?.map(from_millis),
    })
}

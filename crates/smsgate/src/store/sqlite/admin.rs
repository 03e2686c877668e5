//! The admin API's users and tokens, the trace switches and the blocked
//! addresses: the `admin_users`, `admin_tokens`, `trace_switches` and
//! `ip_blocks` tables.

use std::net::IpAddr;
use std::time::SystemTime;

use rusqlite::{Connection, Row, params};

use crate::store::{
    AdminToken, AdminUser, IpBlock, NewAdminToken, StoreError, StoreResult, Surface, TraceKind,
    TraceSwitch,
};

use super::sql::{backend, bad_column, column, from_millis, to_millis};
use super::writer::Writer;

/// The columns of an admin user row, as [`admin_user_from_row`] reads them.
const ADMIN_USER_COLUMNS: &str = "name, password_hash, created_at";

/// The columns of an admin token row, as [`admin_token_from_row`] reads them.
const ADMIN_TOKEN_COLUMNS: &str = "id, label, created_at, last_used_at";

impl Writer {
    // Admin users and tokens

    pub(super) fn create_admin_user(
        &self,
        name: String,
        password_hash: String,
    ) -> StoreResult<AdminUser> {
        let created_at = to_millis(SystemTime::now());
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO admin_users (name, password_hash, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .and_then(|mut statement| statement.execute(params![name, password_hash, created_at]))
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!("admin user {name}")));
        }
        Ok(AdminUser {
            name,
            password_hash,
            created_at: from_millis(created_at),
        })
    }

    pub(super) fn set_admin_password_hash(&self, name: &str, hash: &str) -> StoreResult<()> {
        let changed = self
            .conn
            .prepare_cached("UPDATE admin_users SET password_hash = ?1 WHERE name = ?2")
            .and_then(|mut statement| statement.execute(params![hash, name]))
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("admin user {name}")));
        }
        Ok(())
    }

    pub(super) fn delete_admin_user(&self, name: &str) -> StoreResult<()> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM admin_users WHERE name = ?1")
            .and_then(|mut statement| statement.execute([name]))
            .map_err(backend)?;
        if deleted == 0 {
            return Err(StoreError::NotFound(format!("admin user {name}")));
        }
        Ok(())
    }

    pub(super) fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken> {
        let created_at = to_millis(SystemTime::now());
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO admin_tokens (id, token_hash, label, created_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![token.id, token.token_hash, token.label, created_at])
            })
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "admin token {}",
                token.id
            )));
        }
        Ok(AdminToken {
            id: token.id,
            label: token.label,
            created_at: from_millis(created_at),
            last_used_at: None,
        })
    }

    pub(super) fn revoke_admin_token(&self, id: &str) -> StoreResult<AdminToken> {
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "DELETE FROM admin_tokens WHERE id = ?1 RETURNING {ADMIN_TOKEN_COLUMNS}"
            ))
            .map_err(backend)?;
        let mut rows = statement.query([id]).map_err(backend)?;
        match rows.next().map_err(backend)? {
            Some(row) => admin_token_from_row(row),
            None => Err(StoreError::NotFound(format!("admin token {id}"))),
        }
    }

    /// Records that admin token `id` was used at `now` (Unix milliseconds).
    pub(super) fn touch_admin_token(&self, id: &str, now: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("UPDATE admin_tokens SET last_used_at = ?2 WHERE id = ?1")
            .and_then(|mut statement| statement.execute(params![id, now]))
            .map(drop)
            .map_err(backend)
    }

    // Trace switches

    pub(super) fn set_trace_switch(
        &self,
        kind: TraceKind,
        name: String,
        until: SystemTime,
    ) -> StoreResult<TraceSwitch> {
        self.conn
            .prepare_cached(
                "INSERT INTO trace_switches (kind, name, until) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (kind, name) DO UPDATE SET until = excluded.until",
            )
            .and_then(|mut statement| {
                statement.execute(params![kind.as_str(), &name, to_millis(until)])
            })
            .map_err(backend)?;
        Ok(TraceSwitch {
            kind,
            name,
            until: from_millis(to_millis(until)),
        })
    }

    // Blocked addresses

    pub(super) fn put_ip_blocks(&self, blocks: &[IpBlock], now: SystemTime) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM ip_blocks WHERE until <= ?1")
            .and_then(|mut statement| statement.execute([to_millis(now)]))
            .map_err(backend)?;
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT INTO ip_blocks (surface, address, until, node) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (surface, address) DO UPDATE SET until = excluded.until, \
                 node = excluded.node",
            )
            .map_err(backend)?;
        for block in blocks {
            statement
                .execute(params![
                    block.surface.as_str(),
                    block.address.to_string(),
                    to_millis(block.until),
                    block.node
                ])
                .map_err(backend)?;
        }
        Ok(())
    }

    pub(super) fn delete_ip_blocks(
        &self,
        address: IpAddr,
        surface: Option<Surface>,
    ) -> StoreResult<u64> {
        self.conn
            .prepare_cached(
                "DELETE FROM ip_blocks WHERE address = ?1 AND (?2 IS NULL OR surface = ?2)",
            )
            .and_then(|mut statement| {
                statement.execute(params![address.to_string(), surface.map(Surface::as_str)])
            })
            .map(|deleted| deleted as u64)
            .map_err(backend)
    }

    pub(super) fn clear_trace_switch(&self, kind: TraceKind, name: &str) -> StoreResult<bool> {
        self.conn
            .prepare_cached("DELETE FROM trace_switches WHERE kind = ?1 AND name = ?2")
            .and_then(|mut statement| statement.execute(params![kind.as_str(), name]))
            .map(|deleted| deleted > 0)
            .map_err(backend)
    }
}

pub(super) fn load_admin_user(conn: &Connection, name: &str) -> StoreResult<Option<AdminUser>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_USER_COLUMNS} FROM admin_users WHERE name = ?1"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([name]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => admin_user_from_row(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn list_admin_users(conn: &Connection) -> StoreResult<Vec<AdminUser>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_USER_COLUMNS} FROM admin_users ORDER BY name"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([]).map_err(backend)?;
    let mut users = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        users.push(admin_user_from_row(row)?);
    }
    Ok(users)
}

pub(super) fn list_admin_tokens(conn: &Connection) -> StoreResult<Vec<AdminToken>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, id"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([]).map_err(backend)?;
    let mut tokens = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        tokens.push(admin_token_from_row(row)?);
    }
    Ok(tokens)
}

pub(super) fn admin_token_for_hash(
    conn: &Connection,
    token_hash: &str,
) -> StoreResult<Option<AdminToken>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = ?1"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([token_hash]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => admin_token_from_row(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn list_trace_switches(
    conn: &Connection,
    now: SystemTime,
) -> StoreResult<Vec<TraceSwitch>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT kind, name, until FROM trace_switches WHERE until > ?1 \
             ORDER BY kind, name",
        )
        .map_err(backend)?;
    let mut rows = statement.query([to_millis(now)]).map_err(backend)?;
    let mut switches = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let kind: String = column(row, "kind")?;
        switches.push(TraceSwitch {
            kind: TraceKind::parse(&kind).ok_or_else(|| bad_column("kind", &kind))?,
            name: column(row, "name")?,
            until: from_millis(column(row, "until")?),
        });
    }
    Ok(switches)
}

pub(super) fn list_ip_blocks(conn: &Connection, now: SystemTime) -> StoreResult<Vec<IpBlock>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT surface, address, until, node FROM ip_blocks WHERE until > ?1 \
             ORDER BY surface, address",
        )
        .map_err(backend)?;
    let mut rows = statement.query([to_millis(now)]).map_err(backend)?;
    let mut blocks = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let surface: String = column(row, "surface")?;
        let address: String = column(row, "address")?;
        blocks.push(IpBlock {
            surface: Surface::parse(&surface).ok_or_else(|| bad_column("surface", &surface))?,
            address: address
                .parse()
                .map_err(|_| bad_column("address", &address))?,
            until: from_millis(column(row, "until")?),
            node: column(row, "node")?,
        });
    }
    Ok(blocks)
}

fn admin_user_from_row(row: &Row<'_>) -> StoreResult<AdminUser> {
    Ok(AdminUser {
        name: column(row, "name")?,
        password_hash: column(row, "password_hash")?,
        created_at: from_millis(column(row, "created_at")?),
    })
}

fn admin_token_from_row(row: &Row<'_>) -> StoreResult<AdminToken> {
    Ok(AdminToken {
        id: column(row, "id")?,
        label: column(row, "label")?,
        created_at: from_millis(column(row, "created_at")?),
        last_used_at: column::<Option<i64>>(row, "last_used_at")?.map(from_millis),
    })
}

//! `/admin/api/security/blocks`: the addresses blocked after too many
//! failed logins, per surface (SMPP binds, the customer API, the console),
//! and lifting a block. The blocks are also in the store, so `smsgate
//! security unblock` and the other nodes see them; lifting one here also
//! lifts it on this node at once.

use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::AdminState;
use super::auth::Operator;
use super::body::{invalid, store_problem};
use crate::accounts::ip_guard::{parse_block_address, shown, whole_seconds};
use crate::ingress::http_api::problem::Problem;
use crate::store::Surface;

/// One blocked address.
#[derive(Debug, Serialize)]
pub(super) struct BlockView {
    surface: Surface,
    /// The IPv4 address, or the IPv6 /64 (`2001:db8:1:2::/64`).
    address: String,
    /// When it ends.
    #[serde(with = "crate::timefmt::rfc3339")]
    until: SystemTime,
    /// Seconds left.
    remaining_seconds: u64,
}

/// `GET /admin/api/security/blocks`: every block in force on this node,
/// by surface and address.
pub(super) async fn list(State(admin): State<AdminState>) -> Json<Vec<BlockView>> {
    let now = SystemTime::now();
    let guards = &admin.ctx.guards;
    let views = Surface::ALL
        .into_iter()
        .flat_map(|surface| {
            guards.of(surface).blocks().into_iter().map(move |block| {
                let remaining = whole_seconds(block.remaining);
                BlockView {
                    surface,
                    address: shown(block.address),
                    until: now + remaining,
                    remaining_seconds: remaining.as_secs(),
                }
            })
        })
        .collect();
    Json(views)
}

/// `?surface=` of `DELETE /admin/api/security/blocks/{address}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Only {
    surface: Option<String>,
}

/// `DELETE /admin/api/security/blocks/{address}`: lifts the block of the
/// address (an IPv6 address lifts its /64) on every surface, or on
/// `?surface=smpp|api|console` only. 204, or 404 when it was not blocked.
pub(super) async fn unblock(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(address): Path<String>,
    Query(Only { surface }): Query<Only>,
) -> Result<StatusCode, Problem> {
    let ip = parse_block_address(&address).map_err(invalid)?;
    let surface = match surface.as_deref() {
        None => None,
        Some(name) => Some(Surface::parse(name).ok_or_else(|| {
            invalid(format!("surface {name:?} is not one of smpp, api, console"))
        })?),
    };
    let key = ip;
    let stored = admin
        .ctx
        .store
        .delete_ip_blocks(key, surface)
        .await
        .map_err(store_problem)?;
    let mut lifted = false;
    for each in Surface::ALL {
        if surface.is_none_or(|only| only == each) {
            lifted |= admin.ctx.guards.of(each).unblock(ip);
        }
    }
    if !lifted && stored == 0 {
        return Err(Problem::not_found(format!("{} is not blocked", shown(key))));
    }
    info!(address = %shown(key), surface = surface.map_or("all", Surface::as_str), by = %operator.user, "admin api: block lifted");
    Ok(StatusCode::NO_CONTENT)
}

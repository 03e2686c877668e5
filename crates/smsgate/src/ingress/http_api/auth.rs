//! Who is calling: a layer in front of every API route that authenticates
//! the request and hands the handlers a [`Caller`].
//!
//! Two ways in, both giving the account's own limits (rate and credits
//! shared with its SMPP sessions):
//! - `Authorization: Bearer sgk_…`, an API key (`smsgate account api-key
//!   create`), found by its SHA-256 — the cheap, recommended way (a key
//!   found is remembered for 2 s with its account, [`super::KeyCache`], so
//!   a revoked key or a disabled account takes effect within 2 s);
//! - `Authorization: Basic …` with the account's SMPP system_id and
//!   password, checked as a bind checks them: the same verifier (argon2id
//!   off the async workers, recent successes remembered so a client sending
//!   every second does not pay 30 ms each time), the same IP guard (failed
//!   passwords count towards blocking the address, for SMPP binds too), and
//!   legacy hashes upgraded on success.
//!
//! Then, as for a bind: a disabled account is refused, and so is an
//! address outside the account's allowlist. Bad or missing credentials are
//! one answer, 401, whichever part was wrong.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tracing::info;

use super::ApiContext;
use super::problem::Problem;
use crate::accounts::verifier::Check;
use crate::accounts::verifier::upgrade_password_hash;
use crate::accounts::{api_key, canonical_ip};
use crate::store::{Account, Origin};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its account, as read for this request.
    pub account: Arc<Account>,
    /// Where the request came from.
    pub remote: Option<SocketAddr>,
}

impl Caller {
    /// Where its messages come from, for their trace.
    pub fn origin(&self) -> Origin {
        Origin {
            protocol: "http".into(),
            remote_addr: self.remote,
            tls: false,
            session_id: None,
        }
    }
}

/// The layer: authenticates, then runs the route with a [`Caller`] in the
/// request's extensions, or answers the problem.
pub async fn authenticate(
    State(ctx): State<Arc<ApiContext>>,
    mut request: Request,
    next: Next,
) -> Response {
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let ip = remote.map(|addr| canonical_ip(addr.ip()));
    match account_for(&ctx, request.headers(), ip).await {
        Ok(account) => {
            request.extensions_mut().insert(Caller {
                account: Arc::new(account),
                remote,
            });
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

async fn account_for(
    ctx: &ApiContext,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Account, Problem> {
    let (scheme, credentials) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .ok_or_else(Problem::unauthorized)?;
    let credentials = credentials.trim();
    let account = if scheme.eq_ignore_ascii_case("bearer") {
        by_key(ctx, credentials).await?
    } else if scheme.eq_ignore_ascii_case("basic") {
        by_password(ctx, credentials, ip).await?
    } else {
        return Err(Problem::unauthorized());
    };
    admit(account, ip)
}

async fn by_key(ctx: &ApiContext, key: &str) -> Result<Account, Problem> {
    if !key.starts_with(api_key::PREFIX) {
        return Err(Problem::unauthorized());
    }
    let hash = api_key::hash(key);
    if let Some(account) = ctx.keys.get(&hash, Instant::now()) {
        return Ok(account);
    }
    let generation = ctx.keys.generation();
    let account = ctx
        .store
        .account_for_api_key(&hash, SystemTime::now())
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .ok_or_else(|| Problem::login_failed("unknown or revoked API key"))?;
    ctx.keys.insert(&hash, &account, Instant::now(), generation);
    Ok(account)
}

async fn by_password(
    ctx: &ApiContext,
    credentials: &str,
    ip: Option<IpAddr>,
) -> Result<Account, Problem> {
    if let Some(remaining) = ip.and_then(|ip| ctx.guard.blocked_for(ip)) {
        return Err(Problem::address_blocked(remaining));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()
        .and_then(|octets| String::from_utf8(octets).ok());
    let Some((system_id, password)) = decoded.as_deref().and_then(|text| text.split_once(':'))
    else {
        return Err(Problem::unauthorized());
    };
    let account = ctx
        .store
        .account(system_id)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?;
    let check = ctx
        .verifier
        .check(
            &ctx.guard,
            ip,
            system_id,
            account.as_ref().map(|a| a.password_hash.as_str()),
            password,
        )
        .await;
    match (account, check) {
        (Some(account), Check::Valid { needs_upgrade }) => {
            if needs_upgrade {
                upgrade_password_hash(
                    ctx.store.clone(),
                    ctx.verifier.clone(),
                    account.system_id.clone(),
                    password.to_string(),
                );
            }
            Ok(account)
        }
        (_, Check::Blocked) => Err(Problem::blocked_by(&ctx.guard, ip)),
        (_, check) => {
            if check == (Check::Invalid { blocked_now: true }) {
                ctx.guard.log_block_start(ip);
            }
            info!(?ip, %system_id, "http api: invalid credentials");
            Err(Problem::login_failed("wrong system_id or password"))
        }
    }
}

/// What a bind checks after the credentials: enabled, and from an allowed address.
fn admit(account: Account, ip: Option<IpAddr>) -> Result<Account, Problem> {
    if !account.enabled {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            format!("account {} is disabled", account.system_id),
        ));
    }
    let allowed = account.allowed_ips.is_empty()
        || ip.is_some_and(|ip| account.allowed_ips.iter().any(|net| net.contains(&ip)));
    if !allowed {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "address_not_allowed",
            format!(
                "account {} may not be used from this address",
                account.system_id
            ),
        ));
    }
    Ok(account)
}

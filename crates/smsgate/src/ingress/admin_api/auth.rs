//! Who is calling the admin API: a layer in front of every route but login
//! that authenticates the request and hands the handlers an [`Operator`].
//!
//! Three ways in:
//! - a console session: `POST /admin/api/login` checks an admin user's
//!   password and sets the `smsgate_admin` cookie (HttpOnly, so scripts in
//!   the page cannot read it; SameSite=Strict, so other sites cannot make
//!   the browser send it). A request that changes anything must also carry
//!   the session's CSRF token in `X-Smsgate-Csrf`: a cookie alone proves
//!   only that the browser sent the request, not that the console did;
//! - `Authorization: Bearer sga_…`, an admin token, found by its SHA-256
//!   (as the customer API finds its keys); no CSRF token, as no browser
//!   sends it on its own;
//! - `Authorization: Basic` with an admin user's name and password, checked
//!   by the shared verifier (argon2id off the async workers, recent
//!   successes remembered, so a script polling every second does not cost
//!   30 ms a request).
//!
//! Failed passwords count in the shared [`IpGuard`](crate::accounts::ip_guard::IpGuard),
//! with failed SMPP binds and customer API logins. Customer API keys
//! (`sgk_…`) and account passwords are never looked up here.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Extension, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::info;

use super::body::json;
use super::{Admin, AdminState};
use crate::accounts::verifier::Check;
use crate::accounts::{admin_token, canonical_ip};
use crate::ingress::http_api::problem::Problem;
use crate::store::AdminUser;

/// The console session's cookie.
const COOKIE: &str = "smsgate_admin";

/// The header carrying a console session's CSRF token.
const CSRF_HEADER: &str = "x-smsgate-csrf";

/// A console session ends this long after its last request.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);

/// Console sessions kept at most; past it, expired ones are dropped, then
/// the least recently used.
const MAX_SESSIONS: usize = 10_000;

/// Who is calling.
#[derive(Debug, Clone)]
pub(super) struct Operator {
    /// The admin user's name, or `token:ID` for an admin token.
    pub user: String,
    /// The CSRF token of a console session; `None` for a token or Basic.
    pub csrf: Option<String>,
    /// The console session's cookie value, to end it at logout.
    session: Option<String>,
}

/// The console's login sessions.
///
/// Kept in memory, per node: a restart logs everybody out, and behind a
/// load balancer a console must stick to one node (tokens and Basic work
/// on any). Sessions are few (one per operator's browser), and keeping them
/// out of the store keeps every console request free of a write.
pub(super) struct LoginSessions {
    /// By the SHA-256 of the cookie value, so the map holds nothing a
    /// memory dump could replay.
    sessions: Mutex<HashMap<String, LoginSession>>,
}

struct LoginSession {
    user: String,
    csrf: String,
    last_seen: Instant,
}

impl LoginSessions {
    pub(super) fn new() -> LoginSessions {
        LoginSessions {
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `user`: returns the cookie value and the CSRF token.
    fn start(&self, user: &str) -> (String, String) {
        let cookie = random_token();
        let csrf = random_token();
        let now = Instant::now();
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| now.duration_since(session.last_seen) < SESSION_IDLE);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, session)| session.last_seen)
                .map(|(key, _)| key.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            session_key(&cookie),
            LoginSession {
                user: user.to_string(),
                csrf: csrf.clone(),
                last_seen: now,
            },
        );
        (cookie, csrf)
    }

    /// The user and CSRF token of a live session, which is kept alive by
    /// this request; `None` for an unknown or expired one.
    fn touch(&self, cookie: &str) -> Option<(String, String)> {
        let key = session_key(cookie);
        let now = Instant::now();
        let mut sessions = self.lock();
        let session = sessions.get_mut(&key)?;
        if now.duration_since(session.last_seen) >= SESSION_IDLE {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some((session.user.clone(), session.csrf.clone()))
    }

    /// Ends a session.
    fn end(&self, cookie: &str) {
        self.lock().remove(&session_key(cookie));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LoginSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The layer: authenticates, then runs the route with an [`Operator`] in
/// the request's extensions, or answers the problem.
pub(super) async fn authenticate(
    State(admin): State<AdminState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(request.extensions().get::<ConnectInfo<SocketAddr>>());
    match operator_for(&admin, request.method(), request.headers(), ip).await {
        Ok(operator) => {
            request.extensions_mut().insert(operator);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

async fn operator_for(
    admin: &Admin,
    method: &Method,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Operator, Problem> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (scheme, credentials) = value
            .to_str()
            .ok()
            .and_then(|value| value.trim().split_once(' '))
            .ok_or_else(unauthorized)?;
        let credentials = credentials.trim();
        return if scheme.eq_ignore_ascii_case("bearer") {
            by_token(admin, credentials).await
        } else if scheme.eq_ignore_ascii_case("basic") {
            by_basic(admin, credentials, ip).await
        } else {
            Err(unauthorized())
        };
    }
    let cookie = session_cookie(headers).ok_or_else(unauthorized)?;
    let (user, csrf) = admin.logins.touch(cookie).ok_or_else(unauthorized)?;
    // A user removed (`smsgate admin user remove`) loses its sessions at
    // their next request.
    let exists = admin
        .ctx
        .store
        .admin_user(&user)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .is_some();
    if !exists {
        admin.logins.end(cookie);
        return Err(unauthorized());
    }
    if !is_safe(method) {
        let sent = headers
            .get(CSRF_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(sent.ct_eq(csrf.as_bytes())) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a console session must send its CSRF token (from login or /admin/api/me) \
                 in the X-Smsgate-Csrf header with any request that changes something",
            ));
        }
    }
    Ok(Operator {
        user,
        csrf: Some(csrf),
        session: Some(cookie.to_string()),
    })
}

async fn by_token(admin: &Admin, token: &str) -> Result<Operator, Problem> {
    if !token.starts_with(admin_token::PREFIX) {
        return Err(unauthorized());
    }
    let found = admin
        .ctx
        .store
        .admin_token_for_hash(&admin_token::hash(token), SystemTime::now())
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .ok_or_else(unauthorized)?;
    Ok(Operator {
        user: format!("token:{}", found.id),
        csrf: None,
        session: None,
    })
}

async fn by_basic(
    admin: &Admin,
    credentials: &str,
    ip: Option<IpAddr>,
) -> Result<Operator, Problem> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()
        .and_then(|octets| String::from_utf8(octets).ok());
    let Some((name, password)) = decoded.as_deref().and_then(|text| text.split_once(':')) else {
        return Err(unauthorized());
    };
    let user = check_password(admin, name, password, ip).await?;
    Ok(Operator {
        user: user.name,
        csrf: None,
        session: None,
    })
}

/// Checks an admin user's password as a bind checks an account's: refused
/// at once from a blocked address, a failure counted against the address.
/// Unknown users and wrong passwords get the same answer in the same time.
async fn check_password(
    admin: &Admin,
    name: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<AdminUser, Problem> {
    let ctx = &admin.ctx;
    let guard = &ctx.guards.console;
    if let Some(remaining) = ip.and_then(|ip| guard.blocked_for(ip)) {
        return Err(Problem::address_blocked(remaining));
    }
    let user = ctx
        .store
        .admin_user(name)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?;
    // Admin hashes are only ever made here (argon2id, never imported), so
    // unlike accounts' there is no legacy hash to upgrade on success.
    let check = ctx
        .verifier
        .check(
            guard,
            ip,
            &verifier_key(name),
            user.as_ref().map(|user| user.password_hash.as_str()),
            password,
        )
        .await;
    match (user, check) {
        (Some(user), Check::Valid { .. }) => Ok(user),
        (_, Check::Blocked) => Err(Problem::blocked_by(guard, ip)),
        (_, check) => {
            if check == (Check::Invalid { blocked_now: true }) {
                guard.log_block_start(ip);
            }
            info!(?ip, user = %name, "admin api: invalid credentials");
            Err(Problem::login_failed("wrong user name or password"))
        }
    }
}

/// The body of `POST /admin/api/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    username: String,
    password: String,
}

/// The answer to login and `me`.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    user: String,
    csrf: Option<String>,
}

/// `POST /admin/api/login`: starts a console session.
pub(super) async fn login(
    State(admin): State<AdminState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let request = json(body)?;
    let ip = client_ip(connect.as_ref().map(|Extension(info)| info));
    let user = check_password(&admin, &request.username, &request.password, ip).await?;
    let (cookie, csrf) = admin.logins.start(&user.name);
    info!(?ip, user = %user.name, "admin api: logged in");
    let mut response = Json(SessionView {
        user: user.name,
        csrf: Some(csrf),
    })
    .into_response();
    set_cookie(
        &mut response,
        &format!(
            "{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/{}",
            secure(&admin)
        ),
    );
    Ok(response)
}

/// `POST /admin/api/logout`: ends the console session (204). With a token
/// or Basic there is no session: nothing to end.
pub(super) async fn logout(
    State(admin): State<AdminState>,
    Extension(operator): Extension<Operator>,
) -> Response {
    if let Some(cookie) = &operator.session {
        admin.logins.end(cookie);
        info!(user = %operator.user, "admin api: logged out");
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        &mut response,
        &format!(
            "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
            secure(&admin)
        ),
    );
    response
}

/// `GET /admin/api/me`: who is logged in, and the session's CSRF token
/// (`null` with a token or Basic).
pub(super) async fn me(Extension(operator): Extension<Operator>) -> Json<SessionView> {
    Json(SessionView {
        user: operator.user,
        csrf: operator.csrf,
    })
}

/// 401, saying every way in and nothing about which part was wrong.
fn unauthorized() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "log in (POST /admin/api/login), or give an admin token (Authorization: Bearer sga_…) \
         or an admin user's name and password (HTTP Basic)",
    )
}

/// The cookie's `Secure` attribute when `[admin] secure_cookie` asks for it.
fn secure(admin: &Admin) -> &'static str {
    if admin.ctx.config.secure_cookie {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(response: &mut Response, cookie: &str) {
    // Made of fixed text and hex digits: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

/// GET, HEAD and OPTIONS change nothing and need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The console session cookie's value, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

fn client_ip(connect: Option<&ConnectInfo<SocketAddr>>) -> Option<IpAddr> {
    connect.map(|ConnectInfo(addr)| canonical_ip(addr.ip()))
}

/// The verifier remembers successes by name: admin users get their own
/// names there, apart from accounts' system_ids.
fn verifier_key(name: &str) -> String {
    format!("admin user {name}")
}

/// 32 random octets in hex: a cookie value or a CSRF token.
fn random_token() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|octet| format!("{octet:02x}"))
        .collect()
}

fn session_key(cookie: &str) -> String {
    Sha256::digest(cookie.as_bytes())
        .iter()
        .map(|octet| format!("{octet:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; smsgate_admin=abc123; other=1"),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("smsgate_admin="));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn a_session_lives_until_it_ends() {
        let logins = LoginSessions::new();
        let (cookie, csrf) = logins.start("admin");
        assert_eq!(logins.touch(&cookie), Some(("admin".to_string(), csrf)));
        assert_eq!(logins.touch("not-a-session"), None);
        logins.end(&cookie);
        assert_eq!(logins.touch(&cookie), None);
    }
}

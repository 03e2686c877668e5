//! Webhooks providers call: MO messages and delivery receipts arriving as
//! HTTP requests, handed to tracking as the same [`InboundEvent`]s an SMPP
//! connector hands it (rule 6 of DESIGN.md: one path per job).
//!
//! Each connector with webhooks gets its own [`router`], with one path for
//! MO and one for receipts; the node merges them into the gateway's one
//! HTTP listener, which must be served with
//! `into_make_service_with_connect_info::<SocketAddr>()`: the caller's
//! address decides who may call.
//!
//! No router is built for a webhook open to anyone (neither `auth` nor
//! `permit_addr`) unless its configuration says `insecure = true`: anyone
//! who reaches an open webhook can forge receipts and MO.
//!
//! A request goes through these steps, each answering with its own status
//! and a plain-text reason the provider's logs will show. Refusals are
//! logged, at most 20 a minute per connector (`refusal_log.rs`),
//! so a flood of forged requests cannot fill the log:
//!
//! 1. Who is calling (`client_addr.rs`): the TCP peer, or, behind a
//!    trusted reverse proxy (`proxy_addr`), the client it names in
//!    `proxy_header` (400 if what it names there is not an address); the
//!    header of any other peer is never read. Not in `permit_addr`: 403,
//!    logged with the address.
//! 2. A URL check (`key_echo` in the query string, on a GET or a POST) is
//!    answered with the parameter's value and goes no further. Any other
//!    GET: 405, messages are POSTed.
//! 3. A body over `max_body_size`: 413.
//! 4. Authentication (`auth.rs`): 401 for missing or wrong credentials; for
//!    an HMAC also for a timestamp outside `max_age` or a signature already
//!    taken (`replay.rs`), and 503 when too many signatures are remembered
//!    to tell a replay.
//! 5. The fields, from a form or JSON body: 415 for another Content-Type,
//!    400 for a missing field or an address that cannot be one.
//! 6. The event goes into the channel to tracking, waiting at most
//!    `event_handoff_timeout` for room: 503 if there is none, or tracking has
//!    stopped, so the provider retries later.
//! 7. The request waits until tracking has stored the event (its batch
//!    committed): 200 with `report_success` only then, so a provider's
//!    acknowledged receipt or MO survives a crash. A store that failed
//!    answers 503, and the provider sends it again later. Every 503 after
//!    step 4 forgets the request's signature, so that retry is taken.
//!
//! This module reads requests and hands over events; it must not touch the
//! store, accounts or message state, which are tracking's.

mod auth;
mod client_addr;
mod config;
mod fields;
mod mo;
mod receipt;
mod refusal_log;
mod replay;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;
use tracing::{debug, error, info, warn};

use crate::connectors::{Inbound, InboundEvent};
use crate::settings::InvalidSetting;
use auth::TakenSignature;
pub use config::{
    AddressRange, HmacAlgorithm, ProviderWebhookConfig, Secret, SignatureEncoding, StatusWord,
    WebhookAuth, WebhookPaths,
};
use fields::Fields;
use receipt::StatusWords;
use refusal_log::RefusalLog;
use replay::SeenSignatures;

/// The router for one connector's webhooks: `POST` (and, for URL checks,
/// `GET`) on its MO and receipt paths ([`ProviderWebhookConfig::paths`]).
/// Every event goes into `events`, for tracking.
///
/// Serve it (or the router it is merged into) with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without the
/// peer's address every request is answered 500 and an error is logged.
/// Fails if the configuration is invalid ([`ProviderWebhookConfig::validate`]),
/// which it is for a webhook open to anyone without `insecure = true`.
pub fn router(
    connector: &str,
    config: &ProviderWebhookConfig,
    events: mpsc::Sender<Inbound>,
) -> Result<Router, InvalidSetting> {
    config.validate(connector)?;
    let proxy_header = HeaderName::from_str(&config.proxy_header).map_err(|_| {
        InvalidSetting(format!(
            "connector {connector:?} webhooks: proxy_header {:?} is not a valid HTTP header name",
            config.proxy_header
        ))
    })?;
    let paths = config.paths(connector);
    if config.insecure {
        warn!(
            connector,
            mo = paths.mo,
            receipt = paths.receipt,
            "webhooks accept requests from anyone (insecure = true): \
             anyone who reaches them can forge receipts and MO"
        );
    }
    let seen = match &config.auth {
        WebhookAuth::Hmac {
            max_seen_signatures,
            ..
        } => *max_seen_signatures,
        WebhookAuth::None | WebhookAuth::Basic { .. } => 0,
    };
    let hook = Arc::new(Webhook {
        connector: connector.to_string(),
        proxy_header,
        words: StatusWords::new(config),
        success_type: success_type(&config.report_success),
        success_body: Bytes::from(config.report_success.clone()),
        config: config.clone(),
        paths: paths.clone(),
        seen: SeenSignatures::new(seen),
        refusals: RefusalLog::new(Instant::now()),
        events,
    });
    Ok(Router::new()
        .route(&paths.mo, get(check_url).post(on_mo))
        .route(&paths.receipt, get(check_url).post(on_receipt))
        .route_layer(DefaultBodyLimit::max(config.max_body_size))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&hook), admit))
        .with_state(hook))
}

/// What one connector's handlers share.
struct Webhook {
    connector: String,
    config: ProviderWebhookConfig,
    proxy_header: HeaderName,
    words: StatusWords,
    success_type: HeaderValue,
    success_body: Bytes,
    paths: WebhookPaths,
    /// The HMAC signatures taken within their window (empty without HMAC).
    seen: SeenSignatures,
    refusals: RefusalLog,
    events: mpsc::Sender<Inbound>,
}

/// The caller, as [`admit`] found it.
#[derive(Debug, Clone, Copy)]
struct Client {
    /// Who is calling: the TCP peer, or the client a trusted proxy names.
    addr: IpAddr,
    /// The TCP peer.
    peer: IpAddr,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Mo,
    Receipt,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mo => "mo",
            Kind::Receipt => "receipt",
        }
    }
}

/// Step 1: finds the client and lets in only permitted ones.
async fn admit(State(hook): State<Arc<Webhook>>, mut request: Request, next: Next) -> Response {
    let connector = hook.connector.as_str();
    let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    else {
        error!(
            connector,
            "webhook router served without the peer's address; \
             serve it with into_make_service_with_connect_info::<SocketAddr>()"
        );
        return Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the gateway is misconfigured",
        )
        .into_response();
    };
    let peer = peer.ip().to_canonical();
    let kind = hook.kind_of(request.uri().path());
    let forwarded = request.headers().get_all(&hook.proxy_header);
    let addr = match client_addr::client_address(peer, forwarded.iter(), &hook.config.proxy_addr) {
        Ok(addr) => addr,
        Err(e) => {
            let refusal = Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("{}: {e}", hook.proxy_header),
            );
            hook.log_refusal(Client { addr: peer, peer }, kind, &refusal);
            return refusal.into_response();
        }
    };
    let client = Client { addr, peer };
    let permit = &hook.config.permit_addr;
    if !permit.is_empty() && !permit.iter().any(|range| range.contains(addr)) {
        let refusal = Refusal::new(
            StatusCode::FORBIDDEN,
            format!("{addr} may not call this webhook (not in permit_addr)"),
        );
        hook.log_refusal(client, kind, &refusal);
        return refusal.into_response();
    }
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// A GET: only a URL check.
async fn check_url(
    State(hook): State<Arc<Webhook>>,
    Extension(client): Extension<Client>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(echo) = hook.echo(query.as_deref(), client) {
        return echo;
    }
    let mut response = Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "messages and receipts are POSTed",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

async fn on_mo(
    State(hook): State<Arc<Webhook>>,
    Extension(client): Extension<Client>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hook.take(Kind::Mo, client, query, &headers, &body).await
}

async fn on_receipt(
    State(hook): State<Arc<Webhook>>,
    Extension(client): Extension<Client>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hook.take(Kind::Receipt, client, query, &headers, &body)
        .await
}

impl Webhook {
    /// Steps 2 and 4 to 7 for a POST.
    async fn take(
        &self,
        kind: Kind,
        client: Client,
        query: Option<String>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        if let Some(echo) = self.echo(query.as_deref(), client) {
            return echo;
        }
        let connector = self.connector.as_str();
        let kind_name = kind.name();
        let (event, signature) = match self.read(kind, headers, body) {
            Ok(read) => read,
            Err(refusal) => {
                self.log_refusal(client, Some(kind), &refusal);
                return refusal.into_response();
            }
        };
        let addr = client.addr;
        let timeout = self.config.event_handoff_timeout;
        let (inbound, stored) = Inbound::new(event);
        let reason = match self.events.send_timeout(inbound, timeout).await {
            Ok(()) => match stored.await {
                Ok(Ok(())) => {
                    debug!(connector, client = %addr, kind = kind_name, "webhook event stored");
                    return self.success();
                }
                Ok(Err(why)) => {
                    warn!(connector, client = %addr, kind = kind_name, %why, "webhook event not stored; answered 503");
                    self.forget(signature);
                    return Refusal::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "not stored; try again later",
                    )
                    .into_response();
                }
                Err(_) => "shutting down; try again later",
            },
            Err(SendTimeoutError::Timeout(_)) => "busy; try again later",
            Err(SendTimeoutError::Closed(_)) => "shutting down; try again later",
        };
        warn!(
            connector, client = %addr, kind = kind_name,
            "webhook event not taken by tracking within {timeout:?} ({reason}); answered 503"
        );
        self.forget(signature);
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, reason).into_response()
    }

    /// Steps 4 and 5: the event, and the signature it was taken with.
    fn read(
        &self,
        kind: Kind,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(InboundEvent, Option<TakenSignature>), Refusal> {
        let signature = auth::authenticate(
            &self.config.auth,
            &self.seen,
            headers,
            body,
            SystemTime::now(),
        )?;
        // A signed request whose fields are wrong keeps its signature taken:
        // sent again, it would be just as wrong.
        let fields = Fields::from_body(headers.get(header::CONTENT_TYPE), body)?;
        let event = match kind {
            Kind::Mo => mo::read(&self.connector, &self.config, &fields),
            Kind::Receipt => receipt::read(&self.connector, &self.config, &self.words, &fields),
        }?;
        Ok((event, signature))
    }

    /// The request was answered "try again": its signature must not make
    /// the retry a replay.
    fn forget(&self, signature: Option<TakenSignature>) {
        if let Some(signature) = signature {
            self.seen.forget(&signature);
        }
    }

    /// Which of the two paths `path` is, if either.
    fn kind_of(&self, path: &str) -> Option<Kind> {
        if path == self.paths.mo {
            Some(Kind::Mo)
        } else if path == self.paths.receipt {
            Some(Kind::Receipt)
        } else {
            None
        }
    }

    /// Logs a refused request, unless this connector has logged too many
    /// lately ([`RefusalLog`]).
    fn log_refusal(&self, client: Client, kind: Option<Kind>, refusal: &Refusal) {
        let Some(not_logged) = self.refusals.admit(Instant::now()) else {
            return;
        };
        warn!(
            connector = self.connector,
            client = %client.addr,
            peer = %client.peer,
            kind = kind.map_or("", Kind::name),
            status = refusal.status.as_u16(),
            not_logged,
            "webhook request refused: {}{}",
            refusal.reason,
            if not_logged > 0 {
                format!(
                    " ({not_logged} refusals before this one were not logged, past {} a {})",
                    refusal_log::LINES_PER_WINDOW,
                    humantime::format_duration(refusal_log::WINDOW)
                )
            } else {
                String::new()
            }
        );
    }

    /// Step 2: the answer to a URL check, if this is one.
    fn echo(&self, query: Option<&str>, client: Client) -> Option<Response> {
        let key = self.config.key_echo.as_deref()?;
        let value = Fields::from_urlencoded(query?.as_bytes()).ok()?.get(key)?;
        info!(connector = self.connector, client = %client.addr, "webhook URL check answered");
        Some(
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                value,
            )
                .into_response(),
        )
    }

    fn success(&self) -> Response {
        (
            [(header::CONTENT_TYPE, self.success_type.clone())],
            self.success_body.clone(),
        )
            .into_response()
    }
}

/// The Content-Type `report_success` is sent with, from its first
/// character: providers that expect XML (TwiML's `<Response/>`) or JSON
/// check it.
fn success_type(body: &str) -> HeaderValue {
    match body.trim_start().chars().next() {
        Some('<') => HeaderValue::from_static("text/xml; charset=utf-8"),
        Some('{' | '[') => HeaderValue::from_static("application/json"),
        _ => HeaderValue::from_static("text/plain; charset=utf-8"),
    }
}

/// A request we do not take, and why, answered as plain text.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: String,
    /// Whether to ask for basic credentials (`WWW-Authenticate`).
    challenge: bool,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            challenge: false,
        }
    }

    fn unauthorized(reason: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, reason)
    }

    fn unauthorized_basic(reason: impl Into<String>) -> Refusal {
        Refusal {
            challenge: true,
            ..Refusal::unauthorized(reason)
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            format!("{}\n", self.reason),
        )
            .into_response();
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"smsgate\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_content_type_follows_the_first_character() {
        assert_eq!(
            success_type("<Response></Response>"),
            "text/xml; charset=utf-8"
        );
        assert_eq!(success_type(" {\"ok\":true}"), "application/json");
        assert_eq!(success_type("OK"), "text/plain; charset=utf-8");
        assert_eq!(success_type(""), "text/plain; charset=utf-8");
    }

    #[test]
    fn an_invalid_config_gives_no_router() {
        let config = ProviderWebhookConfig {
            mo_path: Some("no-slash".into()),
            insecure: true,
            ..ProviderWebhookConfig::default()
        };
        let (events, _) = mpsc::channel(1);
        assert!(router("acme", &config, events).is_err());
    }

    #[test]
    fn an_open_webhook_gives_no_router_unless_insecure() {
        let (events, _) = mpsc::channel(1);
        let open = ProviderWebhookConfig::default();
        assert!(router("acme", &open, events.clone()).is_err());
        let insecure = ProviderWebhookConfig {
            insecure: true,
            ..ProviderWebhookConfig::default()
        };
        assert!(router("acme", &insecure, events).is_ok());
    }
}

//! Opening one bind: TCP (or TLS over it), the SMPP session, and the bind
//! handshake.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use smpp::session::{self, PeerWindowFull, SessionConfig, SessionEvent, SessionHandle};
use smpp::{Address, Bind, Body, COctetString, CommandStatus};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;

use super::config::{BindType, HostConfig, SmppClientConfig, host_part};
use crate::pdu_trace::PduLogger;
use crate::settings::InvalidSetting;
use crate::tls_roots::system_roots;

/// How to reach one host: its address and, for TLS, the connector and the
/// name to check its certificate against. Built once at start, so a bad CA
/// file is a configuration error and not a reconnect loop.
#[derive(Clone)]
pub(super) struct HostTarget {
    pub(super) address: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for HostTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTarget")
            .field("address", &self.address)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl HostTarget {
    pub(super) fn new(name: &str, host: &HostConfig) -> Result<HostTarget, InvalidSetting> {
        let invalid = |what: String| {
            InvalidSetting(format!("connector {name}, host {}: {what}", host.address))
        };
        let tls = if host.tls {
            let server_name = host
                .server_name
                .as_deref()
                .or_else(|| host_part(&host.address))
                .ok_or_else(|| invalid("no host name to check the certificate against".into()))?;
            let server_name = ServerName::try_from(server_name.to_string())
                .map_err(|e| invalid(format!("invalid server_name {server_name:?}: {e}")))?;
            let roots = match &host.ca_file {
                Some(path) => file_roots(path).map_err(|e| {
                    invalid(format!(
                        "cannot load CA certificates from {}: {e}",
                        path.display()
                    ))
                })?,
                None => system_roots().map_err(|e| invalid(format!("{e}; set ca_file")))?,
            };
            let config = client_config(roots).map_err(|e| invalid(e.to_string()))?;
            Some((TlsConnector::from(Arc::new(config)), server_name))
        } else {
            None
        };
        Ok(HostTarget {
            address: host.address.clone(),
            tls,
        })
    }
}

/// A rustls client configuration with the ring provider given explicitly
/// (as the listener's), TLS 1.2 and 1.3 only.
fn client_config(roots: rustls::RootCertStore) -> Result<ClientConfig, rustls::Error> {
    Ok(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn file_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    Ok(roots)
}

/// Why a bind could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum BindError {
    /// TCP or TLS failed.
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    /// The carrier answered the bind with an error status.
    #[error("{address} refused the {kind} bind: {status}")]
    Refused {
        address: String,
        kind: &'static str,
        status: CommandStatus,
    },
    /// The bind got no usable answer.
    #[error("{address} did not answer the {kind} bind: {reason}")]
    NoAnswer {
        address: String,
        kind: &'static str,
        reason: String,
    },
}

/// A session bound at the carrier, and its events.
pub(super) struct Bound {
    pub(super) handle: SessionHandle,
    pub(super) events: mpsc::Receiver<SessionEvent>,
}

/// Connects to `target` and binds as `kind`. The session's events are
/// returned unread: the bind's only exchange is the bind itself, and a
/// carrier sends nothing else before answering it.
pub(super) async fn open(
    target: &HostTarget,
    kind: BindType,
    config: &SmppClientConfig,
    tap: Arc<PduLogger>,
) -> Result<Bound, BindError> {
    let address = &target.address;
    let connect_failed = |reason: String| BindError::Connect {
        address: address.clone(),
        reason,
    };
    let stream = tokio::time::timeout(config.response_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| {
            connect_failed(format!(
                "no connection within {:?}",
                config.response_timeout
            ))
        })?
        .map_err(|e| connect_failed(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let session_config = session_config(config);
    let (handle, events) = match &target.tls {
        Some((connector, server_name)) => {
            let tls = tokio::time::timeout(
                config.response_timeout,
                connector.connect(server_name.clone(), stream),
            )
            .await
            .map_err(|_| connect_failed("TLS handshake timed out".into()))?
            .map_err(|e| connect_failed(format!("TLS: {e}")))?;
            session::start_tapped(tls, session_config, tap)
        }
        None => session::start_tapped(stream, session_config, tap),
    };
    match bind(&handle, kind, config).await {
        Ok(()) => Ok(Bound { handle, events }),
        Err(BindFailure::Refused(status)) => {
            handle.close();
            Err(BindError::Refused {
                address: address.clone(),
                kind: kind.as_str(),
                status,
            })
        }
        Err(BindFailure::NoAnswer(reason)) => {
            handle.close();
            Err(BindError::NoAnswer {
                address: address.clone(),
                kind: kind.as_str(),
                reason,
            })
        }
    }
}

enum BindFailure {
    Refused(CommandStatus),
    NoAnswer(String),
}

async fn bind(
    handle: &SessionHandle,
    kind: BindType,
    config: &SmppClientConfig,
) -> Result<(), BindFailure> {
    let text = |value: &str| COctetString::try_from(value).unwrap_or_default();
    let request = Bind {
        system_id: text(&config.system_id),
        password: text(&config.password),
        system_type: text(&config.system_type),
        interface_version: config.interface_version,
        address_range: Address::new(0, 0, text(&config.address_range)),
    };
    let body = match kind {
        BindType::Transmitter => Body::BindTransmitter(request),
        BindType::Receiver => Body::BindReceiver(request),
        BindType::Transceiver => Body::BindTransceiver(request),
    };
    let response = handle
        .request(body)
        .await
        .map_err(|e| BindFailure::NoAnswer(e.to_string()))?;
    if !response.status.is_ok() {
        return Err(BindFailure::Refused(response.status));
    }
    match response.body {
        Body::BindTransmitterResp(_) | Body::BindReceiverResp(_) | Body::BindTransceiverResp(_) => {
            Ok(())
        }
        other => Err(BindFailure::NoAnswer(format!(
            "answered with {}",
            other.command_id()
        ))),
    }
}

/// The session layer's settings for one bind.
fn session_config(config: &SmppClientConfig) -> SessionConfig {
    SessionConfig {
        window: config.window,
        response_timeout: config.response_timeout,
        enquire_link_interval: Some(config.enquire_link_interval),
        // Our own enquire_link finds a dead link (its answer counts as
        // input), so silence alone says nothing more.
        inactivity_timeout: None,
        // Receipts beyond the window wait unread in the socket: the carrier
        // slows down instead of hearing ESME_RTHROTTLED.
        peer_window: config.inbound_window,
        peer_window_full: PeerWindowFull::StopReading,
        ..SessionConfig::default()
    }
}

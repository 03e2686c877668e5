//! TLS for the load generator: any server certificate is accepted.
//!
//! The gateway generates a self-signed certificate on first start, and a
//! benchmark is run against test gateways far more often than against one
//! with a certificate a client could check; what is measured is the cost
//! of the encryption, not of the trust decision. The handshake signatures
//! are still verified (with ring's algorithms), so the session really is
//! TLS with the key of the certificate shown; only who the certificate
//! names is not checked.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::super::CliError;

/// Accepts every certificate; checks the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A connector for TLS 1.2 and 1.3 with the ring provider (as the
/// gateway's own listener and connectors use) that accepts any certificate.
pub(super) fn connector() -> Result<TlsConnector, CliError> {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = AcceptAnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name to send in SNI: the host part of HOST:PORT (an IP address is
/// sent as one, which rustls leaves out of SNI).
pub(super) fn server_name(host: &str) -> Result<ServerName<'static>, CliError> {
    let name = match host.rsplit_once(':') {
        Some((name, _port)) => name.trim_start_matches('[').trim_end_matches(']'),
        None => host,
    };
    ServerName::try_from(name.to_string())
        .map_err(|e| format!("cannot use {name:?} as a TLS server name: {e}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_is_the_host_part_of_the_address() {
        assert_eq!(
            server_name("gw.example:2776").expect("valid"),
            ServerName::try_from("gw.example").expect("name")
        );
        assert!(matches!(
            server_name("127.0.0.1:2776").expect("valid"),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]:2776").expect("valid"),
            ServerName::IpAddress(_)
        ));
        connector().expect("a TLS client configuration");
    }
}

//! The connector's one `reqwest::Client`: its connection pool, TLS (rustls
//! with the ring provider given explicitly, TLS 1.2 and 1.3, the system's
//! roots or a configured CA file), timeouts and user agent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::config::{HttpConnectorConfig, invalid};
use crate::settings::InvalidSetting;
use crate::tls_roots::system_roots;

/// Sent with every request, so providers can tell who is calling.
const USER_AGENT: &str = concat!("smsgate/", env!("CARGO_PKG_VERSION"));
/// The longest a connection may take to open: a provider that does not
/// accept connections is found out well before the request timeout, and
/// the segment fails as not sent rather than as unanswered.
const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(10);

/// Builds the client. `https` says whether the URL needs TLS: then a
/// missing CA file or no usable system roots is an error; for plain HTTP
/// the roots only matter if set.
pub(super) fn build(
    name: &str,
    config: &HttpConnectorConfig,
    https: bool,
) -> Result<reqwest::Client, InvalidSetting> {
    let roots = match &config.ca_file {
        Some(path) => file_roots(path)
            .map_err(|e| invalid(name, format!("cannot load ca_file {}: {e}", path.display())))?,
        None => match system_roots() {
            Ok(roots) => roots,
            Err(e) if https => return Err(invalid(name, format!("{e}; set ca_file"))),
            Err(_) => rustls::RootCertStore::empty(),
        },
    };
    let tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| invalid(name, format!("cannot set up TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT)
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(CONNECT_TIMEOUT_MAX))
        // A redirect would turn a POST into a GET and resend the text to
        // another place: report the 3xx instead.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| invalid(name, format!("cannot set up the HTTP client: {e}")))
}

fn file_roots(path: &Path) -> Result<rustls::RootCertStore, String> {
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

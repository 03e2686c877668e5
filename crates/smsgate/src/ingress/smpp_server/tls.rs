//! The TLS side of the SMPP listener: rustls with TLS 1.2 and 1.3 only,
//! the ring crypto provider, and a self-signed certificate generated on
//! first start when none is configured.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot load {what} from {path}: {reason}")]
    Pem {
        /// Certificate or key.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The self-signed certificate could not be made or written.
    #[error("cannot create a self-signed certificate in {dir}: {reason}")]
    Generate {
        /// Where it was to be written.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("invalid TLS certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A server configuration and, if the certificate was generated now, where
/// it was written (so the operator can be told).
pub struct TlsSetup {
    /// The rustls configuration.
    pub config: Arc<ServerConfig>,
    /// The certificate generated on this start, if one was.
    pub generated: Option<PathBuf>,
    /// The certificate file in use.
    pub cert_path: PathBuf,
}

/// Loads the configured certificate and key, or the self-signed pair under
/// `data_dir/tls/`, generating it if it does not exist yet.
pub fn load_or_generate(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
) -> Result<TlsSetup, TlsSetupError> {
    let (cert_path, key_path, generated) = match (cert, key) {
        (Some(cert), Some(key)) => (cert.to_path_buf(), key.to_path_buf(), None),
        _ => {
            let dir = data_dir.join("tls");
            let cert_path = dir.join("cert.pem");
            let key_path = dir.join("key.pem");
            let generated = if cert_path.exists() && key_path.exists() {
                None
            } else {
                generate_self_signed(&dir, &cert_path, &key_path)?;
                Some(cert_path.clone())
            };
            (cert_path, key_path, generated)
        }
    };
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsSetupError::Pem {
            what: "certificate",
            path: cert_path.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Pem {
            what: "certificate",
            path: cert_path,
            reason: "no CERTIFICATE block found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsSetupError::Pem {
        what: "private key",
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    Ok(TlsSetup {
        config: Arc::new(server_config(certs, key)?),
        generated,
        cert_path,
    })
}

/// A rustls server configuration with the ring provider, TLS 1.2 and 1.3.
/// The provider is given explicitly, so nothing depends on a process-wide
/// default being installed.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)
}

fn generate_self_signed(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsSetupError> {
    let fail = |reason: String| TlsSetupError::Generate {
        dir: dir.to_path_buf(),
        reason,
    };
    let mut names = vec!["localhost".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
        }
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_generates_a_certificate_and_later_starts_reuse_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_generate(None, None, dir.path()).expect("generated");
        assert!(first.generated.is_some());
        let pem = std::fs::read_to_string(&first.cert_path).expect("cert written");
        let second = load_or_generate(None, None, dir.path()).expect("loaded");
        assert!(second.generated.is_none());
        assert_eq!(
            std::fs::read_to_string(&second.cert_path).expect("same"),
            pem
        );
    }

    #[test]
    fn missing_certificate_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("nope.pem");
        let err = load_or_generate(Some(&cert), Some(&cert), dir.path())
            .err()
            .expect("fails");
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }
}

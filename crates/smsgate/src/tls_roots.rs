//! The operating system's trusted root certificates, for the TLS clients
//! smsgate opens: SMPP and HTTP connectors, customer webhooks and
//! `smsgate send`. Each builds its own rustls configuration around them.

/// The system's roots. Certificates the system lists but rustls cannot
/// parse are skipped, as browsers do; none at all is an error, which
/// callers complete with what the operator can do about it.
pub fn system_roots() -> Result<rustls::RootCertStore, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        return Err(format!(
            "no system root certificates could be loaded ({})",
            errors.join("; ")
        ));
    }
    Ok(roots)
}

//! Where customers come in (the SMPP server and the HTTP API) and where
//! providers call back (their webhooks, on the same HTTP listener).

pub mod admin_api;
pub mod console;
pub mod http;
pub mod http_api;
pub mod http_serve;
pub mod provider_webhooks;
pub mod smpp_server;

use std::net::SocketAddr;

/// Checks, before anything is started or written, that every listener's
/// port is free: a port another program holds is reported with the
/// setting that names it (`("[http] listen", addr)`), instead of failing
/// half-way through the start with the data directory already written.
/// Port 0 (any free port) and IPv6 addresses this host does not have are
/// skipped; the listeners themselves still report anything else.
pub fn check_ports<'a>(
    listeners: impl IntoIterator<Item = (&'a str, SocketAddr)>,
) -> Result<(), crate::settings::InvalidSetting> {
    for (setting, addr) in listeners {
        if addr.port() == 0 {
            continue;
        }
        match probe(addr) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(crate::settings::InvalidSetting(format!(
                    "port {} ({addr}) is in use by another program; change {setting}",
                    addr.port()
                )));
            }
            Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(crate::settings::InvalidSetting(format!(
                    "cannot listen on {addr}: ports below 1024 need privileges; change {setting}"
                )));
            }
            // Not this check's business (an address this host lacks, ...):
            // the listener says what it makes of it.
            Err(_) => {}
        }
    }
    Ok(())
}

/// Binds `addr` as the listeners do (v6-only for IPv6, SO_REUSEADDR), then lets it go.
fn probe(addr: SocketAddr) -> std::io::Result<()> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_program_listens_on_is_reported_with_its_setting() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let error = check_ports([("[http] listen", addr)]).expect_err("in use");
        assert_eq!(
            error.0,
            format!(
                "port {} ({addr}) is in use by another program; change [http] listen",
                addr.port()
            )
        );
        drop(taken);
        check_ports([("[http] listen", addr)]).expect("free again");
    }
}

//! Who is calling, and whether they may: the TCP peer, or, when the peer is
//! a trusted reverse proxy, the client the proxy names in its header.
//!
//! A proxy appends the address it received the request from to the header,
//! so the header's right end is the part our own proxies wrote and its left
//! end is whatever the client sent, which anyone can forge. The client is
//! therefore the right-most address that is not itself a trusted proxy,
//! and only a trusted peer's header is read at all.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderValue;

use super::config::AddressRange;

/// The proxy header held something that is not an address where a client
/// address had to be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("forwarded address {entry:?} is not an IP address")]
pub(super) struct UnreadableForwarded {
    /// The entry, as written.
    pub(super) entry: String,
}

/// The client's address. `forwarded` are the values of the proxy header,
/// in the order they arrived (a proxy may add a header line rather than
/// extend one); they are read only when `peer` is a trusted proxy. A
/// trusted peer that sends no header is itself the client; a header naming
/// only trusted proxies makes its left-most address the client.
pub(super) fn client_address<'a>(
    peer: IpAddr,
    forwarded: impl DoubleEndedIterator<Item = &'a HeaderValue>,
    proxies: &[AddressRange],
) -> Result<IpAddr, UnreadableForwarded> {
    let trusted = |addr: IpAddr| proxies.iter().any(|range| range.contains(addr));
    let mut client = peer.to_canonical();
    if !trusted(client) {
        return Ok(client);
    }
    for value in forwarded.rev() {
        let Ok(text) = value.to_str() else {
            return Err(UnreadableForwarded {
                entry: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            });
        };
        for entry in text.rsplit(',').map(str::trim).filter(|e| !e.is_empty()) {
            client = parse_entry(entry).ok_or_else(|| UnreadableForwarded {
                entry: entry.to_string(),
            })?;
            if !trusted(client) {
                return Ok(client);
            }
        }
    }
    Ok(client)
}

/// One entry: an address, with or without a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`) or brackets, as proxies variously write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    IpAddr::from_str(bare)
        .or_else(|_| SocketAddr::from_str(entry).map(|s| s.ip()))
        .ok()
        .map(|addr| addr.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[&str]) -> Vec<AddressRange> {
        list.iter().map(|r| r.parse().unwrap()).collect()
    }

    fn resolve(peer: &str, headers: &[&str], proxies: &[&str]) -> Result<IpAddr, String> {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_str(h).unwrap())
            .collect();
        client_address(peer.parse().unwrap(), values.iter(), &ranges(proxies))
            .map_err(|e| e.to_string())
    }

    fn ip(text: &str) -> Result<IpAddr, String> {
        Ok(text.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_its_header_says() {
        assert_eq!(
            resolve("198.51.100.7", &["10.1.2.3"], &["127.0.0.1"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn with_no_proxies_configured_the_header_is_ignored() {
        assert_eq!(resolve("127.0.0.1", &["10.1.2.3"], &[]), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_peer_names_the_client() {
        assert_eq!(
            resolve("172.16.0.2", &["10.1.2.3"], &["172.16.0.0/12"]),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        // The client forged 1.1.1.1; the edge proxy appended the real one,
        // the inner proxy appended the edge proxy.
        assert_eq!(
            resolve(
                "172.16.0.2",
                &["1.1.1.1, 203.0.113.9, 172.16.0.9"],
                &["172.16.0.0/12"]
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn several_header_lines_are_read_as_one_list() {
        assert_eq!(
            resolve(
                "172.16.0.2",
                &["1.1.1.1", "203.0.113.9,172.16.0.9"],
                &["172.16.0.0/12"]
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_header_of_only_trusted_proxies_gives_the_left_most() {
        assert_eq!(
            resolve(
                "172.16.0.2",
                &["172.16.0.7, 172.16.0.9"],
                &["172.16.0.0/12"]
            ),
            ip("172.16.0.7")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        assert_eq!(
            resolve("172.16.0.2", &[], &["172.16.0.0/12"]),
            ip("172.16.0.2")
        );
    }

    #[test]
    fn ports_brackets_and_spaces_are_tolerated() {
        let proxies = ["127.0.0.1"];
        assert_eq!(
            resolve("127.0.0.1", &[" 203.0.113.9:4711 "], &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve("127.0.0.1", &["[2001:db8::1]:4711"], &proxies),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve("127.0.0.1", &["[2001:db8::1]"], &proxies),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve("127.0.0.1", &["2001:db8::1"], &proxies),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve("127.0.0.1", &["203.0.113.9,,"], &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_read_as_ipv4() {
        assert_eq!(
            resolve("::ffff:127.0.0.1", &["::ffff:10.1.2.3"], &["127.0.0.1"]),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn garbage_where_the_client_should_be_is_an_error() {
        let err = resolve("127.0.0.1", &["unknown"], &["127.0.0.1"]).unwrap_err();
        assert!(err.contains("\"unknown\""), "{err}");
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read() {
        assert_eq!(
            resolve(
                "127.0.0.1",
                &["not-an-address, 203.0.113.9"],
                &["127.0.0.1"]
            ),
            ip("203.0.113.9")
        );
    }
}

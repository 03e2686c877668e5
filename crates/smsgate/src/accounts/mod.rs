//! Accounts: who may bind, with which credentials and limits. The accounts
//! themselves live in the store; this module holds the logic around them.

pub mod admin_token;
pub mod api_key;
pub mod fields;
pub mod ip_guard;
pub mod password;
pub mod verifier;
pub mod workers;

use std::net::{IpAddr, Ipv6Addr};

/// IPv4-mapped IPv6 addresses (from a dual-stack listener) as IPv4, so
/// that IPv4 allowlist entries match them.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// What one subscriber's addresses have in common, for limits per address:
/// an IPv4 address alone, an IPv6 address by its /64 (counting single IPv6
/// addresses would let one subscriber rotate through 2^64 of them), and an
/// IPv4-mapped IPv6 address as the IPv4 address it carries.
pub fn subscriber(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

//! Accounts: who may bind, with which credentials and limits. The accounts
//! themselves live in the store; this module holds the logic around them.

pub mod admin_token;
pub mod api_key;
pub mod fields;
pub mod ip_guard;
pub mod password;
pub mod verifier;
pub mod workers;

use std::net::IpAddr;

/// IPv4-mapped IPv6 addresses (from a dual-stack listener) as IPv4, so
/// that IPv4 allowlist entries match them.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

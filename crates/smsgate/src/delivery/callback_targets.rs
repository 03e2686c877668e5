//! Where a customer's callback may go: the rule that keeps a `callback_url`
//! (a message's, or an account's default) from making the gateway a proxy
//! into its own network (server-side request forgery).
//!
//! A callback may reach only public addresses: not loopback, link-local,
//! private (RFC 1918, fc00::/7), shared (CGNAT, 100.64.0.0/10),
//! unspecified, broadcast, multicast, documentation or other reserved
//! ranges, in IPv4 or IPv6, IPv4-mapped (`::ffff:127.0.0.1`) and NAT64
//! (`64:ff9b::7f00:1`) forms included, nor any of the node's own listen
//! addresses, unless the operator allows the address with
//! `[http] callback_allow` (CIDR ranges; empty by default), which wins over
//! everything else.
//!
//! The rule is applied twice. When a URL is given ([`CallbackTargets::check_url`]),
//! a literal address is refused at once; a host name is not resolved then,
//! since what it resolves to can change. When a callback connects, the
//! [`GuardedResolver`] resolves the name itself, drops every address the
//! rule refuses and hands the HTTP client only the rest, so a name that
//! resolves to a public address at submit and to 127.0.0.1 at delivery
//! (DNS rebinding) is refused too; with nothing left, resolution fails with
//! a [`TargetRefused`].
//!
//! Operator-configured `[webhooks.NAME]` are not customer input and are not
//! checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What kind of address a special-purpose range holds, and the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    /// E.g. "a loopback address".
    pub kind: &'static str,
    /// The range, e.g. 127.0.0.0/8.
    pub range: IpNet,
    /// How an IPv6 address carried the IPv4 one that is in `range`
    /// ("IPv4-mapped", "NAT64"), if it did.
    pub form: Option<&'static str>,
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind, self.range)?;
        if let Some(form) = self.form {
            write!(f, " in {form} form")?;
        }
        Ok(())
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// The IPv4 ranges no callback goes to (IANA's special-purpose registry),
/// most specific first.
const SPECIAL_V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 32), "the unspecified address"),
    (v4(0, 0, 0, 0, 8), "a \"this network\" address"),
    (v4(10, 0, 0, 0, 8), "a private address"),
    (v4(100, 64, 0, 0, 10), "a shared CGNAT address"),
    (v4(127, 0, 0, 0, 8), "a loopback address"),
    (v4(169, 254, 0, 0, 16), "a link-local address"),
    (v4(172, 16, 0, 0, 12), "a private address"),
    (v4(192, 0, 0, 0, 24), "a reserved IETF protocol address"),
    (v4(192, 0, 2, 0, 24), "a documentation address"),
    (v4(192, 88, 99, 0, 24), "a reserved 6to4 relay address"),
    (v4(192, 168, 0, 0, 16), "a private address"),
    (v4(198, 18, 0, 0, 15), "a reserved benchmarking address"),
    (v4(198, 51, 100, 0, 24), "a documentation address"),
    (v4(203, 0, 113, 0, 24), "a documentation address"),
    (v4(224, 0, 0, 0, 4), "a multicast address"),
    (v4(255, 255, 255, 255, 32), "the broadcast address"),
    (v4(240, 0, 0, 0, 4), "a reserved address"),
];

/// IPv6 ranges whose last 32 bits are an IPv4 address, judged as that one.
const EMBEDDING_V6: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), "IPv4-mapped"),
    (v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), "NAT64"),
];

/// The IPv6 ranges no callback goes to, most specific first; anything
/// outside global unicast (2000::/3) is refused as well.
const SPECIAL_V6: &[(Ipv6Net, &str)] = &[
    (v6([0; 8], 128), "the unspecified address"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "a loopback address"),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        "a local-use NAT64 address",
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        "a discard-only address",
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "a private unique local address",
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        "a link-local address",
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "a deprecated site-local address",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "a multicast address"),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "a documentation address",
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        "a documentation address",
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "a reserved IETF protocol address",
    ),
    (
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
        "a deprecated 6to4 address",
    ),
];

/// Global unicast: the only IPv6 space handed out to networks.
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// The special-purpose range `ip` is in, if any: what makes it no place for
/// a callback whatever the configuration says (but `callback_allow`).
pub fn special(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(ip) => special_v4(ip, None),
        IpAddr::V6(ip) => {
            for (range, form) in EMBEDDING_V6 {
                if range.contains(&ip) {
                    let [.., a, b, c, d] = ip.octets();
                    return special_v4(Ipv4Addr::new(a, b, c, d), Some(form));
                }
            }
            if let Some((range, kind)) = SPECIAL_V6.iter().find(|(range, _)| range.contains(&ip)) {
                return Some(Special {
                    kind,
                    range: IpNet::V6(*range),
                    form: None,
                });
            }
            (!GLOBAL_UNICAST.contains(&ip)).then_some(Special {
                kind: "a reserved address outside global unicast",
                range: IpNet::V6(GLOBAL_UNICAST),
                form: None,
            })
        }
    }
}

fn special_v4(ip: Ipv4Addr, form: Option<&'static str>) -> Option<Special> {
    SPECIAL_V4
        .iter()
        .find(|(range, _)| range.contains(&ip))
        .map(|(range, kind)| Special {
            kind,
            range: IpNet::V4(*range),
            form,
        })
}

/// Why an address is no place for a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// It is in a special-purpose range.
    Special(Special),
    /// The node listens on it.
    OwnAddress,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Special(special) => write!(f, "{special}"),
            Why::OwnAddress => f.write_str("one of this node's own listen addresses"),
        }
    }
}

/// An address refused, and why: "127.0.0.1 is a loopback address (127.0.0.0/8)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The address.
    pub addr: IpAddr,
    /// Why.
    pub why: Why,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.addr, self.why)
    }
}

/// The rule in force: the operator's `[http] callback_allow` and the
/// node's own listen addresses.
#[derive(Debug, Clone, Default)]
pub struct CallbackTargets {
    allow: Vec<IpNet>,
    own: Vec<IpAddr>,
}

impl CallbackTargets {
    /// The rule with `allow` (`[http] callback_allow`) and the node's
    /// listen addresses; the unspecified ones (0.0.0.0, ::) are refused
    /// anyway and name no address of their own.
    pub fn new(allow: Vec<IpNet>, listen: impl IntoIterator<Item = IpAddr>) -> CallbackTargets {
        let mut own: Vec<IpAddr> = listen
            .into_iter()
            .map(|ip| ip.to_canonical())
            .filter(|ip| !ip.is_unspecified())
            .collect();
        own.sort_unstable();
        own.dedup();
        CallbackTargets { allow, own }
    }

    /// Whether a callback may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let canonical = ip.to_canonical();
        if self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        let why = match special(ip) {
            Some(special) => Why::Special(special),
            None if self.own.contains(&canonical) => Why::OwnAddress,
            None => return Ok(()),
        };
        Err(Refused { addr: ip, why })
    }

    /// Whether `url` may be a callback URL as far as can be told without
    /// resolving: a literal address is checked, a host name passes (it is
    /// checked at each connection, [`GuardedResolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        // The URL parser writes every literal address in its plain form
        // (127.1 and 2130706433 become 127.0.0.1), IPv6 in brackets.
        let host = url.host_str().unwrap_or_default();
        let bare = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.check(ip),
            Err(_) => Ok(()),
        }
    }
}

/// A name resolved only to addresses the rule refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRefused {
    /// The name.
    pub host: String,
    /// Each address it resolved to, and why it was refused.
    pub refused: Vec<Refused>,
}

impl fmt::Display for TargetRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves only to refused addresses: ", self.host)?;
        for (index, refused) in self.refused.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{refused}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TargetRefused {}

/// The DNS resolver of callback clients: the system's resolver, then the
/// rule, so the client connects only to checked addresses.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    targets: Arc<CallbackTargets>,
}

impl GuardedResolver {
    /// A resolver applying `targets`.
    pub fn new(targets: Arc<CallbackTargets>) -> GuardedResolver {
        GuardedResolver { targets }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let targets = Arc::clone(&self.targets);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let mut allowed: Vec<SocketAddr> = Vec::new();
            let mut refused = Vec::new();
            for addr in tokio::net::lookup_host((host.as_str(), 0)).await? {
                match targets.check(addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(refusal) => refused.push(refusal),
                }
            }
            if allowed.is_empty() {
                return Err(Box::new(TargetRefused { host, refused }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn kind_of(text: &str) -> Option<&'static str> {
        special(ip(text)).map(|special| special.kind)
    }

    #[test]
    fn every_special_ipv4_range_is_refused_at_both_ends() {
        for (range, _) in SPECIAL_V4 {
            for end in [range.network(), range.broadcast()] {
                let found = special(IpAddr::V4(end)).expect("special");
                // 0.0.0.0 and 255.255.255.255 have names of their own.
                assert!(IpNet::V4(*range).contains(&found.range), "{end} in {range}");
            }
        }
    }

    #[test]
    fn every_special_ipv6_range_is_refused_at_both_ends() {
        for (range, kind) in SPECIAL_V6 {
            for end in [range.network(), range.broadcast()] {
                let found = special(IpAddr::V6(end)).expect("special");
                assert_eq!(found.kind, *kind, "{end} in {range}");
            }
        }
    }

    #[test]
    fn ipv4_ranges_are_named_for_what_they_are() {
        let cases = [
            ("0.0.0.0", "the unspecified address"),
            ("0.1.2.3", "a \"this network\" address"),
            ("10.0.0.5", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("100.64.0.1", "a shared CGNAT address"),
            ("100.127.255.254", "a shared CGNAT address"),
            ("127.0.0.1", "a loopback address"),
            ("127.255.255.254", "a loopback address"),
            ("169.254.169.254", "a link-local address"),
            ("192.0.0.8", "a reserved IETF protocol address"),
            ("192.0.2.1", "a documentation address"),
            ("198.51.100.7", "a documentation address"),
            ("203.0.113.9", "a documentation address"),
            ("192.88.99.1", "a reserved 6to4 relay address"),
            ("198.19.0.1", "a reserved benchmarking address"),
            ("224.0.0.1", "a multicast address"),
            ("239.255.255.250", "a multicast address"),
            ("255.255.255.255", "the broadcast address"),
            ("240.0.0.1", "a reserved address"),
        ];
        for (address, kind) in cases {
            assert_eq!(kind_of(address), Some(kind), "{address}");
        }
    }

    #[test]
    fn public_ipv4_addresses_and_the_neighbours_of_special_ranges_pass() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert_eq!(kind_of(address), None, "{address}");
        }
    }

    #[test]
    fn ipv6_ranges_are_named_for_what_they_are() {
        let cases = [
            ("::", "the unspecified address"),
            ("::1", "a loopback address"),
            ("fc00::1", "a private unique local address"),
            ("fd12:3456::1", "a private unique local address"),
            ("fe80::1", "a link-local address"),
            ("fec0::1", "a deprecated site-local address"),
            ("ff02::1", "a multicast address"),
            ("2001:db8::1", "a documentation address"),
            ("3fff::1", "a documentation address"),
            ("2001::1", "a reserved IETF protocol address"),
            ("2002:7f00:1::1", "a deprecated 6to4 address"),
            ("64:ff9b:1::1", "a local-use NAT64 address"),
            ("100::1", "a discard-only address"),
            ("::7f00:1", "a reserved address outside global unicast"),
            ("4000::1", "a reserved address outside global unicast"),
        ];
        for (address, kind) in cases {
            assert_eq!(kind_of(address), Some(kind), "{address}");
        }
        assert_eq!(kind_of("2606:4700:4700::1111"), None);
        assert_eq!(kind_of("2a00:1450:4001::1"), None);
    }

    #[test]
    fn ipv4_mapped_and_nat64_addresses_are_judged_by_their_ipv4_address() {
        let mapped = special(ip("::ffff:127.0.0.1")).expect("special");
        assert_eq!(mapped.kind, "a loopback address");
        assert_eq!(mapped.form, Some("IPv4-mapped"));
        assert_eq!(
            mapped.to_string(),
            "a loopback address (127.0.0.0/8) in IPv4-mapped form"
        );
        assert_eq!(kind_of("::ffff:10.1.2.3"), Some("a private address"));
        assert_eq!(
            kind_of("::ffff:169.254.169.254"),
            Some("a link-local address")
        );
        assert_eq!(kind_of("::ffff:0.0.0.0"), Some("the unspecified address"));
        let nat64 = special(ip("64:ff9b::a9fe:a9fe")).expect("special");
        assert_eq!(nat64.kind, "a link-local address");
        assert_eq!(nat64.form, Some("NAT64"));
        assert_eq!(kind_of("::ffff:8.8.8.8"), None);
        assert_eq!(kind_of("64:ff9b::808:808"), None);
    }

    #[test]
    fn callback_allow_wins_and_covers_the_mapped_form() {
        let targets = CallbackTargets::new(vec!["127.0.0.0/8".parse().expect("net")], []);
        assert_eq!(targets.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(targets.check(ip("::ffff:127.0.0.2")), Ok(()));
        let refused = targets.check(ip("::1")).expect_err("not allowed");
        assert_eq!(refused.to_string(), "::1 is a loopback address (::1/128)");
        assert!(targets.check(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn the_nodes_own_listen_addresses_are_refused_but_unspecified_ones_name_none() {
        let targets = CallbackTargets::new(
            Vec::new(),
            [ip("0.0.0.0"), ip("::"), ip("8.8.4.4"), ip("2606:4700::1")],
        );
        let refused = targets.check(ip("8.8.4.4")).expect_err("own");
        assert_eq!(refused.why, Why::OwnAddress);
        assert_eq!(
            refused.to_string(),
            "8.8.4.4 is one of this node's own listen addresses"
        );
        assert_eq!(
            targets.check(ip("::ffff:8.8.4.4")).map_err(|r| r.why),
            Err(Why::OwnAddress)
        );
        assert!(targets.check(ip("2606:4700::1")).is_err());
        assert_eq!(targets.check(ip("8.8.8.8")), Ok(()));
        let allowed =
            CallbackTargets::new(vec!["8.8.4.4/32".parse().expect("net")], [ip("8.8.4.4")]);
        assert_eq!(allowed.check(ip("8.8.4.4")), Ok(()));
    }

    #[test]
    fn check_url_refuses_literal_addresses_in_every_spelling_and_passes_names() {
        let targets = CallbackTargets::default();
        let refused = |url: &str| {
            targets
                .check_url(&Url::parse(url).expect("a URL"))
                .map_err(|refused| refused.to_string())
        };
        assert_eq!(
            refused("http://127.0.0.1:8080/cb"),
            Err("127.0.0.1 is a loopback address (127.0.0.0/8)".into())
        );
        // The URL standard reads these as 127.0.0.1 too, as the client does.
        assert!(refused("http://2130706433/").is_err());
        assert!(refused("http://127.1/").is_err());
        assert!(refused("http://0x7f.0.0.1/").is_err());
        assert!(refused("http://[::ffff:127.0.0.1]/").is_err());
        assert!(refused("http://[::1]:9/").is_err());
        assert!(refused("http://169.254.169.254/latest/meta-data/").is_err());
        assert_eq!(refused("https://example.com/cb"), Ok(()));
        assert_eq!(
            refused("http://localhost/cb"),
            Ok(()),
            "resolved when it connects"
        );
        assert_eq!(refused("https://8.8.8.8/cb"), Ok(()));
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_only_to_refused_addresses() {
        let resolver = GuardedResolver::new(Arc::new(CallbackTargets::default()));
        let name: Name = "localhost".parse().expect("a name");
        let error = match resolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error,
        };
        let refused = error
            .downcast_ref::<TargetRefused>()
            .expect("a target refusal");
        assert_eq!(refused.host, "localhost");
        assert!(
            refused
                .to_string()
                .starts_with("localhost resolves only to refused addresses: "),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn the_resolver_hands_over_the_allowed_addresses() {
        let targets = CallbackTargets::new(vec!["127.0.0.0/8".parse().expect("net")], []);
        let resolver = GuardedResolver::new(Arc::new(targets));
        let name: Name = "localhost".parse().expect("a name");
        let addrs: Vec<SocketAddr> = match resolver.resolve(name).await {
            Ok(addrs) => addrs.collect(),
            Err(error) => panic!("refused: {error}"),
        };
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|addr| addr.ip().is_loopback() && addr.is_ipv4()),
            "{addrs:?}"
        );
    }
}

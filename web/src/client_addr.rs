//! The client's address: the TCP peer, or, when that peer is a trusted reverse proxy
//! (`CLOWDER_TRUSTED_PROXIES`), the address the proxy says it forwarded for
//! (`X-Forwarded-For`, else `Forwarded: for=`). Rate limits (sign-in per address) and audit
//! entries see this address.
//!
//! The headers are believed only from a configured proxy: from anyone else they are ignored,
//! so a client cannot choose its own address. Behind a chain of proxies the client is the
//! rightmost address that is not itself a trusted proxy: every address to its left was
//! written by the client (or a proxy we do not know) and could be anything.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address a request came from, as decided by [`client_ip`] (set on every request by
/// `middleware::observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses IP addresses and CIDR ranges (`10.0.0.0/8`, `::1`); blanks are skipped.
    pub fn parse(items: &[String]) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for raw in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let net = match raw.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => raw
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{raw:?} is neither an IP address nor a CIDR range like 10.0.0.0/8"))?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies (an IPv4 address mapped into IPv6, as a
    /// dual-stack listener reports it, counts as the IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl std::fmt::Display for TrustedProxies {
    /// As `check-config` shows it: comma-separated, or `(none)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none)");
        }
        let all: Vec<String> = self.0.iter().map(|n| n.to_string()).collect();
        f.write_str(&all.join(","))
    }
}

/// The client's address for a request from `peer` with these headers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    // Walk from the nearest hop outwards; the first address that is not ours is the client.
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if trusted.contains(*ip) => nearest = *ip,
            Some(ip) => return *ip,
            // A hop our own proxy could not name ("unknown", an obfuscated name): the chain
            // tells nothing further, so the last proxy we trust is the best we know.
            None => return nearest,
        }
    }
    nearest
}

/// The addresses of `X-Forwarded-For` (every header line, in order), or if there is none,
/// the `for=` of `Forwarded` (RFC 7239). `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    };
    let xff = values("x-forwarded-for");
    if !xff.is_empty() {
        return xff.iter().flat_map(|v| v.split(',')).map(|h| parse_hop(h.trim())).collect();
    }
    let mut hops = Vec::new();
    for value in values("forwarded") {
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim().trim_matches('"').to_owned())
            });
            if let Some(node) = node {
                hops.push(parse_hop(&node));
            }
        }
    }
    hops
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = raw.parse::<SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(items: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn check(peer: &str, headers: &[(&str, &str)], proxies: &[&str], expected: &str) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let got = client_ip(peer.parse().unwrap(), &map, &trusted(proxies));
        assert_eq!(got, expected.parse::<IpAddr>().unwrap(), "peer {peer}, {headers:?}, trusting {proxies:?}");
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        check("203.0.113.9", &[("x-forwarded-for", "198.51.100.7")], &[], "203.0.113.9");
        check("203.0.113.9", &[("x-forwarded-for", "198.51.100.7")], &["10.0.0.0/8"], "203.0.113.9");
        check("203.0.113.9", &[("forwarded", "for=198.51.100.7")], &["127.0.0.1"], "203.0.113.9");
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        check("10.0.0.2", &[("x-forwarded-for", "198.51.100.7")], &["10.0.0.0/8"], "198.51.100.7");
        // The client wrote a fake first hop; our proxy appended the address it really saw.
        check("10.0.0.2", &[("x-forwarded-for", "1.2.3.4, 198.51.100.7")], &["10.0.0.0/8"], "198.51.100.7");
        // Two proxies of ours in a row.
        check("10.0.0.2", &[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.3")], &["10.0.0.0/8"], "198.51.100.7");
        // Several header lines are one list.
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "198.51.100.7")],
            &["10.0.0.0/8"],
            "198.51.100.7",
        );
        check("::ffff:10.0.0.2", &[("x-forwarded-for", "2001:db8::7")], &["10.0.0.2"], "2001:db8::7");
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        check("127.0.0.1", &[("forwarded", "for=198.51.100.7;proto=https")], &["127.0.0.1"], "198.51.100.7");
        check("127.0.0.1", &[("forwarded", r#"for="[2001:db8:cafe::17]:4711""#)], &["127.0.0.1"], "2001:db8:cafe::17");
        check("127.0.0.1", &[("forwarded", "for=1.2.3.4, for=198.51.100.7:80")], &["127.0.0.1"], "198.51.100.7");
    }

    #[test]
    fn without_a_usable_hop_the_nearest_trusted_proxy_stands() {
        check("127.0.0.1", &[], &["127.0.0.1"], "127.0.0.1");
        check("127.0.0.1", &[("x-forwarded-for", "unknown")], &["127.0.0.1"], "127.0.0.1");
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "1.2.3.4, unknown, 10.1.1.1")],
            &["127.0.0.1", "10.0.0.0/8"],
            "10.1.1.1",
        );
        check("127.0.0.1", &[("x-forwarded-for", "10.1.1.1")], &["127.0.0.1", "10.0.0.0/8"], "10.1.1.1");
    }

    #[test]
    fn settings_parse_addresses_and_ranges_and_refuse_the_rest() {
        assert_eq!(trusted(&["127.0.0.1", " 10.0.0.0/8 ", "", "::1"]).to_string(), "127.0.0.1/32,10.0.0.0/8,::1/128");
        assert_eq!(trusted(&[]).to_string(), "(none)");
        assert!(TrustedProxies::parse(&["proxy.example".into()]).is_err());
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(trusted(&["10.1.2.3/8"]).contains("10.200.0.1".parse().unwrap()), "host bits are dropped");
    }
}

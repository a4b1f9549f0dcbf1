//! Who the client is: the peer's address, or the address a trusted proxy (the portal)
//! forwards in `x-forwarded-for`. Attempt limits and the audit trail use it.

use std::net::IpAddr;

/// Which peers may speak for their clients.
#[derive(Clone, Debug, Default)]
pub struct ClientAddressPolicy {
    /// Peers whose `x-forwarded-for` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl ClientAddressPolicy {
    /// The client's address for a request from `peer` carrying `forwarded_for`.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.trusted_proxies.iter().any(|p| canonical(*p) == peer) {
            return Some(peer);
        }
        // The proxy appends the address it saw last; anything before it is the client's claim.
        forwarded_for
            .and_then(|list| list.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .or(Some(peer))
    }
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_may_forward() {
        let policy = ClientAddressPolicy {
            trusted_proxies: vec![ip("10.0.0.2")],
        };
        assert_eq!(
            policy.client(Some(ip("10.0.0.2")), Some("203.0.113.9")),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            policy.client(Some(ip("10.0.0.2")), Some("1.1.1.1, 203.0.113.9")),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            policy.client(Some(ip("10.0.0.3")), Some("203.0.113.9")),
            Some(ip("10.0.0.3"))
        );
        assert_eq!(
            policy.client(Some(ip("10.0.0.2")), Some("garbage")),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            policy.client(Some(ip("::ffff:10.0.0.2")), Some("203.0.113.9")),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(policy.client(None, Some("203.0.113.9")), None);
    }
}

//! Who the client is: the peer's address, or the address a trusted proxy (the portal, a load
//! balancer, the district's reverse proxy) forwards in `x-forwarded-for`. Attempt limits and
//! the audit trail use it; the gRPC service and the web pages read it the same way.

use std::net::{IpAddr, SocketAddr};

/// Which peers may speak for their clients.
#[derive(Clone, Debug, Default)]
pub struct ClientAddressPolicy {
    /// Peers whose `x-forwarded-for` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// A loopback peer is the district's reverse proxy on this host (the pages listen on
    /// loopback and no proxies are listed): its `x-forwarded-for` names the visitor, and a
    /// loopback peer that forwards nothing is the visitor itself (a browser on this host).
    /// Without it, every visitor would be the proxy's 127.0.0.1 and share one attempt limit.
    pub local_proxy: bool,
}

/// A trusted proxy's request that does not say who the client is. Counting it as the proxy
/// would make every person behind it share one attempt counter, so it is refused instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientAddressError {
    /// The proxy forwarded no address outside the trusted proxies.
    #[error("x-forwarded-for: the trusted proxy did not forward the client's address")]
    Missing,
    /// An entry is not an IP address.
    #[error("x-forwarded-for: an entry is not an IP address")]
    Malformed,
}

impl ClientAddressPolicy {
    /// The client's address for a request from `peer` carrying the `x-forwarded-for` header
    /// lines `forwarded_for`, in the order received (`None` for a line that is not text).
    ///
    /// Each proxy appends the address it saw, so the list is read from the right: the first
    /// address that is not a trusted proxy is the client; anything left of it is the client's
    /// own claim and is never believed.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Result<Option<IpAddr>, ClientAddressError> {
        let Some(peer) = peer.map(canonical) else {
            return Ok(None);
        };
        let local = self.local_proxy && peer.is_loopback();
        if !local && !self.is_trusted(peer) {
            return Ok(Some(peer));
        }
        let lines: Vec<Option<&str>> = forwarded_for.into_iter().collect();
        for line in lines.into_iter().rev() {
            let line = line.ok_or(ClientAddressError::Malformed)?;
            for entry in line.rsplit(',') {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                let address = parse(entry).ok_or(ClientAddressError::Malformed)?;
                if !(self.is_trusted(address) || (local && address.is_loopback())) {
                    return Ok(Some(address));
                }
            }
        }
        if local {
            // Nothing forwarded: the visitor is on this host.
            return Ok(Some(peer));
        }
        Err(ClientAddressError::Missing)
    }

    /// Whether `peer` is a proxy whose word about its clients is believed (a listed proxy,
    /// or the local reverse proxy): its `x-forwarded-proto` too.
    pub fn speaks_for_clients(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.is_trusted(peer) || (self.local_proxy && peer.is_loopback())
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|p| canonical(*p) == ip)
    }
}

/// `203.0.113.9`, `2001:db8::1`, or either with a port (`203.0.113.9:5050`, `[2001:db8::1]:443`).
fn parse(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Places held per client network (an IPv4 address, an IPv6 /64: the attempt keys' rule), at
/// most `max` each: so one client of a shared, bounded resource (open watches, the code queue)
/// cannot hold it all.
#[derive(Debug)]
pub struct NetworkShares {
    held: std::collections::HashMap<String, usize>,
    max: usize,
}

impl NetworkShares {
    /// At most `max` places per network.
    pub fn new(max: usize) -> Self {
        Self {
            held: Default::default(),
            max,
        }
    }

    /// The network `ip` counts under.
    pub fn network(ip: IpAddr) -> String {
        crate::store::AttemptKey::Address(ip).stored()
    }

    /// Takes a place for `network`; false when it holds its share.
    pub fn take(&mut self, network: &str) -> bool {
        let held = self.held.entry(network.to_owned()).or_default();
        if *held >= self.max {
            return false;
        }
        *held += 1;
        true
    }

    /// Gives back a place `take` gave `network`.
    pub fn give_back(&mut self, network: &str) {
        if let Some(held) = self.held.get_mut(network) {
            *held -= 1;
            if *held == 0 {
                self.held.remove(network);
            }
        }
    }

    /// Whether no network holds a place.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy() -> ClientAddressPolicy {
        ClientAddressPolicy {
            trusted_proxies: vec![ip("10.0.0.2"), ip("10.0.0.7")],
            local_proxy: false,
        }
    }

    #[test]
    fn with_no_proxies_listed_a_loopback_peer_is_the_local_reverse_proxy() {
        let local = ClientAddressPolicy {
            trusted_proxies: Vec::new(),
            local_proxy: true,
        };
        let client = |peer: &str, lines: &[&str]| {
            local.client(Some(ip(peer)), lines.iter().map(|l| Some(*l)))
        };
        assert_eq!(
            client("127.0.0.1", &["203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
        assert_eq!(
            client("::1", &["1.1.1.1, 203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
        // No header, or only hops on this host: the visitor is on this host.
        assert_eq!(client("127.0.0.1", &[]), Ok(Some(ip("127.0.0.1"))));
        assert_eq!(client("127.0.0.1", &["::1"]), Ok(Some(ip("127.0.0.1"))));
        // A peer elsewhere is never believed.
        assert_eq!(
            client("10.0.0.3", &["203.0.113.9"]),
            Ok(Some(ip("10.0.0.3")))
        );
        assert_eq!(
            client("127.0.0.1", &["garbage"]),
            Err(ClientAddressError::Malformed)
        );
    }

    fn client(peer: &str, lines: &[&str]) -> Result<Option<IpAddr>, ClientAddressError> {
        policy().client(Some(ip(peer)), lines.iter().map(|l| Some(*l)))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client("10.0.0.3", &["203.0.113.9"]),
            Ok(Some(ip("10.0.0.3")))
        );
        assert_eq!(client("10.0.0.3", &["garbage"]), Ok(Some(ip("10.0.0.3"))));
        assert_eq!(client("10.0.0.3", &[]), Ok(Some(ip("10.0.0.3"))));
        assert_eq!(policy().client(None, [Some("203.0.113.9")]), Ok(None));
    }

    #[test]
    fn a_trusted_proxy_speaks_for_its_client() {
        assert_eq!(
            client("10.0.0.2", &["203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
        assert_eq!(
            client("::ffff:10.0.0.2", &["203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
        assert_eq!(
            client("10.0.0.2", &["203.0.113.9:51000"]),
            Ok(Some(ip("203.0.113.9")))
        );
        assert_eq!(
            client("10.0.0.2", &["[2001:db8::5]:443"]),
            Ok(Some(ip("2001:db8::5")))
        );
    }

    #[test]
    fn the_right_most_address_that_is_not_a_trusted_proxy_is_the_client() {
        // The client's own claim (1.1.1.1) is left of what the first proxy saw.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
        // Two hops: a load balancer (10.0.0.7) in front of the portal (10.0.0.2).
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.9, 10.0.0.7"]),
            Ok(Some(ip("203.0.113.9")))
        );
        // The same hops as separate header lines: every line is read, the last one last.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1", "203.0.113.9", "10.0.0.7"]),
            Ok(Some(ip("203.0.113.9")))
        );
        assert_eq!(
            client("10.0.0.2", &["203.0.113.9", "198.51.100.4"]),
            Ok(Some(ip("198.51.100.4")))
        );
        // Garbage left of the client is never read.
        assert_eq!(
            client("10.0.0.2", &["not-an-ip, 203.0.113.9"]),
            Ok(Some(ip("203.0.113.9")))
        );
    }

    #[test]
    fn a_trusted_proxy_that_forwards_no_client_is_an_error() {
        assert_eq!(client("10.0.0.2", &[]), Err(ClientAddressError::Missing));
        assert_eq!(client("10.0.0.2", &[""]), Err(ClientAddressError::Missing));
        assert_eq!(
            client("10.0.0.2", &["10.0.0.7"]),
            Err(ClientAddressError::Missing)
        );
        assert_eq!(
            client("10.0.0.2", &["garbage"]),
            Err(ClientAddressError::Malformed)
        );
        assert_eq!(
            client("10.0.0.2", &["203.0.113.9, garbage"]),
            Err(ClientAddressError::Malformed)
        );
        assert_eq!(
            policy().client(Some(ip("10.0.0.2")), [Some("203.0.113.9"), None]),
            Err(ClientAddressError::Malformed)
        );
    }
}

//! Failed attempts, what they are counted against, and the locks they place.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use crate::{EmployeeId, Username};

use super::Millis;

/// What failed attempts are counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttemptKey {
    /// An account, by employee ID.
    Employee(EmployeeId),
    /// An account, by username.
    Username(Username),
    /// A client address.
    Address(IpAddr),
}

impl AttemptKey {
    /// True for the keys that name an account rather than a client.
    pub fn is_account(&self) -> bool {
        !matches!(self, Self::Address(_))
    }

    /// The key as stored: `employee:77777`, `username:e77777`, `address:10.0.0.1`, and for
    /// IPv6 the client's /64, `address:2001:db8:1:2::/64`: one home or school network gets a
    /// whole /64, so counting single IPv6 addresses would let one attacker pick new ones.
    pub fn stored(&self) -> String {
        match self {
            Self::Employee(id) => format!("employee:{}", id.get()),
            Self::Username(name) => format!("username:{name}"),
            Self::Address(IpAddr::V4(ip)) => format!("address:{ip}"),
            Self::Address(IpAddr::V6(ip)) => {
                let network = Ipv6Addr::from_bits(ip.to_bits() & (u128::MAX << 64));
                format!("address:{network}/64")
            }
        }
    }
}

impl fmt::Display for AttemptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stored())
    }
}

/// When failed attempts lock an account or a client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures on one account within `window` that lock it.
    pub account_failures: u32,
    /// Failures from one client address within `window` that lock it.
    pub address_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a lock lasts.
    pub lock_for: Duration,
    /// Consecutive failures on an account (however spread out) after which it stays locked
    /// until an administrator unlocks it.
    pub account_consecutive_limit: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 50,
            window: Duration::from_secs(15 * 60),
            lock_for: Duration::from_secs(15 * 60),
            account_consecutive_limit: 100,
        }
    }
}

/// A lock placed by [`Store::record_failure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// What is locked.
    pub key: AttemptKey,
    /// Until when; `Millis::MAX` for a lock only an administrator lifts.
    pub until: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(s: &str) -> String {
        AttemptKey::Address(s.parse().unwrap()).stored()
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(address("2001:db8:1:2:aaaa::1"), "address:2001:db8:1:2::/64");
        assert_eq!(
            address("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "address:2001:db8:1:2::/64"
        );
        assert_ne!(address("2001:db8:1:3::1"), address("2001:db8:1:2::1"));
        assert_eq!(address("10.1.2.3"), "address:10.1.2.3");
        assert_ne!(address("10.1.2.3"), address("10.1.2.4"));
    }
}

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
    /// Forgot My Username requests from a client address: a rate of its own, so a school's
    /// busy morning of forgotten usernames never locks the other flows for its address.
    UsernameMail(IpAddr),
    /// Work orders sent from a client address: a rate of its own, like [`Self::UsernameMail`].
    WorkOrder(IpAddr),
    /// Forgot My Password verification codes asked for from a client address: a rate of its
    /// own, over a window of its own ([`LockoutPolicy::code_offer_window`]).
    CodeOffer(IpAddr),
    /// claimd's own wrong-password binds as a directory login (a claimed account's, or a
    /// helpdesk helper's), kept below the directory's lockout threshold: the limit and window
    /// are the directory's for that login ([`crate::LockoutStanding`]), carried with the key
    /// because they differ per login. One key per login, whichever flow binds.
    DirectoryBinds {
        /// The login bound as, lower-cased (directories match login names without case).
        login: String,
        /// Wrong binds within `window` after which claimd binds no more.
        limit: u32,
        /// The window they are counted in (and a reached limit lasts).
        window: Duration,
    },
    /// A helpdesk sign-in, by the login name typed (lower-cased: directories match login
    /// names without case).
    Helper(String),
}

impl AttemptKey {
    /// True for the keys that name an account rather than a client.
    pub fn is_account(&self) -> bool {
        matches!(
            self,
            Self::Employee(_) | Self::Username(_) | Self::Helper(_)
        )
    }

    /// True for the keys a proven secret clears: the account's own, and its wrong binds (a
    /// right password clears the directory's count too).
    pub fn cleared_by_proof(&self) -> bool {
        self.is_account() || matches!(self, Self::DirectoryBinds { .. })
    }

    /// How many counted attempts within the window lock this key.
    pub fn limit(&self, policy: &LockoutPolicy) -> u32 {
        match self {
            Self::Employee(_) | Self::Username(_) | Self::Helper(_) => policy.account_failures,
            Self::Address(_) => policy.address_failures,
            Self::UsernameMail(_) => policy.username_mails_per_address,
            Self::WorkOrder(_) => policy.work_orders_per_address,
            Self::CodeOffer(_) => policy.code_offers_per_address,
            Self::DirectoryBinds { limit, .. } => *limit,
        }
    }

    /// The window this key's attempts are counted in.
    pub fn window(&self, policy: &LockoutPolicy) -> Duration {
        match self {
            Self::CodeOffer(_) => policy.code_offer_window,
            Self::DirectoryBinds { window, .. } => *window,
            _ => policy.window,
        }
    }

    /// How long this key stays locked once its limit is reached: a rate's lock lasts its
    /// window, so "20 an hour" is never more.
    pub fn lock_for(&self, policy: &LockoutPolicy) -> Duration {
        match self {
            Self::CodeOffer(_) => policy.code_offer_window,
            Self::DirectoryBinds { window, .. } => *window,
            _ => policy.lock_for,
        }
    }

    /// The key as stored: `employee:77777`, `username:e77777`, `address:10.0.0.1`, and for
    /// IPv6 the client's /64, `address:2001:db8:1:2::/64`: one home or school network gets a
    /// whole /64, so counting single IPv6 addresses would let one attacker pick new ones.
    pub fn stored(&self) -> String {
        match self {
            Self::Employee(id) => format!("employee:{}", id.get()),
            Self::Username(name) => format!("username:{name}"),
            Self::Address(ip) => format!("address:{}", client_network(*ip)),
            Self::UsernameMail(ip) => format!("username-mail:{}", client_network(*ip)),
            Self::WorkOrder(ip) => format!("work-order:{}", client_network(*ip)),
            Self::CodeOffer(ip) => format!("code-offer:{}", client_network(*ip)),
            Self::DirectoryBinds { login, .. } => format!("directory-binds:{login}"),
            Self::Helper(login) => format!("helper:{login}"),
        }
    }
}

/// An IPv4 address as it is, an IPv6 address as its /64.
fn client_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let network = Ipv6Addr::from_bits(ip.to_bits() & (u128::MAX << 64));
            format!("{network}/64")
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
    /// Consecutive failures on an account (however spread out) after which its plain
    /// attempts stay refused until an administrator unlocks it or a reset with the code
    /// mailed to the personal address succeeds (NIST SP 800-63B 5.2.2).
    pub account_consecutive_limit: u32,
    /// Forgot My Username requests from one client address within `window`.
    pub username_mails_per_address: u32,
    /// Work orders from one client address within `window`.
    pub work_orders_per_address: u32,
    /// Verification codes one client address may ask for within `code_offer_window`.
    pub code_offers_per_address: u32,
    /// The window of `code_offers_per_address`.
    pub code_offer_window: Duration,
    /// An attempt still pending after this is taken to be lost (its process died) and stops
    /// counting: far longer than any request may take.
    pub pending_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 50,
            window: Duration::from_secs(15 * 60),
            lock_for: Duration::from_secs(15 * 60),
            account_consecutive_limit: 100,
            username_mails_per_address: 30,
            work_orders_per_address: 10,
            code_offers_per_address: 20,
            code_offer_window: Duration::from_secs(60 * 60),
            pending_for: Duration::from_secs(5 * 60),
        }
    }
}

/// What [`Store::reserve_attempt`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may be judged; it counts toward every key's limit until it is resolved.
    Granted(AttemptTicket),
    /// A key is locked until then; nothing was counted.
    Locked {
        /// The latest lock among the keys.
        until: Millis,
    },
    /// A key's limit is taken up by attempts still being judged; nothing was counted. Retry
    /// in a moment: if they fail the key locks, if they prove right there is room again.
    Crowded,
}

/// A reserved attempt, resolved by [`Store::fail_attempt`] or [`Store::give_back`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptTicket {
    /// The pending rows, one per key (store-specific ids).
    pub rows: Vec<(AttemptKey, i64)>,
    /// An account key is past the consecutive-failure limit (reserved with a mailed code):
    /// only a proven code may succeed.
    pub past_limit: bool,
}

/// A lock placed by [`Store::fail_attempt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// What is locked.
    pub key: AttemptKey,
    /// Until when; `Millis::MAX` for the consecutive-failure limit, which time never lifts.
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
        let mail = AttemptKey::UsernameMail("2001:db8:1:2::9".parse().unwrap()).stored();
        assert_eq!(mail, "username-mail:2001:db8:1:2::/64");
    }
}

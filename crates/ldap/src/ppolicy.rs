//! OpenLDAP's password policy overlay (ppolicy), as claimd reads it: the policy that applies
//! to a user (its `pwdPolicySubentry`, else `directory.ppolicy_default_dn`, the overlay's
//! default, since a service account cannot read cn=config), its lockout rule (`pwdLockout`,
//! `pwdMaxFailure`, `pwdFailureCountInterval`, `pwdLockoutDuration`) and where the user's
//! count stands (`pwdFailureTime`, `pwdAccountLockedTime`).

use std::time::Duration;

use claimd_core::{DirectoryError, LockoutStanding, PasswordCheck, store::Millis};
use ldap3::{Ldap, Mod, SearchEntry};

use crate::{
    classify::{Step, classify},
    read::{self, all, first},
    settings::DirectorySettings,
    time,
};

/// ppolicy's "failures never expire" (`pwdFailureCountInterval: 0`) as a counting window:
/// longer than any account lives.
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The lockout part of a policy entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// `pwdLockout: TRUE`: ppolicy honours `pwdAccountLockedTime` (and locks after
    /// `pwdMaxFailure`).
    lockout: bool,
    /// 0 unless `pwdLockout: TRUE`.
    threshold: u32,
    /// `None`: failures are never forgotten (until a right password).
    interval: Option<Duration>,
    /// `None`: a lock lasts until an administrator lifts it.
    duration: Option<Duration>,
    /// `pwdMaxAge`: how long a password lasts; `None`, for ever.
    max_age: Option<Duration>,
}

impl Policy {
    /// `pwdMaxAge` in milliseconds; `None`: passwords never expire.
    fn max_age_ms(self) -> Option<Millis> {
        self.max_age.map(time::millis)
    }

    pub(crate) fn standing(self) -> LockoutStanding {
        LockoutStanding {
            threshold: self.threshold,
            count_window: self.interval.unwrap_or(FOREVER),
            failures: 0,
            failures_fall_at: None,
            locked: false,
        }
    }
}

/// The default policy's rule (`directory.ppolicy_default_dn`); none configured: never locks.
pub(crate) async fn default_policy(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
) -> Result<Option<Policy>, DirectoryError> {
    match &settings.ppolicy_default_dn {
        Some(dn) => policy(ldap, settings, dn, "directory.ppolicy_default_dn")
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// The rule that applies to the user at `dn` and where its count stands.
pub(crate) async fn standing(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<LockoutStanding, DirectoryError> {
    let Some((user, rule)) = user_policy(ldap, settings, dn).await? else {
        // No entry: no login to lock (the bind will be wrong).
        return Ok(LockoutStanding::never_locks());
    };
    let now = chrono::Utc::now().timestamp_millis();
    Ok(user_standing(&user, rule, now))
}

/// The user at `dn` (with its lock and count) and the policy that applies to it, when known.
async fn user_policy(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<Option<(SearchEntry, Option<Policy>)>, DirectoryError> {
    let Some(user) = read::entry(
        ldap,
        settings,
        dn,
        &[
            "pwdPolicySubentry",
            "pwdFailureTime",
            "pwdAccountLockedTime",
        ],
    )
    .await?
    else {
        return Ok(None);
    };
    let rule = match first(&user, "pwdPolicySubentry") {
        Some(own) => Some(policy(ldap, settings, own, "the user's pwdPolicySubentry").await?),
        None => default_policy(ldap, settings).await?,
    };
    Ok(Some((user, rule)))
}

/// Removes ppolicy's lock from the entry at `dn`: `pwdAccountLockedTime` deleted, and slapd
/// drops the `pwdFailureTime` count with it (no one may write that one: it is
/// NO-USER-MODIFICATION). No lock: nothing is done.
pub(crate) async fn lift_lock(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<(), DirectoryError> {
    const LOCK: &str = "pwdAccountLockedTime";
    let Some(entry) = read::entry(ldap, settings, dn, &[LOCK]).await? else {
        return Ok(());
    };
    if first(&entry, LOCK).is_none() {
        return Ok(());
    }
    let mods = vec![Mod::Delete(
        LOCK.to_owned(),
        std::collections::HashSet::new(),
    )];
    ldap.with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Entry, e))?;
    tracing::info!(%dn, "directory lockout lifted");
    Ok(())
}

/// Marks the password at `dn` as one its owner must change before anything else
/// (`pwdReset: TRUE`, which an administrator may write): ppolicy then lets the owner's bind
/// do nothing but change it. Written after the password, since an administrator's password
/// write sets or clears it by the policy's `pwdMustChange`. Needs the ppolicy overlay.
pub(crate) async fn require_change(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<(), DirectoryError> {
    let mods = vec![Mod::Replace(
        "pwdReset".to_owned(),
        std::collections::HashSet::from(["TRUE".to_owned()]),
    )];
    ldap.with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Entry, e))?;
    tracing::info!(%dn, "password must be changed at the next logon");
    Ok(())
}

/// The `pwdMaxAge` (in milliseconds) of the default policy (`directory.ppolicy_default_dn`);
/// `None`: passwords never expire.
pub(crate) async fn default_max_age(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
) -> Result<Option<Millis>, DirectoryError> {
    Ok(default_policy(ldap, settings)
        .await?
        .and_then(Policy::max_age_ms))
}

/// The `pwdMaxAge` (in milliseconds; `None`: never expires) of the policy entry at `dn`, or
/// `None` when there is no such entry.
pub(crate) async fn max_age_at(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<Option<Option<Millis>>, DirectoryError> {
    let entry = read::entry(ldap, settings, dn, &["pwdMaxAge"]).await?;
    Ok(entry.map(|e| parse_policy(&e).max_age_ms()))
}

/// What a right password of the user at `dn` still needs, as ppolicy records it: to be
/// changed before anything else (`pwdReset: TRUE`, an administrator set it), or it has
/// expired (`pwdChangedTime` + the policy's `pwdMaxAge` has passed: the bind was a grace
/// login).
pub(crate) async fn password_state(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<PasswordCheck, DirectoryError> {
    let Some(user) = read::entry(
        ldap,
        settings,
        dn,
        &["pwdReset", "pwdChangedTime", "pwdPolicySubentry"],
    )
    .await?
    else {
        return Ok(PasswordCheck::Right);
    };
    if first(&user, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")) {
        return Ok(PasswordCheck::MustChange);
    }
    let rule = match first(&user, "pwdPolicySubentry") {
        Some(own) => Some(policy(ldap, settings, own, "the user's pwdPolicySubentry").await?),
        None => default_policy(ldap, settings).await?,
    };
    let expires = rule
        .and_then(Policy::max_age_ms)
        .zip(first(&user, "pwdChangedTime").and_then(time::generalized))
        .map(|(age, changed)| changed.saturating_add(age));
    Ok(match expires {
        Some(at) if at <= chrono::Utc::now().timestamp_millis() => PasswordCheck::Expired,
        _ => PasswordCheck::Right,
    })
}

/// ppolicy's "locked until an administrator unlocks it".
pub(crate) const LOCKED_FOR_GOOD: &str = "000001010000Z";

/// Locks the entry at `dn` until an administrator lifts it (a leaver). True when the lock
/// is known to hold the login: the policy that applies has `pwdLockout: TRUE` (ppolicy
/// honours the lock only then). The lock is written whenever the overlay is there, known or
/// not; a directory without the overlay (the attribute unknown to it) is left as it is.
pub(crate) async fn lock_for_good(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<bool, DirectoryError> {
    /// LDAP result code for an attribute type the server does not know.
    const UNDEFINED_ATTRIBUTE_TYPE: u32 = 17;
    let holds = user_policy(ldap, settings, dn)
        .await?
        .and_then(|(_, rule)| rule)
        .is_some_and(|rule| rule.lockout);
    let mods = vec![Mod::Replace(
        "pwdAccountLockedTime".to_owned(),
        std::collections::HashSet::from([LOCKED_FOR_GOOD.to_owned()]),
    )];
    match ldap
        .with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
    {
        Ok(_) => Ok(holds),
        Err(ldap3::LdapError::LdapResult { result }) if result.rc == UNDEFINED_ATTRIBUTE_TYPE => {
            Ok(false)
        }
        Err(e) => Err(classify(Step::Entry, e)),
    }
}

async fn policy(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    named_by: &str,
) -> Result<Policy, DirectoryError> {
    let entry = read::entry(
        ldap,
        settings,
        dn,
        &[
            "pwdLockout",
            "pwdMaxFailure",
            "pwdFailureCountInterval",
            "pwdLockoutDuration",
            "pwdMaxAge",
        ],
    )
    .await?
    .ok_or_else(|| DirectoryError::Transient {
        reason: format!("{named_by} names a password policy that claimd cannot read: {dn:?}"),
    })?;
    Ok(parse_policy(&entry))
}

fn parse_policy(entry: &SearchEntry) -> Policy {
    let number = |attr: &str| first(entry, attr).and_then(|v| v.parse::<u64>().ok());
    let lockout = first(entry, "pwdLockout").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    let seconds = |attr: &str| number(attr).filter(|&s| s > 0).map(Duration::from_secs);
    Policy {
        lockout,
        threshold: if lockout {
            number("pwdMaxFailure")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        } else {
            0
        },
        interval: seconds("pwdFailureCountInterval"),
        max_age: seconds("pwdMaxAge"),
        // ppolicy's default duration is 300 s; 0 means until an administrator.
        duration: match number("pwdLockoutDuration") {
            None => Some(Duration::from_secs(300)),
            Some(0) => None,
            Some(s) => Some(Duration::from_secs(s)),
        },
    }
}

fn user_standing(user: &SearchEntry, rule: Option<Policy>, now: Millis) -> LockoutStanding {
    let mut standing = rule.map_or_else(LockoutStanding::never_locks, Policy::standing);
    let window = rule
        .and_then(|r| r.interval)
        .map(|i| i64::try_from(i.as_millis()).unwrap_or(i64::MAX));
    let counted: Vec<Millis> = all(user, "pwdFailureTime")
        .iter()
        .filter_map(|t| time::generalized(t))
        .filter(|&at| window.is_none_or(|w| at.saturating_add(w) > now))
        .collect();
    standing.failures = u32::try_from(counted.len()).unwrap_or(u32::MAX);
    standing.failures_fall_at =
        window.and_then(|w| counted.iter().min().map(|&t| t.saturating_add(w)));
    standing.locked = first(user, "pwdAccountLockedTime").is_some_and(|locked| {
        // `000001010000Z` (an administrator's lock) and any time claimd cannot read lock
        // for good.
        match (time::generalized(locked), rule.and_then(|r| r.duration)) {
            (Some(at), Some(d)) => {
                at.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)) > now
            }
            _ => true,
        }
    });
    standing
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "uid=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn a_policy_locks_only_with_pwd_lockout() {
        let on = parse_policy(&entry(&[
            ("pwdLockout", &["TRUE"]),
            ("pwdMaxFailure", &["3"]),
            ("pwdFailureCountInterval", &["600"]),
        ]));
        assert_eq!(on.threshold, 3);
        assert_eq!(on.standing().count_window, Duration::from_secs(600));
        assert_eq!(on.duration, Some(Duration::from_secs(300)));
        let off = parse_policy(&entry(&[("pwdMaxFailure", &["3"])]));
        assert_eq!(off.threshold, 0);
        let forever = parse_policy(&entry(&[
            ("pwdLockout", &["TRUE"]),
            ("pwdMaxFailure", &["3"]),
            ("pwdLockoutDuration", &["0"]),
        ]));
        assert_eq!(forever.standing().count_window, FOREVER);
        assert_eq!(forever.duration, None);
    }

    #[test]
    fn failures_count_within_the_interval_and_locks_last_their_duration() {
        let policy = Policy {
            lockout: true,
            threshold: 3,
            interval: Some(Duration::from_secs(600)),
            duration: Some(Duration::from_secs(300)),
            max_age: None,
        };
        // 2026-12-03 18:30:00Z and ten and two minutes before.
        let now = 1_796_322_600_000;
        let user = entry(&[("pwdFailureTime", &["20261203182000Z", "20261203182800.5Z"])]);
        let s = user_standing(&user, Some(policy), now);
        assert_eq!(s.failures, 1, "the one ten minutes old has passed");
        assert_eq!(s.failures_fall_at, Some(now - 120_000 + 500 + 600_000));
        let locked = entry(&[("pwdAccountLockedTime", &["20261203182800Z"])]);
        assert!(user_standing(&locked, Some(policy), now).locked);
        let lifted = entry(&[("pwdAccountLockedTime", &["20261203182000Z"])]);
        assert!(!user_standing(&lifted, Some(policy), now).locked);
        let by_admin = entry(&[("pwdAccountLockedTime", &["000001010000Z"])]);
        assert!(user_standing(&by_admin, Some(policy), now).locked);
        assert!(user_standing(&by_admin, None, now).locked);
    }
}

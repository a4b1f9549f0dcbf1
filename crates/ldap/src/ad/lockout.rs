//! AD's lockout rule for a user and where its count stands: the fine-grained policy that
//! applies to it (`msDS-ResultantPSO`) or the domain's (`lockoutThreshold`,
//! `lockOutObservationWindow`, `lockoutDuration` on the domain object), and the user's own
//! `badPwdCount` and `badPasswordTime` (AD forgets the count once a window has passed since
//! the last wrong password) and lock (`msDS-User-Account-Control-Computed`'s UF_LOCKOUT,
//! which accounts for the lockout duration; else `lockoutTime`).

use std::time::Duration;

use claimd_core::{Account, DirectoryError, LockoutStanding, store::Millis};
use ldap3::{Ldap, Scope, SearchEntry};

use super::lookup::{guid_filter, upn};
use crate::{
    classify::{Step, classify},
    escape::equality_filter,
    read::{self, first},
    settings::DirectorySettings,
    time,
};

/// What a user's standing is read from: the count, the lock, the policy that applies.
const STANDING_ATTRS: [&str; 5] = [
    "badPwdCount",
    "badPasswordTime",
    "lockoutTime",
    "msDS-ResultantPSO",
    "msDS-User-Account-Control-Computed",
];

/// msDS-User-Account-Control-Computed: the account is locked out now.
const UF_LOCKOUT: u32 = 0x10;

/// A lockout rule: the domain's or a fine-grained policy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    threshold: u32,
    window: Duration,
    /// `None`: a lock lasts until an administrator lifts it.
    duration: Option<Duration>,
}

impl Rule {
    /// The rule with no count against it.
    pub(crate) fn standing(self) -> LockoutStanding {
        LockoutStanding {
            threshold: self.threshold,
            // Each wrong password within a window of the last one adds one, however long
            // the chain: (threshold − 1) windows hold any chain claimd's own binds could make.
            count_window: self.window * self.threshold.saturating_sub(1).max(1),
            failures: 0,
            failures_fall_at: None,
            locked: false,
        }
    }
}

/// The domain's rule.
pub(crate) async fn domain_rule(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
) -> Result<Rule, DirectoryError> {
    let domain = read::naming_context(ldap, settings).await?;
    let attrs = [
        "lockoutThreshold",
        "lockOutObservationWindow",
        "lockoutDuration",
    ];
    let entry = read::entry(ldap, settings, &domain, &attrs)
        .await?
        .ok_or_else(|| unreadable("the domain object"))?;
    rule(&entry, attrs)
}

/// The rule that applies to `account`'s object and where its count stands. Every object
/// the check could bind as counts (the claimed one, and the ones its username names): the
/// most restrictive wins.
pub(crate) async fn standing(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
    entry: Option<&str>,
) -> Result<LockoutStanding, DirectoryError> {
    let username = &account.username;
    let mut alternatives = vec![
        equality_filter("sAMAccountName", username.as_str()),
        equality_filter("userPrincipalName", &upn(settings, username)),
    ];
    alternatives.extend(entry.and_then(guid_filter));
    let filter = format!("(&(objectClass=user)(|{}))", alternatives.concat());
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(
            &settings.users_base_dn,
            Scope::Subtree,
            &filter,
            STANDING_ATTRS.to_vec(),
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let domain = domain_rule(ldap, settings).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut worst = domain.standing();
    for user in entries.into_iter().map(SearchEntry::construct) {
        let rule = match first(&user, "msDS-ResultantPSO") {
            Some(pso) => pso_rule(ldap, settings, pso).await?,
            None => domain,
        };
        worst = restrictive(worst, user_standing(&user, rule, now));
    }
    Ok(worst)
}

/// The rule that applies to the object at `dn` (a helper, who may not be claimed) and where
/// its count stands; no object: nothing to lock.
pub(crate) async fn standing_of_dn(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<LockoutStanding, DirectoryError> {
    let Some(user) = read::entry(ldap, settings, dn, &STANDING_ATTRS).await? else {
        return Ok(LockoutStanding::never_locks());
    };
    let rule = match first(&user, "msDS-ResultantPSO") {
        Some(pso) => pso_rule(ldap, settings, pso).await?,
        None => domain_rule(ldap, settings).await?,
    };
    let now = chrono::Utc::now().timestamp_millis();
    Ok(user_standing(&user, rule, now))
}

/// A fine-grained policy's rule. One claimd's service account cannot read is an error that
/// says so: guessing the domain's rule could lock the login.
async fn pso_rule(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<Rule, DirectoryError> {
    let attrs = [
        "msDS-LockoutThreshold",
        "msDS-LockoutObservationWindow",
        "msDS-LockoutDuration",
    ];
    let entry = read::entry(ldap, settings, dn, &attrs)
        .await?
        .ok_or_else(|| unreadable("a fine-grained password policy (msDS-ResultantPSO)"))?;
    rule(&entry, attrs)
}

fn rule(
    entry: &SearchEntry,
    [threshold, window, duration]: [&str; 3],
) -> Result<Rule, DirectoryError> {
    let threshold = first(entry, threshold)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| unreadable(threshold))?;
    Ok(Rule {
        threshold,
        // AD requires a window when it locks; a missing one is taken as the longest
        // AD's tools set by default.
        window: first(entry, window)
            .and_then(time::interval)
            .unwrap_or(Duration::from_secs(30 * 60)),
        duration: first(entry, duration).and_then(time::interval),
    })
}

fn user_standing(user: &SearchEntry, rule: Rule, now: Millis) -> LockoutStanding {
    let mut standing = rule.standing();
    let last_bad = first(user, "badPasswordTime").and_then(time::filetime);
    let window = i64::try_from(rule.window.as_millis()).unwrap_or(i64::MAX);
    if let Some(last) = last_bad
        && last.saturating_add(window) > now
    {
        standing.failures = first(user, "badPwdCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        standing.failures_fall_at = Some(last.saturating_add(window));
    }
    standing.locked = match first(user, "msDS-User-Account-Control-Computed")
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(computed) => computed & UF_LOCKOUT != 0,
        None => first(user, "lockoutTime")
            .and_then(time::filetime)
            .is_some_and(|at| {
                rule.duration.is_none_or(|d| {
                    at.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)) > now
                })
            }),
    };
    standing
}

/// The stricter of two standings: a lock anywhere, the lowest threshold, the most failures.
pub(crate) fn restrictive(a: LockoutStanding, b: LockoutStanding) -> LockoutStanding {
    let (threshold, count_window) = match (a.threshold, b.threshold) {
        (0, _) => (b.threshold, b.count_window),
        (_, 0) => (a.threshold, a.count_window),
        (x, y) if x <= y => (x, a.count_window.max(b.count_window)),
        _ => (b.threshold, a.count_window.max(b.count_window)),
    };
    LockoutStanding {
        threshold,
        count_window,
        failures: a.failures.max(b.failures),
        failures_fall_at: a.failures_fall_at.max(b.failures_fall_at),
        locked: a.locked || b.locked,
    }
}

fn unreadable(what: &str) -> DirectoryError {
    DirectoryError::Transient {
        reason: format!(
            "claimd's service account cannot read {what}: it needs read access to the \
             lockout policy so that its password checks never lock a login"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn user(attrs: &[(&str, &str)]) -> SearchEntry {
        SearchEntry {
            dn: "CN=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    const RULE: Rule = Rule {
        threshold: 3,
        window: Duration::from_secs(30 * 60),
        duration: Some(Duration::from_secs(30 * 60)),
    };

    /// FILETIME ticks for a unix millisecond.
    fn ticks(ms: i64) -> String {
        ((ms + 11_644_473_600_000) * 10_000).to_string()
    }

    #[test]
    fn the_count_is_forgotten_a_window_after_the_last_wrong_password() {
        let now = 100_000_000;
        let recent = user(&[
            ("badPwdCount", "2"),
            ("badPasswordTime", &ticks(now - 60_000)),
        ]);
        let s = user_standing(&recent, RULE, now);
        assert_eq!((s.failures, s.locked), (2, false));
        assert_eq!(s.failures_fall_at, Some(now - 60_000 + 30 * 60_000));
        assert_eq!(s.count_window, Duration::from_secs(60 * 60));
        let old = user(&[
            ("badPwdCount", "2"),
            ("badPasswordTime", &ticks(now - 31 * 60_000)),
        ]);
        assert_eq!(user_standing(&old, RULE, now).failures, 0);
    }

    #[test]
    fn a_lock_is_read_from_the_computed_flags_or_the_lockout_time() {
        let now = 100_000_000;
        let computed = user(&[("msDS-User-Account-Control-Computed", "16")]);
        assert!(user_standing(&computed, RULE, now).locked);
        let lifted = user(&[
            ("msDS-User-Account-Control-Computed", "0"),
            ("lockoutTime", &ticks(now)),
        ]);
        assert!(!user_standing(&lifted, RULE, now).locked);
        let timed = user(&[("lockoutTime", &ticks(now - 60_000))]);
        assert!(user_standing(&timed, RULE, now).locked);
        let expired = user(&[("lockoutTime", &ticks(now - 31 * 60_000))]);
        assert!(!user_standing(&expired, RULE, now).locked);
        assert!(!user_standing(&user(&[("lockoutTime", "0")]), RULE, now).locked);
    }

    #[test]
    fn the_stricter_rule_wins() {
        let off = Rule {
            threshold: 0,
            ..RULE
        }
        .standing();
        let strict = Rule {
            threshold: 2,
            ..RULE
        }
        .standing();
        assert_eq!(restrictive(off.clone(), strict.clone()).threshold, 2);
        assert_eq!(restrictive(strict.clone(), off).threshold, 2);
        assert_eq!(restrictive(RULE.standing(), strict).threshold, 2);
    }
}

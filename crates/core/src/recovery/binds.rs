//! A current password checked by a bind, and the rule that claimd never locks a domain login
//! (DESIGN.md, "The directory"). Before it binds as an account, claimd reads the directory's
//! lockout rule for it and where its count of wrong passwords stands (every source counts: a
//! workstation, the Wi-Fi, claimd), and refuses with `LockedOut` and a retry time rather than
//! make the wrong password that would lock the login. Its own wrong binds are also counted in
//! the store, under the directory's threshold for the account and over a window that covers
//! the directory's way of counting, so replicas and simultaneous requests cannot add up to a
//! lock between them either.
//!
//! Names claimd does not manage (and privileged accounts, which are never bound as) are
//! counted the same way under the domain's default rule, so a refusal tells nothing about
//! which names are claimd's.

use std::time::Duration;

use secrecy::SecretString;
use tracing::warn;

use super::{RESPONSE_FLOOR, Target};
use crate::{
    Accounts, DirectoryError, Error, LockoutStanding, PasswordCheck,
    attempts::Subject,
    store::{AuditOutcome, now_millis},
};

impl Accounts {
    /// Whether `password` is the target's current password. Only the directory knows, and it
    /// is asked only about accounts claimd manages: any other name (a service account, a
    /// person who never claimed, a leaver) is wrong without a bind, so an anonymous caller can
    /// never drive the directory's bad-password counters. Both paths end on the same timer
    /// tick, at least twice a typical bind (and the response floor) after they began, and give
    /// the same reply while the directory is down, so neither time nor code tells whether a
    /// bind happened.
    /// A privileged account is never bound as (a guess at a Domain Admin's password through
    /// claimd would count against it): it is wrong without a bind.
    pub(super) async fn password_is_right<'a>(
        &'a self,
        mut target: Target<'a>,
        password: &SecretString,
    ) -> Result<(Target<'a>, PasswordCheck), Error> {
        let ends = tokio::time::Instant::now() + (self.bind_time.typical() * 2).max(RESPONSE_FLOOR);
        let started = std::time::Instant::now();
        let checked = self.bind_within_lockout(&mut target, password).await;
        if target.claimed.is_some() {
            // Only the managed names' checks ask the directory about the account: the
            // typical time the others are padded to is theirs.
            let reached = !matches!(checked, Err(Refusal::Directory(_)));
            self.bind_time.record(started.elapsed(), reached);
        }
        tokio::time::sleep_until(ends).await;
        let refused = match checked {
            Ok(check) => return Ok((target, check)),
            Err(Refusal::Directory(e)) => {
                warn!(error = %e, "the directory could not check a password");
                Error::DirectoryUnavailable
            }
            Err(Refusal::Error(e)) => e,
        };
        if refused == Error::DirectoryLocked {
            // Seen, not caused: the directory locked the login (wrong passwords elsewhere).
            metrics::counter!("claimd_directory_lockouts_seen_total").increment(1);
            let event = target.audit.event(
                AuditOutcome::Locked,
                Some("the directory has locked the login".into()),
            );
            self.store.record_audit(event).await?;
        }
        target.attempt.not_judged().await?;
        if let Some(bind) = target.bind.take() {
            bind.not_judged().await?;
        }
        Err(refused)
    }

    /// The directory's standing for the target, the bind reserved under it, then the bind
    /// (for a claimed, unprivileged account).
    async fn bind_within_lockout<'a>(
        &'a self,
        target: &mut Target<'a>,
        password: &SecretString,
    ) -> Result<PasswordCheck, Refusal> {
        let standing = match &target.claimed {
            Some(claimed) => {
                if self
                    .directory
                    .is_protected(&claimed.account, claimed.entry.as_deref())
                    .await?
                {
                    target.privileged = true;
                    self.directory.default_lockout().await?
                } else {
                    self.directory
                        .lockout_standing(&claimed.account, claimed.entry.as_deref())
                        .await?
                }
            }
            // While the directory is unreachable, a managed name gets UNAVAILABLE: so does
            // every other name, or the outage would tell which names claimd manages.
            None if self.bind_time.directory_down() => {
                return Err(Refusal::Directory(DirectoryError::Transient {
                    reason: "the directory was unreachable at the last check".into(),
                }));
            }
            None => self.directory.default_lockout().await?,
        };
        let binds = target.claimed.is_some() && !target.privileged;
        if standing.locked && binds {
            warn!(
                "{} refused: the directory has locked the login",
                target.audit.action
            );
            return Err(Refusal::Error(Error::DirectoryLocked));
        }
        if let Some(limit) = bind_limit(&standing) {
            if let Some(wait) = wait_before_bind(&standing, now_millis()) {
                warn!(
                    failures = standing.failures,
                    threshold = standing.threshold,
                    "{} refused: one more wrong password would lock the login",
                    target.audit.action
                );
                return Err(Refusal::Error(Error::LockedOut { retry_after: wait }));
            }
            let subject = Subject::DirectoryBinds {
                login: target.username.to_string(),
                limit,
                window: standing.count_window,
            };
            target.bind = Some(self.reserve(&subject, &target.audit).await?);
        }
        if !binds {
            return Ok(PasswordCheck::Wrong);
        }
        let check = self
            .directory
            .verify_password(&target.username, password)
            .await?;
        if check == PasswordCheck::Locked {
            warn!(
                "{} refused: the directory has locked the login",
                target.audit.action
            );
            return Err(Refusal::Error(Error::DirectoryLocked));
        }
        Ok(check)
    }
}

/// Why a password was not judged.
enum Refusal {
    /// The directory could not be asked.
    Directory(DirectoryError),
    /// A refusal of the request itself (locked, the limit reached).
    Error(Error),
}

impl From<DirectoryError> for Refusal {
    fn from(e: DirectoryError) -> Self {
        Self::Directory(e)
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::Error(e)
    }
}

/// How many wrong binds claimd may make for an account within its window: one fewer than
/// the directory's threshold, so its own wrong binds alone never reach it. `None` when the
/// directory never locks.
pub(crate) fn bind_limit(standing: &LockoutStanding) -> Option<u32> {
    (standing.threshold > 0).then(|| standing.threshold - 1)
}

/// How long to wait before one more wrong password could not lock the login, counting the
/// directory's own failures from every source; `None` when it may bind now.
pub(crate) fn wait_before_bind(
    standing: &LockoutStanding,
    now: crate::store::Millis,
) -> Option<Duration> {
    if standing.threshold == 0 || standing.failures + 1 < standing.threshold {
        return None;
    }
    let wait = standing
        .failures_fall_at
        .map_or(standing.count_window, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
        });
    Some(wait.max(Duration::from_secs(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(threshold: u32, failures: u32) -> LockoutStanding {
        LockoutStanding {
            threshold,
            count_window: Duration::from_secs(60),
            failures,
            failures_fall_at: Some(10_000),
            locked: false,
        }
    }

    #[test]
    fn the_wrong_password_that_would_lock_is_never_tried() {
        assert_eq!(bind_limit(&standing(3, 0)), Some(2));
        assert_eq!(bind_limit(&standing(1, 0)), Some(0));
        assert_eq!(bind_limit(&LockoutStanding::never_locks()), None);
        assert_eq!(wait_before_bind(&standing(3, 1), 0), None);
        assert_eq!(
            wait_before_bind(&standing(3, 2), 4_000),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            wait_before_bind(&standing(1, 0), 9_900),
            Some(Duration::from_secs(1))
        );
        assert_eq!(wait_before_bind(&LockoutStanding::never_locks(), 0), None);
    }
}

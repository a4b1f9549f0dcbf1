//! Password expiry reminders: which mail, if any, a password is due at a scan, and what one
//! scan's page of the directory turns into. The rule (DESIGN.md, "The everyday account"):
//! for each claimed, active account whose password expires within the nearest threshold of
//! `reminders.days_before`, one mail to the district address, exactly once per threshold per
//! password, whichever replica scans and however often. "Per password" is the time the
//! password was set, so a new password starts its own reminders and a policy change that
//! moves an expiry does not mail the same threshold twice.
//!
//! The directory reads the expiries ([`ExpiryReader`], a page at a time so a scan's memory
//! stays flat however large the district); the store keeps one durable row per
//! (username, password set at, threshold), written with the mail and its audit row in one
//! transaction, which is what makes "exactly once" hold across replicas and restarts.

use std::time::Duration;

use async_trait::async_trait;

use crate::{
    Account, DirectoryError, MailWriter, Username,
    store::{
        AuditAction, AuditEvent, AuditOutcome, Millis, NewReminder, ReminderStore, StoreError,
    },
};

const DAY_MS: i64 = 86_400_000;

/// One account's password as the directory reports it, for a reminder scan. Only accounts
/// whose password expires are reported: AD `DONT_EXPIRE_PASSWORD`, a policy with no
/// `pwdMaxAge`, a disabled account or one that must change its password anyway are left out
/// by the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordExpiry {
    /// The login name (AD `sAMAccountName`, OpenLDAP `uid`).
    pub username: Username,
    /// When the password was set (AD `pwdLastSet`, ppolicy `pwdChangedTime`).
    pub set_at: Millis,
    /// When it expires (AD `msDS-UserPasswordExpiryTimeComputed`, ppolicy `pwdChangedTime` +
    /// the policy's `pwdMaxAge`).
    pub expires_at: Millis,
}

/// Reads every expiring password under the users' base, in pages.
#[async_trait]
pub trait ExpiryReader: Send + Sync + std::fmt::Debug {
    /// Sends the expiring passwords to `pages` a page at a time, as the directory returns
    /// them (a paged search), and returns how many entries it read. A closed receiver ends
    /// the read early without an error.
    async fn read_expiries(
        &self,
        pages: tokio::sync::mpsc::Sender<Vec<PasswordExpiry>>,
    ) -> Result<u64, DirectoryError>;
}

/// `reminders.days_before`: the thresholds, in days before the expiry, each mailed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReminderPolicy {
    /// Ascending, without repeats; empty: no reminders.
    days_before: Vec<u32>,
}

impl ReminderPolicy {
    /// The thresholds in any order; repeats are dropped. Each must be at least one day
    /// (checked by the settings, which name the key).
    pub fn new(days_before: &[u32]) -> Self {
        let mut days_before = days_before.to_vec();
        days_before.sort_unstable();
        days_before.dedup();
        Self { days_before }
    }

    /// False when no threshold is set: the district sends no reminders.
    pub fn is_on(&self) -> bool {
        !self.days_before.is_empty()
    }

    /// The threshold a password expiring at `expires_at` is due for at `now`, with the whole
    /// days left (rounded up): the nearest threshold it is within, so a password first seen
    /// five days before expiry gets the 7-day mail and not a late 14-day one. The threshold
    /// is judged `lookahead` on (the next scan): a password a few minutes short of its 7-day
    /// mark gets the 7-day mail now, not a 14-day one and another at the next scan. `None`
    /// when it has expired already (the person finds out at the next login, and the change
    /// page takes an expired password) or is not within any threshold yet.
    pub fn due(&self, expires_at: Millis, now: Millis, lookahead: Duration) -> Option<Due> {
        let days = |at: Millis| {
            let left = expires_at.checked_sub(at).filter(|&ms| ms > 0)?;
            // `left` is positive: rounding up is (left + DAY - 1) / DAY (i64 has no div_ceil).
            Some(u32::try_from((left + (DAY_MS - 1)) / DAY_MS).unwrap_or(u32::MAX))
        };
        let days_left = days(now)?;
        let ahead = i64::try_from(lookahead.as_millis()).unwrap_or(i64::MAX);
        // By the next scan: the nearer threshold, if the expiry reaches it by then.
        let judged = days(now.saturating_add(ahead)).unwrap_or(0).min(days_left);
        let threshold = self.days_before.iter().copied().find(|&t| judged <= t)?;
        Some(Due {
            threshold,
            days_left,
        })
    }
}

/// A reminder a password is due for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// The threshold it is mailed for (each once per password).
    pub threshold: u32,
    /// Whole days until the expiry, rounded up (what the mail says).
    pub days_left: u32,
}

/// What became of one page of a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageTally {
    /// Reminders queued now.
    pub sent: u64,
    /// Due, but this threshold was mailed for this password already (by this replica or
    /// another, before a restart or now).
    pub already_sent: u64,
    /// Due, but no active claim has the username: an unclaimed entry, a leaver, an account
    /// claimd does not manage.
    pub not_claimed: u64,
}

impl PageTally {
    /// Adds another page's figures.
    pub fn add(&mut self, other: Self) {
        self.sent += other.sent;
        self.already_sent += other.already_sent;
        self.not_claimed += other.not_claimed;
    }
}

/// Turns pages of expiries into reminders: the policy in core, the once-only record in the
/// store.
#[derive(Debug)]
pub struct Reminders {
    policy: ReminderPolicy,
    store: std::sync::Arc<dyn ReminderStore>,
    mail: std::sync::Arc<MailWriter>,
    /// The change page the mail points to (`portal.public_url` + `/change-password`), or a
    /// sentence when the district has not set its portal's address.
    change_page: String,
    /// How far ahead a threshold is judged: the time to the next scan.
    lookahead: Duration,
}

impl Reminders {
    /// Reminders by `policy`, recorded in `store`, pointing to `change_page`, scanned every
    /// `lookahead`.
    pub fn new(
        policy: ReminderPolicy,
        store: std::sync::Arc<dyn ReminderStore>,
        mail: std::sync::Arc<MailWriter>,
        change_page: String,
        lookahead: Duration,
    ) -> Self {
        Self {
            policy,
            store,
            mail,
            change_page,
            lookahead,
        }
    }

    /// Forgets the records of reminders sent more than [`Self::RECORD_KEPT`] ago: by then
    /// the password has expired or been changed (a new one has its own records), unless the
    /// district lengthened its maximum age by more than a year meanwhile.
    pub async fn forget_old(&self, now: Millis) -> Result<(), StoreError> {
        let kept = i64::try_from(Self::RECORD_KEPT.as_millis()).unwrap_or(i64::MAX);
        self.store.forget_reminders(now.saturating_sub(kept)).await
    }

    /// Queues the reminders one page is due for: one read for the page's claimed accounts,
    /// one transaction for its mails (each written only if its record is new).
    pub async fn handle_page(
        &self,
        page: &[PasswordExpiry],
        now: Millis,
    ) -> Result<PageTally, StoreError> {
        let mut tally = PageTally::default();
        let due: Vec<(&PasswordExpiry, Due)> = page
            .iter()
            .filter_map(|e| {
                let due = self.policy.due(e.expires_at, now, self.lookahead);
                due.map(|d| (e, d))
            })
            .collect();
        if due.is_empty() {
            return Ok(tally);
        }
        let usernames: Vec<Username> = due.iter().map(|(e, _)| e.username.clone()).collect();
        let accounts = self.store.reminder_accounts(&usernames).await?;
        let mut reminders = Vec::with_capacity(accounts.len());
        for (expiry, due) in due {
            let Some(account) = accounts.iter().find(|a| a.username == expiry.username) else {
                tally.not_claimed += 1;
                continue;
            };
            reminders.push(self.reminder(account, expiry, due, now));
        }
        for queued in self.store.record_reminders(&reminders, now).await? {
            match queued {
                Reminded::Sent => tally.sent += 1,
                Reminded::AlreadySent => tally.already_sent += 1,
                Reminded::NotClaimed => tally.not_claimed += 1,
            }
        }
        Ok(tally)
    }

    fn reminder(
        &self,
        account: &Account,
        expiry: &PasswordExpiry,
        due: Due,
        now: Millis,
    ) -> NewReminder {
        NewReminder {
            username: account.username.clone(),
            password_set_at: expiry.set_at,
            threshold_days: due.threshold,
            expires_at: expiry.expires_at,
            mail: self.mail.expiry_reminder(
                account,
                due.days_left,
                expiry.expires_at,
                &self.change_page,
            ),
            audit: AuditEvent {
                at: now,
                action: AuditAction::ExpiryReminder,
                employee_id: Some(account.employee_id),
                username: Some(account.username.clone()),
                client: None,
                actor: None,
                outcome: AuditOutcome::Mailed,
                reason: Some(format!(
                    "the password expires in {} day(s) (the {}-day reminder)",
                    due.days_left, due.threshold
                )),
            },
        }
    }

    /// Records a scan's end in the audit log: what it read, sent and skipped (IT's answer
    /// to "why did this person get no reminder"), or why it stopped. A failure to record
    /// is logged and changes nothing: the reminders themselves are already in the store.
    pub async fn record_scan(&self, outcome: Result<(u64, PageTally), String>, now: Millis) {
        let (outcome, reason) = match outcome {
            Ok((entries, t)) => (
                AuditOutcome::Done,
                format!(
                    "read {entries} directory entries: {} reminder(s) sent; skipped {} already \
                     sent and {} not claimed",
                    t.sent, t.already_sent, t.not_claimed
                ),
            ),
            Err(why) => (AuditOutcome::Failed, why),
        };
        let event = AuditEvent {
            at: now,
            action: AuditAction::ExpiryReminderScan,
            employee_id: None,
            username: None,
            client: None,
            actor: None,
            outcome,
            reason: Some(reason),
        };
        if let Err(e) = self.store.record_audit(event).await {
            tracing::warn!(error = %e, "could not record the reminder scan in the audit log");
        }
    }

    /// How long a reminder's record is kept after it was sent. Kept by when it was sent,
    /// not by the expiry it was sent for: a maximum age lengthened after the mail moves the
    /// expiry, and the same threshold must not be mailed again for the same password.
    pub const RECORD_KEPT: Duration = Duration::from_secs(400 * 86_400);
}

/// What the store did with one reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminded {
    /// Its record was new: the mail and audit row were queued with it.
    Sent,
    /// Its record existed: nothing was written.
    AlreadySent,
    /// The claim ended between the read and the write: nothing was written.
    NotClaimed,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn days(n: i64) -> Millis {
        n * DAY_MS
    }

    #[test]
    fn the_nearest_threshold_the_expiry_is_within_is_due() {
        let policy = ReminderPolicy::new(&[1, 14, 7, 7]);
        let due = |left: Millis| {
            policy
                .due(NOW + left, NOW, Duration::ZERO)
                .map(|d| (d.threshold, d.days_left))
        };
        assert_eq!(due(days(30)), None, "not within any threshold yet");
        assert_eq!(due(days(14)), Some((14, 14)));
        assert_eq!(due(days(10)), Some((14, 10)));
        assert_eq!(
            due(days(7) + 1),
            Some((14, 8)),
            "a part day counts as a day"
        );
        assert_eq!(
            due(days(5)),
            Some((7, 5)),
            "a late first look skips to the nearer mail"
        );
        assert_eq!(due(days(1)), Some((1, 1)));
        assert_eq!(due(60_000), Some((1, 1)));
        assert_eq!(due(0), None, "expired now");
        assert_eq!(due(-days(2)), None, "expired before");
    }

    #[test]
    fn no_threshold_means_no_reminders() {
        let policy = ReminderPolicy::new(&[]);
        assert!(!policy.is_on());
        assert_eq!(policy.due(NOW + days(1), NOW, Duration::ZERO), None);
    }

    #[test]
    fn a_threshold_the_next_scan_reaches_is_sent_now_and_alone() {
        let policy = ReminderPolicy::new(&[14, 7, 1]);
        let hour = Duration::from_secs(3600);
        let due = |left: Millis| policy.due(NOW + left, NOW, hour).map(|d| d.threshold);
        // Five minutes short of the 7-day mark: the 7-day mail now, not a 14-day one first.
        assert_eq!(due(days(7) + 300_000), Some(7));
        // Fourteen days and a half hour: within 14 by the next scan, so the 14-day mail.
        assert_eq!(due(days(14) + 1_800_000), Some(14));
        // Fourteen days and two hours: not yet; the next scan sends it.
        assert_eq!(due(days(14) + 7_200_000), None);
        assert_eq!(due(days(10)), Some(14));
        assert_eq!(due(-1), None);
    }
}

//! The store's part in expiry reminders: which usernames of a scanned page are claimed, and
//! the once-only record each reminder is queued with.

use std::fmt;

use async_trait::async_trait;

use super::{AuditEvent, AuditStore, Millis, StoreError};
use crate::{Account, Username, mail::Mail, reminders::Reminded};

/// One reminder to queue: its once-only key (username, password set at, threshold), and
/// the mail and audit row that go with it.
#[derive(Clone, Debug)]
pub struct NewReminder {
    /// Whose password.
    pub username: Username,
    /// When the password was set: a new password has its own reminders.
    pub password_set_at: Millis,
    /// The threshold (days before the expiry) this reminder is for.
    pub threshold_days: u32,
    /// When the password expires, as read when the mail went.
    pub expires_at: Millis,
    /// The reminder, to the district address.
    pub mail: Mail,
    /// Its audit row.
    pub audit: AuditEvent,
}

/// Expiry reminders' records, and the audit log each scan's summary goes to.
#[async_trait]
pub trait ReminderStore: AuditStore + Send + Sync + fmt::Debug {
    /// The active claims (people not terminated) among `usernames`, in one read.
    async fn reminder_accounts(&self, usernames: &[Username]) -> Result<Vec<Account>, StoreError>;

    /// Records each reminder whose key is new, with its mail and audit row, in one
    /// transaction, only while its claim is still active; in order, what became of each.
    async fn record_reminders(
        &self,
        reminders: &[NewReminder],
        now: Millis,
    ) -> Result<Vec<Reminded>, StoreError>;

    /// Forgets the records of reminders sent before `sent_before`.
    async fn forget_reminders(&self, sent_before: Millis) -> Result<(), StoreError>;
}

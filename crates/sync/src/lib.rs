//! claimd's background workers: they drain the store's two queues.
//!
//! The [`Worker`] takes directory jobs and writes them into the directory: it leases one job
//! at a time per loop, opens its sealed password, applies it through the [`Directory`] and
//! ends it in one store transaction — succeeded (claim active, notice queued), failed with a
//! readable reason (a refused claim frees the roster entry), or given back for a retry after a
//! capped exponential backoff with jitter. A lease left by a dead worker expires and another
//! takes the job; jobs are idempotent, so a job applied twice leaves the directory as once.
//!
//! The [`MailSender`] drains the mail outbox the same way through a [`Mailer`], retrying
//! while the SMTP server is down. On shutdown both finish the item in hand before returning.
//!
//! The [`ReminderScanner`], when `[reminders]` is on, reads the directory's expiring
//! passwords a page at a time, at start and every scan interval, and queues the reminders
//! due (the core decides which; the store's once-only records make replicas agree).
//!
//! [`Directory`]: claimd_core::Directory
//! [`Mailer`]: claimd_core::Mailer

mod backoff;
mod directory_worker;
mod mail_sender;
mod pacing;
mod reminder_scanner;

use std::time::Duration;

pub use backoff::retry_delay;
pub use directory_worker::{Step, Worker};
pub use mail_sender::{MailSender, MailStep};
pub use reminder_scanner::{ReminderScanner, ScanTally};

/// How the workers pace themselves (`[sync]` in the configuration).
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Jobs applied side by side.
    pub concurrency: usize,
    /// How long a job stays with a worker before another may take it over.
    pub lease: Duration,
    /// How often an idle worker looks for due work (queued by another process or retried).
    pub poll_interval: Duration,
    /// The first retry delay.
    pub backoff_initial: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// A job still failing this long after it was queued stops retrying: it ends failed and
    /// its sealed password is erased.
    pub max_job_age: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            max_job_age: Duration::from_secs(7 * 86_400),
        }
    }
}

/// A unique lease-owner name for this process.
fn owner(role: &str) -> String {
    format!(
        "{role}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

//! The expiry reminder scanner: at start and then every `reminders.scan_interval_secs`, reads
//! the directory's expiring passwords a page at a time and hands each page to the core's
//! [`Reminders`], which queues the mails due. The directory read and the store's work on
//! the previous page overlap, through a channel of one page, so memory stays at about two
//! pages however large the district. Every replica may scan: the store's once-only records
//! decide which mails go.

use std::{sync::Arc, time::Duration};

use claimd_core::{ExpiryReader, PageTally, Reminders, store::now_millis};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::retry_delay;

/// What a scan read and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanTally {
    /// Directory entries read.
    pub entries: u64,
    /// What became of the expiring ones.
    pub reminders: PageTally,
}

/// Scans for passwords due a reminder.
#[derive(Debug)]
pub struct ReminderScanner {
    reader: Arc<dyn ExpiryReader>,
    reminders: Arc<Reminders>,
    interval: Duration,
    /// The first retry delay after a failed scan (`sync.backoff_initial_ms`).
    backoff_initial: Duration,
}

impl ReminderScanner {
    /// A scanner reading `reader` every `interval`.
    pub fn new(
        reader: Arc<dyn ExpiryReader>,
        reminders: Arc<Reminders>,
        interval: Duration,
        backoff_initial: Duration,
    ) -> Self {
        Self {
            reader,
            reminders,
            interval,
            backoff_initial,
        }
    }

    /// One scan of the whole directory.
    pub async fn scan(&self) -> anyhow::Result<ScanTally> {
        let started = std::time::Instant::now();
        if let Err(e) = self.reminders.forget_old(now_millis()).await {
            // The scan itself may still work (the records are only kept longer).
            warn!(error = %e, "could not forget old reminder records");
        }
        let (pages, mut incoming) = tokio::sync::mpsc::channel(1);
        let read = self.reader.read_expiries(pages);
        // `move`: the receiver ends with this future, so a store failure closes the channel
        // and the reader stops at its next page instead of waiting for room for ever.
        let handle = async move {
            let mut tally = PageTally::default();
            while let Some(page) = incoming.recv().await {
                tally.add(self.reminders.handle_page(&page, now_millis()).await?);
            }
            Ok::<_, claimd_core::StoreError>(tally)
        };
        let (read, handled) = tokio::join!(read, handle);
        let outcome = match (read, handled) {
            (_, Err(e)) => Err(anyhow::Error::new(e).context("the store refused a page")),
            (Err(e), _) => Err(anyhow::Error::new(e).context("the directory read stopped")),
            (Ok(entries), Ok(reminders)) => Ok(ScanTally { entries, reminders }),
        };
        let seconds = started.elapsed().as_secs_f64();
        let summary = match &outcome {
            Ok(t) => Ok((t.entries, t.reminders)),
            Err(e) => Err(format!("{e:#}")),
        };
        self.reminders.record_scan(summary, now_millis()).await;
        metrics::gauge!("claimd_reminder_scan_seconds").set(seconds);
        match &outcome {
            Ok(tally) => {
                let r = tally.reminders;
                for (outcome, n) in [
                    ("sent", r.sent),
                    ("already_sent", r.already_sent),
                    ("not_claimed", r.not_claimed),
                ] {
                    metrics::counter!("claimd_reminders_total", "outcome" => outcome).increment(n);
                }
                metrics::counter!("claimd_reminder_scans_total", "outcome" => "done").increment(1);
                info!(
                    entries = tally.entries,
                    sent = r.sent,
                    already_sent = r.already_sent,
                    not_claimed = r.not_claimed,
                    elapsed_ms = (seconds * 1000.0) as u64,
                    "expiry reminder scan done"
                );
            }
            Err(e) => {
                metrics::counter!("claimd_reminder_scans_total", "outcome" => "failed")
                    .increment(1);
                warn!(error = format!("{e:#}"), "expiry reminder scan failed");
            }
        }
        outcome
    }

    /// Scans at start and every interval until `shutdown`; a failed scan is tried again
    /// sooner (backing off up to the interval). A scan in hand is stopped by the shutdown:
    /// each page's mails are written in one transaction, so nothing is half done.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let pause = tokio::select! {
                () = shutdown.cancelled() => break,
                scanned = self.scan() => match scanned {
                    Ok(_) => {
                        failures = 0;
                        self.interval
                    }
                    Err(_) => {
                        failures = failures.saturating_add(1);
                        retry_delay(failures, self.backoff_initial, self.interval)
                    }
                },
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        info!("expiry reminder scanner stopped");
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use claimd_core::{
        Account, DirectoryError, MailWriter, PasswordExpiry, Reminded, ReminderPolicy, StoreError,
        Username,
        store::{AuditEvent, AuditRow, AuditStore, Millis, NewReminder, ReminderStore, now_millis},
    };

    use super::*;

    /// A directory of many expiring passwords, a page each.
    #[derive(Debug)]
    struct ManyPages;

    #[async_trait]
    impl ExpiryReader for ManyPages {
        async fn read_expiries(
            &self,
            pages: tokio::sync::mpsc::Sender<Vec<PasswordExpiry>>,
        ) -> Result<u64, DirectoryError> {
            for read in 0..100 {
                let page = vec![PasswordExpiry {
                    username: Username::parse("e77777").unwrap(),
                    set_at: 0,
                    expires_at: now_millis() + 10 * 86_400_000,
                }];
                if pages.send(page).await.is_err() {
                    return Ok(read);
                }
            }
            Ok(100)
        }
    }

    /// A store that is down.
    #[derive(Debug)]
    struct Down;

    fn down() -> StoreError {
        StoreError::Unavailable {
            reason: "down for the test".into(),
        }
    }

    #[async_trait]
    impl AuditStore for Down {
        async fn record_audit(&self, _event: AuditEvent) -> Result<(), StoreError> {
            Err(down())
        }
        async fn audit_rows(
            &self,
            _employee_id: Option<claimd_core::EmployeeId>,
            _limit: u32,
        ) -> Result<Vec<AuditRow>, StoreError> {
            Err(down())
        }
    }

    #[async_trait]
    impl ReminderStore for Down {
        async fn reminder_accounts(&self, _u: &[Username]) -> Result<Vec<Account>, StoreError> {
            Err(down())
        }
        async fn record_reminders(
            &self,
            _r: &[NewReminder],
            _now: Millis,
        ) -> Result<Vec<Reminded>, StoreError> {
            Err(down())
        }
        async fn forget_reminders(&self, _sent_before: Millis) -> Result<(), StoreError> {
            Err(down())
        }
    }

    /// A store failure mid-scan ends the scan with an error: the directory read is not left
    /// waiting for room in the channel (which would stop every later scan).
    #[tokio::test]
    async fn a_store_failure_ends_the_scan() {
        let reminders = Arc::new(Reminders::new(
            ReminderPolicy::new(&[14]),
            Arc::new(Down),
            Arc::new(MailWriter::new("District IT")),
            "https://accounts.example/change-password".into(),
            Duration::from_secs(3600),
        ));
        let scanner = ReminderScanner::new(
            Arc::new(ManyPages),
            reminders,
            Duration::from_secs(3600),
            Duration::from_millis(10),
        );
        let scanned = tokio::time::timeout(Duration::from_secs(10), scanner.scan())
            .await
            .expect("the scan ends");
        assert!(scanned.is_err(), "{scanned:?}");
    }
}

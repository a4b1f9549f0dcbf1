//! `[reminders]`, checked: the days before a password's expiry a reminder goes, how often the
//! worker scans, and the change page the mail points to (`portal.public_url`).

use std::time::Duration;

use claimd_core::ReminderPolicy;
use serde::Deserialize;

use super::{Settings, problems::Problems};

/// The longest threshold: a reminder more than a year ahead is no reminder.
const MAX_DAYS_BEFORE: u32 = 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersSection {
    /// Days before the expiry a mail goes, each once per password; empty: no reminders.
    pub days_before: Vec<u32>,
    /// How often the worker scans the directory (and once at its start).
    pub scan_interval_secs: u64,
}

impl Default for RemindersSection {
    fn default() -> Self {
        Self {
            days_before: Vec::new(),
            scan_interval_secs: 3600,
        }
    }
}

/// `[reminders]`, checked; `None` when reminders are off.
#[derive(Clone, Debug)]
pub struct ReminderParts {
    pub policy: ReminderPolicy,
    pub scan_interval: Duration,
    /// Where the mail sends people to change the password.
    pub change_page: String,
}

impl Settings {
    /// `[reminders]`, checked: `None` when `days_before` is empty (off).
    pub(super) fn reminders(&self, p: &mut Problems) -> Option<ReminderParts> {
        let r = &self.reminders;
        p.at_least_one("reminders.scan_interval_secs", r.scan_interval_secs);
        if let Some(bad) = r
            .days_before
            .iter()
            .find(|&&d| !(1..=MAX_DAYS_BEFORE).contains(&d))
        {
            p.add(
                "reminders.days_before",
                format!("{bad} is not a number of days from 1 to {MAX_DAYS_BEFORE}"),
            );
        }
        if r.days_before.is_empty() {
            return None;
        }
        let url = self.portal.public_url.trim().trim_end_matches('/');
        Some(ReminderParts {
            policy: ReminderPolicy::new(&r.days_before),
            scan_interval: Duration::from_secs(r.scan_interval_secs.max(1)),
            change_page: if url.is_empty() {
                "the district's account self-service page (Change My Password)".to_owned()
            } else {
                format!("{url}/change-password")
            },
        })
    }
}

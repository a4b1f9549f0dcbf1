//! Claim codes handed out (`accounts.claim_code = "required"`): after an import, one for every
//! active entry that has not claimed and has no code yet, mailed sealed to its
//! `personal_email` or, for entries without one, put on the sheet HR prints (a
//! [`CodeSheet`]: `roster import --codes-out FILE`); and one at a time by
//! `admin reissue-code`, which replaces the old code. Who gets a code, how it is stored and
//! mailed is decided here; the binary only opens the sheet and reports.

use std::{sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use crate::{
    EmployeeId, MailWriter, RosterEntry, RosterStatus, Sealer, StoreError, codes,
    store::{AuditAction, AuditEvent, AuditOutcome, FlowStore, IssuedCode, Millis, now_millis},
};

/// Entries given codes per store transaction.
const PAGE: u32 = 500;

/// Where codes for people without a personal address go: rows written (and on disk)
/// before their codes are stored, so a code is never live without a copy HR can print.
pub trait CodeSheet {
    /// Writes the rows and makes them durable.
    fn write(&mut self, rows: &[(RosterEntry, SecretString)]) -> std::io::Result<()>;
}

/// What [`ClaimCodeIssuer::issue_all`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IssuedCounts {
    /// Codes mailed to a personal address.
    pub mailed: usize,
    /// Codes put on the sheet.
    pub printed: usize,
    /// Entries without a personal address, left without a code (no sheet).
    pub without_address: usize,
    /// Codes drawn (and counted above) for people who claimed or left meanwhile: not
    /// stored, so they do not work (and their mail was not queued).
    pub not_kept: usize,
}

/// Why a code could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Reissue for an ID the roster does not hold.
    #[error("employee {0} is not in the roster")]
    NotInRoster(EmployeeId),
    /// Reissue for a leaver.
    #[error("employee {0} is terminated in the roster")]
    Terminated(EmployeeId),
    /// Reissue for someone who has claimed.
    #[error("employee {0} has claimed already; a claim code is of no use to them")]
    Claimed(EmployeeId),
    /// The person claimed or left between the checks and the store's transaction.
    #[error("employee {0} claimed or left meanwhile; no code was made")]
    ClaimedMeanwhile(EmployeeId),
    /// The sheet could not be written: nothing of that page was stored.
    #[error("the codes file could not be written: {0}")]
    Sheet(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who had a code reissued, for its audit row.
#[derive(Clone, Debug)]
pub struct ReissuedBy {
    /// `admin.reissue_code`, `helpdesk.claim_code`.
    pub action: AuditAction,
    /// `cli:root`, `helpdesk:tech101`.
    pub actor: String,
    /// Why, when they said.
    pub reason: Option<String>,
    /// Where from, when known.
    pub client: Option<std::net::IpAddr>,
}

/// Hands out claim codes.
pub struct ClaimCodeIssuer {
    store: Arc<dyn FlowStore>,
    sealer: Arc<Sealer>,
    keys: codes::CodeKeys,
    writer: MailWriter,
    lifetime: Duration,
    /// The portal's public address, named in the mail.
    portal: String,
}

impl std::fmt::Debug for ClaimCodeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimCodeIssuer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl ClaimCodeIssuer {
    /// Codes that work for `lifetime`, their mail signed by `writer` and naming `portal`.
    pub fn new(
        store: Arc<dyn FlowStore>,
        sealer: Arc<Sealer>,
        writer: MailWriter,
        lifetime: Duration,
        portal: String,
    ) -> Self {
        Self {
            store,
            keys: codes::CodeKeys::new(&sealer),
            sealer,
            writer,
            lifetime,
            portal,
        }
    }

    fn expires(&self, now: Millis) -> Millis {
        now.saturating_add(i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX))
    }

    /// A new code for `entry`: its stored form, with the sealed mail when the roster has a
    /// personal address.
    fn code_for(
        &self,
        entry: &RosterEntry,
        now: Millis,
        outcome: AuditOutcome,
        action: AuditAction,
    ) -> (IssuedCode, SecretString) {
        let code = codes::new_claim_code();
        let expires_at = self.expires(now);
        let until = day(expires_at);
        let mail = entry.personal_email.as_ref().map(|to| {
            let mut mail =
                self.writer
                    .claim_code(entry, to, code.expose_secret(), &self.portal, &until);
            mail.body = codes::seal_body(&self.sealer, to.as_str(), &SecretString::from(mail.body));
            mail
        });
        let issued = IssuedCode {
            employee_id: entry.employee_id,
            hash: self.keys.claim(entry.employee_id, code.expose_secret()),
            expires_at,
            mail,
            audit: AuditEvent {
                at: now,
                action,
                employee_id: Some(entry.employee_id),
                username: None,
                client: None,
                actor: None,
                outcome,
                reason: None,
            },
        };
        (issued, code)
    }

    /// Codes for every active entry that has not claimed and has none (or a used one); the
    /// ones without a personal address go on `sheet`, or wait for one when there is none.
    pub async fn issue_all(
        &self,
        mut sheet: Option<&mut dyn CodeSheet>,
    ) -> Result<IssuedCounts, IssueError> {
        let mut done = IssuedCounts::default();
        let mut after = 0;
        loop {
            let entries = self.store.entries_needing_codes(after, PAGE).await?;
            let Some(last) = entries.last() else {
                return Ok(done);
            };
            after = last.employee_id.get();
            let now = now_millis();
            let mut issued = Vec::new();
            let mut printed = Vec::new();
            for entry in entries {
                if entry.personal_email.is_some() {
                    issued.push(
                        self.code_for(&entry, now, AuditOutcome::Mailed, AuditAction::ClaimCode)
                            .0,
                    );
                    done.mailed += 1;
                } else if sheet.is_some() {
                    let (code, typed) =
                        self.code_for(&entry, now, AuditOutcome::Printed, AuditAction::ClaimCode);
                    issued.push(code);
                    printed.push((entry, typed));
                    done.printed += 1;
                } else {
                    done.without_address += 1;
                }
            }
            if let Some(sheet) = sheet.as_deref_mut() {
                sheet.write(&printed)?;
            }
            let stored = self.store.issue_claim_codes(&issued, now).await?;
            done.not_kept += issued.len() - stored;
        }
    }

    /// A new code for one person, killing the old: mailed when the roster has a personal
    /// address (`None`), else returned for IT to hand over.
    pub async fn reissue(
        &self,
        id: EmployeeId,
        by: ReissuedBy,
    ) -> Result<Option<SecretString>, IssueError> {
        let Some(entry) = self.store.roster_entry(id).await? else {
            return Err(IssueError::NotInRoster(id));
        };
        if entry.status == RosterStatus::Terminated {
            return Err(IssueError::Terminated(id));
        }
        if self.store.live_claim(id).await?.is_some() {
            return Err(IssueError::Claimed(id));
        }
        let now = now_millis();
        let (mut issued, code) = self.code_for(&entry, now, AuditOutcome::Issued, by.action);
        issued.audit.actor = Some(by.actor);
        issued.audit.reason = by.reason;
        issued.audit.client = by.client;
        let mailed = issued.mail.is_some();
        // Stored (and so live) only if the person is still claimable inside the store's
        // transaction.
        if self.store.issue_claim_codes(&[issued], now).await? == 0 {
            return Err(IssueError::ClaimedMeanwhile(id));
        }
        Ok((!mailed).then_some(code))
    }

    /// The day a code issued now stops working (UTC), for people.
    pub fn until(&self) -> String {
        day(self.expires(now_millis()))
    }
}

/// `2026-12-28`: the UTC day of a time (the civil calendar from days since 1970).
fn day(at: Millis) -> String {
    let days = at.div_euclid(86_400_000);
    // Howard Hinnant's days-from-civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn days_are_civil_utc_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(951_782_400_000), "2000-02-29");
        assert_eq!(day(1_798_415_999_999), "2026-12-27");
        assert_eq!(day(1_798_416_000_000), "2026-12-28");
    }
}

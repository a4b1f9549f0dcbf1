//! Claim codes handed out (`accounts.claim_code = "required"`): after an import, one for every
//! active entry that has not claimed and has no code yet, mailed sealed to its
//! `personal_email` or, for entries without one, written to the mail-merge file HR prints
//! (`roster import --codes-out FILE`); and one at a time by `admin reissue-code`, which
//! replaces the old code.

use std::{
    fs::File,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, bail};
use claimd_core::{
    EmployeeId, MailWriter, RosterEntry, RosterStatus, Sealer, Store, codes,
    store::{AuditEvent, IssuedCode, Millis, now_millis},
};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::CodeParts;

/// Entries given codes per store transaction.
const PAGE: u32 = 500;

/// Hands out claim codes.
pub struct Issuer {
    store: Arc<dyn Store>,
    sealer: Sealer,
    keys: codes::CodeKeys,
    writer: MailWriter,
    lifetime: Duration,
    portal: String,
}

/// What [`Issuer::issue_all`] did.
#[derive(Debug, Default)]
pub struct Issued {
    pub mailed: usize,
    pub printed: usize,
    /// Entries without a personal address, left without a code (no `--codes-out`).
    pub without_address: usize,
    /// Codes drawn (and counted above) for people who claimed or left meanwhile: not
    /// stored, so they do not work (and their mail was not queued).
    pub not_kept: usize,
}

/// The mail-merge file HR prints: for its owner alone, never over an earlier batch.
pub struct CodesOut {
    path: PathBuf,
    csv: csv::Writer<File>,
}

impl CodesOut {
    /// Creates `path` (mode 0600) with its header. An existing empty file (from `mktemp`) is
    /// taken and made 0600; one with content (an earlier batch HR may not have printed yet)
    /// or a link is refused.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let refused = |why: &str| anyhow::anyhow!("--codes-out {}: {why}", path.display());
        let existing = match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_file() => {
                return Err(refused("is not a plain file"));
            }
            Ok(meta) if meta.len() > 0 => {
                return Err(refused(
                    "holds an earlier file; a file with codes is never overwritten",
                ));
            }
            Ok(_) => true,
            Err(_) => false,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(!existing)
            .truncate(existing)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("--codes-out {}: cannot create it", path.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("--codes-out {}: cannot make it 0600", path.display()))?;
        let mut csv = csv::Writer::from_writer(file);
        csv.write_record(["employee_id", "last_name", "first_name", "claim_code"])?;
        Ok(Self {
            path: path.to_owned(),
            csv,
        })
    }

    /// Removes the file when nothing was issued after all (the import was refused).
    pub fn discard(self) {
        drop(self.csv);
        let _ = std::fs::remove_file(&self.path);
    }

    /// Writes rows to the disk before their codes are stored: a code is never live without
    /// a copy HR can print.
    fn write(&mut self, rows: &[(RosterEntry, SecretString)]) -> anyhow::Result<()> {
        for (entry, code) in rows {
            self.csv.write_record([
                entry.employee_id.to_string().as_str(),
                &cell(entry.last_name.as_str()),
                &cell(entry.first_name.as_str()),
                code.expose_secret(),
            ])?;
        }
        self.csv.flush()?;
        self.csv.get_ref().sync_all()?;
        Ok(())
    }
}

impl Issuer {
    /// The issuer, or `None` when the district does not require claim codes.
    pub fn new(parts: &CodeParts, store: Arc<dyn Store>) -> anyhow::Result<Option<Self>> {
        let Some(lifetime) = parts.lifetime else {
            return Ok(None);
        };
        let (sealer, _) =
            Sealer::load_or_create(&parts.seal_key_file).context("store.seal_key_file")?;
        Ok(Some(Self {
            store,
            keys: codes::CodeKeys::new(&sealer),
            sealer,
            writer: MailWriter::new(parts.signature.clone()),
            lifetime,
            portal: parts.portal.clone(),
        }))
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
        outcome: &'static str,
        action: &'static str,
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
                outcome,
                reason: None,
            },
        };
        (issued, code)
    }

    /// Codes for every active entry that has not claimed and has none (or a used one).
    pub async fn issue_all(&self, mut out: Option<&mut CodesOut>) -> anyhow::Result<Issued> {
        let mut done = Issued::default();
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
                    issued.push(self.code_for(&entry, now, "mailed", "claim_code").0);
                    done.mailed += 1;
                } else if out.is_some() {
                    let (code, typed) = self.code_for(&entry, now, "printed", "claim_code");
                    issued.push(code);
                    printed.push((entry, typed));
                    done.printed += 1;
                } else {
                    done.without_address += 1;
                }
            }
            if let Some(out) = out.as_deref_mut() {
                out.write(&printed)?;
            }
            let stored = self.store.issue_claim_codes(&issued, now).await?;
            done.not_kept += issued.len() - stored;
        }
    }

    /// A new code for one person, killing the old: mailed when the roster has a personal
    /// address, else returned for IT to hand over.
    pub async fn reissue(&self, id: EmployeeId) -> anyhow::Result<Option<SecretString>> {
        let Some(entry) = self.store.roster_entry(id).await? else {
            bail!("employee {id} is not in the roster");
        };
        if entry.status == RosterStatus::Terminated {
            bail!("employee {id} is terminated in the roster");
        }
        if self.store.live_claim(id).await?.is_some() {
            bail!("employee {id} has claimed already; a claim code is of no use to them");
        }
        let now = now_millis();
        let (issued, code) = self.code_for(&entry, now, "issued", "admin.reissue_code");
        let mailed = issued.mail.is_some();
        // Stored (and so live) only if the person is still claimable inside the store's
        // transaction.
        if self.store.issue_claim_codes(&[issued], now).await? == 0 {
            bail!("employee {id} claimed or left meanwhile; no code was made");
        }
        Ok((!mailed).then_some(code))
    }

    /// The day a code issued now stops working (UTC), for people.
    pub fn until(&self) -> String {
        day(self.expires(now_millis()))
    }
}

/// A name as a spreadsheet cell: one that starts like a formula (`=`, `+`, `-`, `@`) gets a
/// leading `'`, so HR's spreadsheet shows it rather than runs it (OWASP CSV injection).
fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// `2026-12-28`: the UTC day of a time.
fn day(at: Millis) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(at).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_that_look_like_formulas_are_quoted() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::cell("O'Brien"), "O'Brien");
    }
}

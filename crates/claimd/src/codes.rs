//! Claim codes, the binary's part: the mail-merge file HR prints (`roster import --codes-out
//! FILE`, the [`CodeSheet`] core writes to) and the issuer built from the configuration.
//! Who gets a code is core's rule ([`ClaimCodeIssuer`]).

use std::{
    fs::File,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use claimd_core::{
    MailWriter, RosterEntry, Sealer, Store,
    claim_codes::{ClaimCodeIssuer, CodeSheet},
};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::CodeParts;

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
}

impl CodeSheet for CodesOut {
    /// Writes rows to the disk before their codes are stored: a code is never live without
    /// a copy HR can print.
    fn write(&mut self, rows: &[(RosterEntry, SecretString)]) -> std::io::Result<()> {
        for (entry, code) in rows {
            self.csv.write_record([
                entry.employee_id.to_string().as_str(),
                &cell(entry.last_name.as_str()),
                &cell(entry.first_name.as_str()),
                code.expose_secret(),
            ])?;
        }
        self.csv.flush()?;
        self.csv.get_ref().sync_all()
    }
}

/// The issuer, or `None` when the district does not require claim codes.
pub fn issuer(parts: &CodeParts, store: Arc<dyn Store>) -> anyhow::Result<Option<ClaimCodeIssuer>> {
    let Some(lifetime) = parts.lifetime else {
        return Ok(None);
    };
    let (sealer, _) =
        Sealer::load_or_create(&parts.seal_key_file).context("store.seal_key_file")?;
    Ok(Some(ClaimCodeIssuer::new(
        store,
        Arc::new(sealer),
        MailWriter::new(parts.signature.clone()),
        lifetime,
        parts.portal.clone(),
    )))
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

#[cfg(test)]
mod tests {
    #[test]
    fn names_that_look_like_formulas_are_quoted() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::cell("O'Brien"), "O'Brien");
    }
}

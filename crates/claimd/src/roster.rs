//! `claimd roster import FILE.csv [--full] [--dry-run] [--allow-mass-disable]`: all rows or
//! none, and the directory changes they mean for claimed accounts.

use std::{fs::File, io::IsTerminal, path::Path};

use crate::codes::{CodesOut, issuer};
use anyhow::Context;
use claimd_core::claim_codes::CodeSheet;
use claimd_core::{
    JobKind, RosterProblem, RosterRows,
    store::{ImportOptions, ImportSummary, now_millis},
};

/// Files this large (about 5,000 rows) say what they are doing on a terminal.
const PROGRESS_BYTES: u64 = 256 * 1024;

/// Imports a roster file; on any bad row nothing changes and every problem is printed.
///
/// The file is read as the import goes (a chunk at a time), so a district's whole staff
/// does not have to fit in memory twice; a bad row rolls everything back.
pub async fn import(
    store: &crate::settings::StoreParts,
    path: &Path,
    options: &ImportOptions,
    code_parts: &crate::settings::CodeParts,
    codes_out: Option<&Path>,
) -> anyhow::Result<()> {
    if codes_out.is_some() && code_parts.lifetime.is_none() {
        anyhow::bail!(
            "--codes-out: claim codes are off; set accounts.claim_code = \"required\" first"
        );
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut rows = RosterRows::new(file).map_err(|problems| refusal(path, problems))?;
    let options = &ImportOptions {
        keep_personal_email: !rows.has_personal_email(),
        keep_site: !rows.has_site(),
        ..options.clone()
    };
    // On a terminal, say what a large file is doing while it runs; logs and timers get
    // only the result.
    let progress = std::io::stderr().is_terminal() && size >= PROGRESS_BYTES;
    if progress {
        eprintln!(
            "checking {} against the store and the claimed accounts…",
            path.display()
        );
    }
    let store = store.open().await?;
    // Created before anything changes, so a name already taken stops the import.
    let mut out = match codes_out {
        Some(path) if !options.dry_run => Some(CodesOut::create(path)?),
        _ => None,
    };
    let result = import_rows(&store, path, &mut rows, options, progress).await;
    let issuer = match &result {
        Ok(summary) if summary.applied => issuer(code_parts, store.clone())?,
        _ => None,
    };
    let Some(issuer) = issuer else {
        if let Some(out) = out {
            out.discard();
        }
        return result.map(|_| ());
    };
    let issued = issuer
        .issue_all(out.as_mut().map(|o| o as &mut dyn CodeSheet))
        .await?;
    if issued.mailed + issued.printed > 0 {
        println!(
            "claim codes: {} mailed to personal addresses, {} written to {} (they work until {})",
            issued.mailed,
            issued.printed,
            codes_out.map_or_else(|| "-".into(), |p| p.display().to_string()),
            issuer.until()
        );
    }
    if issued.not_kept > 0 {
        println!(
            "claim codes: {} of those were for people who claimed or left meanwhile and do not \
             work",
            issued.not_kept
        );
    }
    if issued.without_address > 0 {
        println!(
            "claim codes: {} active entries without personal_email have no code yet; rerun \
             with --codes-out FILE to print theirs, or give one with claimd admin reissue-code",
            issued.without_address
        );
    }
    Ok(())
}

/// Imports the rows and prints what changed; the summary when it ran (applied or not).
async fn import_rows(
    store: &std::sync::Arc<dyn claimd_core::Store>,
    path: &Path,
    rows: &mut RosterRows<File>,
    options: &ImportOptions,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    let started = std::time::Instant::now();
    let summary = store
        .import_roster_rows(rows, options, now_millis())
        .await?;
    if progress {
        eprintln!(
            "read {} rows in {:.1} s",
            summary.rows,
            started.elapsed().as_secs_f64()
        );
    }
    if !summary.problems.is_empty() {
        return Err(refusal(path, summary.problems));
    }
    if options.dry_run {
        print_plan(&summary);
    }
    let counts = format!(
        "{} added, {} updated, {} unchanged, {} terminated; accounts: {} to update, {} to disable",
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.terminated,
        summary.accounts_to_update(),
        summary.accounts_to_disable()
    );
    if summary.refused_mass_disable {
        anyhow::bail!(
            "{} would disable {} of {} claimed accounts, more than roster.max_disable_percent \
             allows; nothing was imported. Check the file is the whole staff, or rerun with \
             --allow-mass-disable ({counts})",
            path.display(),
            summary.accounts_to_disable(),
            summary.claimed
        );
    }
    let verb = if options.dry_run {
        "dry run, nothing changed"
    } else {
        "imported"
    };
    println!(
        "{verb}: {} roster entries from {}: {counts}",
        summary.rows,
        path.display()
    );
    Ok(summary)
}

/// Every problem of a refused file, each with its line.
fn refusal(path: &Path, problems: Vec<RosterProblem>) -> anyhow::Error {
    let listed: Vec<String> = problems
        .iter()
        .map(|p| format!("  {}: {p}", path.display()))
        .collect();
    anyhow::anyhow!(
        "{} problem(s) in {}; nothing was imported:\n{}",
        problems.len(),
        path.display(),
        listed.join("\n")
    )
}

/// One line per planned directory change (names and mail are not secrets; no password is).
fn print_plan(summary: &ImportSummary) {
    for change in &summary.plan {
        let what = match change.kind {
            JobKind::DisableAccount => "disable",
            _ => "update",
        };
        println!(
            "{what} {} (employee {}): {}",
            change.username, change.employee_id, change.detail
        );
    }
}

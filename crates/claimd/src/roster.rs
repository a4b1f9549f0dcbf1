//! `claimd roster import FILE.csv [--full] [--dry-run] [--allow-mass-disable]`: all rows or
//! none, and the directory changes they mean for claimed accounts.

use std::{fs::File, io::IsTerminal, path::Path};

use anyhow::Context;
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
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let refuse = |problems: Vec<RosterProblem>| {
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
    };
    let mut rows = RosterRows::new(file).map_err(refuse)?;
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
    let started = std::time::Instant::now();
    let summary = store
        .import_roster_rows(&mut rows, options, now_millis())
        .await?;
    if progress {
        eprintln!(
            "read {} rows in {:.1} s",
            summary.rows,
            started.elapsed().as_secs_f64()
        );
    }
    if !summary.problems.is_empty() {
        return Err(refuse(summary.problems));
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
    Ok(())
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

//! `claimd roster import FILE.csv`: all rows or none.

use std::{fs::File, path::Path};

use anyhow::Context;
use claimd_core::{Store, parse_roster_csv, store::now_millis};
use claimd_store::SqliteStore;

/// Imports a roster file; on any bad row nothing changes and every problem is printed.
pub async fn import(store_url: &str, path: &Path) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let entries = match parse_roster_csv(file) {
        Ok(entries) => entries,
        Err(problems) => {
            let listed: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}: {p}", path.display()))
                .collect();
            anyhow::bail!(
                "{} problem(s) in {}; nothing was imported:\n{}",
                problems.len(),
                path.display(),
                listed.join("\n")
            );
        }
    };
    let store = SqliteStore::connect(store_url).await.context("store.url")?;
    let summary = store.import_roster(&entries, now_millis()).await?;
    println!(
        "imported {} roster entries from {}: {} added, {} updated, {} unchanged",
        entries.len(),
        path.display(),
        summary.added,
        summary.updated,
        summary.unchanged
    );
    Ok(())
}

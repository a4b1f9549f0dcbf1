//! A large roster import against its floor: `claimd roster import` of N rows into a fresh
//! SQLite store, next to `sqlite3 .import` of the same CSV into a plain table (the cost of
//! parsing the file and writing the rows, nothing else), in the same run.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_import &&
//!  target/release/examples/bench_import target/release/claimd [ROWS]`
//!
//! Prints both times, their ratio, and claimd's peak resident memory for N and for N/10 rows
//! (flat memory means the file is not held whole). Then it re-imports the same file (every row
//! unchanged) and a file with a tenth of the rows changed.

use std::{
    fs,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use nix::sys::resource::{UsageWho, getrusage};

type BoxError = Box<dyn std::error::Error>;

const HEADER: &str = "employee_id,last_name,first_name,email,status\n";

fn roster(rows: u32, changed_every: u32) -> String {
    let mut csv = String::from(HEADER);
    for i in 1..=rows {
        let last = if changed_every > 0 && i % changed_every == 0 {
            format!("Moved{i}")
        } else {
            format!("Staff{i}")
        };
        csv.push_str(&format!("{i},{last},Person,p{i}@district.example,active\n"));
    }
    csv
}

/// Runs `claimd --config … roster import FILE`; its time and peak memory (KiB).
fn claimd_import(claimd: &str, dir: &Path, file: &Path) -> Result<(Duration, i64), BoxError> {
    let config = dir.join("claimd.toml");
    fs::write(
        &config,
        format!("[store]\nurl = \"sqlite://{}/claimd.db\"\n", dir.display()),
    )?;
    let before = getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss();
    let started = Instant::now();
    let out = Command::new(claimd)
        .arg("--config")
        .arg(&config)
        .args(["roster", "import"])
        .arg(file)
        .output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    // The children's peak so far: meaningful when this import is the largest yet.
    let peak = getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss().max(before);
    Ok((took, peak))
}

/// `sqlite3 DB ".import --csv FILE roster"` into a table like claimd's, with `synchronous =
/// FULL` and WAL as claimd runs them.
fn sqlite_import(dir: &Path, file: &Path) -> Result<Duration, BoxError> {
    let db = dir.join("floor.db");
    let script = format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = FULL;\n\
         CREATE TABLE roster (employee_id INTEGER PRIMARY KEY, last_name TEXT NOT NULL, \
         first_name TEXT NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL);\n\
         .import --csv --skip 1 {} roster\n",
        file.display()
    );
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err("sqlite3 .import failed".into());
    }
    Ok(took)
}

fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_import PATH-TO-CLAIMD [ROWS]")?;
    let rows: u32 = std::env::args().nth(2).map_or(Ok(100_000), |s| s.parse())?;

    let small_dir = tempfile::tempdir()?;
    let small = small_dir.path().join("small.csv");
    fs::write(&small, roster(rows / 10, 0))?;
    let (_, small_peak) = claimd_import(&claimd, small_dir.path(), &small)?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("roster.csv");
    fs::write(&file, roster(rows, 0))?;
    let floor = sqlite_import(dir.path(), &file)?;
    let (took, peak) = claimd_import(&claimd, dir.path(), &file)?;
    println!("{rows} rows, new store:");
    println!(
        "  sqlite3 .import (floor)        {:>7.2} s",
        floor.as_secs_f64()
    );
    println!(
        "  claimd roster import           {:>7.2} s   = {:.1} x the floor",
        took.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  peak memory                    {:>7.1} MiB ({} rows: {:.1} MiB)",
        peak as f64 / 1024.0,
        rows / 10,
        small_peak as f64 / 1024.0
    );
    let (again, _) = claimd_import(&claimd, dir.path(), &file)?;
    println!(
        "  the same file again (no change) {:>6.2} s",
        again.as_secs_f64()
    );
    let changed = dir.path().join("changed.csv");
    fs::write(&changed, roster(rows, 10))?;
    let (moved, _) = claimd_import(&claimd, dir.path(), &changed)?;
    println!(
        "  a tenth of the rows changed    {:>7.2} s",
        moved.as_secs_f64()
    );
    Ok(())
}

//! A large roster import against its floor: `claimd roster import` of N rows into a fresh
//! SQLite store, next to `sqlite3 .import` of the same CSV into a plain table (the cost of
//! parsing the file and writing the rows, nothing else), in the same run.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_import &&
//!  target/release/examples/bench_import target/release/claimd [ROWS]`
//!
//! Prints both times, their ratio, and claimd's own peak resident memory (read by a wrapper
//! process whose only child is claimd) for N and for N/10 rows (flat memory means the file
//! is not held whole). Then it re-imports the same file (every row
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
    // claimd runs under a copy of this program whose only child it is, so the peak read
    // there is claimd's own (this process's children include the sqlite3 floor).
    let started = Instant::now();
    let out = Command::new(std::env::current_exe()?)
        .arg(PEAK_OF)
        .arg(claimd)
        .arg("--config")
        .arg(&config)
        .args(["roster", "import"])
        .arg(file)
        .output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let peak = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("peak_kib "))
        .ok_or("no peak reported")?
        .parse()?;
    Ok((took, peak))
}

/// The wrapper's flag: `bench_import --peak-of COMMAND ARGS…` runs the command, then prints
/// `peak_kib N`, its peak resident memory, and exits as it did.
const PEAK_OF: &str = "--peak-of";

fn peak_of(command: &[String]) -> Result<(), BoxError> {
    let status = Command::new(&command[0])
        .args(&command[1..])
        .stdout(std::process::Stdio::null())
        .status()?;
    println!(
        "peak_kib {}",
        getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss()
    );
    if !status.success() {
        return Err(format!("{} exited {status}", command[0]).into());
    }
    Ok(())
}

/// Rows in claimd's store after an import, to check the work timed was done.
fn rows_in(dir: &Path) -> Result<u64, BoxError> {
    let out = Command::new("sqlite3")
        .arg(dir.join("claimd.db"))
        .arg("SELECT COUNT(*) FROM roster")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
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
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(PEAK_OF) {
        return peak_of(&args[2..]);
    }
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
    // The work timed was done: every row is in the store, the changed ones changed.
    let stored = rows_in(dir.path())?;
    let out = Command::new("sqlite3")
        .arg(dir.path().join("claimd.db"))
        .arg("SELECT COUNT(*) FROM roster WHERE last_name LIKE 'Moved%'")
        .output()?;
    let moved_rows: u64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    println!(
        "  verified: {stored} of {rows} rows stored, {moved_rows} of {} changed; {} of {} in the small store",
        rows / 10,
        rows_in(small_dir.path())?,
        rows / 10
    );
    if stored != u64::from(rows) || moved_rows != u64::from(rows / 10) {
        return Err("the imports did not store what they were given".into());
    }
    if rows_in(small_dir.path())? != u64::from(rows / 10) {
        return Err("the small import did not store every row".into());
    }
    Ok(())
}

//! The nightly roster: how long a full import of a large staff file takes to plan and to
//! import, and how long the worker takes to apply the directory changes it queues.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_roster &&
//!  target/release/examples/bench_roster target/release/claimd [ROWS] [CLAIMED]`
//!
//! Defaults: 10,000 rows, 2,000 of them claimed. The second file changes the names and mail of
//! half the claimed people and leaves the other half out (they have left): 2,000 directory
//! changes. Prints the dry-run (plan) time, the import time, and the time until slapd has all
//! the changes (the worker's log counts them).

mod common;

use std::{
    fs,
    process::Command,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ChallengeAnswer, ClaimAccountRequest, account_service_client::AccountServiceClient,
};
use common::{BoxError, Stack};
use tonic::transport::Channel;

const PASSWORD: &str = "Maple-Canoe-Lantern-42";
const HEADER: &str = "employee_id,last_name,first_name,email,status\n";

fn request(i: usize) -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: format!("Staff{i}"),
        first_name: "Person".into(),
        employee_id: format!("{i:06}"),
        password: PASSWORD.into(),
        claim_code: String::new(),
        answers: [
            ("first-pet", "Biscuit"),
            ("birth-city", "Jonesboro"),
            ("first-car", "Ford"),
        ]
        .iter()
        .map(|(q, a)| ChallengeAnswer {
            question_id: (*q).into(),
            answer: (*a).into(),
        })
        .collect(),
    }
}

/// Claims `i` (retrying as RetryInfo says) and waits until the directory has it.
async fn claim(client: &mut AccountServiceClient<Channel>, i: usize) -> Result<(), String> {
    common::claim_until_written(client, request(i))
        .await
        .map_err(|e| format!("claim {i}: {e}"))
}

/// Runs `claimd roster import` with `args`; returns its time and what it printed.
fn import(
    claimd: &str,
    stack: &Stack,
    file: &std::path::Path,
    args: &[&str],
) -> Result<(Duration, String), BoxError> {
    let started = Instant::now();
    let out = Command::new(claimd)
        .arg("--config")
        .arg(stack.config())
        .args(["roster", "import"])
        .arg(file)
        .args(args)
        .output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn jobs_ended(stack: &Stack) -> usize {
    fs::read_to_string(stack.log())
        .unwrap_or_default()
        .matches("directory job ended")
        .count()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let claimd = args
        .next()
        .ok_or("usage: bench_roster PATH/TO/claimd [ROWS] [CLAIMED]")?;
    let rows: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let claimed: usize = args.next().map_or(Ok(2_000), |n| n.parse())?;

    let mut stack = Stack::new(&claimd)?;
    let mut before = String::from(HEADER);
    for i in 1..=rows {
        before.push_str(&format!(
            "{i},Staff{i},Person,s{i}@district.example,active\n"
        ));
    }
    let first = stack.dir.path().join("before.csv");
    fs::write(&first, &before)?;
    let (took, _) = import(&claimd, &stack, &first, &[])?;
    println!("first import of {rows} rows: {:.2} s", took.as_secs_f64());
    let client = stack.run().await?;

    let started = Instant::now();
    let lanes = 8;
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut i = 1 + lane;
                while i <= claimed {
                    claim(&mut client, i).await?;
                    i += lanes;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    println!(
        "{claimed} claims written: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let claims_ended = jobs_ended(&stack);

    // Half the claimed people moved (new surname and mail), the other half left the file.
    let mut after = String::from(HEADER);
    for i in 1..=rows {
        if i <= claimed / 2 {
            after.push_str(&format!(
                "{i},Moved{i},Person,moved{i}@district.example,active\n"
            ));
        } else if i > claimed {
            after.push_str(&format!(
                "{i},Staff{i},Person,s{i}@district.example,active\n"
            ));
        }
    }
    let second = stack.dir.path().join("after.csv");
    fs::write(&second, &after)?;
    let (plan_took, plan) = import(
        &claimd,
        &stack,
        &second,
        &["--full", "--dry-run", "--allow-mass-disable"],
    )?;
    let planned = plan
        .lines()
        .filter(|l| l.starts_with("update ") || l.starts_with("disable "))
        .count();
    println!(
        "full import, dry run (plan {planned} changes): {:.2} s",
        plan_took.as_secs_f64()
    );
    let (import_took, summary) = import(
        &claimd,
        &stack,
        &second,
        &["--full", "--allow-mass-disable"],
    )?;
    println!(
        "full import (queues the changes): {:.2} s\n  {}",
        import_took.as_secs_f64(),
        summary.trim()
    );
    let applied_from = Instant::now();
    let deadline = applied_from + Duration::from_secs(1800);
    while jobs_ended(&stack) < claims_ended + planned {
        if Instant::now() > deadline {
            return Err("the worker did not apply the changes in 30 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let applied = applied_from.elapsed();
    println!(
        "worker applied {planned} changes: {:.1} s ({:.0} changes/s)",
        applied.as_secs_f64(),
        planned as f64 / applied.as_secs_f64()
    );
    // Spot checks in the directory: a mover's new surname, a leaver's dead login.
    let moved = stack
        .slapd
        .search(claimd_testkit::Slapd::USERS_BASE_DN, "(uid=e1)", &["sn"]);
    let left_dn = format!("uid=e{claimed},{}", claimd_testkit::Slapd::USERS_BASE_DN);
    let (moved_ok, left_works) = (
        moved.contains("sn: Moved1"),
        stack.slapd.can_bind(&left_dn, PASSWORD),
    );
    println!("  e1 sn is Moved1: {moved_ok}; e{claimed} can still log in: {left_works}");
    // The work timed was done: each planned change is a job that succeeded.
    let db = format!("sqlite://{}/claimd.db", stack.dir.path().display());
    let pool = sqlx::SqlitePool::connect(&db).await?;
    let (done, not_done): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE state = 'done'), COUNT(*) FILTER (WHERE state <> 'done')
         FROM directory_jobs WHERE kind IN ('update_account', 'disable_account')",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "  verified: {done} of {planned} changes succeeded ({not_done} did not; {claimed} planned)"
    );
    stack.stop()?;
    if planned != claimed
        || usize::try_from(done)? != planned
        || not_done != 0
        || !moved_ok
        || left_works
    {
        return Err("the import's changes were not all applied".into());
    }
    Ok(())
}

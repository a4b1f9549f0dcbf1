//! The breached-password list: lookup time and claimd's memory with and without it.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_breached &&
//!  target/release/examples/bench_breached target/release/claimd [LINES]`
//!
//! Writes a list of LINES (default 100,000,000; the downloadable Pwned Passwords file holds
//! about 10 times as many, three more steps of the search) sorted `SHA1:COUNT` lines, then:
//! times lookups in it with claimd-breached (listed and unlisted passwords, each one a
//! binary search of positioned reads; first with the page cache emptied when run as root); runs the release `claimd run` twice, without the list
//! and with it, making the same claims through gRPC, and prints each run's claim latency and
//! peak RSS. Verified: every claim SUCCEEDED, every listed password was found and every
//! unlisted one was not, and with the list `claimd` refused a listed password as
//! BREACHED_PASSWORD.

mod common;

use std::{
    fs,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use claimd_core::BreachedPasswords;
use common::{BoxError, Stack, bench_claim_request as request, settle};
use secrecy::SecretString;

const LISTED: &str = "Lantern-Meadow-Quartz-58";
const CLAIMS: u32 = 60;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Peak and current resident memory of `pid`, in MiB.
fn memory(pid: u32) -> Result<(f64, f64), BoxError> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<f64, BoxError> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .ok_or("no such /proc status field")?;
        let kib: f64 = line.trim().trim_end_matches("kB").trim().parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

/// Times lookups of `words` in the list; returns the sorted latencies and how many were held.
fn lookups(
    list: &dyn BreachedPasswords,
    words: &[String],
) -> Result<(Vec<Duration>, usize), BoxError> {
    let mut times = Vec::with_capacity(words.len());
    let mut held = 0;
    for word in words {
        let password = SecretString::from(word.clone());
        let started = Instant::now();
        held += usize::from(list.holds(&password)?);
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times, held))
}

/// Makes `CLAIMS` claims through `claimd run` (with `extra` config) and reports latency and
/// memory; with a list, also checks that a listed password is refused.
async fn claims(claimd: &str, extra: &str, label: &str) -> Result<(), BoxError> {
    let mut stack = Stack::with_config(claimd, extra)?;
    let roster = stack.dir.path().join("roster.csv");
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 1..=CLAIMS + 5 {
        csv.push_str(&format!(
            "{i},Bench{i},Person,b{i}@district.example,active\n"
        ));
    }
    fs::write(&roster, csv)?;
    stack.import(&roster)?;
    let mut client = stack.run().await?;
    let pid = stack.pid().ok_or("claimd is not running")?;
    let (_, at_start) = memory(pid)?;
    let mut replies = Vec::new();
    for i in 1..=CLAIMS {
        let started = Instant::now();
        let reply = client.claim_account(request(i)).await?.into_inner();
        replies.push(started.elapsed());
        settle(&mut client, reply.operation.unwrap().id).await?;
    }
    replies.sort();
    let (peak, now) = memory(pid)?;
    println!(
        "{label:<22} claim reply p50 {:>6.1} ms  p95 {:>6.1} ms | RSS after start {at_start:.1} MiB, \
         after {CLAIMS} claims {now:.1} MiB, peak {peak:.1} MiB",
        ms(percentile(&replies, 0.5)),
        ms(percentile(&replies, 0.95)),
    );
    println!("  verified: {CLAIMS}/{CLAIMS} claims SUCCEEDED");
    if !extra.is_empty() {
        let status = client
            .claim_account(claimd_api::v1::ClaimAccountRequest {
                password: LISTED.into(),
                ..request(CLAIMS + 1)
            })
            .await
            .err()
            .ok_or("a listed password was accepted")?;
        if !status.message().contains("data breaches") {
            return Err(format!(
                "a listed password was refused otherwise: {}",
                status.message()
            )
            .into());
        }
        println!("  verified: the listed password was refused (BREACHED_PASSWORD)");
    }
    stack.stop()?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_breached PATH-TO-CLAIMD [LINES]")?;
    let lines: u64 = std::env::args()
        .nth(2)
        .map_or(Ok(100_000_000), |s| s.parse())?;
    let dir = tempfile::Builder::new()
        .prefix("claimd-breached-")
        .tempdir()?;
    let path = dir.path().join("pwned-passwords-sha1-ordered-by-hash.txt");
    let planted: Vec<String> = (0..1000).map(|i| format!("listed-{i}-Quartz")).collect();
    let mut planted_refs: Vec<&str> = planted.iter().map(String::as_str).collect();
    planted_refs.push(LISTED);
    let started = Instant::now();
    claimd_testkit::write_pwned_list(&path, lines, &planted_refs, 5)?;
    let bytes = fs::metadata(&path)?.len();
    println!(
        "list: {lines} lines, {:.2} GiB, written in {:.1} s",
        bytes as f64 / f64::from(1 << 30),
        started.elapsed().as_secs_f64()
    );

    let list: Arc<dyn BreachedPasswords> =
        Arc::new(claimd_breached::BreachedList::open(Path::new(&path), 1)?);
    let unlisted: Vec<String> = (0..100_000)
        .map(|i| format!("unlisted-{i}-Harbor"))
        .collect();
    // The first pass reads from disk when the page cache can be emptied (root), as the first
    // claims after a reboot do; the second is what a running claimd sees.
    let cold = fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    let first = if cold { "cold cache" } else { "first pass" };
    for pass in [first, "warm"] {
        let (times, held) = lookups(list.as_ref(), &planted)?;
        if held != planted.len() {
            return Err(format!("{held} of {} listed passwords found", planted.len()).into());
        }
        let (misses, wrongly) = lookups(list.as_ref(), &unlisted)?;
        if wrongly != 0 {
            return Err(format!("{wrongly} unlisted passwords found").into());
        }
        println!(
            "lookup ({pass:<10}) listed n={} p50 {:.1} µs p99 {:.1} µs | unlisted n={} p50 {:.1} µs p99 {:.1} µs max {:.1} µs",
            times.len(),
            percentile(&times, 0.5).as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6,
            misses.len(),
            percentile(&misses, 0.5).as_secs_f64() * 1e6,
            percentile(&misses, 0.99).as_secs_f64() * 1e6,
            misses.last().unwrap().as_secs_f64() * 1e6,
        );
    }
    println!(
        "  verified: {0}/{0} listed found, 0/{1} unlisted found",
        planted.len(),
        unlisted.len()
    );

    claims(&claimd, "", "without the list").await?;
    let extra = format!("[passwords]\nbreached_file = \"{}\"\n", path.display());
    claims(&claimd, &extra, "with the list").await?;
    Ok(())
}

//! Claim latency and throughput against a warm claimd, a real slapd and SQLite.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_claim &&
//!  target/release/examples/bench_claim target/release/claimd [N]`
//!
//! Prints: ClaimAccount latency (accept: validate, roster match, three argon2id hashes, one
//! transaction) sequentially, time from accept to SUCCEEDED (the directory write), and the
//! throughput of N claims sent 8 at a time. Then the ratios to the claim's floor, measured in
//! the same run: three argon2id answer hashes (claimd's own hasher, one thread): claimd's CPU
//! per accepted claim (service and worker together), and the throughput against what the
//! hashes alone allow on this machine's cores.

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use common::{BoxError, Stack, bench_claim_request as request, settle};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<34} n={:<4} p50={:>7.1} ms  p95={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_claim PATH-TO-CLAIMD [N]")?;
    let n: u32 = std::env::args().nth(2).map_or(Ok(200), |s| s.parse())?;
    let mut stack = Stack::new(&claimd)?;
    let roster = stack.dir.path().join("roster.csv");
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 1..=3 * n + 10 {
        csv.push_str(&format!(
            "{i},Bench{i},Person,b{i}@district.example,active\n"
        ));
    }
    fs::write(&roster, csv)?;
    stack.import(&roster)?;
    let mut client = stack.run().await?;

    // Warm up: connections, the SQLite cache, the directory connection.
    for i in 1..=5 {
        let reply = client.claim_account(request(i)).await?.into_inner();
        settle(&mut client, reply.operation.unwrap().id).await?;
    }

    let mut accept = Vec::new();
    let mut to_directory = Vec::new();
    for i in 6..6 + n {
        let started = Instant::now();
        let reply = client.claim_account(request(i)).await?.into_inner();
        accept.push(started.elapsed());
        let accepted = Instant::now();
        settle(&mut client, reply.operation.unwrap().id).await?;
        to_directory.push(accepted.elapsed());
    }
    report("ClaimAccount reply (sequential)", accept);
    report("accepted -> SUCCEEDED in directory", to_directory);

    let first = 6 + n;
    let pid = stack.pid().ok_or("claimd is not running")?;
    let cpu_before = cpu_seconds(pid)?;
    let started = Instant::now();
    let concurrency = 8;
    let mut tasks = Vec::new();
    for lane in 0..concurrency {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut i = first + lane;
            while i < first + n {
                let reply = client
                    .claim_account(request(i))
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                ids.push(reply.operation.unwrap().id);
                i += concurrency;
            }
            for id in ids {
                settle(&mut client, id).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(pid)? - cpu_before;
    let rate = f64::from(n) / elapsed.as_secs_f64();
    println!(
        "{:<34} {n} claims in {:.2} s = {:.1} claims/s (accepted and written)",
        format!("{concurrency} clients at once"),
        elapsed.as_secs_f64(),
        rate
    );
    // Latency under a steady load at 80 % of that rate: a claim every 1/(0.8 x rate) s, each
    // on its own, whatever the others do (an open loop, like people arriving).
    let paced_first = first + n;
    let interval = Duration::from_secs_f64(1.0 / (0.8 * rate));
    let mut paced = Vec::new();
    let mut tick = tokio::time::interval(interval);
    for i in paced_first..paced_first + n {
        tick.tick().await;
        let mut client = client.clone();
        paced.push(tokio::spawn(async move {
            let started = Instant::now();
            client
                .claim_account(request(i))
                .await
                .map(|reply| {
                    let latency = started.elapsed();
                    (latency, reply.into_inner().operation.unwrap_or_default().id)
                })
                .map_err(|e| e.to_string())
        }));
    }
    let mut latencies = Vec::new();
    let mut paced_ops = Vec::new();
    for task in paced {
        let (latency, op) = task.await??;
        latencies.push(latency);
        paced_ops.push(op);
    }
    // The paced claims too must have been written, not only answered.
    for op in paced_ops {
        settle(&mut client, op).await?;
    }
    latencies.sort();
    let p50 = percentile(&latencies, 0.5);
    let hashes = three_hashes();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let hash_rate = hashes_alone(cores);
    let per_claim = cpu / f64::from(n);
    println!(
        "{:<34} {:.1} ms alone; {:.1} claims' worth/s on {cores} threads at once",
        "floor: three argon2id hashes",
        hashes * 1e3,
        hash_rate
    );
    println!(
        "{:<34} {:.1} ms = {:.2} x the floor",
        "claimd CPU per accepted claim",
        per_claim * 1e3,
        per_claim / hashes
    );
    println!(
        "{:<34} {:.2} x what the hashes alone allow",
        "throughput",
        rate / hash_rate
    );
    println!(
        "{:<34} p50 {:.1} ms = {:.2} x the three hashes alone",
        format!("reply at {:.1} claims/s (80 %)", 0.8 * rate),
        p50.as_secs_f64() * 1e3,
        p50.as_secs_f64() / hashes
    );
    let entries = stack
        .slapd
        .search(claimd_testkit::Slapd::USERS_BASE_DN, "(uid=*)", &["uid"])
        .matches("dn: ")
        .count();
    let expected = usize::try_from(5 + 3 * n)?;
    println!(
        "{:<34} {entries} (expected {expected}); every claim SUCCEEDED",
        "verified: entries in the directory",
    );
    stack.stop()?;
    if entries != expected {
        return Err(format!("{entries} entries in the directory, {expected} expected").into());
    }
    Ok(())
}

/// User and system CPU seconds `pid` has used (from /proc).
fn cpu_seconds(pid: u32) -> Result<f64, BoxError> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("bad /proc stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    let per_second: f64 = String::from_utf8_lossy(&per_second.stdout).trim().parse()?;
    Ok(ticks / per_second)
}

/// The median time of claimd's own hasher doing a claim's three answer hashes, one thread.
fn three_hashes() -> f64 {
    use secrecy::SecretString;
    let hasher = claimd_core::AnswerHasher::new(None);
    let keys: Vec<SecretString> = ["biscuit", "jonesboro", "ford ranger"]
        .iter()
        .map(|k| SecretString::from(*k))
        .collect();
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let started = Instant::now();
            hasher.hash_each(&keys).expect("hashes");
            started.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Claims' worth of answer hashes per second with `threads` threads hashing at once for
/// three seconds: what the hashes alone allow on these cores (they share memory bandwidth
/// and caches, so two threads are not twice one).
fn hashes_alone(threads: usize) -> f64 {
    use secrecy::SecretString;
    let until = Instant::now() + Duration::from_secs(3);
    let counts: Vec<u32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let hasher = claimd_core::AnswerHasher::new(None);
                    let keys: Vec<SecretString> = ["biscuit", "jonesboro", "ford ranger"]
                        .iter()
                        .map(|k| SecretString::from(*k))
                        .collect();
                    let mut done = 0;
                    while Instant::now() < until {
                        hasher.hash_each(&keys).expect("hashes");
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    f64::from(counts.iter().sum::<u32>()) / 3.0
}

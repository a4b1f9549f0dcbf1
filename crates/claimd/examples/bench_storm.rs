//! A claim storm: many people press "Claim My Account" at the same moment while many more
//! portal pages poll a cheap call. Shows that memory stays bounded, every claim is written,
//! and cheap calls stay fast.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_storm &&
//!  target/release/examples/bench_storm target/release/claimd [CLAIMS] [POLLERS]`
//!
//! Defaults: 300 claims and 700 pollers, each on its own connection. Claimers honour
//! RESOURCE_EXHAUSTED's RetryInfo (with jitter) for up to 300 s, then watch their operation;
//! pollers call ListChallengeQuestions once a second until the storm is over. Prints claims
//! succeeded, refusals by code, claimd's peak RSS (VmHWM), and the cheap calls' latency.

mod common;

use std::{
    fs,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ChallengeAnswer, ClaimAccountRequest, ListChallengeQuestionsRequest, OperationState,
    WatchOperationRequest, account_service_client::AccountServiceClient,
};
use common::{BoxError, Stack};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

/// Errors that cross task boundaries.
type TaskError = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "Maple-Canoe-Lantern-42";
const CLAIM_PATIENCE: Duration = Duration::from_secs(300);

fn request(i: usize) -> ClaimAccountRequest {
    let answers = [
        ("first-pet", "Biscuit"),
        ("birth-city", "Jonesboro"),
        ("first-car", "Ford Ranger"),
    ];
    ClaimAccountRequest {
        last_name: format!("Storm{i}"),
        first_name: "Person".into(),
        employee_id: format!("{:06}", 100_000 + i),
        password: PASSWORD.into(),
        answers: answers
            .iter()
            .map(|(q, a)| ChallengeAnswer {
                question_id: (*q).into(),
                answer: (*a).into(),
            })
            .collect(),
        claim_code: String::new(),
    }
}

/// What one claimer saw.
#[derive(Default)]
struct Tally {
    succeeded: AtomicUsize,
    busy: AtomicUsize,
    locked: AtomicUsize,
    unavailable: AtomicUsize,
    other: Mutex<Vec<String>>,
}

async fn connect(endpoint: &str) -> Result<AccountServiceClient<Channel>, TaskError> {
    Ok(AccountServiceClient::connect(endpoint.to_owned()).await?)
}

/// Claims, retrying as RetryInfo says, then watches the operation to its end.
async fn claimer(endpoint: String, i: usize, tally: Arc<Tally>) -> Result<(), TaskError> {
    let mut client = connect(&endpoint).await?;
    let give_up = Instant::now() + CLAIM_PATIENCE;
    let reply = loop {
        match client.claim_account(request(i)).await {
            Ok(reply) => break reply.into_inner(),
            Err(status) if status.code() == Code::ResourceExhausted => {
                let retry = status
                    .get_error_details()
                    .retry_info()
                    .and_then(|r| r.retry_delay);
                if status.message().contains("busy") {
                    tally.busy.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.locked.fetch_add(1, Ordering::Relaxed);
                }
                let jitter = Duration::from_millis(rand_millis(i, 500));
                let wait = retry.unwrap_or(Duration::from_secs(1)) + jitter;
                if Instant::now() + wait > give_up {
                    return Err(format!("claim {i} gave up after {CLAIM_PATIENCE:?}").into());
                }
                tokio::time::sleep(wait).await;
            }
            Err(status) => {
                if status.code() == Code::Unavailable {
                    tally.unavailable.fetch_add(1, Ordering::Relaxed);
                }
                tally.other.lock().unwrap().push(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                ));
                return Ok(());
            }
        }
    };
    let id = reply.operation.ok_or("no operation")?.id;
    let mut stream = client
        .watch_operation(WatchOperationRequest { id })
        .await?
        .into_inner();
    let mut last = None;
    while let Some(message) = stream.message().await? {
        last = message.operation;
    }
    if last.is_some_and(|op| op.state() == OperationState::Succeeded) {
        tally.succeeded.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// A cheap pseudo-random spread, so retries do not arrive in lockstep.
fn rand_millis(seed: usize, below: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    (nanos ^ (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % below
}

/// Polls ListChallengeQuestions once a second until `done`, recording each latency.
async fn poller(
    endpoint: String,
    done: Arc<AtomicBool>,
    latencies: Arc<Mutex<Vec<Duration>>>,
    failures: Arc<AtomicUsize>,
) -> Result<(), TaskError> {
    let mut client = connect(&endpoint).await?;
    while !done.load(Ordering::Relaxed) {
        let started = Instant::now();
        match client
            .list_challenge_questions(ListChallengeQuestionsRequest {})
            .await
        {
            Ok(_) => latencies.lock().unwrap().push(started.elapsed()),
            Err(_) => {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(started.elapsed())).await;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// claimd's peak resident memory so far, from /proc (kB).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    common::proc_status_kib(pid, "VmHWM")
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let claimd = args
        .next()
        .ok_or("usage: bench_storm PATH/TO/claimd [CLAIMS] [POLLERS]")?;
    let claims: usize = args.next().map_or(Ok(300), |n| n.parse())?;
    let pollers: usize = args.next().map_or(Ok(700), |n| n.parse())?;

    let mut stack = Stack::new(&claimd)?;
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 0..claims {
        csv.push_str(&format!(
            "{},Storm{i},Person,storm{i}@district.example,active\n",
            100_000 + i
        ));
    }
    let roster = stack.dir.path().join("roster.csv");
    fs::write(&roster, csv)?;
    stack.import(&roster)?;
    stack.run().await?;
    let pid = stack.pid().ok_or("claimd is not running")?;
    let endpoint = format!("http://127.0.0.1:{}", stack.port);
    let rss_at_start = peak_rss_kib(pid).unwrap_or(0);

    let done = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let poll_failures = Arc::new(AtomicUsize::new(0));
    let poll_tasks: Vec<_> = (0..pollers)
        .map(|_| {
            tokio::spawn(poller(
                endpoint.clone(),
                done.clone(),
                latencies.clone(),
                poll_failures.clone(),
            ))
        })
        .collect();
    // Let the pollers connect and settle before the storm.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warm_samples = latencies.lock().unwrap().len();

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let claim_tasks: Vec<_> = (0..claims)
        .map(|i| tokio::spawn(claimer(endpoint.clone(), i, tally.clone())))
        .collect();
    let mut claim_errors = Vec::new();
    for task in claim_tasks {
        if let Err(e) = task.await? {
            claim_errors.push(e.to_string());
        }
    }
    let storm = started.elapsed();
    done.store(true, Ordering::Relaxed);
    for task in poll_tasks {
        task.await?.map_err(|e| e.to_string())?;
    }
    let peak = peak_rss_kib(pid).unwrap_or(0);

    let mut during: Vec<Duration> = latencies.lock().unwrap()[warm_samples..].to_vec();
    during.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("claim storm: {claims} claims at once, {pollers} pollers (1 call/s each), 2 cores");
    println!(
        "  claims SUCCEEDED: {}/{claims} in {:.1} s",
        tally.succeeded.load(Ordering::Relaxed),
        storm.as_secs_f64()
    );
    println!(
        "  refusals seen: busy {} (RESOURCE_EXHAUSTED + RetryInfo), locked {}, UNAVAILABLE {}, other {:?}, gave up {:?}",
        tally.busy.load(Ordering::Relaxed),
        tally.locked.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        tally.other.lock().unwrap(),
        claim_errors,
    );
    println!(
        "  claimd peak RSS (VmHWM): {:.1} MiB (after start: {:.1} MiB)",
        peak as f64 / 1024.0,
        rss_at_start as f64 / 1024.0
    );
    println!(
        "  ListChallengeQuestions during the storm: {} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, failed {}",
        during.len(),
        ms(percentile(&during, 0.50)),
        ms(percentile(&during, 0.99)),
        ms(percentile(&during, 1.0)),
        poll_failures.load(Ordering::Relaxed),
    );
    let exit = stack.stop()?;
    println!("  claimd exit: {exit}");
    let succeeded = tally.succeeded.load(Ordering::Relaxed);
    let failed_polls = poll_failures.load(Ordering::Relaxed);
    println!(
        "  verified: {succeeded} of {claims} claims SUCCEEDED, {failed_polls} cheap calls failed"
    );
    if succeeded != claims
        || !claim_errors.is_empty()
        || failed_polls != 0
        || exit != "exit status: 0"
    {
        return Err("the storm did not do all its work".into());
    }
    Ok(())
}

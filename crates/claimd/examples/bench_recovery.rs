//! Known versus unknown accounts in the recovery calls: the replies must not tell them apart
//! by time.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_recovery &&
//!  target/release/examples/bench_recovery target/release/claimd [N]`
//!
//! Claims one account (e77777), then sends N calls for it and N for an unknown username
//! (e424242), interleaved so drift hits both alike: BeginPasswordReset, CompletePasswordReset
//! with wrong answers (both UNAUTHENTICATED: three argon2id checks each, against the stored
//! hashes or the dummy) and RecoverUsername for a known and an unknown address. Attempt limits
//! are raised for the run so no lock cuts the work short. `SECOND_FACTOR=1` turns on
//! `recovery.second_factor` (Jane has a personal address; the codes typed are wrong).

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    BeginPasswordResetRequest, ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest,
    CompletePasswordResetRequest, RecoverUsernameRequest, WatchOperationRequest,
};
use common::{BoxError, Stack};

const LIMITS: &str = "[security]\naccount_max_failures = 1000000\naddress_max_failures = 1000000\n\
                      account_consecutive_limit = 1000000\nusername_mails_per_address = 1000000\n";

struct Stats {
    median: f64,
    p90: f64,
    mean: f64,
    sd: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len() as f64;
    let mean = ms.iter().sum::<f64>() / n;
    let sd = (ms.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Stats {
        median: ms[ms.len() / 2],
        p90: ms[(ms.len() * 9) / 10],
        mean,
        sd,
    }
}

fn report(call: &str, known: &[Duration], unknown: &[Duration]) {
    let (k, u) = (stats(known), stats(unknown));
    // Welch's t statistic for the difference of the means.
    let t = (k.mean - u.mean)
        / (k.sd.powi(2) / known.len() as f64 + u.sd.powi(2) / unknown.len() as f64).sqrt();
    println!("{call}");
    for (name, s) in [("known", &k), ("unknown", &u)] {
        println!(
            "  {name:<8} median {:>7.2} ms  p90 {:>7.2} ms  mean {:>7.2} ± {:.2} ms",
            s.median, s.p90, s.mean, s.sd
        );
    }
    println!(
        "  difference of medians {:+.2} ms, Welch t = {t:+.2} (|t| < 2: not distinguishable)",
        k.median - u.median
    );
}

/// The known or the unknown samples of a pair.
fn side(pair: &mut (Vec<Duration>, Vec<Duration>), known: bool) -> &mut Vec<Duration> {
    if known { &mut pair.0 } else { &mut pair.1 }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_recovery PATH-TO-CLAIMD [N]")?;
    let n: usize = std::env::args().nth(2).map_or(Ok(200), |s| s.parse())?;
    // SECOND_FACTOR=1: Jane has a personal address and resets need a mailed code, so
    // BeginPasswordReset offers her a code (off the request path) and every
    // CompletePasswordReset looks a code up.
    let second_factor = std::env::var("SECOND_FACTOR").is_ok_and(|v| v == "1");
    let config = if second_factor {
        format!("{LIMITS}[recovery]\nsecond_factor = \"personal_email\"\n")
    } else {
        LIMITS.to_owned()
    };
    let mut stack = Stack::with_config(&claimd, &config)?;
    let roster = stack.dir.path().join("roster.csv");
    fs::write(
        &roster,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         77777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n",
    )?;
    stack.import(&roster)?;
    let mut client = stack.run().await?;
    let answers = |words: [&str; 3]| -> Vec<ChallengeAnswer> {
        ["first-pet", "birth-city", "first-car"]
            .iter()
            .zip(words)
            .map(|(q, a)| ChallengeAnswer {
                question_id: (*q).into(),
                answer: a.into(),
            })
            .collect()
    };
    let reply = client
        .claim_account(ClaimAccountRequest {
            last_name: "Doe".into(),
            first_name: "Jane".into(),
            employee_id: "077777".into(),
            password: "Maple-Canoe-Lantern-42".into(),
            answers: answers(["Biscuit", "Jonesboro", "Ford Ranger"]),
            claim_code: String::new(),
        })
        .await?
        .into_inner();
    let mut watch = client
        .watch_operation(WatchOperationRequest {
            id: reply.operation.unwrap().id,
        })
        .await?
        .into_inner();
    while watch.message().await?.is_some() {}

    let mut begin = (Vec::new(), Vec::new());
    let mut complete = (Vec::new(), Vec::new());
    let mut recover = (Vec::new(), Vec::new());
    let mut change = (Vec::new(), Vec::new());
    for i in 0..n + 10 {
        for (known, username, email) in [
            (true, "e77777", "jane.doe@district.example"),
            (false, "e424242", "nobody@district.example"),
        ] {
            let started = Instant::now();
            client
                .begin_password_reset(BeginPasswordResetRequest {
                    username: username.into(),
                })
                .await?;
            let begin_time = started.elapsed();

            let request = CompletePasswordResetRequest {
                username: username.into(),
                answers: answers(["Wrong", "Wrong Too", "Still Wrong"]),
                new_password: "Violet-Harbor-Compass-31".into(),
                verification_code: "1234 5678".into(),
            };
            let started = Instant::now();
            let status = client.complete_password_reset(request).await.unwrap_err();
            let complete_time = started.elapsed();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);

            let started = Instant::now();
            client
                .recover_username(RecoverUsernameRequest {
                    email: email.into(),
                })
                .await?;
            let recover_time = started.elapsed();

            // A wrong current password: the directory checks it for Jane; for the unknown
            // name claimd binds nothing and waits as long as a bind usually takes.
            let started = Instant::now();
            let status = client
                .change_password(ChangePasswordRequest {
                    username: username.into(),
                    current_password: "Not-The-Password-7".into(),
                    new_password: "Violet-Harbor-Compass-31".into(),
                })
                .await
                .unwrap_err();
            let change_time = started.elapsed();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);

            if i >= 10 {
                // The first ten rounds warm up.
                side(&mut begin, known).push(begin_time);
                side(&mut complete, known).push(complete_time);
                side(&mut recover, known).push(recover_time);
                side(&mut change, known).push(change_time);
            }
        }
    }
    println!(
        "{n} calls each, known (e77777) and unknown (e424242), interleaved; second factor {}\n",
        if second_factor { "on" } else { "off" }
    );
    report("BeginPasswordReset", &begin.0, &begin.1);
    report(
        "CompletePasswordReset, wrong answers (UNAUTHENTICATED)",
        &complete.0,
        &complete.1,
    );
    report(
        "RecoverUsername (known address mails at most 3 an hour)",
        &recover.0,
        &recover.1,
    );
    report(
        "ChangePassword, wrong current password (UNAUTHENTICATED; a bind only for e77777)",
        &change.0,
        &change.1,
    );
    stack.stop()?;
    Ok(())
}

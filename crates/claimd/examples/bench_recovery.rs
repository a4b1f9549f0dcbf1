//! Known versus unknown accounts in the recovery calls: the replies must not tell them apart
//! by time.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_recovery &&
//!  target/release/examples/bench_recovery target/release/claimd [N]`
//!
//! Claims N + 10 people, then in each round sends calls for one of them and for an unknown
//! username, interleaved so drift hits both alike: BeginPasswordReset, CompletePasswordReset
//! with wrong answers (both UNAUTHENTICATED: three argon2id checks each, against the stored
//! hashes or the dummy), RecoverUsername for the person's address and an unknown one, and
//! ChangePassword with a wrong current password. Each round is a new person from a new
//! client address (the benchmark is a trusted proxy), so the known calls time the path that
//! does the work (a username mail queued; with the second factor, a code made and mailed)
//! rather than a throttled one; attempt limits are raised so no lock cuts the work short. At
//! the end every such mail must have arrived, and none for an unknown address.
//! `SECOND_FACTOR=1` keeps `recovery.second_factor` on (the codes typed are wrong); without
//! it the run sets it `off`.

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    BeginPasswordResetRequest, ChallengeAnswer, ChangePasswordRequest,
    CompletePasswordResetRequest, RecoverUsernameRequest,
    account_service_client::AccountServiceClient,
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

/// `message` as sent by the browser at `client` through a trusted proxy (the benchmark's own
/// address): each round is a new visitor, so no per-address limit ends the work it times.
fn from<T>(message: T, client: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-forwarded-for", client.parse().expect("an address"));
    request
}

/// Claims bench people 1..=`count` (four at a time) and follows each to SUCCEEDED.
async fn claim_all(port: u16, count: u32) -> Result<(), BoxError> {
    let lanes: Vec<_> = (0..4)
        .map(|lane| {
            tokio::spawn(async move {
                let mut client = AccountServiceClient::connect(format!("http://127.0.0.1:{port}"))
                    .await
                    .map_err(|e| e.to_string())?;
                for i in (1..=count).filter(|i| i % 4 == lane) {
                    let reply = client
                        .claim_account(from(common::bench_claim_request(i), "10.255.0.1"))
                        .await
                        .map_err(|e| e.to_string())?
                        .into_inner();
                    common::settle(&mut client, reply.operation.unwrap_or_default().id).await?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for lane in lanes {
        lane.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_recovery PATH-TO-CLAIMD [N]")?;
    let n: usize = std::env::args().nth(2).map_or(Ok(200), |s| s.parse())?;
    // SECOND_FACTOR=1: the people have personal addresses and resets need a mailed code, so
    // each BeginPasswordReset for a known name makes and mails a code (off the request
    // path) and every CompletePasswordReset looks a code up.
    let second_factor = std::env::var("SECOND_FACTOR").is_ok_and(|v| v == "1");
    let config = if second_factor {
        format!("{LIMITS}[recovery]\nsecond_factor = \"personal_email\"\n")
    } else {
        format!("{LIMITS}[recovery]\nsecond_factor = \"off\"\n")
    };
    let mut stack = Stack::with_config(&claimd, &config)?;
    // The benchmark is the visitors' proxy: x-forwarded-for names a new visitor each round.
    stack
        .env
        .push(("CLAIMD__GRPC__TRUSTED_PROXIES".into(), "127.0.0.1".into()));
    // One known person per round (the first ten warm up), so that every call times the
    // path that does the work: a username mail queued (an address gets three an hour), a
    // code made and mailed (one live code per person, twenty offers an hour per address).
    let rounds = n + 10;
    let people = u32::try_from(rounds)?;
    let roster = stack.dir.path().join("roster.csv");
    let mut csv = String::from("employee_id,last_name,first_name,email,status,personal_email\n");
    for i in 1..=people {
        csv.push_str(&format!(
            "{i},Bench{i},Person,p{i}@district.example,active,p{i}@home.example\n"
        ));
    }
    fs::write(&roster, csv)?;
    stack.import(&roster)?;
    let mut client = stack.run().await?;
    claim_all(stack.port, people).await?;
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

    let mut begin = (Vec::new(), Vec::new());
    let mut complete = (Vec::new(), Vec::new());
    let mut recover = (Vec::new(), Vec::new());
    let mut change = (Vec::new(), Vec::new());
    for i in 1..=people {
        let visitor = format!("10.{}.{}.{}", i / 62_500, (i / 250) % 250, i % 250 + 1);
        let known_username = format!("e{i}");
        let known_email = format!("p{i}@district.example");
        let unknown_username = format!("e{}", 900_000 + i);
        let unknown_email = format!("nobody{i}@district.example");
        let mut pair = [
            (true, known_username.as_str(), known_email.as_str()),
            (false, unknown_username.as_str(), unknown_email.as_str()),
        ];
        // Who goes first alternates: the mail a known call queues is sent while the next
        // calls run, and must slow both sides alike.
        if i % 2 == 1 {
            pair.reverse();
        }
        for (known, username, email) in pair {
            let started = Instant::now();
            client
                .begin_password_reset(from(
                    BeginPasswordResetRequest {
                        username: username.into(),
                    },
                    &visitor,
                ))
                .await?;
            let begin_time = started.elapsed();

            let request = CompletePasswordResetRequest {
                username: username.into(),
                answers: answers(["Wrong", "Wrong Too", "Still Wrong"]),
                new_password: "Violet-Harbor-Compass-31".into(),
                verification_code: "1234 5678".into(),
            };
            let started = Instant::now();
            let status = client
                .complete_password_reset(from(request, &visitor))
                .await
                .unwrap_err();
            let complete_time = started.elapsed();
            if status.code() != tonic::Code::Unauthenticated {
                return Err(format!("{username}: reset answered {status:?}").into());
            }

            let started = Instant::now();
            client
                .recover_username(from(
                    RecoverUsernameRequest {
                        email: email.into(),
                    },
                    &visitor,
                ))
                .await?;
            let recover_time = started.elapsed();

            // A wrong current password: the directory checks it for a known name; for the
            // unknown one claimd binds nothing and waits as long as a bind usually takes.
            let started = Instant::now();
            let status = client
                .change_password(from(
                    ChangePasswordRequest {
                        username: username.into(),
                        current_password: "Not-The-Password-7".into(),
                        new_password: "Violet-Harbor-Compass-31".into(),
                    },
                    &visitor,
                ))
                .await
                .unwrap_err();
            let change_time = started.elapsed();
            if status.code() != tonic::Code::Unauthenticated {
                return Err(format!("{username}: change answered {status:?}").into());
            }

            if i > 10 {
                // The first ten rounds warm up.
                side(&mut begin, known).push(begin_time);
                side(&mut complete, known).push(complete_time);
                side(&mut recover, known).push(recover_time);
                side(&mut change, known).push(change_time);
            }
        }
    }
    println!(
        "{n} calls each, known (a claimed person per round) and unknown (a name and address \
         on file nowhere), interleaved; second factor {}\n",
        if second_factor { "on" } else { "off" }
    );
    report(
        if second_factor {
            "BeginPasswordReset (known: a code made and mailed to the personal address)"
        } else {
            "BeginPasswordReset"
        },
        &begin.0,
        &begin.1,
    );
    report(
        "CompletePasswordReset, wrong answers (UNAUTHENTICATED)",
        &complete.0,
        &complete.1,
    );
    report(
        "RecoverUsername (known: the username mail queued)",
        &recover.0,
        &recover.1,
    );
    report(
        "ChangePassword, wrong current password (UNAUTHENTICATED; a bind only for the known name)",
        &change.0,
        &change.1,
    );

    // The work timed was done: every known round's mail arrived, and none for the unknown.
    let expected_codes = if second_factor { rounds } else { 0 };
    let deadline = Instant::now() + Duration::from_secs(120);
    let (usernames, codes, strays) = loop {
        let mails = stack.smtp.messages();
        let count = |subject: &str| mails.iter().filter(|m| m.subject == subject).count();
        let strays = mails.iter().filter(|m| m.to.contains("nobody")).count();
        let seen = (
            count("Your district username"),
            count("Your district password reset code"),
            strays,
        );
        if (seen.0 >= rounds && seen.1 >= expected_codes) || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "\nverified: {people} claims succeeded; {usernames} of {rounds} username mails and \
         {codes} of {expected_codes} verification codes arrived; {strays} mails to unknown addresses"
    );
    stack.stop()?;
    if usernames != rounds || codes != expected_codes || strays != 0 {
        return Err("the calls timed did not all do their work".into());
    }
    Ok(())
}

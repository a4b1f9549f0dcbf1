//! One campaign: the servers, the clients, the faults, then the invariants.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use claimd_api::v1::{
    ClaimAccountRequest, CompletePasswordResetRequest, GetOperationRequest, OperationState,
    account_service_client::AccountServiceClient,
};
use claimd_testkit::{ClaimdProcess, Postgres, Slapd, Smtp};
use nix::sys::signal::Signal;
use rand::Rng;
use tonic::{Code, transport::Channel};

use crate::client::answers;

/// People on the roster, and clients working through them (each person belongs to one
/// client, so each account's requests are in a known order).
const PEOPLE: u32 = 24;
const CLIENTS: u32 = 4;
const FIRST_ID: u32 = 100_001;

/// What became of one request, as its client saw it.
#[derive(Clone, Debug)]
enum Outcome {
    /// The service answered with this operation.
    Accepted(String),
    /// No answer (the replica died, the store went away): it may or may not have been taken.
    Uncertain,
    /// Refused with an answer (this code): nothing was taken.
    Refused(Code),
}

#[derive(Debug, Default)]
struct Account {
    /// A claim is known to have been taken (its answer, or a later "already claimed").
    claimed: bool,
    /// The operation of the claim that was answered, if one was.
    claim_op: Option<String>,
    /// The account is known to be in the directory: its claim's operation was seen
    /// SUCCEEDED, or a reset was accepted. From then on a reset with the right answers must
    /// never be UNAUTHENTICATED.
    provisioned: bool,
    /// Every password requested, in order, and what became of it.
    history: Vec<(String, Outcome)>,
}

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicUsize,
    accepted: AtomicUsize,
    uncertain: AtomicUsize,
    refused: AtomicUsize,
    /// Resets with the right answers for a provisioned account that were refused as if the
    /// answers were wrong: each one a defect.
    wrongly_refused: Mutex<Vec<String>>,
}

/// What the campaign must at least have done and seen for `kills` kills, so that a run
/// where every call failed, or nothing ran, cannot pass: the invariants below hold
/// trivially over no accepted operations. Seen here: 20 kills send about 280 requests and
/// accept about 240, 200 of them succeeding, over all 24 accounts.
struct Minimums {
    accepted: usize,
    succeeded: usize,
    accounts: usize,
}

impl Minimums {
    fn for_kills(kills: usize) -> Self {
        Self {
            accepted: 5 * kills,
            succeeded: 4 * kills,
            // Every person is claimed within the first seconds of any campaign.
            accounts: PEOPLE as usize,
        }
    }
}

fn config(port: u16, dir: &std::path::Path, store: &str, slapd: &Slapd, smtp: &Smtp) -> String {
    let d = dir.display();
    format!(
        r#"[grpc]
listen = "127.0.0.1:{port}"
[store]
url = "{store}"
seal_key_file = "{d}/claimd.key"
[directory]
url = "{url}"
bind_dn = "{bind_dn}"
bind_password = "{bind_pw}"
users_base_dn = "{base}"
allow_insecure_directory = true
timeout_secs = 2
[mail]
url = "{smtp}"
from = "District IT <ithelp@district.example>"
[portal]
listen = ""
[security]
account_max_failures = 100000
address_max_failures = 100000
account_consecutive_limit = 100000
[sync]
poll_interval_ms = 100
backoff_initial_ms = 100
backoff_max_secs = 1
lease_secs = 10
"#,
        url = slapd.url(),
        bind_dn = Slapd::SERVICE_DN,
        bind_pw = Slapd::SERVICE_PASSWORD,
        base = Slapd::USERS_BASE_DN,
        smtp = smtp.url(),
    )
}

/// Keeps claiming and resetting its people through a random replica until `stop`.
async fn client(
    index: u32,
    endpoints: Arc<Vec<String>>,
    accounts: Arc<Mutex<HashMap<u32, Account>>>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    let mine: Vec<u32> = (0..PEOPLE).filter(|i| i % CLIENTS == index).collect();
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        for &person in &mine {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let endpoint = endpoints[rand::rng().random_range(0..endpoints.len())].clone();
            let connect = tokio::time::timeout(
                Duration::from_secs(2),
                AccountServiceClient::connect(endpoint),
            );
            let Ok(Ok(mut service)) = connect.await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            n += 1;
            let password = format!("Quartz-Meadow-{index}x{n}-Lantern");
            let (claimed, claim_op, mut provisioned) = {
                let mut accounts = accounts.lock().unwrap();
                let account = accounts.entry(person).or_default();
                (
                    account.claimed,
                    account.claim_op.clone(),
                    account.provisioned,
                )
            };
            // Before a reset, learn whether the claim has reached the directory: a reset
            // refused as unknown is then a defect, not a claim still being written.
            if let (true, false, Some(op)) = (claimed, provisioned, claim_op) {
                provisioned = service
                    .get_operation(GetOperationRequest { id: op })
                    .await
                    .is_ok_and(|r| {
                        r.into_inner().operation.unwrap_or_default().state()
                            == OperationState::Succeeded
                    });
            }
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let outcome = request(&mut service, person, &password, claimed).await;
            let mut accounts = accounts.lock().unwrap();
            let account = accounts.entry(person).or_default();
            account.provisioned |= provisioned;
            match &outcome {
                Ok(Outcome::Accepted(op)) => {
                    if account.claimed {
                        // An accepted reset: the account is in the directory.
                        account.provisioned = true;
                    } else {
                        account.claim_op = Some(op.clone());
                    }
                    account.claimed = true;
                    counts.accepted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Outcome::Uncertain) => {
                    counts.uncertain.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Outcome::Refused(code)) => {
                    if account.provisioned && *code == Code::Unauthenticated {
                        counts.wrongly_refused.lock().unwrap().push(format!(
                            "e{}: a reset with the right answers was UNAUTHENTICATED after the \
                             account was written",
                            FIRST_ID + person
                        ));
                    }
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                }
                Err(()) => {
                    // "Already claimed" or "being claimed": an earlier uncertain claim was taken.
                    account.claimed = true;
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            account.history.push((password, outcome.unwrap()));
        }
    }
}

/// One claim (when the account is not known to be claimed) or one reset.
async fn request(
    service: &mut AccountServiceClient<Channel>,
    person: u32,
    password: &str,
    claimed: bool,
) -> Result<Outcome, ()> {
    let id = FIRST_ID + person;
    let result = if claimed {
        service
            .complete_password_reset(CompletePasswordResetRequest {
                username: format!("e{id}"),
                answers: answers(),
                new_password: password.into(),
                verification_code: String::new(),
            })
            .await
            .map(|r| r.into_inner().operation.unwrap_or_default().id)
    } else {
        service
            .claim_account(ClaimAccountRequest {
                last_name: "Tester".into(),
                first_name: "Alex".into(),
                employee_id: format!("{id:06}"),
                password: password.into(),
                answers: answers(),
                claim_code: String::new(),
            })
            .await
            .map(|r| r.into_inner().operation.unwrap_or_default().id)
    };
    match result {
        Ok(op) => Ok(Outcome::Accepted(op)),
        Err(status) => match status.code() {
            Code::AlreadyExists | Code::FailedPrecondition if !claimed => Err(()),
            // Not yet provisioned (a reset right after an uncertain claim), or busy.
            code @ (Code::Unauthenticated | Code::ResourceExhausted) => Ok(Outcome::Refused(code)),
            Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded => {
                Ok(Outcome::Uncertain)
            }
            code => panic!("e{id}: unexpected {code:?}: {}", status.message()),
        },
    }
}

/// Runs `f` (which blocks: process starts and stops) without stalling the clients.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

pub async fn run(kills: usize) {
    let postgres = blocking(Postgres::start);
    let slapd = Slapd::start();
    let smtp = Smtp::start();
    let url = postgres.url();

    // Replica A (`run`), replica B (`run`) and the worker C (`sync`), sharing the store and
    // the seal key (A's directory).
    let mut a = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    a.write_config(&config(a.port(), a.dir(), &url, &slapd, &smtp));
    let roster: String = std::iter::once("employee_id,last_name,first_name,email,status".into())
        .chain((0..PEOPLE).map(|i| {
            format!(
                "{},Tester,Alex,alex{i}@district.example,active",
                FIRST_ID + i
            )
        }))
        .collect::<Vec<String>>()
        .join("\n");
    a.import_roster(&format!("{roster}\n"));
    a.launch();
    let mut b = a.replica();
    b.launch();
    let mut c = a.sibling();
    c.launch_command("sync");
    let endpoints = Arc::new(vec![a.endpoint(), b.endpoint()]);

    let accounts = Arc::new(Mutex::new(HashMap::new()));
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client(
                i,
                endpoints.clone(),
                accounts.clone(),
                counts.clone(),
                stop.clone(),
            ))
        })
        .collect();

    // The faults: SIGKILL a random process and start it again, `kills` times; once, restart
    // PostgreSQL; once, stall the directory for three seconds.
    let mut postgres = postgres;
    let (mut killed, mut pg_restarts, mut outages) = ([0usize; 3], 0, 0);
    for k in 0..kills {
        let pause = rand::rng().random_range(200..700);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if k == kills / 3 {
            blocking(|| {
                postgres.stop();
                postgres.start_again();
            });
            pg_restarts += 1;
        }
        if k == 2 * kills / 3 {
            slapd.pause();
            tokio::time::sleep(Duration::from_secs(3)).await;
            slapd.unpause();
            outages += 1;
        }
        let victim = rand::rng().random_range(0..3);
        blocking(|| {
            let (process, command) = match victim {
                0 => (&mut a, "run"),
                1 => (&mut b, "run"),
                _ => (&mut c, "sync"),
            };
            process.stop_with(Signal::SIGKILL);
            process.launch_command(command);
        });
        killed[victim] += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    println!(
        "faults: {} kills (replica A {}, replica B {}, sync {}), {pg_restarts} PostgreSQL restart, {outages} directory outage",
        killed.iter().sum::<usize>(),
        killed[0],
        killed[1],
        killed[2]
    );
    println!(
        "requests: {} sent, {} accepted, {} uncertain (no answer), {} refused",
        counts.sent.load(Ordering::Relaxed),
        counts.accepted.load(Ordering::Relaxed),
        counts.uncertain.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
    );

    let accounts = std::mem::take(&mut *accounts.lock().unwrap());
    let seen = check(&postgres, &slapd, &a.endpoint(), &accounts).await;
    drop((a, b, c));

    // The invariants hold trivially over nothing: the campaign must have done its work.
    let wrongly_refused = counts.wrongly_refused.lock().unwrap();
    assert!(wrongly_refused.is_empty(), "{wrongly_refused:#?}");
    let done = killed.iter().sum::<usize>();
    assert_eq!(done, kills, "{done} of {kills} kills were done");
    assert_eq!((pg_restarts, outages), (1, 1));
    let least = Minimums::for_kills(kills);
    let accepted = counts.accepted.load(Ordering::Relaxed);
    assert!(
        accepted >= least.accepted,
        "only {accepted} requests accepted; {kills} kills need at least {}",
        least.accepted
    );
    assert!(
        seen.succeeded >= least.succeeded,
        "only {} operations succeeded; {kills} kills need at least {}",
        seen.succeeded,
        least.succeeded
    );
    assert!(
        seen.accounts >= least.accounts,
        "only {} accounts checked in the directory; {kills} kills need at least {}",
        seen.accounts,
        least.accounts
    );
}

/// What the invariants were checked over.
struct Seen {
    succeeded: usize,
    accounts: usize,
}

/// The invariants, once every job has ended.
async fn check(
    postgres: &Postgres,
    slapd: &Slapd,
    endpoint: &str,
    accounts: &HashMap<u32, Account>,
) -> Seen {
    let db = sqlx::PgPool::connect(&postgres.url()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (jobs, operations): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM directory_jobs WHERE state = 'queued'),
                    (SELECT COUNT(*) FROM operations WHERE state = 'pending')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if jobs == 0 && operations == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{jobs} jobs and {operations} operations still pending"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every accepted operation ended: written, or replaced by a newer password.
    let mut service = AccountServiceClient::connect(endpoint.to_owned())
        .await
        .unwrap();
    let (mut succeeded, mut superseded) = (0, 0);
    for (person, account) in accounts {
        for (_, outcome) in &account.history {
            let Outcome::Accepted(op) = outcome else {
                continue;
            };
            let operation = service
                .get_operation(GetOperationRequest { id: op.clone() })
                .await
                .unwrap()
                .into_inner()
                .operation
                .unwrap();
            match operation.state() {
                OperationState::Succeeded => succeeded += 1,
                OperationState::Failed
                    if operation.reason == claimd_core::store::SUPERSEDED_REASON =>
                {
                    superseded += 1
                }
                state => panic!(
                    "e{}: {op} ended {state:?}: {}",
                    FIRST_ID + person,
                    operation.reason
                ),
            }
        }
    }

    // The password that works is the newest one taken: the last accepted, or one sent after
    // it whose answer was lost; no older one.
    let mut checked = 0;
    for (person, account) in accounts {
        let Some(last) = account
            .history
            .iter()
            .rposition(|(_, o)| matches!(o, Outcome::Accepted(_)))
        else {
            continue;
        };
        let dn = format!("uid=e{},{}", FIRST_ID + person, Slapd::USERS_BASE_DN);
        let binding: Vec<&str> = account
            .history
            .iter()
            .filter(|(password, _)| slapd.can_bind(&dn, password))
            .map(|(password, _)| password.as_str())
            .collect();
        let newest: Vec<&str> = account.history[last..]
            .iter()
            .filter(|(_, o)| !matches!(o, Outcome::Refused(_)))
            .map(|(password, _)| password.as_str())
            .collect();
        assert_eq!(binding.len(), 1, "{dn}: these passwords work: {binding:?}");
        assert!(
            newest.contains(&binding[0]),
            "{dn}: {} works, but the newest taken is among {newest:?}",
            binding[0]
        );
        checked += 1;
    }

    // Every job has its acceptance in the audit log, and every job written its outcome.
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.username,
                (SELECT COUNT(*) FROM directory_jobs j JOIN claims o ON o.id = j.claim_id
                  WHERE o.username = c.username AND j.kind IN ('provision', 'reset_password')),
                (SELECT COUNT(*) FROM directory_jobs j JOIN claims o ON o.id = j.claim_id
                  WHERE o.username = c.username AND j.state = 'done'),
                (SELECT COUNT(*) FROM audit_log a WHERE a.username = c.username
                  AND a.action IN ('claim', 'reset_password') AND a.outcome = 'accepted'),
                (SELECT COUNT(*) FROM audit_log a WHERE a.username = c.username
                  AND a.action LIKE 'directory.%' AND a.outcome = 'succeeded')
         FROM claims c WHERE c.state = 'active'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for (username, jobs, done, accepted, written) in &rows {
        assert_eq!(
            jobs, accepted,
            "{username}: {jobs} jobs, {accepted} acceptances audited"
        );
        assert_eq!(
            done, written,
            "{username}: {done} jobs done, {written} writes audited"
        );
    }
    println!(
        "invariants: {succeeded} operations succeeded, {superseded} superseded by a newer password, 0 pending; \
         {checked} accounts bind with their newest password only; {} accounts' audit rows match their jobs",
        rows.len()
    );
    Seen {
        succeeded,
        accounts: checked,
    }
}

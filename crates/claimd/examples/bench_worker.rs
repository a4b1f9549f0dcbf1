//! The directory worker against its floor: 10,000 queued provisions applied by claimd's
//! worker (two loops, so two LDAP connections), next to a bare ldap3 client doing the same
//! operations (an add and a Password Modify per account) over two connections, each against
//! a fresh slapd, in the same run.
//!
//! `cargo build --release -p claimd --example bench_worker &&
//!  target/release/examples/bench_worker [JOBS]`
//!
//! `LOOPS=4` runs four worker loops over the same two connections (requests pipelined).
//! `ROUNDS=5` alternates the floor and the worker five times (default 3) and prints the
//! median ratio: one pair of runs on this machine moves by more than the gap measured.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use claimd_core::{
    Account, DirectoryJob, Email, EmployeeId, Events, JobKind, MailWriter, OperationId, PersonName,
    RosterEntry, RosterStatus, Sealer, Username,
    store::{
        AdminStore, AuditAction, AuditEvent, AuditOutcome, ClaimStore, NewClaim, RosterStore,
        StoredAnswer,
    },
};
use claimd_ldap::{DirectorySettings, Flavor, LdapDirectory};
use claimd_store::SqliteStore;
use claimd_sync::{SyncConfig, Worker};
use claimd_testkit::Slapd;
use ldap3::{LdapConnAsync, exop::PasswordModify};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error>;

const CONNECTIONS: u32 = 2;
const PASSWORD: &str = "Maple-Canoe-Lantern-42";

fn account(i: u32) -> Account {
    Account {
        username: Username::parse(&format!("e{i}")).unwrap(),
        employee_id: EmployeeId::new(i).unwrap(),
        first_name: PersonName::parse("Person").unwrap(),
        last_name: PersonName::parse(&format!("Staff{i}")).unwrap(),
        email: Email::parse(&format!("p{i}@district.example")).unwrap(),
    }
}

/// claimd's worker applying `jobs` queued provisions; seconds.
async fn worker(jobs: u32) -> Result<f64, BoxError> {
    let slapd = Slapd::start();
    let dir = tempfile::tempdir()?;
    let store =
        Arc::new(SqliteStore::connect(&format!("sqlite://{}/c.db", dir.path().display())).await?);
    let entries: Vec<RosterEntry> = (1..=jobs)
        .map(|i| {
            let a = account(i);
            RosterEntry {
                employee_id: a.employee_id,
                last_name: a.last_name,
                first_name: a.first_name,
                email: a.email,
                status: RosterStatus::Active,
                personal_email: None,
                site: None,
            }
        })
        .collect();
    store.import_roster(&entries, 0).await?;
    let sealer = Arc::new(Sealer::from_key(&[7; 32]));
    for i in 1..=jobs {
        let id = OperationId::new();
        let audit = AuditEvent {
            at: 0,
            action: AuditAction::Claim,
            employee_id: None,
            username: None,
            client: None,
            actor: None,
            outcome: AuditOutcome::Accepted,
            reason: None,
        };
        store
            .insert_claim(NewClaim {
                sealed_password: sealer
                    .seal(&SecretString::from(PASSWORD), id.to_string().as_bytes()),
                job: DirectoryJob {
                    id,
                    kind: JobKind::Provision,
                    account: account(i),
                    rehire: false,
                    entry: None,
                },
                answers: (0..3)
                    .map(|q| StoredAnswer {
                        question_id: format!("q{q}"),
                        question_text: format!("Question {q}?"),
                        hash: "unused".into(),
                    })
                    .collect(),
                audit,
                now: 0,
                claim_code: None,
            })
            .await?;
    }
    let directory = Arc::new(
        LdapDirectory::new(DirectorySettings {
            flavor: Flavor::OpenLdap,
            urls: vec![slapd.url()],
            bind_dn: Slapd::SERVICE_DN.into(),
            bind_password: SecretString::from(Slapd::SERVICE_PASSWORD),
            users_base_dn: Slapd::USERS_BASE_DN.into(),
            ca_file: None,
            starttls: false,
            allow_insecure_directory: true,
            timeout: Duration::from_secs(10),
            upn_suffix: None,
            adopt_used_accounts: false,
            protected_groups: Vec::new(),
            ppolicy_default_dn: None,
        })?
        .with_connections(CONNECTIONS as usize),
    );
    let config = SyncConfig {
        concurrency: std::env::var("LOOPS")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(CONNECTIONS as usize),
        ..SyncConfig::default()
    };
    let worker = Arc::new(Worker::new(
        store.clone(),
        directory,
        sealer,
        Arc::new(Events::default()),
        Arc::new(MailWriter::new("District IT")),
        config,
    ));
    let stop = CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(worker.run(stop.clone()));
    loop {
        if store.queue_stats().await?.jobs_waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    stop.cancel();
    running.await?;
    // A worker that failed its jobs fast would empty the queue too: every job must have
    // succeeded, and its account log in.
    let (done, failed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM directory_jobs WHERE state = 'done'),
                (SELECT COUNT(*) FROM directory_jobs WHERE state <> 'done')",
    )
    .fetch_one(store.pool())
    .await?;
    if done != i64::from(jobs) {
        return Err(format!("only {done} of {jobs} jobs succeeded ({failed} did not)").into());
    }
    for i in [1, jobs.div_ceil(2), jobs] {
        let dn = format!("uid=e{i},{}", Slapd::USERS_BASE_DN);
        if !slapd.can_bind(&dn, PASSWORD) {
            return Err(format!("{dn} does not log in with its password").into());
        }
    }
    Ok(took)
}

/// A bare ldap3 client: the same add and Password Modify per account over CONNECTIONS
/// connections; seconds.
async fn bare(jobs: u32) -> Result<f64, BoxError> {
    let slapd = Slapd::start();
    let started = Instant::now();
    let mut lanes = Vec::new();
    for lane in 0..CONNECTIONS {
        let url = slapd.url();
        lanes.push(tokio::spawn(async move {
            let (conn, mut ldap) = LdapConnAsync::new(&url).await.map_err(|e| e.to_string())?;
            ldap3::drive!(conn);
            ldap.simple_bind(Slapd::SERVICE_DN, Slapd::SERVICE_PASSWORD)
                .await
                .and_then(|r| r.success())
                .map_err(|e| e.to_string())?;
            let mut i = lane + 1;
            while i <= jobs {
                let a = account(i);
                let dn = format!("uid={},{}", a.username.as_str(), Slapd::USERS_BASE_DN);
                let id = i.to_string();
                let cn = format!("Person Staff{i}");
                let attrs = vec![
                    (
                        "objectClass",
                        HashSet::from(["top", "person", "organizationalPerson", "inetOrgPerson"]),
                    ),
                    ("uid", HashSet::from([a.username.as_str()])),
                    ("employeeNumber", HashSet::from([id.as_str()])),
                    ("cn", HashSet::from([cn.as_str()])),
                    ("sn", HashSet::from([a.last_name.as_str()])),
                    ("givenName", HashSet::from(["Person"])),
                    ("mail", HashSet::from([a.email.as_str()])),
                ];
                ldap.add(&dn, attrs)
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| e.to_string())?;
                ldap.extended(PasswordModify {
                    user_id: Some(&dn),
                    old_pass: None,
                    new_pass: Some(PASSWORD),
                })
                .await
                .and_then(|r| r.success())
                .map_err(|e| e.to_string())?;
                i += CONNECTIONS;
            }
            Ok::<(), String>(())
        }));
    }
    for lane in lanes {
        lane.await??;
    }
    let took = started.elapsed().as_secs_f64();
    for i in [1, jobs.div_ceil(2), jobs] {
        let dn = format!("uid=e{i},{}", Slapd::USERS_BASE_DN);
        if !slapd.can_bind(&dn, PASSWORD) {
            return Err(format!("floor: {dn} does not log in with its password").into());
        }
    }
    Ok(took)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let jobs: u32 = std::env::args().nth(1).map_or(Ok(10_000), |s| s.parse())?;
    // This machine's speed moves between runs by more than the gap measured: the floor and
    // the worker take turns, and the median of the rounds' ratios is the figure.
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(3), |s| s.parse())?;
    println!("{jobs} provisions (add + Password Modify) over {CONNECTIONS} connections:");
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let floor = bare(jobs).await?;
        let took = worker(jobs).await?;
        println!(
            "  round {round}: bare ldap3 client (floor) {floor:>6.2} s = {:>5.0} accounts/s; \
             claimd's worker {took:>6.2} s = {:>5.0} accounts/s = {:.2} x",
            f64::from(jobs) / floor,
            f64::from(jobs) / took,
            floor / took
        );
        ratios.push(floor / took);
    }
    println!(
        "  verified: every round, all {jobs} jobs succeeded and spot-checked accounts log in (both sides)"
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "  claimd's worker: median {:.2} x the floor's rate over {rounds} rounds (range {:.2}-{:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    Ok(())
}

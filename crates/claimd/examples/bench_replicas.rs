//! Claims per second on SQLite and on PostgreSQL with one and with two `claimd run`
//! replicas: the same program, the same 8 clients, on this machine's cores.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_replicas &&
//!  target/release/examples/bench_replicas target/release/claimd [N]`
//!
//! Each setup gets a fresh slapd (and PostgreSQL server, with fsync on: every commit flushed,
//! as claimd's SQLite flushes a claim's, `synchronous = FULL`; its worker's own commits there
//! are `NORMAL`), N people on the roster, five warm-up
//! claims, then N claims sent by 8 clients at once (spread over the replicas), each followed to
//! SUCCEEDED. Two replicas on one machine share its cores: the figure shows what the
//! replicated store costs, not what a second machine would add.

mod common;

use std::{fs, time::Instant};

use claimd_api::v1::account_service_client::AccountServiceClient;
use claimd_testkit::Postgres;
use common::{BoxError, Stack, bench_claim_request as request, settle};
use tonic::transport::Channel;

/// N claims from 8 clients spread over `clients`; claims per second, accepted and written.
async fn measure(clients: &[AccountServiceClient<Channel>], n: u32) -> Result<f64, BoxError> {
    for (i, client) in (1..=5).zip(clients.iter().cycle()) {
        let mut client = client.clone();
        let reply = client.claim_account(request(i)).await?.into_inner();
        settle(&mut client, reply.operation.unwrap().id).await?;
    }
    let (first, lanes) = (6, 8);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let mut client = clients[lane as usize % clients.len()].clone();
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
                i += lanes;
            }
            for id in ids {
                settle(&mut client, id).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(f64::from(n) / started.elapsed().as_secs_f64())
}

async fn setup(
    claimd: &str,
    n: u32,
    postgres: Option<&Postgres>,
    replicas: usize,
) -> Result<(Stack, Vec<AccountServiceClient<Channel>>), BoxError> {
    let mut stack = Stack::new(claimd)?;
    if let Some(postgres) = postgres {
        stack
            .env
            .push(("CLAIMD__STORE__URL".into(), postgres.url()));
    }
    let roster = stack.dir.path().join("roster.csv");
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 1..=n + 10 {
        csv.push_str(&format!(
            "{i},Bench{i},Person,b{i}@district.example,active\n"
        ));
    }
    fs::write(&roster, csv)?;
    stack.import(&roster)?;
    let mut clients = vec![stack.run().await?];
    for _ in 1..replicas {
        clients.push(stack.replica().await?);
    }
    Ok((stack, clients))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: bench_replicas PATH-TO-CLAIMD [N]")?;
    let n: u32 = std::env::args().nth(2).map_or(Ok(200), |s| s.parse())?;
    println!("{n} claims from 8 clients, accepted and written, on this machine:");
    for (name, on_postgres, replicas) in [
        ("SQLite, one claimd run", false, 1),
        ("PostgreSQL, one claimd run", true, 1),
        ("PostgreSQL, two claimd run replicas", true, 2),
    ] {
        // As durable as SQLite's claims (synchronous = FULL): every commit flushed.
        let postgres = on_postgres.then(Postgres::start_durable);
        let (mut stack, clients) = setup(&claimd, n, postgres.as_ref(), replicas).await?;
        let rate = measure(&clients, n).await?;
        // Every claim was followed to SUCCEEDED (measure fails otherwise); spot-check logins.
        for i in [6, 5 + n / 2, 5 + n] {
            let dn = format!("uid=e{i},{}", claimd_testkit::Slapd::USERS_BASE_DN);
            if !stack.slapd.can_bind(&dn, "Maple-Canoe-Lantern-42") {
                return Err(format!("{name}: {dn} does not log in").into());
            }
        }
        println!("{name:<38} {rate:>6.1} claims/s (all {n} SUCCEEDED; logins checked)");
        drop(clients);
        stack.stop()?;
    }
    Ok(())
}

//! Expiry reminders: how long `claimd run` takes to scan a large directory for expiring
//! passwords, and how much memory the process needs while it does.
//!
//! `cargo build --release -p claimd --bin claimd --example bench_reminders &&
//!  target/release/examples/bench_reminders target/release/claimd [ENTRIES] [CLAIMED]`
//!
//! Defaults: 20,000 directory entries nobody claimed plus 200 claimed accounts, every
//! password under slapd's default policy with `pwdMaxAge` at ten days. claimd is started
//! once without reminders (the claims), then again with `days_before = [14, 7, 1]`: its first
//! scan, at start, reads every entry (a paged search) and queues one reminder per claimed
//! account. Prints the scan's time from claimd's own log line and the process's peak
//! memory (`VmHWM`) against its memory before the scan; verifies that every claimed person
//! got exactly one reminder and nobody else any.

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_testkit::Slapd;
use common::{BoxError, Stack, bench_claim_request};

const HEADER: &str = "employee_id,last_name,first_name,email,status\n";

/// `VmHWM` and `VmRSS` of `pid`, in KiB.
fn memory(pid: u32) -> Result<(u64, u64), BoxError> {
    let field = |name: &str| {
        common::proc_status_kib(pid, name).ok_or_else(|| format!("no {name} for process {pid}"))
    };
    Ok((field("VmHWM")?, field("VmRSS")?))
}

/// The first scan's `key=value` from claimd's log line.
fn scan_field(log: &str, key: &str) -> Option<u64> {
    let line = log
        .lines()
        .find(|l| l.contains("expiry reminder scan done"))?;
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let claimd = args
        .next()
        .ok_or("usage: bench_reminders PATH/TO/claimd [ENTRIES] [CLAIMED]")?;
    let entries: u32 = args.next().map_or(Ok(20_000), |n| n.parse())?;
    let claimed: u32 = args.next().map_or(Ok(200), |n| n.parse())?;

    let mut stack = Stack::new(&claimd)?;
    stack.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdMaxAge\npwdMaxAge: 864000\n",
        Slapd::DEFAULT_POLICY_DN
    ));
    // Entries nobody claimed (as at rollout), each with a password under the policy.
    let started = Instant::now();
    let mut ldif = String::new();
    for i in 0..entries {
        let id = 500_000 + i;
        ldif.push_str(&format!(
            "dn: uid=e{id},{base}\nobjectClass: inetOrgPerson\nuid: e{id}\ncn: Staff {id}\n\
             sn: Staff{id}\nmail: s{id}@district.example\nuserPassword: Unclaimed-Pass-{id}\n\n",
            base = Slapd::USERS_BASE_DN
        ));
    }
    stack.slapd.add(&ldif);
    drop(ldif);
    println!(
        "loaded {entries} unclaimed entries into slapd: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut roster = String::from(HEADER);
    for i in 1..=claimed {
        roster.push_str(&format!(
            "{i},Bench{i},Person,b{i}@district.example,active\n"
        ));
    }
    let file = stack.dir.path().join("roster.csv");
    fs::write(&file, roster)?;
    stack.import(&file)?;
    let client = stack.run().await?;
    let lanes = 8;
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut i = 1 + lane;
                while i <= claimed {
                    common::claim_until_written(&mut client, bench_claim_request(i)).await?;
                    i += lanes;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    println!("{claimed} claims written");
    stack.stop()?;
    let mails_before = stack.smtp.messages().len();

    // The scan: at the start of `claimd run` with reminders on.
    stack.env.extend(
        [
            ("CLAIMD__REMINDERS__DAYS_BEFORE", "14,7,1"),
            ("CLAIMD__REMINDERS__SCAN_INTERVAL_SECS", "3600"),
            (
                "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
                Slapd::DEFAULT_POLICY_DN,
            ),
            (
                "CLAIMD__PORTAL__PUBLIC_URL",
                "https://accounts.district.example",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    stack.run().await?;
    let pid = stack.pid().ok_or("claimd is not running")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let log = loop {
        let log = fs::read_to_string(stack.log())?;
        if log.contains("expiry reminder scan") {
            break log;
        }
        if Instant::now() > deadline {
            return Err("no scan finished within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if !log.contains("expiry reminder scan done") {
        return Err(format!("the scan failed:\n{log}").into());
    }
    let (peak_kib, rss_kib) = memory(pid)?;
    let read = scan_field(&log, "entries").ok_or("no entries= in the scan's log line")?;
    let sent = scan_field(&log, "sent").ok_or("no sent= in the scan's log line")?;
    let elapsed = scan_field(&log, "elapsed_ms").ok_or("no elapsed_ms= in the scan's log line")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let reminders = loop {
        let mails = stack.smtp.messages();
        let reminders: Vec<_> = mails[mails_before..]
            .iter()
            .filter(|m| m.subject.contains("password expires"))
            .map(|m| m.to.clone())
            .collect();
        if reminders.len() >= claimed as usize || Instant::now() > deadline {
            break reminders;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stack.stop()?;

    println!(
        "scan: {read} entries read in {:.2} s ({:.0} entries/s), {sent} reminders queued",
        elapsed as f64 / 1000.0,
        read as f64 / (elapsed.max(1) as f64 / 1000.0)
    );
    println!(
        "claimd run memory after the scan: peak (VmHWM) {:.1} MiB, now (VmRSS) {:.1} MiB",
        peak_kib as f64 / 1024.0,
        rss_kib as f64 / 1024.0
    );
    let mut to: Vec<String> = reminders.clone();
    to.sort();
    to.dedup();
    let expected: u64 = u64::from(entries) + u64::from(claimed);
    let ok = read == expected
        && sent == u64::from(claimed)
        && reminders.len() == claimed as usize
        && to.len() == claimed as usize
        && to.iter().all(|t| t.starts_with('b'));
    println!(
        "verified: {read} entries read (expected {expected}), {} reminder mails to {} \
         claimed people (expected {claimed} each once), none to an unclaimed entry: {}",
        reminders.len(),
        to.len(),
        if ok { "ok" } else { "FAILED" }
    );
    if !ok {
        return Err("the scan's work was not all done".into());
    }
    Ok(())
}

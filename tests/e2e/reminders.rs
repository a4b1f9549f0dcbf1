//! Expiry reminders against slapd with the ppolicy overlay (DESIGN.md, "The everyday
//! account"): with the default policy's `pwdMaxAge` at ten days and `days_before = [14, 7,
//! 1]`, a claimed account gets exactly one mail (the 14-day one) over many scans and a
//! restart; an account whose own policy has no `pwdMaxAge`, an entry nobody claimed and a
//! leaver get none. Two replicas on one PostgreSQL database send one reminder, not two.

use std::time::Duration;

use claimd_api::v1::{ClaimAccountRequest, OperationState};
use claimd_testkit::{Postgres, ReceivedMail, Slapd, wait_until};
use nix::sys::signal::Signal;

use crate::{
    client::settle,
    harness::{App, PASSWORD, claim_ok, jane, wait_healthy},
};

const PUBLIC_URL: &str = "https://accounts.district.example";
const SUBJECT: &str = "Your district password expires in 10 days";
/// How long the tests wait for scans: each takes milliseconds, one a second.
const SCANS_WITHIN: Duration = Duration::from_secs(60);

fn reminder_env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        (
            "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
            Slapd::DEFAULT_POLICY_DN,
        ),
        ("CLAIMD__REMINDERS__DAYS_BEFORE", "14,7,1"),
        ("CLAIMD__REMINDERS__SCAN_INTERVAL_SECS", "1"),
        ("CLAIMD__PORTAL__PUBLIC_URL", PUBLIC_URL),
    ];
    env.extend_from_slice(extra);
    env
}

/// Passwords under the default policy last ten days.
fn ten_day_passwords(slapd: &Slapd) {
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdMaxAge\npwdMaxAge: 864000\n",
        Slapd::DEFAULT_POLICY_DN
    ));
}

fn scans(logs: &str) -> usize {
    logs.matches("expiry reminder scan done").count()
}

/// Waits until `logs` shows `more` scans past `after`.
fn wait_for_scans(what: &str, logs: impl Fn() -> String, after: usize, more: usize) -> usize {
    wait_until(what, SCANS_WITHIN, || scans(&logs()) >= after + more);
    scans(&logs())
}

fn reminders(mails: &[ReceivedMail]) -> Vec<&ReceivedMail> {
    mails
        .iter()
        .filter(|m| m.subject.contains("password expires"))
        .collect()
}

async fn claim_settled(app: &App, request: ClaimAccountRequest) {
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, request).await;
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
}

const TEN_DAYS_DN: &str = "cn=ten-days,ou=policies,dc=example,dc=org";

/// Puts the entry of `username` under the ten-day policy.
fn under_ten_days(slapd: &Slapd, username: &str) {
    slapd.modify(&format!(
        "dn: uid={username},{}\nchangetype: modify\nreplace: pwdPolicySubentry\n\
         pwdPolicySubentry: {TEN_DAYS_DN}\n",
        Slapd::USERS_BASE_DN
    ));
}

/// Jane (claimed) and a leaver (claimed, then terminated) have their own ten-day policy, as
/// does an entry nobody claimed; Richard (claimed) keeps the default, which never expires;
/// one more entry names a policy that is not there. Only Jane is mailed, once, over many
/// scans and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reminder_per_threshold_and_none_for_passwords_that_never_expire() {
    let mut app = App::start_with(&reminder_env(&[])).await;
    app.slapd.add(&format!(
        "dn: {TEN_DAYS_DN}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\n\
         cn: ten-days\npwdAttribute: userPassword\npwdMaxAge: 864000\n"
    ));
    app.slapd.add(&format!(
        "dn: uid=e55555,{}\nobjectClass: inetOrgPerson\nuid: e55555\ncn: Sam Unclaimed\n\
         sn: Unclaimed\nmail: sam@district.example\nuserPassword: Unclaimed-Entry-Pass-7\n\
         pwdPolicySubentry: {TEN_DAYS_DN}\n",
        Slapd::USERS_BASE_DN
    ));
    // An entry (its password set under the ten-day policy) then put under a policy that is
    // not there: skipped, and the scan goes on.
    app.slapd.add(&format!(
        "dn: uid=e44444,{}\nobjectClass: inetOrgPerson\nuid: e44444\ncn: Pat Stray\n\
         sn: Stray\nuserPassword: Stray-Policy-Pass-3\npwdPolicySubentry: {TEN_DAYS_DN}\n",
        Slapd::USERS_BASE_DN
    ));
    app.slapd.modify(&format!(
        "dn: uid=e44444,{}\nchangetype: modify\nreplace: pwdPolicySubentry\n\
         pwdPolicySubentry: cn=removed,ou=policies,dc=example,dc=org\n",
        Slapd::USERS_BASE_DN
    ));
    let stray = app.slapd.search(
        &format!("uid=e44444,{}", Slapd::USERS_BASE_DN),
        "(objectClass=*)",
        &["pwdChangedTime"],
    );
    assert!(stray.contains("pwdChangedTime"), "{stray}");
    app.import_roster(
        "employee_id,last_name,first_name,email,status\n\
         088888,Roe,Richard,richard.roe@district.example,active\n\
         066666,Leaver,Lee,lee.leaver@district.example,active\n",
    );
    for (last, first, id) in [("Roe", "Richard", "088888"), ("Leaver", "Lee", "066666")] {
        let request = ClaimAccountRequest {
            last_name: last.into(),
            first_name: first.into(),
            employee_id: id.into(),
            ..jane()
        };
        claim_settled(&app, request).await;
    }
    app.import_roster(
        "employee_id,last_name,first_name,email,status\n\
         066666,Leaver,Lee,lee.leaver@district.example,terminated\n",
    );
    wait_until("the leaver to be disabled", SCANS_WITHIN, || {
        let audit = app.claimd(&["admin", "audit", "--employee", "066666"]);
        String::from_utf8_lossy(&audit.stdout).contains("directory.disable_account")
    });
    under_ten_days(&app.slapd, "e66666");
    claim_settled(&app, jane()).await;
    under_ten_days(&app.slapd, "e77777");

    wait_until("a reminder", SCANS_WITHIN, || {
        !reminders(&app.smtp.messages()).is_empty()
    });
    let seen = wait_for_scans("three more scans", || app.logs(), scans(&app.logs()), 3);
    // A restart (a new process, the same database) scans again from the start.
    app.stop_with(Signal::SIGTERM);
    app.launch().await;
    wait_for_scans("two scans after the restart", || app.logs(), seen, 2);

    let mails = app.smtp.messages();
    let sent = reminders(&mails);
    assert_eq!(sent.len(), 1, "exactly one reminder: {sent:#?}");
    let mail = sent[0];
    assert_eq!(mail.to, "jane.doe@district.example");
    assert_eq!(mail.subject, SUBJECT);
    assert!(mail.body.contains("e77777"), "{}", mail.body);
    assert!(
        mail.body.contains(&format!("{PUBLIC_URL}/change-password")),
        "{}",
        mail.body
    );
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(audit.contains("expiry_reminder"), "{audit}");
    // Each scan leaves a summary row: what it read, sent and skipped.
    let scans = app.claimd(&["admin", "audit"]);
    let scans = String::from_utf8_lossy(&scans.stdout).into_owned();
    assert!(scans.contains("expiry_reminder_scan"), "{scans}");
    assert!(scans.contains("1 already sent"), "{scans}");
    assert!(
        app.can_login("e77777", PASSWORD),
        "a reminder changes nothing"
    );
}

/// Two `claimd run` replicas scanning the same directory every second, on one PostgreSQL
/// database: the reminder's record is taken once, so one mail goes, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_send_one_reminder_not_two() {
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let url = postgres.url();
    let url: &'static str = Box::leak(url.into_boxed_str());
    let app = App::start_with(&reminder_env(&[("CLAIMD__STORE__URL", url)])).await;
    ten_day_passwords(&app.slapd);
    let mut other = app.claimd.replica();
    other.launch();
    wait_healthy(&other.endpoint(), &other.logs()).await;
    claim_settled(&app, jane()).await;

    wait_until("a reminder", SCANS_WITHIN, || {
        !reminders(&app.smtp.messages()).is_empty()
    });
    let first = scans(&app.logs());
    let second = scans(&other.logs());
    wait_for_scans("three more scans here", || app.logs(), first, 3);
    wait_for_scans("three more scans there", || other.logs(), second, 3);
    let mails = app.smtp.messages();
    let sent = reminders(&mails);
    assert_eq!(
        sent.len(),
        1,
        "one reminder between two replicas: {sent:#?}"
    );
    assert_eq!(sent[0].subject, SUBJECT);
}

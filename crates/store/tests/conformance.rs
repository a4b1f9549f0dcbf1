//! The store conformance suite: what every backend must do, run against each by a macro.
//! (SQLite here; a PostgreSQL backend adds one `conformance!` line.)

use std::{sync::Arc, time::Duration};

use claimd_core::{
    Account, DirectoryJob, Email, EmployeeId, JobKind, Mail, MailKind, MailWriter, OperationId,
    OperationState, PersonName, RosterEntry, RosterStatus, Store, Username,
    store::{
        AttemptKey, AuditEvent, ClaimInsert, ClaimState, JobOutcome, LockoutPolicy, NewClaim,
        NewPasswordJob, StoredAnswer,
    },
};

const T0: i64 = 1_800_000_000_000;

fn entry(id: u32, last: &str, status: RosterStatus) -> RosterEntry {
    RosterEntry {
        employee_id: EmployeeId::new(id).unwrap(),
        last_name: PersonName::parse(last).unwrap(),
        first_name: PersonName::parse("Jane").unwrap(),
        email: Email::parse(&format!("e{id}@district.example")).unwrap(),
        status,
    }
}

fn claim(id: u32, now: i64) -> NewClaim {
    let e = entry(id, "Doe", RosterStatus::Active);
    let username = Username::parse(&format!("e{id}")).unwrap();
    NewClaim {
        job: DirectoryJob {
            id: OperationId::new(),
            kind: JobKind::Provision,
            account: Account {
                username: username.clone(),
                employee_id: e.employee_id,
                first_name: e.first_name,
                last_name: e.last_name,
                email: e.email,
            },
        },
        answers: (0..3)
            .map(|i| StoredAnswer {
                question_id: format!("q{i}"),
                question_text: format!("Question {i}?"),
                hash: format!("$argon2id$fake{i}"),
            })
            .collect(),
        sealed_password: vec![1, 2, 3],
        audit: audit(now, "claim", "accepted"),
        now,
    }
}

fn audit(at: i64, action: &'static str, outcome: &'static str) -> AuditEvent {
    AuditEvent {
        at,
        action,
        employee_id: None,
        username: None,
        client: None,
        outcome,
        reason: None,
    }
}

async fn seeded(store: &dyn Store, ids: &[u32]) {
    let entries: Vec<_> = ids
        .iter()
        .map(|&id| entry(id, "Doe", RosterStatus::Active))
        .collect();
    store.import_roster(&entries, T0).await.unwrap();
}

pub async fn roster_import_counts_and_updates(store: Arc<dyn Store>) {
    let first = store
        .import_roster(
            &[
                entry(1, "Doe", RosterStatus::Active),
                entry(2, "Roe", RosterStatus::Active),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!((first.added, first.updated, first.unchanged), (2, 0, 0));
    let again = store
        .import_roster(
            &[
                entry(1, "Doe", RosterStatus::Active),
                entry(2, "Roe", RosterStatus::Terminated),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 1, 1));
    let two = store
        .roster_entry(EmployeeId::new(2).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.status, RosterStatus::Terminated);
    assert_eq!(two.last_name.as_str(), "Roe");
    assert!(
        store
            .roster_entry(EmployeeId::new(3).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn one_live_claim_per_employee(store: Arc<dyn Store>) {
    seeded(&*store, &[77777]).await;
    assert_eq!(
        store.insert_claim(claim(77777, T0)).await.unwrap(),
        ClaimInsert::Created
    );
    assert_eq!(
        store.insert_claim(claim(77777, T0)).await.unwrap(),
        ClaimInsert::Exists(ClaimState::Pending)
    );
    assert_eq!(
        store
            .live_claim(EmployeeId::new(77777).unwrap())
            .await
            .unwrap(),
        Some(ClaimState::Pending)
    );
}

pub async fn concurrent_claims_of_one_person_admit_one(store: Arc<dyn Store>) {
    seeded(&*store, &[5]).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_claim(claim(5, T0)).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == ClaimInsert::Created {
            created += 1;
        }
    }
    assert_eq!(created, 1);
}

pub async fn a_finished_job_completes_its_operation_and_claim(store: Arc<dyn Store>) {
    seeded(&*store, &[7]).await;
    let new = claim(7, T0);
    let id = new.job.id;
    store.insert_claim(new).await.unwrap();
    let job = store
        .lease_job("w1", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .expect("a due job");
    assert_eq!(job.job.id, id);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.sealed_password, [1, 2, 3]);
    assert_eq!(job.job.account.username.as_str(), "e7");
    assert!(
        store
            .lease_job("w2", Duration::from_secs(60), T0)
            .await
            .unwrap()
            .is_none(),
        "leased jobs are not shared"
    );
    assert!(
        store
            .finish_job(
                &job,
                JobOutcome::Succeeded,
                audit(T0, "directory.provision", "succeeded"),
                None
            )
            .await
            .unwrap()
    );
    let op = store.operation(id).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Succeeded);
    assert_eq!(
        store.live_claim(EmployeeId::new(7).unwrap()).await.unwrap(),
        Some(ClaimState::Active)
    );
    assert!(
        store
            .lease_job("w1", Duration::from_secs(60), T0 + 10)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.insert_claim(claim(7, T0)).await.unwrap(),
        ClaimInsert::Exists(ClaimState::Active)
    );
}

pub async fn a_refused_job_frees_the_roster_entry(store: Arc<dyn Store>) {
    seeded(&*store, &[8]).await;
    let new = claim(8, T0);
    let id = new.job.id;
    store.insert_claim(new).await.unwrap();
    let job = store
        .lease_job("w1", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    let outcome = JobOutcome::Failed {
        reason: "the password does not meet the policy".into(),
    };
    assert!(
        store
            .finish_job(
                &job,
                outcome,
                audit(T0, "directory.provision", "failed"),
                None
            )
            .await
            .unwrap()
    );
    let op = store.operation(id).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Failed);
    assert_eq!(
        op.reason.as_deref(),
        Some("the password does not meet the policy")
    );
    assert_eq!(
        store.live_claim(EmployeeId::new(8).unwrap()).await.unwrap(),
        None
    );
    assert_eq!(
        store.insert_claim(claim(8, T0)).await.unwrap(),
        ClaimInsert::Created
    );
}

pub async fn an_expired_lease_is_taken_over_and_the_old_holder_fenced(store: Arc<dyn Store>) {
    seeded(&*store, &[9]).await;
    store.insert_claim(claim(9, T0)).await.unwrap();
    let dead = store
        .lease_job("dead", Duration::from_secs(1), T0)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .lease_job("live", Duration::from_secs(60), T0 + 500)
            .await
            .unwrap()
            .is_none()
    );
    let live = store
        .lease_job("live", Duration::from_secs(60), T0 + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.attempts, 2);
    assert!(
        !store
            .finish_job(&dead, JobOutcome::Succeeded, audit(T0, "x", "y"), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .retry_job(&dead, T0 + 5000, "late", T0 + 1001)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_job(&live, JobOutcome::Succeeded, audit(T0, "x", "y"), None)
            .await
            .unwrap()
    );
}

pub async fn a_retried_job_waits_until_due(store: Arc<dyn Store>) {
    seeded(&*store, &[10]).await;
    let new = claim(10, T0);
    let id = new.job.id;
    store.insert_claim(new).await.unwrap();
    let job = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .retry_job(&job, T0 + 4000, "connection refused", T0)
            .await
            .unwrap()
    );
    let op = store.operation(id).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Pending);
    assert!(op.reason.unwrap().contains("retrying"));
    assert!(
        store
            .lease_job("w", Duration::from_secs(60), T0 + 3999)
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .lease_job("w", Duration::from_secs(60), T0 + 4000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 2);
}

pub async fn failures_lock_accounts_and_addresses(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        address_failures: 7,
        ..LockoutPolicy::default()
    };
    let account = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let other = AttemptKey::Employee(EmployeeId::new(2).unwrap());
    let address = AttemptKey::Address("192.0.2.1".parse().unwrap());
    for i in 0..4 {
        let locks = store
            .record_failure(&[account.clone(), address.clone()], &policy, T0 + i)
            .await
            .unwrap();
        assert!(locks.is_empty());
    }
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), T0 + 4)
            .await
            .unwrap(),
        None
    );
    let locks = store
        .record_failure(&[account.clone(), address.clone()], &policy, T0 + 4)
        .await
        .unwrap();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].key, account);
    let until = T0 + 4 + 15 * 60 * 1000;
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), T0 + 5)
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), until)
            .await
            .unwrap(),
        None,
        "locks end"
    );
    // Two more failures from the same address on another account lock the address (7).
    store
        .record_failure(&[other.clone(), address.clone()], &policy, T0 + 6)
        .await
        .unwrap();
    let locks = store
        .record_failure(&[other.clone(), address.clone()], &policy, T0 + 7)
        .await
        .unwrap();
    assert_eq!(locks.iter().map(|l| &l.key).collect::<Vec<_>>(), [&address]);
    assert!(
        store
            .locked_until(&[other, address], T0 + 8)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn old_and_cleared_failures_do_not_count(store: Arc<dyn Store>) {
    let policy = LockoutPolicy::default();
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let window = 15 * 60 * 1000;
    for i in 0..4 {
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + i)
            .await
            .unwrap();
    }
    // Past the window, the first four have expired.
    assert!(
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 10)
            .await
            .unwrap()
            .is_empty()
    );
    for i in 0..3 {
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 11 + i)
            .await
            .unwrap();
    }
    store.clear_failures(&key).await.unwrap();
    assert!(
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 20)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn endless_failures_lock_until_an_admin_acts(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        account_consecutive_limit: 12,
        ..LockoutPolicy::default()
    };
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let hour = 60 * 60 * 1000;
    let mut last = Vec::new();
    for i in 0..12 {
        // Spread out so the windowed count never reaches five.
        last = store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + i * hour)
            .await
            .unwrap();
    }
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].until, i64::MAX);
}

/// Claims 77777 and finishes its provision, returning the claim id.
async fn active_claim(store: &dyn Store) -> String {
    seeded(store, &[77777]).await;
    let new = claim(77777, T0);
    let id = new.job.id.to_string();
    store.insert_claim(new).await.unwrap();
    let job = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    let confirmation = MailWriter::new("District IT").claim_confirmation(&job.job.account);
    assert!(
        store
            .finish_job(
                &job,
                JobOutcome::Succeeded,
                audit(T0, "x", "y"),
                Some(confirmation)
            )
            .await
            .unwrap()
    );
    id
}

fn password_job(claim_id: &str, kind: JobKind, now: i64) -> NewPasswordJob {
    let mut job = claim(77777, now).job;
    job.id = OperationId::new();
    job.kind = kind;
    NewPasswordJob {
        claim_id: claim_id.into(),
        job,
        sealed_password: vec![4, 5, 6],
        audit: audit(now, "reset", "accepted"),
        now,
    }
}

pub async fn active_claims_are_found_by_username_and_email(store: Arc<dyn Store>) {
    let username = Username::parse("e77777").unwrap();
    seeded(&*store, &[77777]).await;
    store.insert_claim(claim(77777, T0)).await.unwrap();
    assert!(
        store.claimed_account(&username).await.unwrap().is_none(),
        "a pending claim is not an account yet"
    );
    let job = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    store
        .finish_job(&job, JobOutcome::Succeeded, audit(T0, "x", "y"), None)
        .await
        .unwrap();
    let found = store.claimed_account(&username).await.unwrap().unwrap();
    assert_eq!(found.account.employee_id.get(), 77777);
    assert_eq!(
        found
            .answers
            .iter()
            .map(|a| a.question_id.as_str())
            .collect::<Vec<_>>(),
        ["q0", "q1", "q2"]
    );
    let email = Email::parse("E77777@District.example").unwrap();
    let by_email = store.claimed_accounts_by_email(&email).await.unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].username, username);
    assert!(
        store
            .claimed_accounts_by_email(&Email::parse("nobody@x.example").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_newer_password_job_supersedes_a_waiting_one(store: Arc<dyn Store>) {
    let claim_id = active_claim(&*store).await;
    let first = password_job(&claim_id, JobKind::ResetPassword, T0 + 1);
    let first_id = first.job.id;
    store.insert_password_job(first).await.unwrap();
    let second = password_job(&claim_id, JobKind::ChangePassword, T0 + 2);
    let second_id = second.job.id;
    store.insert_password_job(second).await.unwrap();
    let op = store.operation(first_id).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Failed);
    let job = store
        .lease_job("w", Duration::from_secs(60), T0 + 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.job.id, second_id);
    assert_eq!(job.job.kind, JobKind::ChangePassword);
    assert_eq!(job.sealed_password, [4, 5, 6]);
    assert!(
        store
            .finish_job(&job, JobOutcome::Succeeded, audit(T0, "x", "y"), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .live_claim(EmployeeId::new(77777).unwrap())
            .await
            .unwrap(),
        Some(ClaimState::Active)
    );
}

pub async fn an_account_s_jobs_run_in_order(store: Arc<dyn Store>) {
    let claim_id = active_claim(&*store).await;
    store
        .insert_password_job(password_job(&claim_id, JobKind::ResetPassword, T0 + 1))
        .await
        .unwrap();
    let held = store
        .lease_job("w1", Duration::from_secs(60), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    // A newer job arrives while the older one is being written: it waits for it.
    let newer = password_job(&claim_id, JobKind::ChangePassword, T0 + 3);
    let newer_id = newer.job.id;
    store.insert_password_job(newer).await.unwrap();
    assert!(
        store
            .lease_job("w2", Duration::from_secs(60), T0 + 4)
            .await
            .unwrap()
            .is_none()
    );
    store
        .finish_job(&held, JobOutcome::Succeeded, audit(T0, "x", "y"), None)
        .await
        .unwrap();
    let next = store
        .lease_job("w2", Duration::from_secs(60), T0 + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.job.id, newer_id);
}

pub async fn answers_are_replaced_with_their_notice(store: Arc<dyn Store>) {
    let claim_id = active_claim(&*store).await;
    let answers: Vec<StoredAnswer> = ["a", "b", "c"]
        .iter()
        .map(|q| StoredAnswer {
            question_id: (*q).into(),
            question_text: format!("{q}?"),
            hash: "h".into(),
        })
        .collect();
    let account = store
        .claimed_account(&Username::parse("e77777").unwrap())
        .await
        .unwrap()
        .unwrap();
    let notice = MailWriter::new("IT").answers_changed(&account.account);
    store
        .replace_answers(&claim_id, &answers, audit(T0, "answers", "changed"), notice)
        .await
        .unwrap();
    let account = store
        .claimed_account(&Username::parse("e77777").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.answers, answers);
    let email = account.account.email;
    assert_eq!(
        store
            .mails_queued_since(&email, MailKind::AnswersChanged, T0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .mails_queued_since(&email, MailKind::ClaimConfirmation, T0)
            .await
            .unwrap(),
        1
    );
}

pub async fn mail_is_leased_retried_and_sent_once(store: Arc<dyn Store>) {
    let to = Email::parse("jane@district.example").unwrap();
    let mail = Mail {
        kind: MailKind::UsernameReminder,
        to: to.clone(),
        subject: "s".into(),
        body: "b".into(),
    };
    store
        .enqueue_mail(&mail, audit(T0, "recover_username", "mailed"))
        .await
        .unwrap();
    let first = store
        .lease_mail("m1", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.mail, mail);
    assert!(
        store
            .lease_mail("m2", Duration::from_secs(60), T0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .retry_mail(&first, T0 + 1000, "connection refused", T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_mail("m2", Duration::from_secs(60), T0 + 999)
            .await
            .unwrap()
            .is_none()
    );
    let second = store
        .lease_mail("m2", Duration::from_secs(60), T0 + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.attempts, 2);
    assert!(
        !store.finish_mail(&first, None, T0 + 1001).await.unwrap(),
        "the old lease is fenced"
    );
    assert!(store.finish_mail(&second, None, T0 + 1001).await.unwrap());
    assert!(
        store
            .lease_mail("m3", Duration::from_secs(60), T0 + 5000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .mails_queued_since(&to, MailKind::UsernameReminder, T0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .mails_queued_since(&to, MailKind::UsernameReminder, T0 + 1)
            .await
            .unwrap(),
        0
    );
}

macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            conformance!(@tests $make;
                roster_import_counts_and_updates,
                one_live_claim_per_employee,
                concurrent_claims_of_one_person_admit_one,
                a_finished_job_completes_its_operation_and_claim,
                a_refused_job_frees_the_roster_entry,
                an_expired_lease_is_taken_over_and_the_old_holder_fenced,
                a_retried_job_waits_until_due,
                failures_lock_accounts_and_addresses,
                old_and_cleared_failures_do_not_count,
                endless_failures_lock_until_an_admin_acts,
                active_claims_are_found_by_username_and_email,
                a_newer_password_job_supersedes_a_waiting_one,
                an_account_s_jobs_run_in_order,
                answers_are_replaced_with_their_notice,
                mail_is_leased_retried_and_sent_once,
            );
        }
    };
    (@tests $make:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _guard) = $make.await;
                super::$test(store).await;
            }
        )*
    };
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let store = claimd_store::SqliteStore::connect(&url).await.unwrap();
    (Arc::new(store), dir)
}

conformance!(sqlite, sqlite());

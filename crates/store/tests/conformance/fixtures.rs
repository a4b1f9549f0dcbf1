//! Rows the conformance tests start from.

use std::time::Duration;

use claimd_core::{
    Account, DirectoryJob, Email, EmployeeId, JobKind, MailWriter, OperationId, PersonName,
    RosterEntry, RosterStatus, Store, Username,
    store::{
        AttemptKey, AuditAction, AuditEvent, AuditOutcome, JobOutcome, Lockout, LockoutPolicy,
        NewAccountJob, NewClaim, Reservation, StoredAnswer,
    },
};

pub const T0: i64 = 1_800_000_000_000;

pub fn entry(id: u32, last: &str, status: RosterStatus) -> RosterEntry {
    RosterEntry {
        employee_id: EmployeeId::new(id).unwrap(),
        last_name: PersonName::parse(last).unwrap(),
        first_name: PersonName::parse("Jane").unwrap(),
        email: Email::parse(&format!("e{id}@district.example")).unwrap(),
        status,
        personal_email: None,
        site: None,
    }
}

pub fn claim(id: u32, now: i64) -> NewClaim {
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
            rehire: false,
            entry: None,
        },
        answers: (0..3)
            .map(|i| StoredAnswer {
                question_id: format!("q{i}"),
                question_text: format!("Question {i}?"),
                hash: format!("$argon2id$fake{i}"),
            })
            .collect(),
        sealed_password: vec![1, 2, 3],
        audit: audit(now, AuditAction::Claim, AuditOutcome::Accepted),
        now,
        claim_code: None,
    }
}

pub fn audit(at: i64, action: AuditAction, outcome: AuditOutcome) -> AuditEvent {
    AuditEvent {
        at,
        action,
        employee_id: None,
        username: None,
        client: None,
        actor: None,
        outcome,
        reason: None,
    }
}

pub async fn seeded(store: &dyn Store, ids: &[u32]) {
    let entries: Vec<_> = ids
        .iter()
        .map(|&id| entry(id, "Doe", RosterStatus::Active))
        .collect();
    store.import_roster(&entries, T0).await.unwrap();
}

/// Claims 77777 and finishes its provision, returning the claim id.
pub async fn active_claim(store: &dyn Store) -> String {
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
                audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
                Some(confirmation)
            )
            .await
            .unwrap()
    );
    id
}

pub fn password_job(claim_id: &str, kind: JobKind, now: i64) -> NewAccountJob {
    let mut job = claim(77777, now).job;
    job.id = OperationId::new();
    job.kind = kind;
    NewAccountJob {
        claim_id: claim_id.into(),
        job,
        sealed_password: vec![4, 5, 6],
        audit: audit(now, AuditAction::ResetPassword, AuditOutcome::Accepted),
        now,
    }
}

/// Reserves an attempt that is then judged wrong; returns the locks it placed.
pub async fn fail(
    store: &dyn Store,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: i64,
) -> Vec<Lockout> {
    match store
        .reserve_attempt(keys, policy, now, false)
        .await
        .unwrap()
    {
        Reservation::Granted(ticket) => store.fail_attempt(&ticket, policy, now).await.unwrap(),
        refused => panic!("not granted: {refused:?}"),
    }
}

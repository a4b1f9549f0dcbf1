//! What only the SQLite backend promises: the sealed password is gone from the row once a
//! job ends, and a second process (a restart) sees every committed claim.

use std::time::Duration;

use claimd_core::{
    Account, DirectoryJob, Email, EmployeeId, JobKind, OperationId, PersonName, RosterEntry,
    RosterStatus, Store, Username,
    store::{AuditEvent, ClaimInsert, JobOutcome, NewClaim},
};
use claimd_store::SqliteStore;

fn new_claim() -> (RosterEntry, NewClaim) {
    let entry = RosterEntry {
        employee_id: EmployeeId::new(77777).unwrap(),
        last_name: PersonName::parse("Doe").unwrap(),
        first_name: PersonName::parse("Jane").unwrap(),
        email: Email::parse("jane@district.example").unwrap(),
        status: RosterStatus::Active,
    };
    let claim = NewClaim {
        job: DirectoryJob {
            id: OperationId::new(),
            kind: JobKind::Provision,
            account: Account {
                username: Username::parse("e77777").unwrap(),
                employee_id: entry.employee_id,
                first_name: entry.first_name.clone(),
                last_name: entry.last_name.clone(),
                email: entry.email.clone(),
            },
        },
        answers: vec![],
        sealed_password: b"sealed-bytes".to_vec(),
        audit: AuditEvent {
            at: 1,
            action: "claim",
            employee_id: None,
            username: None,
            client: None,
            outcome: "accepted",
            reason: None,
        },
        now: 1,
    };
    (entry, claim)
}

#[tokio::test]
async fn sealed_password_is_erased_when_the_job_ends_and_claims_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let (entry, claim) = new_claim();
    let id = claim.job.id;
    {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.import_roster(&[entry], 1).await.unwrap();
        assert_eq!(
            store.insert_claim(claim).await.unwrap(),
            ClaimInsert::Created
        );
        store.pool().close().await;
    }
    let store = SqliteStore::connect(&url).await.unwrap();
    let job = store
        .lease_job("w", Duration::from_secs(60), 2)
        .await
        .unwrap()
        .expect("the claim's job survived");
    assert_eq!(job.job.id, id);
    let sealed: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed_password FROM directory_jobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sealed.as_deref(), Some(&b"sealed-bytes"[..]));
    let audit = AuditEvent {
        at: 3,
        action: "directory.provision",
        employee_id: None,
        username: None,
        client: None,
        outcome: "succeeded",
        reason: None,
    };
    assert!(
        store
            .finish_job(&job, JobOutcome::Succeeded, audit, None)
            .await
            .unwrap()
    );
    let sealed: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed_password FROM directory_jobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sealed, None);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

//! What only the SQLite backend promises: the sealed password is gone from the row however a
//! job ends (done, refused, superseded, released), and a second process (a restart) sees
//! every committed claim.

#[path = "conformance/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::time::Duration;

use claimd_core::{
    EmployeeId, JobKind, OperationId, OperationState,
    store::{AuditAction, AuditOutcome, ClaimInsert, JobOutcome, prelude::*},
};
use claimd_store::SqliteStore;
use fixtures::*;

async fn open() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    (SqliteStore::connect(&url).await.unwrap(), dir)
}

/// The job's sealed password as stored in its row.
async fn sealed(store: &SqliteStore, id: OperationId) -> Option<Vec<u8>> {
    sqlx::query_scalar("SELECT sealed_password FROM directory_jobs WHERE id = ?")
        .bind(id.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn state(store: &SqliteStore, id: OperationId) -> OperationState {
    store.operation(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn a_claim_survives_reopen_and_its_password_is_erased_when_the_job_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let new = claim(77777, T0);
    let id = new.job.id;
    {
        let store = SqliteStore::connect(&url).await.unwrap();
        seeded(&store, &[77777]).await;
        assert_eq!(store.insert_claim(new).await.unwrap(), ClaimInsert::Created);
        store.pool().close().await;
    }
    let store = SqliteStore::connect(&url).await.unwrap();
    let job = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .expect("the claim's job survived");
    assert_eq!(job.job.id, id);
    assert_eq!(sealed(&store, id).await.as_deref(), Some(&[1, 2, 3][..]));
    let done = audit(
        T0,
        AuditAction::Directory(claimd_core::JobKind::Provision),
        AuditOutcome::Succeeded,
    );
    assert!(
        store
            .finish_job(&job, JobOutcome::Succeeded, done, None)
            .await
            .unwrap()
    );
    assert_eq!(sealed(&store, id).await, None);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_refused_job_loses_its_password() {
    let (store, _dir) = open().await;
    seeded(&store, &[77777]).await;
    store.insert_claim(claim(77777, T0)).await.unwrap();
    let job = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    let refused = JobOutcome::Failed {
        reason: "the directory refused the password".into(),
    };
    let row = audit(
        T0,
        AuditAction::Directory(claimd_core::JobKind::Provision),
        AuditOutcome::Failed,
    );
    assert!(store.finish_job(&job, refused, row, None).await.unwrap());
    assert_eq!(state(&store, job.job.id).await, OperationState::Failed);
    assert_eq!(sealed(&store, job.job.id).await, None);
}

#[tokio::test]
async fn a_superseded_password_job_loses_its_password_and_the_newer_keeps_its_own() {
    let (store, _dir) = open().await;
    let claim_id = active_claim(&store).await;
    let older = password_job(&claim_id, JobKind::ResetPassword, T0 + 1);
    let older_id = older.job.id;
    store.insert_account_job(older).await.unwrap();
    let newer = password_job(&claim_id, JobKind::ChangePassword, T0 + 2);
    let newer_id = newer.job.id;
    store.insert_account_job(newer).await.unwrap();
    assert_eq!(state(&store, older_id).await, OperationState::Failed);
    assert_eq!(sealed(&store, older_id).await, None);
    assert_eq!(
        sealed(&store, newer_id).await.as_deref(),
        Some(&[4, 5, 6][..])
    );
}

#[tokio::test]
async fn a_released_claim_loses_its_password_even_while_a_worker_holds_it() {
    let (store, _dir) = open().await;
    seeded(&store, &[77777, 77778]).await;
    // One claim leased by a worker that is still writing, one waiting in the queue.
    store.insert_claim(claim(77778, T0)).await.unwrap();
    let leased = store
        .lease_job("w", Duration::from_secs(60), T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leased.job.account.employee_id.get(), 77778);
    let waiting = claim(77777, T0 + 1);
    let waiting_id = waiting.job.id;
    store.insert_claim(waiting).await.unwrap();
    for (employee, job) in [(77777, waiting_id), (77778, leased.job.id)] {
        let id = EmployeeId::new(employee).unwrap();
        let row = audit(T0 + 1, AuditAction::AdminRelease, AuditOutcome::Done);
        assert!(
            store
                .release_pending_claim(id, "released by an administrator", row)
                .await
                .unwrap()
        );
        assert_eq!(state(&store, job).await, OperationState::Failed);
        assert_eq!(sealed(&store, job).await, None, "job of {employee}");
    }
    // The worker that held the released job can no longer record an outcome.
    let row = audit(
        T0 + 2,
        AuditAction::Directory(claimd_core::JobKind::Provision),
        AuditOutcome::Succeeded,
    );
    assert!(
        !store
            .finish_job(&leased, JobOutcome::Succeeded, row, None)
            .await
            .unwrap()
    );
}

/// The database, its write-ahead log and its index hold answer hashes and sealed passwords:
/// created for the owner alone, and an existing file others could read is closed to them.
#[tokio::test]
async fn the_database_and_its_log_are_the_owner_s_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let (store, dir) = open().await;
    seeded(&store, &[77777]).await;
    store.insert_claim(claim(77777, T0)).await.unwrap();
    for name in ["claimd.db", "claimd.db-wal", "claimd.db-shm"] {
        let path = dir.path().join(name);
        assert!(path.exists(), "{name}");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
    drop(store);

    let other = dir.path().join("old.db");
    std::fs::write(&other, b"").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", other.display());
    let _store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(mode(&other), 0o600);
}

//! The directory job queue: leases, outcomes, retries, takeovers.

use std::{sync::Arc, time::Duration};

use claimd_core::{
    EmployeeId, OperationState, Store,
    store::{AuditAction, AuditOutcome, ClaimInsert, ClaimState, JobOutcome},
};

use crate::fixtures::*;

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
                audit(
                    T0,
                    AuditAction::Directory(claimd_core::JobKind::Provision),
                    AuditOutcome::Succeeded
                ),
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
                audit(
                    T0,
                    AuditAction::Directory(claimd_core::JobKind::Provision),
                    AuditOutcome::Failed
                ),
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
            .finish_job(
                &dead,
                JobOutcome::Succeeded,
                audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
                None
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .retry_job(&dead, T0 + 5000, None, "late", T0 + 1001)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_job(
                &live,
                JobOutcome::Succeeded,
                audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
                None
            )
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
            .retry_job(&job, T0 + 4000, None, "connection refused", T0)
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

/// A worker may lease several due jobs at once and record them in one transaction; a job
/// whose lease it lost meanwhile is not recorded, the others are.
pub async fn jobs_are_leased_and_recorded_in_batches(store: Arc<dyn Store>) {
    use claimd_core::store::EndedJob;
    seeded(&*store, &[21, 22, 23]).await;
    for id in [21, 22, 23] {
        store.insert_claim(claim(id, T0)).await.unwrap();
    }
    let batch = store
        .lease_jobs("w1", Duration::from_secs(60), T0, 2)
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);
    let rest = store
        .lease_jobs("w2", Duration::from_secs(60), T0, 16)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "leased jobs are not shared");
    let mut lost = batch[1].clone();
    lost.lease_owner = "w9".into();
    let ended = [
        EndedJob {
            job: batch[0].clone(),
            outcome: JobOutcome::Succeeded,
            audit: audit(
                T0,
                AuditAction::Directory(claimd_core::JobKind::Provision),
                AuditOutcome::Succeeded,
            ),
            mail: None,
        },
        EndedJob {
            job: lost,
            outcome: JobOutcome::Succeeded,
            audit: audit(
                T0,
                AuditAction::Directory(claimd_core::JobKind::Provision),
                AuditOutcome::Succeeded,
            ),
            mail: None,
        },
    ];
    assert_eq!(store.finish_jobs(&ended).await.unwrap(), [true, false]);
    let first = store.operation(batch[0].job.id).await.unwrap().unwrap();
    assert_eq!(first.state, OperationState::Succeeded);
    let second = store.operation(batch[1].job.id).await.unwrap().unwrap();
    assert_eq!(second.state, OperationState::Pending);
}

/// A job retried as held (its write may still land) is left alone until then: not leased,
/// not replaced by a newer password, not hurried by `admin retry`; the newer job waits behind
/// it, and once the hold ends the older is fenced as superseded and the newer goes.
pub async fn a_held_retry_is_left_alone_until_it_ends(store: Arc<dyn Store>) {
    use claimd_core::{JobKind, store::LeaseCheck};
    let claim_id = active_claim(&*store).await;
    let older = password_job(&claim_id, JobKind::ResetPassword, T0 + 1);
    let older_id = older.job.id;
    store.insert_account_job(older).await.unwrap();
    let held = store
        .lease_job("w1", Duration::from_secs(60), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    let until = T0 + 60_002;
    assert!(
        store
            .retry_job(&held, until, Some(until), "unconfirmed", T0 + 3)
            .await
            .unwrap()
    );
    let newer = password_job(&claim_id, JobKind::ChangePassword, T0 + 4);
    store.insert_account_job(newer).await.unwrap();
    assert_eq!(
        store.operation(older_id).await.unwrap().unwrap().state,
        OperationState::Pending,
        "a newer password does not replace a held job"
    );
    assert!(
        !store
            .retry_now(
                older_id,
                audit(T0 + 5, AuditAction::AdminRetry, AuditOutcome::Done),
                T0 + 5
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_job("w2", Duration::from_secs(60), until - 1)
            .await
            .unwrap()
            .is_none(),
        "nothing for the account is leased while the hold lasts"
    );
    let older = store
        .lease_job("w2", Duration::from_secs(60), until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(older.job.id, older_id);
    assert_eq!(
        store.confirm_lease(&older, until + 1).await.unwrap(),
        LeaseCheck::Superseded(claimd_core::store::SUPERSEDED_REASON)
    );
}

/// A claim's writer records the directory entry it takes while its lease holds; the next
/// lease of the job (its retry) carries it, and a worker whose lease ran out records nothing.
pub async fn a_claim_s_directory_entry_is_kept_under_its_lease(store: Arc<dyn Store>) {
    seeded(&*store, &[8]).await;
    let new = claim(8, T0);
    store.insert_claim(new).await.unwrap();
    let lease = Duration::from_secs(60);
    let job = store.lease_job("w1", lease, T0).await.unwrap().unwrap();
    assert_eq!(job.job.entry, None);
    assert!(store.record_entry(&job, "uuid-1", T0 + 1).await.unwrap());
    // Past the lease, the holder can no longer record; its taker sees what was recorded.
    let late = T0 + 60_001;
    assert!(!store.record_entry(&job, "uuid-late", late).await.unwrap());
    let taken = store.lease_job("w2", lease, late).await.unwrap().unwrap();
    assert_eq!(taken.job.id, job.job.id);
    assert_eq!(taken.job.entry.as_deref(), Some("uuid-1"));
    assert!(
        !store
            .record_entry(&job, "uuid-stale", late + 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_entry(&taken, "uuid-2", late + 1)
            .await
            .unwrap()
    );
}

/// The first seal key's fingerprint is kept; another is told apart, and never replaces it.
pub async fn the_first_seal_key_s_fingerprint_is_kept(store: Arc<dyn Store>) {
    assert!(store.seal_key_matches("aa11", T0).await.unwrap());
    assert!(store.seal_key_matches("aa11", T0 + 1).await.unwrap());
    assert!(!store.seal_key_matches("bb22", T0 + 2).await.unwrap());
    assert!(store.seal_key_matches("aa11", T0 + 3).await.unwrap());
}

//! What the recovery flows need: lookups, password jobs in order, answers, the mail outbox.

use std::{sync::Arc, time::Duration};

use claimd_core::{
    Email, EmployeeId, JobKind, Mail, MailKind, MailWriter, OperationState, Store, Username,
    store::{AuditAction, AuditOutcome, ClaimState, JobOutcome, StoredAnswer},
};

use crate::fixtures::*;

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
        .finish_job(
            &job,
            JobOutcome::Succeeded,
            audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
            None,
        )
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
    store.insert_account_job(first).await.unwrap();
    let second = password_job(&claim_id, JobKind::ChangePassword, T0 + 2);
    let second_id = second.job.id;
    store.insert_account_job(second).await.unwrap();
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
            .finish_job(
                &job,
                JobOutcome::Succeeded,
                audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
                None
            )
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
        .insert_account_job(password_job(&claim_id, JobKind::ResetPassword, T0 + 1))
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
    store.insert_account_job(newer).await.unwrap();
    assert!(
        store
            .lease_job("w2", Duration::from_secs(60), T0 + 4)
            .await
            .unwrap()
            .is_none()
    );
    store
        .finish_job(
            &held,
            JobOutcome::Succeeded,
            audit(T0, AuditAction::Claim, AuditOutcome::Accepted),
            None,
        )
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
        .replace_answers(
            &claim_id,
            &answers,
            audit(T0, AuditAction::UpdateAnswers, AuditOutcome::Changed),
            notice,
        )
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
        .enqueue_mail(
            &mail,
            audit(T0, AuditAction::RecoverUsername, AuditOutcome::Mailed),
        )
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

/// A roster import that terminates someone wins over flows that checked the account before
/// it: no new password is queued, no new claim stored, and a provision in flight does not
/// bring the released claim back.
pub async fn a_leaver_takes_no_new_password_claim_or_revived_claim(store: Arc<dyn Store>) {
    use claimd_core::{RosterStatus, store::ClaimInsert};
    let claim_id = active_claim(&*store).await;
    store
        .import_roster(&[entry(77778, "Doe", RosterStatus::Active)], T0)
        .await
        .unwrap();
    store.insert_claim(claim(77778, T0 + 1)).await.unwrap();
    let in_flight = store
        .lease_job("w", Duration::from_secs(60), T0 + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_flight.job.account.employee_id.get(), 77778);

    let left = [
        entry(77777, "Doe", RosterStatus::Terminated),
        entry(77778, "Doe", RosterStatus::Terminated),
    ];
    let summary = store.import_roster(&left, T0 + 2).await.unwrap();
    assert_eq!(summary.accounts_to_disable(), 2, "{summary:?}");

    let reset = password_job(&claim_id, JobKind::ResetPassword, T0 + 3);
    assert!(!store.insert_account_job(reset).await.unwrap());
    assert_eq!(
        store.insert_claim(claim(77777, T0 + 3)).await.unwrap(),
        ClaimInsert::NotClaimable
    );
    // The provision in flight lands and is recorded, but the claim stays released.
    assert!(
        store
            .finish_job(
                &in_flight,
                JobOutcome::Succeeded,
                audit(T0 + 4, AuditAction::Claim, AuditOutcome::Accepted),
                None
            )
            .await
            .unwrap()
    );
    let id = EmployeeId::new(77778).unwrap();
    assert_eq!(store.live_claim(id).await.unwrap(), None);
}

/// The fence a worker checks right before writing: the job is still its own within the
/// lease, and no newer password job exists for the account.
pub async fn the_lease_is_confirmed_before_a_write(store: Arc<dyn Store>) {
    use claimd_core::store::LeaseCheck;
    let claim_id = active_claim(&*store).await;
    store
        .insert_account_job(password_job(&claim_id, JobKind::ResetPassword, T0 + 1))
        .await
        .unwrap();
    let held = store
        .lease_job("w1", Duration::from_secs(60), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.confirm_lease(&held, T0 + 3).await.unwrap(),
        LeaseCheck::Held
    );
    // Another owner's name, or a time past the lease: not ours to write.
    let mut other = held.clone();
    other.lease_owner = "w2".into();
    assert_eq!(
        store.confirm_lease(&other, T0 + 3).await.unwrap(),
        LeaseCheck::Lost
    );
    assert_eq!(
        store.confirm_lease(&held, T0 + 2 + 60_000).await.unwrap(),
        LeaseCheck::Lost
    );
    // A newer password arrives while the older is held (so it is not failed at once): the
    // holder must not write the older one.
    let newer = password_job(&claim_id, JobKind::ChangePassword, T0 + 4);
    store.insert_account_job(newer).await.unwrap();
    assert_eq!(
        store.confirm_lease(&held, T0 + 5).await.unwrap(),
        LeaseCheck::Superseded(claimd_core::store::SUPERSEDED_REASON)
    );
    assert!(
        store
            .finish_job(
                &held,
                JobOutcome::Failed {
                    reason: claimd_core::store::SUPERSEDED_REASON.into()
                },
                audit(T0 + 5, AuditAction::Claim, AuditOutcome::Superseded),
                None
            )
            .await
            .unwrap()
    );
    let next = store
        .lease_job("w2", Duration::from_secs(60), T0 + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.job.kind, JobKind::ChangePassword);
    assert_eq!(
        store.confirm_lease(&next, T0 + 7).await.unwrap(),
        LeaseCheck::Held
    );
}

/// Releasing a claim that has just become active changes nothing: the release and the
/// worker's finish meet on the same job row, and only a pending claim is given up.
pub async fn releasing_an_active_claim_changes_nothing(store: Arc<dyn Store>) {
    active_claim(&*store).await;
    let employee = EmployeeId::new(77777).unwrap();
    assert!(
        !store
            .release_pending_claim(
                employee,
                "stuck",
                audit(T0 + 1, AuditAction::AdminRelease, AuditOutcome::Done)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.live_claim(employee).await.unwrap(),
        Some(ClaimState::Active)
    );
    assert!(
        store
            .claimed_account(&claimd_core::Username::parse("e77777").unwrap())
            .await
            .unwrap()
            .is_some_and(|a| a.answers.len() == 3),
        "the answers are kept"
    );
}

/// `admin release` and the worker's finish of the same pending claim, at the same moment:
/// exactly one of them wins, and the claim says which (active after a recorded write,
/// released after a release), never both or neither.
pub async fn a_release_racing_the_worker_s_finish_has_one_winner(store: Arc<dyn Store>) {
    let ids: Vec<u32> = (1..=48).map(|i| 77_000 + i).collect();
    seeded(&*store, &ids).await;
    let (mut released, mut finished) = (0, 0);
    for &id in &ids {
        store.insert_claim(claim(id, T0)).await.unwrap();
        let job = store
            .lease_job("w", Duration::from_secs(60), T0 + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.job.account.employee_id.get(), id);
        let employee = EmployeeId::new(id).unwrap();
        let (release, finish) = tokio::join!(
            {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .release_pending_claim(
                            employee,
                            "stuck",
                            audit(T0 + 2, AuditAction::AdminRelease, AuditOutcome::Done),
                        )
                        .await
                        .unwrap()
                })
            },
            {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .finish_job(
                            &job,
                            JobOutcome::Succeeded,
                            audit(T0 + 2, AuditAction::Claim, AuditOutcome::Accepted),
                            None,
                        )
                        .await
                        .unwrap()
                })
            },
        );
        let (release, finish) = (release.unwrap(), finish.unwrap());
        assert!(
            release != finish,
            "{id}: released {release}, finished {finish}"
        );
        let live = store.live_claim(employee).await.unwrap();
        if release {
            released += 1;
            assert_eq!(live, None, "{id}: released, but the claim is {live:?}");
        } else {
            finished += 1;
            assert_eq!(
                live,
                Some(ClaimState::Active),
                "{id}: written, but {live:?}"
            );
        }
    }
    println!("release won {released}, finish won {finished}");
    // Both orders were met: the two really raced (seen here: 18/6 and 11/13 of 24).
    assert!(released > 0 && finished > 0, "{released} / {finished}");
}

/// A reset a worker holds when the roster says the person has left is not cancelled with
/// the waiting ones; the fence then ends it, saying the person has left.
pub async fn a_held_reset_of_a_leaver_is_fenced_as_left(store: Arc<dyn Store>) {
    use claimd_core::{
        RosterStatus,
        store::{LEFT_REASON, LeaseCheck},
    };
    let claim_id = active_claim(&*store).await;
    store
        .insert_account_job(password_job(&claim_id, JobKind::ResetPassword, T0 + 1))
        .await
        .unwrap();
    let held = store
        .lease_job("w1", Duration::from_secs(60), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    store
        .import_roster(&[entry(77777, "Doe", RosterStatus::Terminated)], T0 + 3)
        .await
        .unwrap();
    assert_eq!(
        store.confirm_lease(&held, T0 + 4).await.unwrap(),
        LeaseCheck::Superseded(LEFT_REASON)
    );
}

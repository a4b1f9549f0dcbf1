//! `claimd admin …` as IT staff use it: unlock, release, retry now, read the audit log.

use std::time::Duration;

use claimd_api::v1::{ClaimAccountRequest, OperationState};
use tonic::Code;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle, wait_retrying};

fn admin(app: &App, args: &[&str]) -> (bool, String) {
    let mut all = vec!["admin"];
    all.extend(args);
    let out = app.claimd(&all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlocked_account_can_claim_and_the_audit_log_says_so() {
    let app = App::start().await;
    let mut client = app.client().await;
    for _ in 0..5 {
        let _ = client
            .claim_account(ClaimAccountRequest {
                last_name: "Dough".into(),
                ..jane()
            })
            .await;
    }
    assert_eq!(
        client.claim_account(jane()).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
    let (ok, out) = admin(&app, &["unlock", "077777"]);
    assert!(ok && out.contains("unlocked employee:77777"), "{out}");
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );

    let (ok, audit) = admin(&app, &["audit", "--employee", "077777"]);
    assert!(ok, "{audit}");
    for action in ["claim", "lockout", "admin.unlock", "directory.provision"] {
        assert!(
            audit
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(action)),
            "{action} missing:\n{audit}"
        );
    }
    assert!(!audit.contains(PASSWORD));
    let (ok, out) = admin(&app, &["unlock", "e77777"]);
    assert!(ok && out.contains("was not locked"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_claim_is_released_and_the_person_claims_again() {
    let mut app = App::start().await;
    app.slapd.stop();
    let mut client = app.client().await;
    let stuck = claim_ok(&mut client, jane()).await.operation.unwrap().id;
    wait_retrying(&mut client, &stuck).await;
    let (ok, out) = admin(&app, &["release", "077777"]);
    assert!(ok, "{out}");
    let op = settle(&mut client, &stuck).await;
    assert_eq!(op.state(), OperationState::Failed);
    assert!(op.reason.contains("released"), "{}", op.reason);
    // The second claim chooses another password: if the released job still landed, the
    // directory would see two password writes and the first password might work.
    let again = ClaimAccountRequest {
        password: "Second-Choice-Lantern-4".into(),
        ..jane()
    };
    let again = claim_ok(&mut client, again).await.operation.unwrap().id;
    app.slapd.resume();
    assert_eq!(
        settle(&mut client, &again).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", "Second-Choice-Lantern-4"));
    assert!(!app.can_login("e77777", PASSWORD));
    let dn = format!("uid=e77777,{}", claimd_testkit::Slapd::USERS_BASE_DN);
    assert_eq!(app.slapd.operations("ADD", &dn), 1);
    assert_eq!(app.slapd.operations("PASSMOD", &dn), 1);
    let (ok, out) = admin(&app, &["release", "077777"]);
    assert!(!ok && out.contains("no pending claim"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_job_is_retried_at_once_on_request() {
    // Long backoff: without the admin's retry the job would wait a minute.
    let mut app = App::start_with(&[
        ("CLAIMD__SYNC__BACKOFF_INITIAL_MS", "60000"),
        ("CLAIMD__SYNC__BACKOFF_MAX_SECS", "600"),
    ])
    .await;
    app.slapd.stop();
    let mut client = app.client().await;
    let id = claim_ok(&mut client, jane()).await.operation.unwrap().id;
    wait_retrying(&mut client, &id).await;
    app.slapd.resume();
    let (ok, out) = admin(&app, &["retry", &id]);
    assert!(ok, "{out}");
    let op = tokio::time::timeout(Duration::from_secs(15), settle(&mut client, &id))
        .await
        .expect("retried at once");
    assert_eq!(op.state(), OperationState::Succeeded);
    let (ok, out) = admin(&app, &["retry", "not-an-id"]);
    assert!(!ok && out.contains("operation id"), "{out}");
}

/// A reset with Jane's answers, wrong (`wrong`) or right.
fn reset(wrong: bool) -> claimd_api::v1::CompletePasswordResetRequest {
    let mut answers = crate::harness::answers();
    if wrong {
        for a in &mut answers {
            a.answer.push_str(" not");
        }
    }
    claimd_api::v1::CompletePasswordResetRequest {
        username: "e77777".into(),
        answers,
        new_password: "Violet-Harbor-Compass-31".into(),
        verification_code: String::new(),
    }
}

/// Forgot My Password locked by wrong answers: `admin unlock` lifts it, typed either as the
/// username or as the employee ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_lifts_a_recovery_lock_by_username_or_employee_id() {
    let app = App::start().await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    for form in ["e77777", "077777"] {
        for _ in 0..5 {
            let status = client
                .complete_password_reset(reset(true))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated, "{form}");
        }
        let status = client
            .complete_password_reset(reset(false))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "locked ({form})");
        let (ok, out) = admin(&app, &["unlock", form]);
        assert!(ok && out.contains("username:e77777"), "{form}: {out}");
        let op = client
            .complete_password_reset(reset(false))
            .await
            .unwrap_or_else(|s| panic!("still locked after unlock {form}: {s:?}"))
            .into_inner()
            .operation
            .unwrap();
        assert_eq!(
            settle(&mut client, &op.id).await.state(),
            OperationState::Succeeded
        );
    }
}

/// A client address locked by failures on many IDs (and its work-order allowance used up):
/// `admin unlock ADDRESS` lifts both, and the audit log names the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_lifts_an_address_lock() {
    let app = App::start_with(&[
        ("CLAIMD__SECURITY__ADDRESS_MAX_FAILURES", "3"),
        ("CLAIMD__PORTAL__SUPPORT_EMAIL", "help@district.example"),
    ])
    .await;
    let mut client = app.client().await;
    for id in ["000101", "000102", "000103"] {
        let status = client
            .claim_account(ClaimAccountRequest {
                employee_id: id.into(),
                ..jane()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{id}");
    }
    // Jane's own ID was never tried: the address is what is locked.
    let status = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let (ok, out) = admin(&app, &["unlock", "127.0.0.1"]);
    assert!(ok && out.contains("127.0.0.1"), "{out}");
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    let (ok, audit) = admin(&app, &["audit", "--limit", "20"]);
    assert!(ok, "{audit}");
    assert!(
        audit
            .lines()
            .any(|l| l.contains("admin.unlock") && l.contains("127.0.0.1")),
        "{audit}"
    );
}

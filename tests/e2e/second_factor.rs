//! Proof beyond names (issue 13), the second factor: Forgot My Password also needs the code
//! mailed to the personal address.

use std::time::Duration;

use claimd_api::v1::{
    BeginPasswordResetRequest, ClaimAccountRequest, CompletePasswordResetRequest, OperationState,
};
use tonic::Code;

use crate::{
    codes::{MAIL_WAIT, NEW_PASSWORD, after, import, mails_to, rick, wait_mail_to},
    harness::{App, PASSWORD, answers, claim_ok, jane, settle},
};

fn reset(username: &str, code: &str) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: username.into(),
        answers: answers(),
        new_password: NEW_PASSWORD.into(),
        verification_code: code.into(),
    }
}

/// A reset that is accepted and then written to the directory.
async fn reset_ok(
    client: &mut claimd_api::v1::account_service_client::AccountServiceClient<
        tonic::transport::Channel,
    >,
    request: CompletePasswordResetRequest,
) {
    let op = client
        .complete_password_reset(request)
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(client, &op.id).await.state(),
        OperationState::Succeeded
    );
}

/// Asks for Forgot My Password's questions, and returns the code that then arrives at `to`.
pub(crate) async fn verification_code(app: &App, username: &str, to: &str) -> String {
    let seen = mails_to(app, to).len();
    app.client()
        .await
        .begin_password_reset(BeginPasswordResetRequest {
            username: username.into(),
        })
        .await
        .unwrap();
    let mail = wait_mail_to(app, to, seen);
    assert_eq!(mail.subject, "Your district password reset code");
    after(&mail.body, "Verification code:").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_needs_the_code_mailed_to_the_personal_address() {
    let app = App::start_with(&[("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email")]).await;
    // Jane and Rick with personal addresses, Pat without.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n\
         077778,Roe,Rick,rick.roe@district.example,active,rick@home.example\n\
         077779,Poe,Pat,pat.poe@district.example,active,\n",
        &[],
    );
    assert!(ok, "{out}");
    let pat = ClaimAccountRequest {
        last_name: "Poe".into(),
        first_name: "Pat".into(),
        employee_id: "077779".into(),
        ..jane()
    };
    let mut client = app.client().await;
    for person in [jane(), rick(), pat] {
        let reply = claim_ok(&mut client, person).await;
        assert_eq!(
            settle(&mut client, &reply.operation.unwrap().id)
                .await
                .state(),
            OperationState::Succeeded
        );
    }

    let code = verification_code(&app, "e77777", "jane@home.example").await;
    assert_eq!(code.replace(' ', "").len(), 8, "{code}");
    // Without it, with a wrong one, or on another account: as wrong answers.
    for (user, typed) in [
        ("e77777", ""),
        ("e77777", "0000 0000"),
        ("e77778", code.as_str()),
    ] {
        let status = client
            .complete_password_reset(reset(user, typed))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{user} {typed:?}");
    }
    reset_ok(&mut client, reset("e77777", &code)).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
    // Used once.
    let status = client
        .complete_password_reset(reset("e77777", &code))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Pat has no personal address: answers alone, and the audit log says so.
    reset_ok(&mut client, reset("e77779", "")).await;
    let audit = app.claimd(&["admin", "audit", "--employee", "077779"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("answers_only"), "{audit}");

    // Wrong codes count against the answers' limit: with the failure above (the used
    // code; the reset before cleared the counter), four more lock Jane even with a right
    // code.
    let code = verification_code(&app, "e77777", "jane@home.example").await;
    for _ in 0..4 {
        let status = client
            .complete_password_reset(reset("e77777", "1111 1111"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let status = client
        .complete_password_reset(reset("e77777", &code))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);

    // Asked again while that code is unused and on its way: nothing new is mailed (the
    // store's caps, 3 live and 10 a day, are in the conformance suite).
    let before = mails_to(&app, "jane@home.example").len();
    client
        .begin_password_reset(BeginPasswordResetRequest {
            username: "e77777".into(),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    while !app.logs().contains("verification code not sent") {
        assert!(std::time::Instant::now() < deadline, "{}", app.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(mails_to(&app, "jane@home.example").len(), before);
    assert!(!app.logs().contains(&code), "a code reached the log");
    assert!(app.can_login("e77777", NEW_PASSWORD) && !app.can_login("e77777", PASSWORD));
}

/// A roster file whose `personal_email` cell is empty clears the address on file: the
/// person then resets with the answers alone (audited `answers_only`), and no code is sent.
/// A file without the column keeps the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_personal_email_cell_clears_the_address() {
    let app = App::start_with(&[("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email")]).await;
    let with = "employee_id,last_name,first_name,email,status,personal_email\n\
                077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n";
    let (ok, out) = import(&app, with, &[]);
    assert!(ok, "{out}");
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    // No column: the address stays, a reset still needs the code.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status\n\
         077777,Doe,Jane,jane.doe@district.example,active\n",
        &[],
    );
    assert!(ok, "{out}");
    let status = client
        .complete_password_reset(reset("e77777", ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "the address was kept");
    // An empty cell: cleared.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,\n",
        &[],
    );
    assert!(ok, "{out}");
    client
        .begin_password_reset(BeginPasswordResetRequest {
            username: "e77777".into(),
        })
        .await
        .unwrap();
    reset_ok(&mut client, reset("e77777", "")).await;
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("answers_only"), "{audit}");
    // The reset's own notice (to the district address) is the sentinel: by then a code
    // offered at the start of the reset would have been mailed.
    claimd_testkit::wait_until("the reset's notice", MAIL_WAIT, || {
        mails_to(&app, "jane.doe@district.example")
            .iter()
            .any(|m| m.subject == "Your district password was reset")
    });
    assert!(
        mails_to(&app, "jane@home.example").is_empty(),
        "no code after the clear"
    );
}

/// Past the consecutive-failure limit (here 3; 100 by default) the answers alone never open
/// the account again, whoever sent the failures: but the person's reset with the code mailed
/// to their personal address still does, and `admin unlock` does for the one without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_failures_leave_the_mailed_code_and_the_admin() {
    let app = App::start_with(&[
        ("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email"),
        ("CLAIMD__SECURITY__ACCOUNT_CONSECUTIVE_LIMIT", "3"),
    ])
    .await;
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n\
         077779,Poe,Pat,pat.poe@district.example,active,\n",
        &[],
    );
    assert!(ok, "{out}");
    let pat = ClaimAccountRequest {
        last_name: "Poe".into(),
        first_name: "Pat".into(),
        employee_id: "077779".into(),
        ..jane()
    };
    let mut client = app.client().await;
    for person in [jane(), pat] {
        let reply = claim_ok(&mut client, person).await;
        let op = reply.operation.unwrap().id;
        assert_eq!(
            settle(&mut client, &op).await.state(),
            OperationState::Succeeded
        );
    }
    // Anyone can send failures: no proof is needed to be wrong.
    for user in ["e77777", "e77779"] {
        for _ in 0..3 {
            let mut wrong = reset(user, "");
            for answer in &mut wrong.answers {
                answer.answer = "not it".into();
            }
            let status = client.complete_password_reset(wrong).await.unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated, "{user}");
        }
        // Right answers alone: locked, however long one waits.
        let status = client
            .complete_password_reset(reset(user, ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{user}");
    }
    // Pat has no personal address, so a typed code opens nothing either.
    let status = client
        .complete_password_reset(reset("e77779", "1234 5678"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Jane's code, mailed to her, opens it.
    let code = verification_code(&app, "e77777", "jane@home.example").await;
    reset_ok(&mut client, reset("e77777", &code)).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));

    // Pat: IT unlocks, and the answers work again.
    let unlock = app.claimd(&["admin", "unlock", "e77779"]);
    assert!(
        unlock.status.success(),
        "{}",
        String::from_utf8_lossy(&unlock.stderr)
    );
    reset_ok(&mut client, reset("e77779", "")).await;
    assert!(app.can_login("e77779", NEW_PASSWORD));
}

/// Secure by default (nothing set in `[recovery]`): a person with a personal address on the
/// roster resets only with the code mailed there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailed_code_is_asked_by_default() {
    let app = App::start().await;
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n",
        &[],
    );
    assert!(ok, "{out}");
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let op = reply.operation.unwrap().id;
    assert_eq!(
        settle(&mut client, &op).await.state(),
        OperationState::Succeeded
    );
    let code = verification_code(&app, "e77777", "jane@home.example").await;
    let status = client
        .complete_password_reset(reset("e77777", ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    reset_ok(&mut client, reset("e77777", &code)).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
}

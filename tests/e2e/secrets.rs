//! No secret in the logs (at debug level), the database, or replies.

use claimd_api::v1::{ClaimAccountRequest, OperationState};

use crate::harness::{App, PASSWORD, answers, claim_ok, file_contains, jane, settle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_claim_leaves_no_password_or_answer_in_logs_or_store() {
    let app = App::start_with(&[("RUST_LOG", "debug")]).await;
    let mut client = app.client().await;
    // A refused attempt and a field error first: their paths must not leak either.
    let _ = client
        .claim_account(ClaimAccountRequest {
            last_name: "Dough".into(),
            ..jane()
        })
        .await;
    let _ = client
        .claim_account(ClaimAccountRequest {
            employee_id: "x".into(),
            ..jane()
        })
        .await;
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );

    let logs = app.logs();
    assert!(
        logs.contains("e77777"),
        "the logs say what happened:\n{logs}"
    );
    let mut secrets = vec![PASSWORD.to_owned()];
    for answer in answers() {
        secrets.push(answer.answer.clone());
        secrets.push(answer.answer.to_lowercase());
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret:?} appears in the logs"
        );
        for file in ["claimd.db", "claimd.db-wal"] {
            assert!(
                !file_contains(&app.dir().join(file), secret),
                "{secret:?} appears in {file}"
            );
        }
    }
    assert!(
        !logs.contains(claimd_testkit::Slapd::SERVICE_PASSWORD),
        "the bind password appears in the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_flows_leave_no_password_answer_or_token_in_logs_store_or_mail() {
    use claimd_api::v1::{
        ChallengeAnswer, ChangePasswordRequest, CompletePasswordResetRequest,
        RecoverUsernameRequest, UnlockAccountRequest, UpdateChallengeAnswersRequest,
    };
    // With the second factor on, the reset carries a token too: the verification code
    // mailed to the personal address.
    let app = App::start_with(&[
        ("RUST_LOG", "debug"),
        ("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email"),
    ])
    .await;
    app.import_roster(
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n",
    );
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;

    let reset_password = "Reset-Lantern-Orchid-58";
    let changed_password = "Changed-Meadow-Falcon-64";
    let new_answers = [
        ("first-job", "Kroger Deli"),
        ("oldest-cousin", "Tamika Jones"),
        ("first-concert", "Prince Live"),
    ];
    client
        .recover_username(RecoverUsernameRequest {
            email: "jane.doe@district.example".into(),
        })
        .await
        .unwrap();
    let wrong = CompletePasswordResetRequest {
        username: "e77777".into(),
        answers: answers()
            .into_iter()
            .map(|a| ChallengeAnswer {
                answer: format!("{}x", a.answer),
                ..a
            })
            .collect(),
        new_password: reset_password.into(),
        verification_code: String::new(),
    };
    let code = crate::second_factor::verification_code(&app, "e77777", "jane@home.example").await;
    // Shown as "1234 5678"; typed either way.
    let forms = [code.clone(), code.replace(' ', "")];
    assert_eq!(forms[1].len(), 8, "{code}");
    assert!(client.complete_password_reset(wrong.clone()).await.is_err());
    // Unlock My Account carries the same secrets: the answers (here the right ones with a
    // wrong code, logged at debug as everything is) and the code.
    let unlock = client
        .unlock_account(UnlockAccountRequest {
            username: "e77777".into(),
            answers: answers(),
            verification_code: "0000 0000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unlock.code(), tonic::Code::Unauthenticated, "{unlock:?}");
    let op = client
        .complete_password_reset(CompletePasswordResetRequest {
            username: "e77777".into(),
            answers: answers(),
            new_password: reset_password.into(),
            verification_code: code.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    settle(&mut client, &op.id).await;
    let op = client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: reset_password.into(),
            new_password: changed_password.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    client
        .update_challenge_answers(UpdateChallengeAnswersRequest {
            username: "e77777".into(),
            password: changed_password.into(),
            answers: new_answers
                .iter()
                .map(|(q, a)| ChallengeAnswer {
                    question_id: (*q).into(),
                    answer: (*a).into(),
                })
                .collect(),
        })
        .await
        .unwrap();
    // Claim confirmation, username, code, reset, change, answers changed.
    let mails = app.smtp.wait_for(6, std::time::Duration::from_secs(20));

    let mut secrets = vec![
        PASSWORD.to_owned(),
        reset_password.to_owned(),
        changed_password.to_owned(),
    ];
    for answer in answers() {
        secrets.push(answer.answer.clone());
        secrets.push(answer.answer.to_lowercase());
    }
    for (_, answer) in new_answers {
        secrets.push(answer.to_owned());
        secrets.push(answer.to_lowercase());
    }
    let logs = app.logs();
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret:?} appears in the logs"
        );
        for mail in &mails {
            assert!(
                !mail.raw.contains(secret.as_str()),
                "{secret:?} appears in a mail: {}",
                mail.subject
            );
        }
        for file in ["claimd.db", "claimd.db-wal"] {
            assert!(
                !file_contains(&app.dir().join(file), secret),
                "{secret:?} appears in {file}"
            );
        }
    }
    // The code reaches the personal address and nothing else: not the log, not the store
    // (its outbox mail is sealed), not another mail.
    for form in &forms {
        assert!(
            !logs.contains(form),
            "the verification code appears in the logs"
        );
        for file in ["claimd.db", "claimd.db-wal"] {
            assert!(
                !file_contains(&app.dir().join(file), form),
                "the verification code appears in {file}"
            );
        }
    }
    let carrying: Vec<_> = mails
        .iter()
        .filter(|m| forms.iter().any(|f| m.raw.contains(f)))
        .collect();
    assert_eq!(carrying.len(), 1, "the code is in more than its own mail");
    assert!(
        carrying[0].to.contains("jane@home.example"),
        "{}",
        carrying[0].to
    );
}

//! The breached-password list (`passwords.breached_file`): a listed password is a field error in
//! the claim, and after right secrets in a reset or a change (then audited and mailed, as every
//! proven secret), looked up in a ten-million-line list in Have I Been Pwned's format.

use std::{fs, time::Duration};

use claimd_api::v1::{
    ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest, CompletePasswordResetRequest,
    OperationState,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

/// Strong by every other rule: only the list refuses it.
const LISTED: &str = "Lantern-Meadow-Quartz-58";
const MAIL_WAIT: Duration = Duration::from_secs(20);
const LINES: u64 = 10_000_000;

fn violation(status: &tonic::Status) -> (String, String) {
    let details = status.get_error_details();
    let v = &details
        .bad_request()
        .expect("a BadRequest")
        .field_violations[0];
    (v.field.clone(), v.reason.clone())
}

fn reset(answers: &[(&str, &str)], new_password: &str) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: "e77777".into(),
        answers: answers
            .iter()
            .map(|(q, a)| ChallengeAnswer {
                question_id: (*q).into(),
                answer: (*a).into(),
            })
            .collect(),
        new_password: new_password.into(),
        verification_code: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_passwords_are_refused_in_every_flow() {
    let list_dir = tempfile::tempdir().unwrap();
    let list = list_dir
        .path()
        .join("pwned-passwords-sha1-ordered-by-hash.txt");
    claimd_testkit::write_pwned_list(&list, LINES, &[LISTED], 3).unwrap();
    assert!(fs::metadata(&list).unwrap().len() > 400_000_000);
    let list = list.to_str().unwrap();
    let app = App::start_with(&[("CLAIMD__PASSWORDS__BREACHED_FILE", list)]).await;
    let mut client = app.client().await;

    let status = client
        .claim_account(ClaimAccountRequest {
            password: LISTED.into(),
            ..jane()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violation(&status),
        ("password".into(), "BREACHED_PASSWORD".into())
    );
    assert!(
        status.message().contains("data breaches"),
        "{}",
        status.message()
    );
    let reply = claim_ok(&mut client, jane()).await;
    let op = reply.operation.unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    app.smtp.wait_for(1, MAIL_WAIT);

    // Wrong answers: refused as wrong, the list is not asked and nobody is mailed.
    let wrong = [
        ("first-car", "Chevy"),
        ("first-pet", "Spot"),
        ("birth-city", "Macon"),
    ];
    let status = client
        .complete_password_reset(reset(&wrong, LISTED))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let right = [
        ("first-car", "ford focus"),
        ("first-pet", "rex the dog"),
        ("birth-city", "jonesboro"),
    ];
    let status = client
        .complete_password_reset(reset(&right, LISTED))
        .await
        .unwrap_err();
    assert_eq!(
        violation(&status),
        ("new_password".into(), "BREACHED_PASSWORD".into())
    );
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    assert_eq!(
        mails[1].subject,
        "Your district account's secrets were used"
    );
    assert!(mails[1].body.contains("data breaches"), "{}", mails[1].body);

    let status = client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: PASSWORD.into(),
            new_password: LISTED.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violation(&status),
        ("new_password".into(), "BREACHED_PASSWORD".into())
    );
    assert!(app.can_login("e77777", PASSWORD));
    assert!(!app.can_login("e77777", LISTED));
    assert!(!app.logs().contains(LISTED));
}

#[test]
fn a_list_that_is_not_one_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ntlm = dir.path().join("pwned-passwords-ntlm.txt");
    fs::write(&ntlm, "8846F7EAEE8FB117AD06BDD830B7586C:3\r\n").unwrap();
    for (file, says) in [
        (ntlm.to_str().unwrap(), "malformed"),
        ("/nonexistent/pwned.txt", "cannot open"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"))
            .arg("check-config")
            .env("CLAIMD__PASSWORDS__BREACHED_FILE", file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("passwords.breached_file") && err.contains(says),
            "{err}"
        );
    }
}

//! Forgot My Username, Forgot My Password, change password and new answers, with real mail.

use std::time::Duration;

use claimd_api::v1::{
    BeginPasswordResetRequest, ChallengeAnswer, ChangePasswordRequest,
    CompletePasswordResetRequest, OperationState, RecoverUsernameRequest,
    UpdateChallengeAnswersRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::ReceivedMail;
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

const NEW_PASSWORD: &str = "Violet-Harbor-Compass-31";
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// Starts claimd and claims Jane's account; returns once her confirmation mail has arrived.
async fn claimed() -> (App, AccountServiceClient<Channel>) {
    let app = App::start().await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    let mails = app.smtp.wait_for(1, MAIL_WAIT);
    assert_eq!(mails[0].subject, "Your district account is ready");
    assert!(
        mails[0].body.contains("Username: e77777"),
        "{}",
        mails[0].body
    );
    (app, client)
}

fn answers(pairs: &[(&str, &str)]) -> Vec<ChallengeAnswer> {
    pairs
        .iter()
        .map(|(q, a)| ChallengeAnswer {
            question_id: (*q).into(),
            answer: (*a).into(),
        })
        .collect()
}

/// Jane's answers as typed at claim time, in other case, accents and spacing.
fn right_answers() -> Vec<ChallengeAnswer> {
    answers(&[
        ("first-car", "  FORD   focus "),
        ("first-pet", "rex THE dog"),
        ("birth-city", "Jonesbóro"),
    ])
}

fn reset(
    username: &str,
    answers: Vec<ChallengeAnswer>,
    new_password: &str,
) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: username.into(),
        answers,
        new_password: new_password.into(),
        verification_code: String::new(),
    }
}

fn mails_to(app: &App, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .messages()
        .into_iter()
        .filter(|m| m.to.contains(address))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_username_arrives_by_mail_and_unknown_addresses_get_the_same_reply() {
    let (app, mut client) = claimed().await;
    // Unknown, a terminated person's address (never claimed), and known: one reply, as the
    // caller sees it on the wire (headers and body), and mail only for the known one. The
    // known one last: the sender mails in the order mail was queued, so once Jane's mail
    // has arrived, one for the others would have arrived before it.
    let mut replies = Vec::new();
    for email in [
        "nobody@district.example",
        "pat@district.example",
        "  Jane.Doe@DISTRICT.example ",
    ] {
        let reply = client
            .recover_username(RecoverUsernameRequest {
                email: email.into(),
            })
            .await
            .unwrap();
        let mut headers = reply.metadata().clone().into_headers();
        headers.remove("date");
        let body = prost::Message::encode_to_vec(reply.get_ref());
        replies.push(format!("{headers:?} {body:?}"));
    }
    assert_eq!(replies[0], replies[1]);
    assert_eq!(replies[0], replies[2]);
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    let reminder = &mails[1];
    assert_eq!(reminder.subject, "Your district username");
    assert!(
        reminder.to.contains("jane.doe@district.example"),
        "{}",
        reminder.to
    );
    assert!(
        reminder.from.contains("ithelp@district.example"),
        "{}",
        reminder.from
    );
    assert!(
        reminder.body.contains("Username: e77777"),
        "{}",
        reminder.body
    );
    assert!(mails_to(&app, "nobody@").is_empty());
    assert!(mails_to(&app, "pat@").is_empty());
    let bad = client
        .recover_username(RecoverUsernameRequest {
            email: "not an address".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        bad.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_smtp_is_down_is_sent_when_it_returns() {
    let (mut app, mut client) = claimed().await;
    app.smtp.stop();
    client
        .recover_username(RecoverUsernameRequest {
            email: "jane.doe@district.example".into(),
        })
        .await
        .unwrap();
    // Resume only once a delivery has really failed.
    claimd_testkit::wait_until("a failed mail delivery", MAIL_WAIT, || {
        app.logs().contains("mail not sent, will retry")
    });
    assert_eq!(
        app.smtp.messages().len(),
        1,
        "nothing delivered while SMTP was down"
    );
    app.smtp.resume();
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    assert!(mails[1].body.contains("Username: e77777"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_with_the_right_answers_sets_the_new_password_and_tells_the_person() {
    let (app, mut client) = claimed().await;
    let questions = client
        .begin_password_reset(BeginPasswordResetRequest {
            username: " E77777 ".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .questions;
    let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["first-pet", "birth-city", "first-car"]);
    assert_eq!(questions[0].text, "What was the name of your first pet?");

    let reply = client
        .complete_password_reset(reset("e77777", right_answers(), NEW_PASSWORD))
        .await
        .unwrap();
    let op = reply.into_inner().operation.unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", NEW_PASSWORD));
    assert!(
        !app.can_login("e77777", PASSWORD),
        "the old password stops working"
    );
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    assert_eq!(mails[1].subject, "Your district password was reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_answers_unknown_and_unclaimed_usernames_look_the_same() {
    let (app, mut client) = claimed().await;
    app.import_roster(
        "employee_id,last_name,first_name,email,status\n5,Roe,Rick,rick@district.example,active\n",
    );
    let wrong = answers(&[
        ("first-pet", "Fido"),
        ("birth-city", "Jonesboro"),
        ("first-car", "Ford Focus"),
    ]);
    let statuses = [
        client
            .complete_password_reset(reset("e77777", wrong.clone(), NEW_PASSWORD))
            .await
            .unwrap_err(),
        client
            .complete_password_reset(reset("e424242", right_answers(), NEW_PASSWORD))
            .await
            .unwrap_err(),
        client
            .complete_password_reset(reset("e5", right_answers(), NEW_PASSWORD))
            .await
            .unwrap_err(),
    ];
    for status in &statuses {
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), statuses[0].message());
    }
    assert!(app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_usernames_get_stable_decoy_questions() {
    let (_app, mut client) = claimed().await;
    let mut begin = async |username: &str| {
        client
            .begin_password_reset(BeginPasswordResetRequest {
                username: username.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .questions
    };
    let first = begin("e424242").await;
    let again = begin("E424242").await;
    assert_eq!(first, again);
    assert_eq!(first.len(), 3);
    let mut ids: Vec<&str> = first.iter().map(|q| q.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three different questions");
    let others: Vec<_> = [
        begin("e1").await,
        begin("e2").await,
        begin("e3").await,
        begin("e4").await,
    ]
    .into();
    assert!(
        others.iter().any(|q| *q != first),
        "decoys depend on the username"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_answer_sets_lock_the_account() {
    let (app, mut client) = claimed().await;
    let wrong = answers(&[
        ("first-pet", "Fido"),
        ("birth-city", "Macon"),
        ("first-car", "Jeep"),
    ]);
    for _ in 0..5 {
        let status = client
            .complete_password_reset(reset("e77777", wrong.clone(), NEW_PASSWORD))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let status = client
        .complete_password_reset(reset("e77777", right_answers(), NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.get_error_details().retry_info().is_some());
    assert!(app.can_login("e77777", PASSWORD));
    // A locked name gets its lock, not a free strength estimate of a long weak password.
    let weak = "a".repeat(120);
    let status = client
        .complete_password_reset(reset("e77777", wrong.clone(), &weak))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // The lock is in the audit log under the employee, as a claim lockout is.
    let out = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    let lockout = audit
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("lockout"))
        .unwrap_or_else(|| panic!("no lockout row:\n{audit}"));
    assert!(
        lockout.contains("e77777") && lockout.contains("locked"),
        "{lockout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_passwords_follow_the_policy() {
    let (_app, mut client) = claimed().await;
    for bad in ["password123", "short", "Jane-Doe-Rules-77"] {
        let status = client
            .complete_password_reset(reset("e77777", right_answers(), bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}");
        let field = status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field
            .clone();
        assert_eq!(field, "new_password", "{bad}");
    }
    let status = client
        .complete_password_reset(reset("e77777", right_answers()[..2].to_vec(), NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "answers"
    );
}

/// A refusal that only right secrets reach (the new password is built from the surname)
/// tells whoever gave them that they are right: the person is told too, and it is audited.
/// Wrong secrets with the same password tell nobody anything new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_secrets_with_a_refused_password_are_audited_and_mailed() {
    let (app, mut client) = claimed().await;
    let personal = "Tulip-Doe-River-42";
    let wrong = answers(&[
        ("first-car", "Chevy"),
        ("first-pet", "Spot"),
        ("birth-city", "Macon"),
    ]);
    let status = client
        .complete_password_reset(reset("e77777", wrong, personal))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .complete_password_reset(reset("e77777", right_answers(), personal))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(
        (violation.field.as_str(), violation.reason.as_str()),
        ("new_password", "PERSONAL_WORDS")
    );
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    let notice = &mails[1];
    assert!(
        notice.to.contains("jane.doe@district.example"),
        "{}",
        notice.to
    );
    assert_eq!(notice.subject, "Your district account's secrets were used");
    assert!(
        notice
            .body
            .contains("the answers to your challenge questions")
            && notice.body.contains("was not changed")
            && notice.body.contains("must not contain your name"),
        "{}",
        notice.body
    );
    assert!(!notice.body.contains(personal), "{}", notice.body);

    // The same for a current password.
    let status = client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: PASSWORD.into(),
            new_password: personal.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let mails = app.smtp.wait_for(3, MAIL_WAIT);
    assert!(
        mails[2].body.contains("your current password"),
        "{}",
        mails[2].body
    );
    assert!(app.can_login("e77777", PASSWORD));

    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert_eq!(audit.matches("proven_refused").count(), 2, "{audit}");
    assert!(!audit.contains(personal), "{audit}");
    // Only the two proofs were told: the wrong answers sent nothing.
    assert_eq!(app.smtp.messages().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_changed_only_with_the_current_one() {
    let (app, mut client) = claimed().await;
    let change = |current: &str| ChangePasswordRequest {
        username: "e77777".into(),
        current_password: current.into(),
        new_password: NEW_PASSWORD.into(),
    };
    let status = client
        .change_password(change("Not-The-Password-1"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let unknown = ChangePasswordRequest {
        username: "e424242".into(),
        ..change(PASSWORD)
    };
    let status_unknown = client.change_password(unknown).await.unwrap_err();
    assert_eq!(status_unknown.code(), Code::Unauthenticated);
    assert_eq!(status_unknown.message(), status.message());

    let op = client
        .change_password(change(PASSWORD))
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", NEW_PASSWORD));
    assert!(!app.can_login("e77777", PASSWORD));
    let mails = app.smtp.wait_for(2, MAIL_WAIT);
    assert_eq!(mails[1].subject, "Your district password was changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_answers_replace_the_old_ones_at_the_next_reset() {
    let (app, mut client) = claimed().await;
    let new_answers = answers(&[
        ("first-job", "Kroger"),
        ("oldest-cousin", "Tamika"),
        ("first-concert", "Prince"),
    ]);
    let update = |password: &str| UpdateChallengeAnswersRequest {
        username: "e77777".into(),
        password: password.into(),
        answers: new_answers.clone(),
    };
    let status = client
        .update_challenge_answers(update("Not-The-Password-1"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    client
        .update_challenge_answers(update(PASSWORD))
        .await
        .unwrap();

    let questions = client
        .begin_password_reset(BeginPasswordResetRequest {
            username: "e77777".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .questions;
    let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
    // In the pool's order, not the order they were chosen in.
    assert_eq!(ids, ["first-job", "first-concert", "oldest-cousin"]);
    let old = client
        .complete_password_reset(reset("e77777", right_answers(), NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        old.code(),
        Code::Unauthenticated,
        "the old answers no longer work"
    );
    let op = client
        .complete_password_reset(reset("e77777", new_answers.clone(), NEW_PASSWORD))
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    let mails = app.smtp.wait_for(3, MAIL_WAIT);
    assert!(
        mails
            .iter()
            .any(|m| m.subject == "Your challenge questions were changed")
    );
}

/// A district that rewords a question after people have claimed shows the new wording to
/// everyone: a claimed account's questions must read like an unknown name's decoys, which
/// always come from today's pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reworded_question_reads_the_same_for_claimed_and_unknown_names() {
    let (mut app, _) = claimed().await;
    app.stop_with(nix::sys::signal::Signal::SIGTERM);
    app.claimd.append_config(
        r#"
[challenge]
questions = [
  { id = "first-pet", text = "What was your first pet called?" },
  { id = "birth-city", text = "In what city or town were you born?" },
  { id = "first-car", text = "What was the make and model of your first car?" },
]
"#,
    );
    app.launch().await;
    let mut client = app.client().await;
    let mut texts = Vec::new();
    for username in ["e77777", "e424242"] {
        let questions = client
            .begin_password_reset(BeginPasswordResetRequest {
                username: username.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .questions;
        assert!(
            questions
                .iter()
                .all(|q| q.text != "What was the name of your first pet?"),
            "{username}: {questions:?}"
        );
        texts.push(questions);
    }
    // With a pool of three, both are the whole pool.
    let mine: std::collections::BTreeSet<_> = texts[0].iter().map(|q| &q.text).collect();
    let decoys: std::collections::BTreeSet<_> = texts[1].iter().map(|q| &q.text).collect();
    assert_eq!(mine, decoys);
}

/// A question taken out of the pool after people answered it is still shown to them (they
/// must answer it); unknown names' decoys are drawn from it too, so seeing it does not tell a
/// real account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_question_is_shown_for_unknown_names_too() {
    let (mut app, _) = claimed().await;
    app.stop_with(nix::sys::signal::Signal::SIGTERM);
    app.claimd.append_config(
        r#"
[challenge]
questions = [
  { id = "first-pet", text = "What was the name of your first pet?" },
  { id = "birth-city", text = "In what city or town were you born?" },
  { id = "first-job", text = "What was your first job?" },
]
"#,
    );
    app.launch().await;
    let client = app.client().await;
    let questions = |username: String| {
        let mut client = client.clone();
        async move {
            client
                .begin_password_reset(BeginPasswordResetRequest { username })
                .await
                .unwrap()
                .into_inner()
                .questions
        }
    };
    let retired = "What was the make and model of your first car?";
    let mine = questions("e77777".into()).await;
    assert!(
        mine.iter()
            .any(|q| q.id == "first-car" && q.text == retired),
        "{mine:?}"
    );
    let mut shown = 0;
    for n in 0..20 {
        let decoys = questions(format!("e5{n:05}")).await;
        assert_eq!(decoys.len(), 3);
        for q in &decoys {
            assert!(
                ["first-pet", "birth-city", "first-job", "first-car"].contains(&q.id.as_str()),
                "{decoys:?}"
            );
        }
        shown += usize::from(
            decoys
                .iter()
                .any(|q| q.id == "first-car" && q.text == retired),
        );
    }
    assert!(shown > 0, "no unknown name was shown the retired question");
}

/// One address is sent its username at most three times an hour, however often it is asked
/// (the reply stays the same): the fourth and fifth requests are audited as throttled and
/// mail nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_is_sent_its_username_at_most_three_times_an_hour() {
    let (app, mut client) = claimed().await;
    for _ in 0..5 {
        client
            .recover_username(RecoverUsernameRequest {
                email: "jane.doe@district.example".into(),
            })
            .await
            .unwrap();
    }
    let all = app.claimd(&["admin", "audit", "--limit", "50"]);
    let rows = String::from_utf8_lossy(&all.stdout).into_owned();
    let count = |outcome: &str| {
        rows.lines()
            .filter(|l| l.contains("recover_username") && l.contains(outcome))
            .count()
    };
    assert_eq!((count(" mailed"), count(" throttled")), (3, 2), "{rows}");
    // A later mail (the reset's notice, queued after all five) arrives after any username
    // mail the requests queued: by then there are exactly three.
    let op = client
        .complete_password_reset(reset("e77777", right_answers(), NEW_PASSWORD))
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    settle(&mut client, &op.id).await;
    claimd_testkit::wait_until("the reset's notice", MAIL_WAIT, || {
        mails_to(&app, "jane.doe@")
            .iter()
            .any(|m| m.subject == "Your district password was reset")
    });
    let usernames = mails_to(&app, "jane.doe@")
        .iter()
        .filter(|m| m.subject == "Your district username")
        .count();
    assert_eq!(usernames, 3);
}

/// Every secret and id a request carries has a bound, named like any other field error;
/// nothing oversized reaches a bind, a hash or the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_proofs_codes_and_question_ids_are_field_errors() {
    let (_app, mut client) = claimed().await;
    let field_and_reason = |status: tonic::Status| {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let details = status.get_error_details();
        let v = &details.bad_request().unwrap().field_violations[0];
        (v.field.clone(), v.reason.clone())
    };
    let status = client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: "x".repeat(129),
            new_password: NEW_PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_and_reason(status),
        ("current_password".into(), "TOO_LONG".into())
    );
    let mut request = reset("e77777", right_answers(), NEW_PASSWORD);
    request.verification_code = "1".repeat(33);
    let status = client.complete_password_reset(request).await.unwrap_err();
    assert_eq!(
        field_and_reason(status),
        ("verification_code".into(), "TOO_LONG".into())
    );
    let mut long_id = right_answers();
    long_id[0].question_id = "q".repeat(65);
    let status = client
        .complete_password_reset(reset("e77777", long_id, NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        field_and_reason(status),
        ("answers[0].question_id".into(), "TOO_LONG".into())
    );
}

/// BeginPasswordReset lists a real account's questions in the pool's order, whatever order
/// they were chosen in, as it lists an unknown name's decoys: the order tells nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_come_in_the_pool_s_order_real_or_decoy() {
    let app = App::start().await;
    let mut client = app.client().await;
    let chosen = answers(&[
        ("first-car", "Ford Focus"),
        ("birth-city", "Jonesboro"),
        ("first-pet", "Rex the Dog"),
    ]);
    let reply = claim_ok(
        &mut client,
        claimd_api::v1::ClaimAccountRequest {
            answers: chosen,
            ..jane()
        },
    )
    .await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    let pool: Vec<String> = client
        .list_challenge_questions(claimd_api::v1::ListChallengeQuestionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .questions
        .into_iter()
        .map(|q| q.id)
        .collect();
    let place = |id: &String| pool.iter().position(|p| p == id).unwrap();
    for username in ["e77777", "e424242", "e31337", "e900001", "e55555", "e12345"] {
        let ids: Vec<String> = client
            .begin_password_reset(BeginPasswordResetRequest {
                username: username.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .questions
            .into_iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(
            ids.windows(2).all(|w| place(&w[0]) < place(&w[1])),
            "{username}: {ids:?} not in the pool's order {pool:?}"
        );
    }
}

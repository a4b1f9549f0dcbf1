//! Attempt limits as an attacker meets them: bursts, flows interleaved to reset a counter,
//! lockouts compared across claimed, unclaimed and unknown people, and usernames claimd does
//! not manage.

use std::time::{Duration, Instant};

use claimd_api::v1::{
    ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest, CompletePasswordResetRequest,
    OperationState, RecoverUsernameRequest, UpdateChallengeAnswersRequest,
    account_service_client::AccountServiceClient,
};
use claimd_testkit::Slapd;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::harness::{App, answers, claim_ok, jane, settle};

const NEW_PASSWORD: &str = "Violet-Harbor-Compass-31";

/// claimd with Jane (077777) claimed, and Una (000123) in the roster but unclaimed.
async fn claimed(env: &[(&str, &str)]) -> (App, AccountServiceClient<Channel>) {
    let app = App::start_with(env).await;
    app.import_roster(
        "employee_id,last_name,first_name,email,status\n\
         000123,Unclaimed,Una,una@district.example,active\n",
    );
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded);
    (app, client)
}

fn wrong_answers() -> Vec<ChallengeAnswer> {
    [
        ("first-pet", "Fido"),
        ("birth-city", "Macon"),
        ("first-car", "Jeep"),
    ]
    .iter()
    .map(|(q, a)| ChallengeAnswer {
        question_id: (*q).into(),
        answer: (*a).into(),
    })
    .collect()
}

fn reset(username: &str, answers: Vec<ChallengeAnswer>) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: username.into(),
        answers,
        new_password: NEW_PASSWORD.into(),
        verification_code: String::new(),
    }
}

/// Resets Jane's password with the right answers and follows it to the end.
async fn reset_jane(client: &mut AccountServiceClient<Channel>, why: &str) -> OperationState {
    let op = client
        .complete_password_reset(reset("e77777", answers()))
        .await
        .expect(why)
        .into_inner()
        .operation
        .unwrap();
    settle(client, &op.id).await.state()
}

/// A refusal as a caller can compare it: code, message, whether RetryInfo came with it.
fn shape(status: &Status) -> (Code, String, bool) {
    let retry = status.get_error_details().retry_info().is_some();
    (status.code(), status.message().to_owned(), retry)
}

fn locked() -> (Code, String, bool) {
    (
        Code::ResourceExhausted,
        "too many failed attempts; try again later".into(),
        true,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_with_the_right_names_never_resets_the_reset_counter() {
    let (_app, mut client) = claimed(&[]).await;
    let mut judged = 0;
    for round in 0..3 {
        for _ in 0..4 {
            let status = client
                .complete_password_reset(reset("e77777", wrong_answers()))
                .await
                .unwrap_err();
            if status.code() == Code::Unauthenticated {
                judged += 1;
            } else {
                assert_eq!(shape(&status), locked(), "round {round}");
            }
        }
        // The names and ID match (they are half-public): already claimed, nothing cleared.
        let status = client.claim_account(jane()).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
    }
    assert_eq!(
        judged, 5,
        "five wrong answer sets are judged, the rest refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_thirty_wrong_resets_judges_five_and_the_right_answers_work_after_the_lock() {
    let (app, _client) = claimed(&[
        // Long enough that the whole burst is judged before the lock ends, even on a slow
        // machine; short enough for the test to see it end.
        ("CLAIMD__SECURITY__LOCKOUT_SECS", "8"),
        ("CLAIMD__SECURITY__FAILURE_WINDOW_SECS", "8"),
    ])
    .await;
    let burst = (0..30).map(|_| {
        let endpoint = app.endpoint();
        async move {
            let mut client = AccountServiceClient::connect(endpoint).await.unwrap();
            client
                .complete_password_reset(reset("e77777", wrong_answers()))
                .await
                .unwrap_err()
        }
    });
    let refusals = futures::future::join_all(burst).await;
    let judged = refusals
        .iter()
        .filter(|s| s.code() == Code::Unauthenticated)
        .count();
    assert_eq!(judged, 5, "{refusals:?}");
    // The rest were refused before any work: the limit was taken by the five in flight (or,
    // once they failed, by the lock). Either way RESOURCE_EXHAUSTED with a time to retry.
    for status in refusals
        .iter()
        .filter(|s| s.code() != Code::Unauthenticated)
    {
        let (code, _, retry) = shape(status);
        assert_eq!((code, retry), (Code::ResourceExhausted, true), "{status:?}");
    }
    // While locked, even the right answers are refused (and not counted).
    let mut client = app.client().await;
    let status = client
        .complete_password_reset(reset("e77777", answers()))
        .await
        .unwrap_err();
    assert_eq!(shape(&status), locked());
    // Once the lock ends, the person's right answers work.
    let deadline = Instant::now() + Duration::from_secs(30);
    let op = loop {
        match client
            .complete_password_reset(reset("e77777", answers()))
            .await
        {
            Ok(reply) => break reply.into_inner().operation.unwrap(),
            Err(status) => assert_eq!(shape(&status), locked()),
        }
        assert!(Instant::now() < deadline, "the lock never ended");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", NEW_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_claimed_unclaimed_and_unknown_usernames_answer_alike() {
    let (_app, mut client) = claimed(&[]).await;
    let mut sixth = Vec::new();
    for username in ["e77777", "e123", "e999999"] {
        for _ in 0..5 {
            let status = client
                .complete_password_reset(reset(username, wrong_answers()))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated, "{username}");
        }
        let status = client
            .complete_password_reset(reset(username, wrong_answers()))
            .await
            .unwrap_err();
        sixth.push(shape(&status));
    }
    assert_eq!(sixth, [locked(), locked(), locked()]);
    // Recovery lockouts are counted against usernames: claims with wrong names for the same
    // people are judged as before, the same for the claimed and the unclaimed one.
    for (id, last) in [("077777", "Dough"), ("000123", "Unclaimd")] {
        let status = client
            .claim_account(ClaimAccountRequest {
                last_name: last.into(),
                employee_id: id.into(),
                ..jane()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{id}: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_names_for_a_colleague_s_id_never_lock_their_password_reset() {
    let (app, mut client) = claimed(&[]).await;
    for _ in 0..5 {
        let wrong_names = ClaimAccountRequest {
            last_name: "Dough".into(),
            ..jane()
        };
        let status = client.claim_account(wrong_names).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
    let status = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(shape(&status), locked(), "the claim key is locked");
    assert_eq!(
        reset_jane(&mut client, "Jane's reset is not locked").await,
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", NEW_PASSWORD));
}

/// An entry claimd did not create (IT made it by hand): its password is never tried against
/// the directory, so anonymous callers cannot drive its bad-password counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bind_reaches_the_directory_for_an_account_claimd_does_not_manage() {
    let (app, mut client) = claimed(&[]).await;
    let hand_made = format!("uid=e4242,{}", Slapd::USERS_BASE_DN);
    app.slapd.add(&format!(
        "dn: {hand_made}\nobjectClass: inetOrgPerson\nuid: e4242\ncn: Service Desk\n\
         sn: Desk\nuserPassword: Hand-Made-Password-1\n"
    ));
    let jane_dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    let jane_binds = app.slapd.operations("BIND", &jane_dn);
    let mut replies = Vec::new();
    // Wrong and even right passwords for the unmanaged entry, and a wrong one for Jane.
    for (username, password) in [
        ("e4242", "Wrong-Password-Try-1"),
        ("e4242", "Hand-Made-Password-1"),
        ("e77777", "Wrong-Password-Try-1"),
    ] {
        let status = client
            .change_password(ChangePasswordRequest {
                username: username.into(),
                current_password: password.into(),
                new_password: NEW_PASSWORD.into(),
            })
            .await
            .unwrap_err();
        replies.push(shape(&status));
        let status = client
            .update_challenge_answers(UpdateChallengeAnswersRequest {
                username: username.into(),
                password: password.into(),
                answers: answers(),
            })
            .await
            .unwrap_err();
        replies.push(shape(&status));
    }
    let unauthenticated = (
        Code::Unauthenticated,
        "the username, answers or password are not correct".to_owned(),
        false,
    );
    assert!(replies.iter().all(|r| *r == unauthenticated), "{replies:?}");
    assert_eq!(app.slapd.operations("BIND", &hand_made), 0);
    assert_eq!(
        app.slapd.operations("BIND", &jane_dn),
        jane_binds + 2,
        "Jane's wrong password was checked by the directory, twice"
    );
    assert!(app.slapd.can_bind(&hand_made, "Hand-Made-Password-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_username_has_its_own_rate_that_never_locks_the_other_flows() {
    let (_app, mut client) =
        claimed(&[("CLAIMD__SECURITY__USERNAME_MAILS_PER_ADDRESS", "3")]).await;
    for i in 0..3 {
        client
            .recover_username(RecoverUsernameRequest {
                email: format!("someone{i}@district.example"),
            })
            .await
            .unwrap();
    }
    let status = client
        .recover_username(RecoverUsernameRequest {
            email: "jane.doe@district.example".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(shape(&status), locked());
    // The same address may still reset a password.
    assert_eq!(
        reset_jane(&mut client, "not locked by the username-mail rate").await,
        OperationState::Succeeded
    );
}

/// Callers that hang up in the middle of a reset (RST_STREAM) never leave attempts in flight
/// that would crowd the account out: each flow runs to its end in its own task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_hang_up_leave_no_attempt_in_flight() {
    let (app, mut client) = claimed(&[]).await;
    let mut abandoned = 0;
    for _ in 0..12 {
        let mut impatient = app.client().await;
        // The three argon2 checks take longer than this: the call is abandoned mid-way.
        let call = impatient.complete_password_reset(reset("e77777", answers()));
        match tokio::time::timeout(Duration::from_millis(20), call).await {
            Err(_elapsed) => abandoned += 1,
            // While abandoned flows still hold the account's attempts, a new one is turned
            // away at once.
            Ok(Err(status)) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
            Ok(Ok(reply)) => panic!("a reset answered within 20 ms: {reply:?}"),
        }
    }
    // Enough callers hung up mid-flow to crowd the account out, had their attempts stayed.
    assert!(
        abandoned >= 5,
        "only {abandoned} of 12 calls were abandoned"
    );
    // The abandoned flows ran on to their end on the server: although no caller waited for
    // an answer, their resets were judged and audited (one that found the account's
    // attempts all in flight was turned away unaudited, as busy).
    claimd_testkit::wait_until(
        "the abandoned resets to be judged",
        Duration::from_secs(30),
        || {
            let audit = app.claimd(&["admin", "audit", "--employee", "077777", "--limit", "100"]);
            let text = String::from_utf8_lossy(&audit.stdout).into_owned();
            text.lines()
                .filter(|l| l.contains(" reset_password ") && l.contains(" accepted"))
                .count()
                >= 5
        },
    );
    // Once the abandoned flows have ended, Jane's own reset is judged (a busy reply while
    // they still run says to retry in a moment).
    // (Its operation may still be superseded by an abandoned flow that queues its password
    // later; being judged is what counts here.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client
            .complete_password_reset(reset("e77777", answers()))
            .await
        {
            Ok(reply) => {
                assert!(reply.into_inner().operation.is_some());
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(Instant::now() < deadline, "crowded out: {status:?}");
                let details = status.get_error_details();
                let retry = details.retry_info().and_then(|r| r.retry_delay);
                tokio::time::sleep(retry.unwrap_or_default()).await;
            }
        }
    }
}

/// While the directory is down, a name claimd manages and one it does not get the same
/// UNAVAILABLE: the outage does not tell them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_managed_and_unmanaged_names_alike() {
    let (mut app, mut client) = claimed(&[]).await;
    app.slapd.stop();
    let mut replies = Vec::new();
    for username in ["e77777", "e4242", "e999999"] {
        let status = client
            .change_password(ChangePasswordRequest {
                username: username.into(),
                current_password: "Wrong-Password-Try-1".into(),
                new_password: NEW_PASSWORD.into(),
            })
            .await
            .unwrap_err();
        replies.push(shape(&status));
    }
    assert_eq!(replies[0].0, Code::Unavailable, "{replies:?}");
    assert_eq!(replies[1], replies[0]);
    assert_eq!(replies[2], replies[0]);
    // More wrong tries for Jane than the lock allows (5), all during the outage.
    for _ in 0..6 {
        let status = client
            .change_password(ChangePasswordRequest {
                username: "e77777".into(),
                current_password: "Wrong-Password-Try-1".into(),
                new_password: NEW_PASSWORD.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(shape(&status), replies[0]);
    }
    // Nothing was judged: once the directory is back, Jane's right password works.
    app.slapd.resume();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = client
            .change_password(ChangePasswordRequest {
                username: "e77777".into(),
                current_password: crate::harness::PASSWORD.into(),
                new_password: NEW_PASSWORD.into(),
            })
            .await;
        match reply {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(Instant::now() < deadline, "the directory never came back");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

//! Claims that are refused: every field error, mismatches that look alike, lockout.

use std::time::Duration;

use claimd_api::v1::{ChallengeAnswer, ClaimAccountRequest, OperationState};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_error_names_its_field() {
    let app = App::start().await;
    let mut client = app.client().await;
    let with_answers = |answers: Vec<(&str, &str)>| ClaimAccountRequest {
        answers: answers
            .into_iter()
            .map(|(q, a)| ChallengeAnswer {
                question_id: q.into(),
                answer: a.into(),
            })
            .collect(),
        ..jane()
    };
    let cases: Vec<(ClaimAccountRequest, &str)> = vec![
        (
            ClaimAccountRequest {
                last_name: "".into(),
                ..jane()
            },
            "last_name",
        ),
        (
            ClaimAccountRequest {
                last_name: "Doe\n".into(),
                ..jane()
            },
            "last_name",
        ),
        (
            ClaimAccountRequest {
                last_name: "x".repeat(101),
                ..jane()
            },
            "last_name",
        ),
        (
            // A right-to-left override makes "Doe" display differently from what it is.
            ClaimAccountRequest {
                last_name: "D\u{202e}oe".into(),
                ..jane()
            },
            "last_name",
        ),
        (
            ClaimAccountRequest {
                first_name: "Ja\u{200b}ne".into(),
                ..jane()
            },
            "first_name",
        ),
        (
            ClaimAccountRequest {
                password: "Correct-Horse\u{2028}Battery-9".into(),
                ..jane()
            },
            "password",
        ),
        (
            with_answers(vec![
                ("first-pet", "Rex\u{feff}"),
                ("birth-city", "Atlanta"),
                ("first-car", "Ford"),
            ]),
            "answers[0].answer",
        ),
        (
            ClaimAccountRequest {
                first_name: "  ".into(),
                ..jane()
            },
            "first_name",
        ),
        (
            ClaimAccountRequest {
                first_name: "Ja\0ne".into(),
                ..jane()
            },
            "first_name",
        ),
        (
            ClaimAccountRequest {
                employee_id: "77777".into(),
                ..jane()
            },
            "employee_id",
        ),
        (
            ClaimAccountRequest {
                employee_id: "0777777".into(),
                ..jane()
            },
            "employee_id",
        ),
        (
            ClaimAccountRequest {
                employee_id: "07777a".into(),
                ..jane()
            },
            "employee_id",
        ),
        (
            ClaimAccountRequest {
                employee_id: "".into(),
                ..jane()
            },
            "employee_id",
        ),
        (
            ClaimAccountRequest {
                password: "Sh0rt!".into(),
                ..jane()
            },
            "password",
        ),
        (
            ClaimAccountRequest {
                password: "password123".into(),
                ..jane()
            },
            "password",
        ),
        (
            ClaimAccountRequest {
                password: "JaneDoe-Rocks-2931".into(),
                ..jane()
            },
            "password",
        ),
        (
            ClaimAccountRequest {
                password: "Qx-e77777-Lp-kk".into(),
                ..jane()
            },
            "password",
        ),
        (
            ClaimAccountRequest {
                password: "Correct\tHorse-9".into(),
                ..jane()
            },
            "password",
        ),
        (
            ClaimAccountRequest {
                password: "Kq8#".repeat(33),
                ..jane()
            },
            "password",
        ),
        (
            with_answers(vec![("first-pet", "Rex"), ("birth-city", "Atlanta")]),
            "answers",
        ),
        (
            with_answers(vec![
                ("first-pet", "Rex"),
                ("birth-city", "Atlanta"),
                ("nope", "Ford"),
            ]),
            "answers[2].question_id",
        ),
        (
            with_answers(vec![
                ("first-pet", "Rex"),
                ("birth-city", "Atlanta"),
                ("first-pet", "Ford"),
            ]),
            "answers[2].question_id",
        ),
        (
            with_answers(vec![
                ("first-pet", "Rex"),
                ("birth-city", "Atlanta"),
                ("first-car", " a "),
            ]),
            "answers[2].answer",
        ),
        (
            with_answers(vec![
                ("first-pet", "Rex"),
                ("birth-city", "REX"),
                ("first-car", "Ford"),
            ]),
            "answers[1].answer",
        ),
        (
            with_answers(vec![
                ("first-pet", PASSWORD),
                ("birth-city", "Atlanta"),
                ("first-car", "Ford"),
            ]),
            "answers[0].answer",
        ),
    ];
    for (request, field) in cases {
        let status = client.claim_account(request).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("BadRequest details")
            .field_violations;
        assert!(
            violations.iter().any(|v| v.field == field),
            "{field}: {violations:?}"
        );
        assert!(!status.message().contains(PASSWORD));
    }
    // Field errors are not failed attempts: the real claim still goes through.
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatches_unknown_ids_and_terminated_entries_look_the_same() {
    let app = App::start().await;
    let mut client = app.client().await;
    let wrong_name = client
        .claim_account(ClaimAccountRequest {
            last_name: "Dough".into(),
            ..jane()
        })
        .await
        .unwrap_err();
    let wrong_first = client
        .claim_account(ClaimAccountRequest {
            first_name: "June".into(),
            ..jane()
        })
        .await
        .unwrap_err();
    let unknown = client
        .claim_account(ClaimAccountRequest {
            employee_id: "123456".into(),
            ..jane()
        })
        .await
        .unwrap_err();
    let terminated = client
        .claim_account(ClaimAccountRequest {
            last_name: "Terminated".into(),
            first_name: "Pat".into(),
            employee_id: "000042".into(),
            ..jane()
        })
        .await
        .unwrap_err();
    for status in [&wrong_name, &wrong_first, &unknown, &terminated] {
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), wrong_name.message());
    }
    assert!(!app.can_login("e42", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_account_cannot_be_claimed_again() {
    let app = App::start().await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    let again = ClaimAccountRequest {
        password: "Another-Horse-Battery-7".into(),
        ..jane()
    };
    let status = client.claim_account(again.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(
        app.can_login("e77777", PASSWORD),
        "the first password still works"
    );
    // Asking "is it claimed?" costs a try like a mismatch: after five, the lock answers.
    for _ in 1..5 {
        let status = client.claim_account(again.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
    }
    let status = client.claim_account(again).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_the_account_with_retry_info() {
    let app = App::start().await;
    let mut client = app.client().await;
    for _ in 0..5 {
        let status = client
            .claim_account(ClaimAccountRequest {
                last_name: "Dough".into(),
                ..jane()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
    // Even the right names are refused now.
    let status = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    let details = status.get_error_details();
    let delay = details
        .retry_info()
        .expect("RetryInfo")
        .retry_delay
        .expect("a delay");
    assert!(
        delay > Duration::from_secs(14 * 60) && delay <= Duration::from_secs(15 * 60),
        "{delay:?}"
    );
}

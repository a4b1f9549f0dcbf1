//! Claim My Account over gRPC, as the portal calls it.

use claimd_api::v1::{
    ClaimAccountRequest, GetOperationRequest, ListChallengeQuestionsRequest, OperationState,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{App, PASSWORD, answers, claim_ok, jane, settle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sheet_example_claims_e77777_and_the_user_logs_in() {
    let app = App::start().await;
    let mut client = app.client().await;
    let questions = client
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(questions.questions.len() >= 10);
    assert!(questions.questions.iter().any(|q| q.id == "first-pet"));

    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(reply.username, "e77777");
    assert_eq!(
        reply.message,
        "Please retain your username for future use: e77777"
    );
    let op = reply.operation.unwrap();
    assert_eq!(op.state(), OperationState::Pending);

    let done = settle(&mut client, &op.id).await;
    assert_eq!(done.state(), OperationState::Succeeded, "{done:?}");
    let fetched = client
        .get_operation(GetOperationRequest { id: op.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fetched.operation.unwrap().state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", PASSWORD));
    assert!(!app.can_login("e77777", "Wrong-Horse-Battery-9"));
    let entry = app.slapd.search(
        claimd_testkit::Slapd::USERS_BASE_DN,
        "(uid=e77777)",
        &["sn", "givenName", "mail"],
    );
    assert!(
        entry.contains("sn: Doe") && entry.contains("givenName: Jane"),
        "{entry}"
    );
    assert!(entry.contains("mail: jane.doe@district.example"), "{entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_matched_ignoring_case_accents_and_spacing_only() {
    let app = App::start().await;
    app.import_roster(
        "employee_id,last_name,first_name,email,status\n5,García,José,jg@district.example,active\n",
    );
    let mut client = app.client().await;
    let request = ClaimAccountRequest {
        last_name: "  GARCIA ".into(),
        first_name: "jose".into(),
        employee_id: "000005".into(),
        ..jane()
    };
    let reply = claim_ok(&mut client, request).await;
    assert_eq!(reply.username, "e5");
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    let entry = app
        .slapd
        .search(claimd_testkit::Slapd::USERS_BASE_DN, "(uid=e5)", &["sn"]);
    assert!(
        entry.contains("sn:: ") || entry.contains("sn: García"),
        "HR's spelling is written: {entry}"
    );
}

/// Twenty people claim their own accounts at the same moment; each is written and logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_people_claim_at_once() {
    let app = App::start().await;
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 1..=20 {
        csv.push_str(&format!(
            "{},Staff{i},Person,p{i}@district.example,active\n",
            100 + i
        ));
    }
    app.import_roster(&csv);
    let claims = (1..=20).map(|i| {
        let endpoint = app.endpoint();
        async move {
            let mut client =
                claimd_api::v1::account_service_client::AccountServiceClient::connect(endpoint)
                    .await
                    .unwrap();
            let request = ClaimAccountRequest {
                last_name: format!("Staff{i}"),
                first_name: "Person".into(),
                employee_id: format!("{:06}", 100 + i),
                password: PASSWORD.into(),
                answers: answers(),
                claim_code: String::new(),
            };
            let reply = claim_ok(&mut client, request).await;
            let op = settle(&mut client, &reply.operation.unwrap().id).await;
            (reply.username, op.state())
        }
    });
    let results = futures::future::join_all(claims).await;
    for (username, state) in results {
        assert_eq!(state, OperationState::Succeeded, "{username}");
        assert!(app.can_login(&username, PASSWORD), "{username}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_claims_of_one_person_at_once_admit_exactly_one() {
    let app = App::start().await;
    let claims = (0..5).map(|i| {
        let endpoint = app.endpoint();
        async move {
            let mut client =
                claimd_api::v1::account_service_client::AccountServiceClient::connect(endpoint)
                    .await
                    .unwrap();
            let request = ClaimAccountRequest {
                password: format!("Correct-Horse-Battery-{i}x"),
                ..jane()
            };
            client
                .claim_account(request)
                .await
                .map(|r| (i, r.into_inner()))
        }
    });
    let results = futures::future::join_all(claims).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                status.code(),
                Code::AlreadyExists | Code::FailedPrecondition
            ),
            "{status:?}"
        );
    }
    let (i, reply) = winners[0];
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &reply.operation.as_ref().unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", &format!("Correct-Horse-Battery-{i}x")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_are_found_by_id_only() {
    let app = App::start().await;
    let mut client = app.client().await;
    let status = client
        .get_operation(GetOperationRequest {
            id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "id"
    );
    let status = client
        .get_operation(GetOperationRequest {
            id: "6f1c1f9e-0d5e-4b8e-9a55-2b0d7f0c1a11".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

/// Every field within its own bound, the message as a whole over 64 KiB: refused by the
/// size limit before it is decoded, never judged field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_refused_cleanly() {
    let app = App::start().await;
    let mut client = app.client().await;
    let many = ClaimAccountRequest {
        answers: (0..5_000)
            .map(|i| claimd_api::v1::ChallengeAnswer {
                question_id: "first-pet".into(),
                answer: format!("answer number {i}"),
            })
            .collect(),
        ..jane()
    };
    assert!(prost::Message::encoded_len(&many) > 2 * 65_536);
    let status = client.claim_account(many).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("too large") && status.message().contains("65536"),
        "{status:?}"
    );
    // One oversized field in a small message is a field error naming it.
    let long_name = ClaimAccountRequest {
        last_name: "x".repeat(5_000),
        ..jane()
    };
    let status = client.claim_account(long_name).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    assert_eq!(
        details.bad_request().unwrap().field_violations[0].field,
        "last_name"
    );
    // The server is fine afterwards.
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(reply.username, "e77777");
}

/// At rollout every employee is in the roster and unclaimed, and many already log in to an
/// entry IT made: knowing a colleague's names and ID must not take it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openldap_entry_already_in_use_is_not_taken_over_by_a_claim() {
    let app = App::start().await;
    let dn = format!("uid=e77777,{}", claimd_testkit::Slapd::USERS_BASE_DN);
    app.slapd.add(&format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: e77777\ncn: Jane Doe\nsn: Doe\n\
         givenName: Jane\nemployeeNumber: 77777\nuserPassword: Janes-Own-Password-1\n"
    ));
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let done = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(done.state(), OperationState::Failed, "{done:?}");
    assert_eq!(done.reason, claimd_core::reasons::ACCOUNT_USED);
    assert!(app.can_login("e77777", "Janes-Own-Password-1"));
    assert!(!app.can_login("e77777", PASSWORD));
}

/// An entry IT made for the person without a password is what a claim is for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openldap_entry_made_for_the_person_without_a_password_is_claimed() {
    let app = App::start().await;
    let dn = format!("uid=e77777,{}", claimd_testkit::Slapd::USERS_BASE_DN);
    app.slapd.add(&format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: e77777\ncn: Jane Doe\nsn: Doe\n\
         givenName: Jane\nemployeeNumber: 77777\n"
    ));
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let done = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(done.state(), OperationState::Succeeded, "{done:?}");
    assert!(app.can_login("e77777", PASSWORD));
}

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
                !file_contains(&app.dir.path().join(file), secret),
                "{secret:?} appears in {file}"
            );
        }
    }
    assert!(
        !logs.contains(claimd_testkit::Slapd::SERVICE_PASSWORD),
        "the bind password appears in the logs"
    );
}

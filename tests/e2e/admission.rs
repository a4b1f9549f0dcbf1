//! Admission under load: CPU-heavy work waits on a bounded pool, and what cannot be taken in
//! time is refused at once with RESOURCE_EXHAUSTED and a time to retry, never UNAVAILABLE.

use std::time::{Duration, Instant};

use claimd_api::v1::{
    ClaimAccountRequest, OperationState, account_service_client::AccountServiceClient,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{App, PASSWORD, answers, settle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_queue_is_refused_with_retry_info_and_every_retry_lands() {
    // One worker, room for one waiting job: a burst of 20 must be turned away in part.
    let app = App::start_with(&[
        ("CLAIMD__LIMITS__CPU_WORKERS", "1"),
        ("CLAIMD__LIMITS__CPU_QUEUE", "1"),
    ])
    .await;
    let mut csv = String::from("employee_id,last_name,first_name,email,status\n");
    for i in 1..=20 {
        csv.push_str(&format!(
            "{},Load{i},Person,l{i}@district.example,active\n",
            500 + i
        ));
    }
    app.import_roster(&csv);
    let claims = (1..=20).map(|i| {
        let endpoint = app.endpoint();
        async move {
            let mut client = AccountServiceClient::connect(endpoint).await.unwrap();
            let request = ClaimAccountRequest {
                last_name: format!("Load{i}"),
                first_name: "Person".into(),
                employee_id: format!("{:06}", 500 + i),
                password: PASSWORD.into(),
                answers: answers(),
                claim_code: String::new(),
            };
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut refused = 0;
            let reply = loop {
                match client.claim_account(request.clone()).await {
                    Ok(reply) => break reply.into_inner(),
                    Err(status) => {
                        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                        let retry = status
                            .get_error_details()
                            .retry_info()
                            .and_then(|r| r.retry_delay)
                            .expect("RetryInfo with a delay");
                        assert!(Instant::now() < deadline, "never admitted");
                        refused += 1;
                        // Spread the retries as a portal would, by the client's number.
                        let spread = Duration::from_millis(37 * i);
                        tokio::time::sleep(retry + spread).await;
                    }
                }
            };
            let op = settle(&mut client, &reply.operation.unwrap().id).await;
            (op.state(), refused)
        }
    });
    let results = futures::future::join_all(claims).await;
    assert!(
        results
            .iter()
            .all(|(state, _)| *state == OperationState::Succeeded),
        "{results:?}"
    );
    let refused: u32 = results.iter().map(|(_, r)| r).sum();
    assert!(
        refused > 0,
        "a burst of 20 on one worker with a queue of 1 was never refused"
    );
}

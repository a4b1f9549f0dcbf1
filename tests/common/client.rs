//! What every end-to-end suite does as a gRPC client: answer the questions, follow an
//! operation to its end. Included by path into each test binary.

use std::time::{Duration, Instant};

use claimd_api::v1::{
    ChallengeAnswer, GetOperationRequest, Operation, OperationState, WatchOperationRequest,
    account_service_client::AccountServiceClient,
};
use tonic::transport::Channel;

/// The answers the tests' people give: three questions from the default pool.
pub fn answers() -> Vec<ChallengeAnswer> {
    [
        ("first-pet", "Rex the Dog"),
        ("birth-city", "Jonesboro"),
        ("first-car", "Ford Focus"),
    ]
    .iter()
    .map(|(q, a)| ChallengeAnswer {
        question_id: (*q).into(),
        answer: (*a).into(),
    })
    .collect()
}

/// Watches the operation until it reaches a final state (with a deadline).
pub async fn settle(client: &mut AccountServiceClient<Channel>, id: &str) -> Operation {
    let watch = async {
        let mut stream = client
            .watch_operation(WatchOperationRequest { id: id.into() })
            .await
            .expect("watch starts")
            .into_inner();
        let mut last = None;
        while let Some(message) = stream.message().await.expect("watch streams") {
            last = message.operation;
        }
        last.expect("at least one operation")
    };
    let op = tokio::time::timeout(Duration::from_secs(60), watch)
        .await
        .expect("operation settles in time");
    assert_ne!(
        op.state(),
        OperationState::Pending,
        "the stream ended before a final state"
    );
    op
}

/// Polls the operation (with a deadline) until the directory write behind it has failed at
/// least once and the worker is retrying: the evidence that an outage was really met.
pub async fn wait_retrying(client: &mut AccountServiceClient<Channel>, id: &str) -> Operation {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let op = client
            .get_operation(GetOperationRequest { id: id.into() })
            .await
            .expect("operation readable")
            .into_inner()
            .operation
            .expect("operation");
        if op.state() == OperationState::Pending && op.reason == claimd_core::reasons::RETRYING {
            return op;
        }
        assert_eq!(op.state(), OperationState::Pending, "{op:?}");
        assert!(
            Instant::now() < deadline,
            "the directory write never failed: {op:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

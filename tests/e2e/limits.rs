//! `[limits]` and `[log]` as an operator sets them: open watches are bounded, calls on one
//! connection queue behind each other, and JSON logs are one object a line.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ChangePasswordRequest, ListChallengeQuestionsRequest, WatchOperationRequest,
    account_service_client::AccountServiceClient,
};
use tonic::Code;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

/// With `limits.max_watches = 2`, a third open watch is refused as busy with RetryInfo, and
/// once one closes a new one is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_watches_are_bounded_by_max_watches() {
    let app = App::start_with(&[("CLAIMD__LIMITS__MAX_WATCHES", "2")]).await;
    app.slapd.pause();
    let mut client = app.client().await;
    // The directory hangs: the claim stays pending, and its watches stay open.
    let id = claim_ok(&mut client, jane()).await.operation.unwrap().id;
    let watch = |client: &mut AccountServiceClient<_>| {
        let id = id.clone();
        let mut client = client.clone();
        async move { client.watch_operation(WatchOperationRequest { id }).await }
    };
    let first = watch(&mut client).await.unwrap().into_inner();
    let second = watch(&mut client).await.unwrap().into_inner();
    let status = watch(&mut client).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        tonic_types::StatusExt::get_error_details(&status)
            .retry_info()
            .is_some()
    );
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    let third = loop {
        match watch(&mut client).await {
            Ok(stream) => break stream,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                assert!(
                    Instant::now() < deadline,
                    "the closed watch was never given back"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    drop((second, third));
    app.slapd.unpause();
    // Polled, not watched: the closed watches' slots come back as their tasks notice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let op = client
            .get_operation(claimd_api::v1::GetOperationRequest { id: id.clone() })
            .await
            .unwrap()
            .into_inner()
            .operation
            .unwrap();
        if op.state() == claimd_api::v1::OperationState::Succeeded {
            break;
        }
        assert_eq!(op.state(), claimd_api::v1::OperationState::Pending);
        assert!(Instant::now() < deadline, "the claim never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn from<T>(address: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    request
}

/// With `limits.max_watches_per_client = 2`, one client network (here an IPv6 /64 named by
/// the trusted proxy) holds two watches and no more, while another client still opens one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_watch() {
    let app = App::start_with(&[
        ("CLAIMD__LIMITS__MAX_WATCHES_PER_CLIENT", "2"),
        ("CLAIMD__GRPC__TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    app.slapd.pause();
    let mut client = app.client().await;
    let id = client
        .claim_account(from("198.51.100.7", jane()))
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap()
        .id;
    let watch = WatchOperationRequest { id: id.clone() };
    let mut held = Vec::new();
    for address in ["2001:db8:1:2::1", "2001:db8:1:2::2"] {
        let stream = client.watch_operation(from(address, watch.clone())).await;
        held.push(stream.unwrap().into_inner());
    }
    let status = client
        .watch_operation(from("2001:db8:1:2::3", watch.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let other = client
        .watch_operation(from("198.51.100.7", watch))
        .await
        .unwrap();
    drop((held, other));
    app.slapd.unpause();
}

/// With `limits.max_calls_per_connection = 1`, a second call on a connection waits for the
/// first to end, while a call on another connection does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_one_connection_wait_past_max_calls_per_connection() {
    let app = App::start_with(&[("CLAIMD__LIMITS__MAX_CALLS_PER_CONNECTION", "1")]).await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    // A password check against a hung directory holds the connection's one slot until the
    // directory times out (2 s).
    app.slapd.pause();
    let ended = Arc::new(Mutex::new(Vec::new()));
    let slow = {
        let (mut client, ended) = (client.clone(), ended.clone());
        tokio::spawn(async move {
            let status = client
                .change_password(ChangePasswordRequest {
                    username: "e77777".into(),
                    current_password: PASSWORD.into(),
                    new_password: "Violet-Harbor-Compass-31".into(),
                })
                .await
                .unwrap_err();
            ended.lock().unwrap().push("slow");
            status.code()
        })
    };
    // The slow call holds its slot once its bind reaches the (stopped) directory: a new
    // connection to slapd's port beside the worker's.
    let before = connections_to(app.slapd.port());
    claimd_testkit::wait_until("the slow call's bind", Duration::from_secs(10), || {
        connections_to(app.slapd.port()) > before
    });
    let same = {
        let (mut client, ended) = (client.clone(), ended.clone());
        tokio::spawn(async move {
            client
                .list_challenge_questions(ListChallengeQuestionsRequest {})
                .await
                .unwrap();
            ended.lock().unwrap().push("same connection");
        })
    };
    let mut other = app.client().await;
    other
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await
        .unwrap();
    ended.lock().unwrap().push("other connection");
    same.await.unwrap();
    assert_eq!(slow.await.unwrap(), Code::Unavailable);
    app.slapd.unpause();
    assert_eq!(
        *ended.lock().unwrap(),
        ["other connection", "slow", "same connection"]
    );
}

/// Established TCP connections to `port` on loopback, counted at their client end.
fn connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let remote = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[2].ends_with(&remote) && fields[3] == "01"
        })
        .count()
}

/// `log.format = "json"`: every line claimd writes is one JSON object with a level and a
/// message, a claim's lines carry the username, and no secret is in any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_without_secrets() {
    let app = App::start_with(&[("CLAIMD__LOG__FORMAT", "json")]).await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    let logs = app.logs();
    let mut with_username = 0;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(object["level"].is_string(), "{line}");
        assert!(
            object["message"].is_string() || object["fields"]["message"].is_string(),
            "{line}"
        );
        if line.contains("\"e77777\"") {
            with_username += 1;
        }
    }
    assert!(with_username >= 2, "the claim's lines name e77777:\n{logs}");
    assert!(!logs.contains(PASSWORD) && !logs.contains("Rex the Dog"));
}

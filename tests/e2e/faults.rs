//! Faults: the directory down mid-claim, claimd killed with work pending, a clean SIGTERM.

use claimd_api::v1::{ClaimAccountRequest, GetOperationRequest, OperationState};
use claimd_testkit::Slapd;
use nix::sys::signal::Signal;
use tonic::Code;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_made_while_the_directory_is_down_completes_when_it_returns() {
    let mut app = App::start().await;
    app.slapd.stop();
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let id = reply.operation.unwrap().id;
    let pending = client
        .get_operation(GetOperationRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.operation.unwrap().state(), OperationState::Pending);
    // A second claim while the first is pending is told to wait.
    let status = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    app.slapd.resume();
    assert_eq!(
        settle(&mut client, &id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_claim_survives_sigkill_and_is_written_once() {
    let mut app = App::start().await;
    app.slapd.stop();
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let id = reply.operation.unwrap().id;
    app.stop_with(Signal::SIGKILL);

    app.slapd.resume();
    app.launch().await;
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", PASSWORD));
    let entries = app
        .slapd
        .search(Slapd::USERS_BASE_DN, "(employeeNumber=77777)", &["uid"]);
    assert_eq!(entries.matches("dn: ").count(), 1, "{entries}");
    // And the claim is still the only one: a new attempt is refused.
    let status = client
        .claim_account(ClaimAccountRequest {
            password: "Other-Horse-Battery-1".into(),
            ..jane()
        })
        .await;
    assert_eq!(status.unwrap_err().code(), Code::AlreadyExists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_cleanly() {
    let mut app = App::start().await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let status = app.stop_with(Signal::SIGTERM);
    assert!(status.success(), "exit status {status}\n{}", app.logs());
    assert!(app.logs().contains("claimd stopped"), "{}", app.logs());
    // Whatever was accepted is done or still queued; a restart finishes it.
    app.launch().await;
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_sync_run_as_separate_processes() {
    let mut app = App::start().await;
    // Replace `run` with `serve` here and `sync` in a second process on the same database.
    app.stop_with(Signal::SIGTERM);
    app.claimd.launch_command("serve");
    let mut worker = app.claimd.sibling();
    worker.launch_command("sync");
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", PASSWORD));
    assert!(
        worker.logs().contains("directory job ended"),
        "the sync process did the work"
    );
    assert!(
        !app.logs().contains("directory job ended"),
        "the serve process did not"
    );
    assert!(worker.stop_with(Signal::SIGTERM).success());
}

//! Faults: the directory down or hung mid-claim, claimd killed with work pending or in
//! flight, a SIGTERM that lets the work in hand finish.

use std::time::Duration;

use claimd_api::v1::{
    ClaimAccountRequest, GetOperationRequest, OperationState, WatchOperationRequest,
};
use claimd_testkit::{Slapd, wait_until};
use nix::sys::signal::Signal;
use tonic::Code;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle, wait_retrying};

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
    wait_retrying(&mut client, &id).await;

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
    // Killed after a write attempt failed, with the job queued for its next try.
    wait_retrying(&mut client, &id).await;
    app.stop_with(Signal::SIGKILL);

    app.slapd.resume();
    app.launch().await;
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &id).await.state(),
        OperationState::Succeeded
    );
    assert!(app.can_login("e77777", PASSWORD));
    // The directory saw the job once: one add and one password write, no replay.
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    assert_eq!(app.slapd.operations("ADD", &dn), 1);
    assert_eq!(app.slapd.operations("PASSMOD", &dn), 1);
    // And the claim is still the only one: a new attempt is refused.
    let status = client
        .claim_account(ClaimAccountRequest {
            password: "Other-Horse-Battery-1".into(),
            ..jane()
        })
        .await;
    assert_eq!(status.unwrap_err().code(), Code::AlreadyExists);
}

/// Waits (with a deadline) until claimd's log holds `line`.
fn wait_logged(app: &App, line: &str) {
    wait_until(
        &format!("claimd to log {line:?}"),
        Duration::from_secs(30),
        || app.logs().contains(line),
    );
}

/// Debug logs for the worker, so a test can see a directory write begin.
const WORKER_DEBUG: (&str, &str) = ("RUST_LOG", "info,claimd_sync=debug");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_killed_during_its_write_is_finished_after_the_lease_runs_out() {
    let mut app = App::start_with(&[
        WORKER_DEBUG,
        ("CLAIMD__DIRECTORY__TIMEOUT_SECS", "5"),
        ("CLAIMD__SYNC__LEASE_SECS", "25"),
    ])
    .await;
    // A hung directory: the worker leases the job and waits for an answer.
    app.slapd.pause();
    let mut client = app.client().await;
    let id = claim_ok(&mut client, jane()).await.operation.unwrap().id;
    wait_logged(&app, "directory write started");
    app.stop_with(Signal::SIGKILL);
    assert!(
        !app.logs().contains("directory write attempted"),
        "the write was still in flight when claimd was killed"
    );
    app.slapd.unpause();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}/claimd.db", app.dir().display()))
        .await
        .unwrap();
    let job = "SELECT lease_until, updated_at, state FROM directory_jobs WHERE id = ?";
    let (lease_until, _, _): (Option<i64>, i64, String) =
        sqlx::query_as(job).bind(&id).fetch_one(&db).await.unwrap();
    let lease_until = lease_until.expect("the dead worker's lease is on the job");

    // The dead worker's lease must run out before the new process takes the job.
    app.launch().await;
    let mut client = app.client().await;
    let op = settle(&mut client, &id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let (_, finished, state): (Option<i64>, i64, String) =
        sqlx::query_as(job).bind(&id).fetch_one(&db).await.unwrap();
    assert_eq!(state, "done");
    assert!(
        finished >= lease_until,
        "the job was taken over {} ms before the dead worker's lease ended",
        lease_until - finished
    );
    assert!(app.can_login("e77777", PASSWORD));
    // slapd may still have run an add the dead worker had sent, but the password was set
    // once, by the worker that took the job over.
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    assert_eq!(app.slapd.operations("PASSMOD", &dn), 1);
}

/// SIGTERM while a claim's directory write is in flight and a client watches the operation:
/// the write completes, the watcher sees SUCCEEDED, then claimd exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_write_in_flight_and_an_open_watch_finish() {
    let mut app = App::start_with(&[
        WORKER_DEBUG,
        ("CLAIMD__DIRECTORY__TIMEOUT_SECS", "20"),
        ("CLAIMD__SYNC__LEASE_SECS", "120"),
    ])
    .await;
    app.slapd.pause();
    let mut client = app.client().await;
    let id = claim_ok(&mut client, jane()).await.operation.unwrap().id;
    let mut stream = client
        .watch_operation(WatchOperationRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap().operation.unwrap();
    assert_eq!(first.state(), OperationState::Pending);
    wait_logged(&app, "directory write started");

    app.claimd.signal(Signal::SIGTERM);
    wait_logged(&app, "shutdown requested");
    app.slapd.unpause();

    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        let mut last = first;
        while let Some(message) = stream.message().await.expect("the watch ends cleanly") {
            last = message.operation.unwrap();
        }
        last
    })
    .await
    .expect("the watch ends");
    assert_eq!(rest.state(), OperationState::Succeeded, "{rest:?}");
    let status = app.claimd.wait();
    assert!(status.success(), "exit status {status}\n{}", app.logs());
    let logs = app.logs();
    let ended = logs.find("directory job ended").expect("the job ended");
    let stopped = logs.find("claimd stopped").expect("claimd stopped");
    assert!(ended < stopped, "{logs}");
    assert!(app.can_login("e77777", PASSWORD));
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

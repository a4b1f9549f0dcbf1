//! The Prometheus endpoint as IT operations scrape it.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use claimd_api::v1::{ClaimAccountRequest, OperationState};
use claimd_testkit::free_port;

use crate::harness::{App, PASSWORD, claim_ok, jane, settle};

fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("metrics endpoint answers");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

/// The value of the first sample whose line holds every one of `parts`.
fn sample(metrics: &str, parts: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_jobs_and_queues_and_hold_no_secret() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let app = App::start_with(&[("CLAIMD__METRICS__LISTEN", listen.as_str())]).await;
    let mut client = app.client().await;
    let _ = client
        .claim_account(ClaimAccountRequest {
            last_name: "Dough".into(),
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

    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = scrape(port);
        if sample(
            &metrics,
            &["claimd_mail_total", "claim_confirmation", "sent"],
        )
        .is_some()
        {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "the confirmation mail never showed in:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        sample(
            &metrics,
            &["claimd_rpc_requests_total", "ClaimAccount", "\"ok\""]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            &[
                "claimd_rpc_requests_total",
                "ClaimAccount",
                "no_roster_match"
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            &["claimd_directory_jobs_total", "provision", "succeeded"]
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &metrics,
            &["claimd_directory_write_seconds_count", "provision"]
        )
        .is_some(),
        "{metrics}"
    );
    assert!(
        sample(&metrics, &["claimd_directory_queue_depth"]).is_some(),
        "{metrics}"
    );
    assert!(!metrics.contains(PASSWORD));
    assert!(!metrics.contains("Rex"));
}

/// Waits (with a deadline) until a scrape satisfies `ok`, and returns it.
async fn scrape_until(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = scrape(port);
        if ok(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never showed in:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every metric the README lists appears, with a value that fits what the flow did: a
/// lockout, a claim, a reset held up by an outage (the queue's depth and age while it waits),
/// then written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_readme_lists_appears_with_a_plausible_value() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut app = App::start_with(&[("CLAIMD__METRICS__LISTEN", listen.as_str())]).await;
    let mut client = app.client().await;
    // Five wrong claims for one ID lock it.
    for _ in 0..6 {
        let _ = client
            .claim_account(ClaimAccountRequest {
                last_name: "Nobody".into(),
                employee_id: "000101".into(),
                ..jane()
            })
            .await;
    }
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    // A reset while the directory is down waits in the queue.
    app.slapd.stop();
    let op = client
        .complete_password_reset(claimd_api::v1::CompletePasswordResetRequest {
            username: "e77777".into(),
            answers: crate::harness::answers(),
            new_password: "Violet-Harbor-Compass-31".into(),
            verification_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    let waiting = scrape_until(port, "a job waiting", |m| {
        sample(m, &["claimd_directory_queue_depth"]) == Some(1.0)
            && sample(m, &["claimd_directory_oldest_job_seconds"]).is_some_and(|s| s > 0.0)
    })
    .await;
    let oldest = sample(&waiting, &["claimd_directory_oldest_job_seconds"]).unwrap();
    assert!(oldest < 60.0, "oldest job {oldest} s");
    app.slapd.resume();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    let metrics = scrape_until(port, "the queue emptied and both notices sent", |m| {
        sample(m, &["claimd_directory_queue_depth"]) == Some(0.0)
            && sample(m, &["claimd_mail_total", "password_reset", "sent"]) == Some(1.0)
            && sample(m, &["claimd_mail_queue_depth"]) == Some(0.0)
    })
    .await;

    let value = |parts: &[&str]| {
        sample(&metrics, parts).unwrap_or_else(|| panic!("{parts:?} missing from\n{metrics}"))
    };
    assert_eq!(value(&["claimd_lockouts_total", "\"account\""]), 1.0);
    assert_eq!(
        value(&["claimd_rpc_requests_total", "ClaimAccount", "locked_out"]),
        1.0
    );
    assert_eq!(
        value(&[
            "claimd_rpc_requests_total",
            "CompletePasswordReset",
            "\"ok\""
        ]),
        1.0
    );
    let calls = value(&["claimd_rpc_duration_seconds_count", "ClaimAccount"]);
    let took = value(&["claimd_rpc_duration_seconds_sum", "ClaimAccount"]);
    assert_eq!(calls, 7.0);
    assert!(
        took > 0.0 && took / calls < 5.0,
        "{took} s over {calls} calls"
    );
    for kind in ["provision", "reset_password"] {
        assert_eq!(
            value(&["claimd_directory_jobs_total", kind, "succeeded"]),
            1.0,
            "{kind}"
        );
        let writes = value(&["claimd_directory_write_seconds_count", kind]);
        let written = value(&["claimd_directory_write_seconds_sum", kind]);
        assert!(
            writes >= 1.0 && written > 0.0 && written / writes < 5.0,
            "{kind}"
        );
        assert_eq!(
            value(&["claimd_directory_job_wait_seconds_count", kind]),
            1.0
        );
    }
    assert!(value(&["claimd_directory_jobs_total", "reset_password", "retrying"]) >= 1.0);
    // The reset waited for the outage: its wait is longer than the claim's.
    assert!(
        value(&["claimd_directory_job_wait_seconds_sum", "reset_password"])
            > value(&["claimd_directory_job_wait_seconds_sum", "provision"])
    );
    assert_eq!(value(&["claimd_directory_oldest_job_seconds"]), 0.0);
    assert_eq!(
        value(&["claimd_mail_total", "claim_confirmation", "sent"]),
        1.0
    );
}

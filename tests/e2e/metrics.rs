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

//! OpenWorkOrder over gRPC, as the DMZ portal calls it: mailed to the service's own
//! `portal.support_email`, refused while none is set, and limited per client address.

use std::time::Duration;

use claimd_api::v1::OpenWorkOrderRequest;
use tonic::Code;

use crate::harness::App;

fn order(n: usize) -> OpenWorkOrderRequest {
    OpenWorkOrderRequest {
        last_name: "Guesser".into(),
        first_name: "Sam".into(),
        employee_id: String::new(),
        email: "sam@district.example".into(),
        topic: "locked".into(),
        details: format!("Locked out, try {n}."),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_support_address_a_work_order_is_unavailable_and_nothing_is_mailed() {
    let app = App::start().await;
    let mut client = app.client().await;
    let status = client.open_work_order(order(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(app.logs().contains("portal.support_email is not set"));
    // Nothing was queued for the mail sender (the reply came after the decision).
    let db = format!("sqlite://{}/claimd.db", app.dir().display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

/// Ten work orders an address may open in 15 minutes; the eleventh is refused like a lock
/// (with when to retry), nothing more is mailed, and `admin unlock ADDRESS` gives the
/// allowance back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_orders_are_limited_per_address_and_mailed_to_the_service_s_support_address() {
    let app = App::start_with(&[("CLAIMD__PORTAL__SUPPORT_EMAIL", "help@district.example")]).await;
    let mut client = app.client().await;
    for n in 1..=10 {
        client
            .open_work_order(order(n))
            .await
            .unwrap_or_else(|s| panic!("order {n}: {s:?}"));
    }
    let status = client.open_work_order(order(11)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        tonic_types::StatusExt::get_error_details(&status)
            .retry_info()
            .is_some()
    );
    let out = app.claimd(&["admin", "unlock", "127.0.0.1"]);
    assert!(out.status.success());
    client.open_work_order(order(12)).await.unwrap();
    let mails = app.smtp.wait_for(11, Duration::from_secs(20));
    assert!(mails.iter().all(|m| m.to.contains("help@district.example")));
    let tries: Vec<bool> = (1..=12)
        .map(|n| {
            mails
                .iter()
                .any(|m| m.body.contains(&format!("Locked out, try {n}.")))
        })
        .collect();
    let mut expected = vec![true; 12];
    expected[10] = false;
    assert_eq!(tries, expected, "which orders were mailed");
}

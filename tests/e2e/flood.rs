//! A flood of Forgot My Password requests from one IPv6 /64 (a home connection's worth of
//! addresses, each request from another one) for many real accounts: the flood's network gets
//! a few codes an hour, and everyone else's code still arrives while it goes on.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use claimd_api::v1::{BeginPasswordResetRequest, ClaimAccountRequest, OperationState};

use crate::{
    codes::{import, mails_to, wait_mail_to},
    harness::{App, jane, settle},
};

const FLOOD: usize = 10_000;
const NAMES: usize = 80;

fn from(address: &str, username: &str) -> tonic::Request<BeginPasswordResetRequest> {
    let mut request = tonic::Request::new(BeginPasswordResetRequest {
        username: username.into(),
    });
    request
        .metadata_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_network_leaves_everyone_else_their_code() {
    let app = App::start_with(&[("CLAIMD__GRPC__TRUSTED_PROXIES", "127.0.0.1")]).await;
    let mut csv = String::from(
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n",
    );
    for i in 1..=NAMES {
        csv.push_str(&format!(
            "{:06},Flood{i},Person,f{i}@district.example,active,f{i}@home.example\n",
            100_000 + i
        ));
    }
    let (ok, out) = import(&app, &csv, &[]);
    assert!(ok, "{out}");
    let mut client = app.client().await;
    let mut claims = vec![jane()];
    claims.extend((1..=NAMES).map(|i| ClaimAccountRequest {
        last_name: format!("Flood{i}"),
        first_name: "Person".into(),
        employee_id: format!("{:06}", 100_000 + i),
        ..jane()
    }));
    for (i, person) in claims.into_iter().enumerate() {
        let mut request = tonic::Request::new(person);
        let address = format!("203.0.113.{}", 1 + i % 200);
        request
            .metadata_mut()
            .insert("x-forwarded-for", address.parse().unwrap());
        let reply = client.claim_account(request).await.unwrap().into_inner();
        let op = reply.operation.unwrap().id;
        assert_eq!(
            settle(&mut client, &op).await.state(),
            OperationState::Succeeded
        );
    }

    // The flood: every request from another address of one /64, for the accounts in turn.
    let sent = Arc::new(AtomicUsize::new(0));
    let mut lanes = Vec::new();
    for lane in 0..16 {
        let mut client = app.client().await;
        let sent = sent.clone();
        lanes.push(tokio::spawn(async move {
            let mut answered = 0;
            for n in (lane..FLOOD).step_by(16) {
                let address = format!("2001:db8:bad:1:{:x}:{:x}::1", n / 4096, n % 4096);
                let name = format!("e{}", 100_001 + n % NAMES);
                if client
                    .begin_password_reset(from(&address, &name))
                    .await
                    .is_ok()
                {
                    answered += 1;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            answered
        }));
    }
    // Mid-flood, Jane asks from her own address: her code arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while sent.load(Ordering::Relaxed) < FLOOD / 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flood did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
        .begin_password_reset(from("198.51.100.7", "e77777"))
        .await
        .unwrap();
    let mail = wait_mail_to(&app, "jane@home.example", 0);
    assert_eq!(mail.subject, "Your district password reset code");
    assert!(
        sent.load(Ordering::Relaxed) < FLOOD,
        "the flood ended before Jane's code came: the test did not test"
    );
    let mut answered = 0;
    for lane in lanes {
        answered += lane.await.unwrap();
    }
    assert_eq!(
        answered, FLOOD,
        "every flood request is answered, as any other"
    );
    // The flood's network got its quota (20 an hour), not a code per account.
    let flooded = mails_to(&app, "@home.example").len() - 1;
    assert!(flooded <= 20, "{flooded} codes went to the flood's names");
}

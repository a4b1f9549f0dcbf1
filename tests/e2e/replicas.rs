//! Two `claimd run` replicas on one PostgreSQL database, as a district runs them behind a load
//! balancer: a claim accepted by one is watched to its end on the other, the roster and admin
//! commands work on the shared store, and a burst of guesses spread over both replicas is
//! judged at most the account's limit between them.

use std::time::Duration;

use claimd_api::v1::{
    ChallengeAnswer, CompletePasswordResetRequest, OperationState, WatchOperationRequest,
    account_service_client::AccountServiceClient,
};
use claimd_testkit::Postgres;
use tonic::Code;

use crate::harness::{App, claim_ok, jane, wait_healthy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_share_claims_watches_and_limits() {
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let url = postgres.url();
    // The roster is imported into PostgreSQL by `claimd roster import` before the start.
    let app = App::start_with(&[("CLAIMD__STORE__URL", &url)]).await;
    let mut other = app.claimd.replica();
    other.launch();
    wait_healthy(&other.endpoint(), &other.logs()).await;
    let mut first = app.client().await;
    let mut second = AccountServiceClient::connect(other.endpoint())
        .await
        .unwrap();

    // Accepted by one replica, written by whichever worker leases it, watched on the other.
    let receipt = claim_ok(&mut first, jane()).await;
    let id = receipt.operation.unwrap().id;
    let mut watch = second
        .watch_operation(WatchOperationRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let last = tokio::time::timeout(Duration::from_secs(30), async {
        let mut last = None;
        while let Some(reply) = watch.message().await.unwrap() {
            last = reply.operation;
        }
        last
    })
    .await
    .expect("the watch ends")
    .expect("a final state");
    assert_eq!(last.state(), OperationState::Succeeded, "{last:?}");
    assert!(app.can_login("e77777", crate::harness::PASSWORD));

    // Twelve wrong guesses at once, six at each replica: the account's limit (five) is
    // judged between them, the rest refused unjudged.
    let wrong = |n: usize| CompletePasswordResetRequest {
        username: "e77777".into(),
        answers: ["first-pet", "birth-city", "first-car"]
            .iter()
            .map(|q| ChallengeAnswer {
                question_id: (*q).into(),
                answer: format!("wrong guess {n}"),
            })
            .collect(),
        new_password: "Violet-Harbor-Compass-31".into(),
        verification_code: String::new(),
    };
    let mut calls = Vec::new();
    for n in 0..12 {
        let mut client = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let request = wrong(n);
        calls.push(tokio::spawn(async move {
            client.complete_password_reset(request).await.map(|_| ())
        }));
    }
    let mut judged = 0;
    for call in calls {
        match call.await.unwrap() {
            Err(status) if status.code() == Code::Unauthenticated => judged += 1,
            Err(status) if status.code() == Code::ResourceExhausted => {}
            other => panic!("unexpected reply: {other:?}"),
        }
    }
    assert!(
        (1..=5).contains(&judged),
        "{judged} guesses were judged across two replicas"
    );

    // The operator's commands run against the shared store.
    let out = app.claimd(&["admin", "audit", "--limit", "50"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{audit}");
    assert!(audit.contains("e77777"), "{audit}");
    drop(other);
    drop(app);
    drop(postgres);
}

/// `store.password_file` with PostgreSQL: a role that must give its password, a URL
/// without one, and the password read from the file. The wrong password stops the command
/// with the server's refusal named, and never shows the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_password_comes_from_store_password_file() {
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let url = postgres.add_password_role("claimd_app", "Db-Pass-Lantern-4417");
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "Not-The-Db-Pass\n").unwrap();
    let right = dir.path().join("db-password");
    std::fs::write(&right, "Db-Pass-Lantern-4417\n").unwrap();

    let app = App::start_with(&[
        ("CLAIMD__STORE__URL", &url),
        ("CLAIMD__STORE__PASSWORD_FILE", right.to_str().unwrap()),
    ])
    .await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    assert_eq!(
        crate::harness::settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    assert!(!app.logs().contains("Db-Pass-Lantern-4417"));

    // The same store with the wrong file, and with none: refused by the server.
    let run = |file: Option<&std::path::Path>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"));
        command
            .arg("--config")
            .arg(app.claimd.config_path())
            .args(["admin", "audit", "--limit", "1"])
            .env("CLAIMD__STORE__URL", &url);
        if let Some(file) = file {
            command.env("CLAIMD__STORE__PASSWORD_FILE", file);
        }
        command.output().unwrap()
    };
    for file in [Some(wrong.as_path()), None] {
        let out = run(file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file:?}: {stderr}");
        assert!(stderr.contains("password"), "{file:?}: {stderr}");
        assert!(!stderr.contains("Not-The-Db-Pass"), "{stderr}");
    }
    assert!(run(Some(right.as_path())).status.success());
}

/// Every limit is counted in the store: one client address asking two replicas on one
/// PostgreSQL for 25 verification codes (for 25 people) gets at most 20 mailed, and for 40
/// usernames at most 30 mails, as from one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_code_and_username_mail_quotas() {
    use claimd_api::v1::{BeginPasswordResetRequest, RecoverUsernameRequest};
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let url = postgres.url();
    let app = App::start_with(&[
        ("CLAIMD__STORE__URL", &url),
        ("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email"),
    ])
    .await;
    let people: Vec<u32> = (1..=40).map(|i| 100 + i).collect();
    let mut roster = String::from("employee_id,last_name,first_name,email,status,personal_email\n");
    for id in &people {
        roster.push_str(&format!(
            "{id},Staff{id},Pat,p{id}@district.example,active,p{id}@home.example\n"
        ));
    }
    app.import_roster(&roster);
    let mut other = app.claimd.replica();
    other.launch();
    wait_healthy(&other.endpoint(), &other.logs()).await;
    let mut clients = [
        app.client().await,
        AccountServiceClient::connect(other.endpoint())
            .await
            .unwrap(),
    ];
    for id in &people {
        let client = &mut clients[0];
        let reply = claim_ok(
            client,
            claimd_api::v1::ClaimAccountRequest {
                last_name: format!("Staff{id}"),
                first_name: "Pat".into(),
                employee_id: format!("{id:06}"),
                ..jane()
            },
        )
        .await;
        crate::harness::settle(client, &reply.operation.unwrap().id).await;
    }

    // 25 code requests, for 25 people, from this one address, alternating replicas. Each
    // is decided before the next is asked: a burst from one network would find its few
    // places in a replica's queue taken, and what this test counts is the store's quota.
    let decided = |logs: &str| {
        (
            logs.matches("verification code queued").count(),
            logs.matches("this client asked for too many").count(),
        )
    };
    for (n, id) in people.iter().take(25).enumerate() {
        clients[n % 2]
            .begin_password_reset(BeginPasswordResetRequest {
                username: format!("e{id}"),
            })
            .await
            .unwrap();
        claimd_testkit::wait_until("the offer decided", Duration::from_secs(30), || {
            let (a, b) = (decided(&app.logs()), decided(&other.logs()));
            a.0 + a.1 + b.0 + b.1 == n + 1
        });
    }
    let (a, b) = (decided(&app.logs()), decided(&other.logs()));
    assert_eq!((a.0 + b.0, a.1 + b.1), (20, 5), "codes queued, refused");

    // 40 username requests from the same address: 30 answered, then the rate's lock.
    let mut answered = 0;
    for (n, id) in people.iter().enumerate() {
        match clients[n % 2]
            .recover_username(RecoverUsernameRequest {
                email: format!("p{id}@district.example"),
            })
            .await
        {
            Ok(_) => answered += 1,
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
    }
    assert_eq!(answered, 30);

    // What was mailed, once both senders have emptied the outbox.
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    claimd_testkit::wait_until("the outbox to empty", Duration::from_secs(60), || {
        let count: i64 = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE state = 'queued'")
                    .fetch_one(&db),
            )
        })
        .unwrap();
        count == 0
    });
    let mails = app.smtp.messages();
    let count = |subject: &str| mails.iter().filter(|m| m.subject == subject).count();
    assert_eq!(count("Your district password reset code"), 20);
    assert_eq!(count("Your district username"), 30);
}

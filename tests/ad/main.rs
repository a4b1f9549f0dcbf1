//! The Active Directory suite: the real `claimd` binary against a real Samba AD DC that this
//! binary provisions and starts itself (root only; Samba's LDAP ports are fixed, so there is
//! one DC, shared, and the tests run one after another). Runs without the libtest harness so
//! the DC is stopped at the end whatever happens.

use std::{
    fs,
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest, CompletePasswordResetRequest,
    Operation, OperationState, WatchOperationRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::{ClaimdProcess, SambaDc, Smtp};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

const GOOD: &str = "Correct-Horse-Battery-9";
/// Passes claimd's own policy, fails AD's complexity rule (one character class).
const SIMPLE: &str = "lanternorchidcompassmeadow";

/// claimd configured for the DC, with an SMTP server for its notices.
struct Ad {
    claimd: ClaimdProcess,
    _smtp: Smtp,
}

impl Ad {
    fn new(dc: &SambaDc, precheck: bool, roster: &str) -> Self {
        Self::with_url(
            dc,
            precheck,
            roster,
            &format!("url = \"{}\"", SambaDc::LDAPS_URL),
        )
    }

    /// Like [`Ad::new`] with `url` (and any transport keys) given as TOML lines.
    fn with_url(dc: &SambaDc, precheck: bool, roster: &str, url: &str) -> Self {
        let smtp = Smtp::start();
        let mut claimd = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
        let d = claimd.dir().display().to_string();
        fs::write(claimd.dir().join("bind.pw"), SambaDc::SERVICE_PASSWORD).unwrap();
        claimd.write_config(&format!(
            r#"[grpc]
listen = "127.0.0.1:{port}"
[store]
url = "sqlite://{d}/claimd.db"
seal_key_file = "{d}/claimd.key"
[directory]
flavor = "active_directory"
{url}
ca_file = "{ca}"
bind_dn = "{bind}"
bind_password_file = "{d}/bind.pw"
users_base_dn = "{base}"
ad_complexity_precheck = {precheck}
timeout_secs = 5
[mail]
url = "{smtp}"
from = "District IT <ithelp@district.example>"
[sync]
poll_interval_ms = 100
backoff_initial_ms = 200
backoff_max_secs = 1
lease_secs = 15
"#,
            port = claimd.port(),
            ca = dc.ca_file().display(),
            bind = SambaDc::SERVICE_UPN,
            base = SambaDc::USERS_BASE_DN,
            smtp = smtp.url(),
        ));
        claimd.set_env("RUST_LOG", "debug");
        claimd.import_roster(&format!(
            "employee_id,last_name,first_name,email,status\n{roster}"
        ));
        claimd.launch();
        Self {
            claimd,
            _smtp: smtp,
        }
    }

    async fn client(&self) -> AccountServiceClient<Channel> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match AccountServiceClient::connect(self.claimd.endpoint()).await {
                Ok(client) => return client,
                Err(e) => assert!(Instant::now() < deadline, "claimd unreachable: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn answers() -> Vec<ChallengeAnswer> {
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

fn claim(id: u32, last: &str, first: &str, password: &str) -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: last.into(),
        first_name: first.into(),
        employee_id: format!("{id:06}"),
        password: password.into(),
        answers: answers(),
    }
}

async fn settle(client: &mut AccountServiceClient<Channel>, id: &str) -> Operation {
    let watch = async {
        let mut stream = client
            .watch_operation(WatchOperationRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner();
        let mut last = None;
        while let Some(m) = stream.message().await.unwrap() {
            last = m.operation;
        }
        last.unwrap()
    };
    tokio::time::timeout(Duration::from_secs(60), watch)
        .await
        .expect("operation settles in time")
}

fn upn(username: &str) -> String {
    format!("{username}@{}", SambaDc::REALM)
}

fn attribute(ldif: &str, name: &str) -> Option<String> {
    ldif.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
}

async fn claim_enables_a_preprovisioned_account(dc: &mut SambaDc) {
    // HR created the account disabled (514 | DONT_EXPIRE_PASSWORD 0x10000).
    dc.ldapmodify(&format!(
        "dn: CN=Pre Hire,{base}\nchangetype: add\nobjectClass: user\nsAMAccountName: e5001\n\
         userPrincipalName: e5001@{realm}\nemployeeID: 5001\nuserAccountControl: 66050\n",
        base = SambaDc::USERS_BASE_DN,
        realm = SambaDc::REALM
    ));
    let ad = Ad::new(dc, true, "5001,Hire,Pre,pre.hire@district.example,active\n");
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5001, "Hire", "Pre", GOOD))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.username, "e5001");
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    let found = dc.search(
        "(employeeID=5001)",
        &["userAccountControl", "sAMAccountName"],
    );
    assert_eq!(found.matches("dn: ").count(), 1, "no duplicate: {found}");
    assert_eq!(
        attribute(&found, "userAccountControl").as_deref(),
        Some("66048"),
        "enabled, other bits kept"
    );
    assert!(dc.can_bind(&upn("e5001"), GOOD));
}

async fn claim_creates_a_new_enabled_account(dc: &mut SambaDc) {
    let ad = Ad::new(
        dc,
        true,
        "5002,Doe,Jane,jane.5002@district.example,active\n",
    );
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5002, "Doe", "Jane", GOOD))
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    let entry = dc.search(
        "(employeeID=5002)",
        &[
            "sAMAccountName",
            "userPrincipalName",
            "givenName",
            "sn",
            "displayName",
            "mail",
            "userAccountControl",
        ],
    );
    for (name, value) in [
        ("sAMAccountName", "e5002"),
        ("userPrincipalName", "e5002@district.example"),
        ("givenName", "Jane"),
        ("sn", "Doe"),
        ("displayName", "Jane Doe"),
        ("mail", "jane.5002@district.example"),
        ("userAccountControl", "512"),
    ] {
        assert_eq!(
            attribute(&entry, name).as_deref(),
            Some(value),
            "{name} in\n{entry}"
        );
    }
    assert!(
        entry.contains(&format!("dn: CN=Jane Doe,{}", SambaDc::USERS_BASE_DN)),
        "{entry}"
    );
    assert!(dc.can_bind(&upn("e5002"), GOOD));
    report_latency(&ad.claimd.logs());
}

async fn a_password_ad_refuses_fails_readably_and_the_person_can_claim_again(dc: &mut SambaDc) {
    let ad = Ad::new(dc, false, "5003,Roe,Rick,rick@district.example,active\n");
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5003, "Roe", "Rick", SIMPLE))
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    assert!(op.reason.contains("complexity"), "{}", op.reason);
    assert!(!op.reason.contains(SIMPLE));
    let reply = client
        .claim_account(claim(5003, "Roe", "Rick", GOOD))
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert_eq!(
        dc.search("(employeeID=5003)", &["cn"])
            .matches("dn: ")
            .count(),
        1
    );
    assert!(dc.can_bind(&upn("e5003"), GOOD));
}

async fn the_precheck_refuses_a_simple_password_as_a_field_error(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5004,Poe,Ann,ann@district.example,active\n");
    let mut client = ad.client().await;
    let status = client
        .claim_account(claim(5004, "Poe", "Ann", SIMPLE))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(violation.field, "password");
    assert!(
        violation.description.contains("complexity"),
        "{}",
        violation.description
    );
}

async fn resets_and_changes_land_in_ad(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5005,Moe,Kim,kim@district.example,active\n");
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5005, "Moe", "Kim", GOOD))
        .await
        .unwrap()
        .into_inner();
    settle(&mut client, &reply.operation.unwrap().id).await;

    let reset_to = "Reset-Lantern-Orchid-58";
    let op = client
        .complete_password_reset(CompletePasswordResetRequest {
            username: "e5005".into(),
            answers: answers(),
            new_password: reset_to.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.can_bind(&upn("e5005"), reset_to));
    assert!(!dc.can_bind(&upn("e5005"), GOOD));

    let wrong = ChangePasswordRequest {
        username: "e5005".into(),
        current_password: GOOD.into(),
        new_password: "Changed-Meadow-Falcon-64".into(),
    };
    assert_eq!(
        client.change_password(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let change = ChangePasswordRequest {
        username: "e5005".into(),
        current_password: reset_to.into(),
        new_password: "Changed-Meadow-Falcon-64".into(),
    };
    let op = client
        .change_password(change)
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.can_bind(&upn("e5005"), "Changed-Meadow-Falcon-64"));
    assert!(!dc.can_bind(&upn("e5005"), reset_to));

    let logs = ad.claimd.logs();
    report_latency(&logs);
    for secret in [
        GOOD,
        reset_to,
        "Changed-Meadow-Falcon-64",
        SambaDc::SERVICE_PASSWORD,
        "Rex the Dog",
        "Jonesboro",
    ] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
}

async fn a_claim_made_while_the_dc_is_down_completes_when_it_is_back(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5006,Loe,Sam,sam@district.example,active\n");
    let mut client = ad.client().await;
    dc.stop();
    let reply = client
        .claim_account(claim(5006, "Loe", "Sam", GOOD))
        .await
        .unwrap()
        .into_inner();
    let id = reply.operation.unwrap().id;
    dc.resume();
    assert_eq!(
        settle(&mut client, &id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.can_bind(&upn("e5006"), GOOD));
}

async fn starttls_and_failover_reach_the_dc(dc: &mut SambaDc) {
    // The first server is down: claimd fails over to the DC, over StartTLS on port 389.
    let dead = claimd_testkit::free_port();
    let url = format!(
        "url = [\"ldap://127.0.0.1:{dead}\", \"{}\"]\nstarttls = true",
        SambaDc::LDAP_URL
    );
    let ad = Ad::with_url(dc, true, "5007,Ray,Lee,lee@district.example,active\n", &url);
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5007, "Ray", "Lee", GOOD))
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    assert!(dc.can_bind(&upn("e5007"), GOOD));
    assert!(
        ad.claimd
            .logs()
            .contains("failed over to another directory server")
    );
}

async fn check_config_refuses_plain_ldap(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "");
    let config = fs::read_to_string(ad.claimd.config_path()).unwrap();
    ad.claimd
        .write_config(&config.replace(SambaDc::LDAPS_URL, SambaDc::LDAP_URL));
    let out = ad.claimd.run(&["check-config"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("directory.url") && stderr.contains("clear text"),
        "{stderr}"
    );
    assert!(!stderr.contains(SambaDc::SERVICE_PASSWORD));
}

/// Prints the directory write latencies claimd logged (for the closing note, not asserted).
fn report_latency(logs: &str) {
    let latencies: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("directory write attempted"))
        .filter_map(|l| l.split("latency_ms=").nth(1)?.split_whitespace().next())
        .collect();
    println!("    directory write latency against Samba (ms, as logged): {latencies:?}");
}

fn main() -> ExitCode {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("starting a Samba AD DC");
    let started = Instant::now();
    let mut dc = SambaDc::start();
    println!("DC up in {:.1} s", started.elapsed().as_secs_f64());
    let mut failed = Vec::new();
    let mut ran = 0;
    macro_rules! run {
        ($($test:ident),* $(,)?) => {$(
            let name = stringify!($test);
            if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
                ran += 1;
                let started = Instant::now();
                let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on($test(&mut dc))));
                let verdict = if outcome.is_ok() { "ok" } else { failed.push(name); "FAILED" };
                println!("test ad::{name} ... {verdict} ({:.1} s)", started.elapsed().as_secs_f64());
            }
        )*};
    }
    run!(
        claim_enables_a_preprovisioned_account,
        claim_creates_a_new_enabled_account,
        a_password_ad_refuses_fails_readably_and_the_person_can_claim_again,
        the_precheck_refuses_a_simple_password_as_a_field_error,
        resets_and_changes_land_in_ad,
        a_claim_made_while_the_dc_is_down_completes_when_it_is_back,
        starttls_and_failover_reach_the_dc,
        check_config_refuses_plain_ldap,
    );
    drop(dc);
    println!(
        "\nAD suite: {} passed, {} failed",
        ran - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

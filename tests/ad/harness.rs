//! claimd configured for the shared DC, and helpers the AD tests share.

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ClaimAccountRequest, CompletePasswordResetRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::{ClaimdProcess, SambaDc, Smtp};
use tonic::transport::Channel;

pub const GOOD: &str = "Correct-Horse-Battery-9";
/// The name the pages' shared HTTP client (`web`) gives the good password.
pub const PASSWORD: &str = GOOD;
/// Passes claimd's own policy, fails AD's complexity rule (one character class).
pub const SIMPLE: &str = "lanternorchidcompassmeadow";

/// claimd configured for the DC, with an SMTP server for its notices.
pub struct Ad {
    pub claimd: ClaimdProcess,
    pub smtp: Smtp,
}

impl Ad {
    pub fn new(dc: &SambaDc, precheck: bool, roster: &str) -> Self {
        Self::with_url(
            dc,
            precheck,
            roster,
            &format!("url = \"{}\"", SambaDc::LDAPS_URL),
        )
    }

    /// Like [`Ad::new`] with `url` (and any transport keys) given as TOML lines.
    pub fn with_url(dc: &SambaDc, precheck: bool, roster: &str, url: &str) -> Self {
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
[portal]
listen = ""
[sync]
poll_interval_ms = 100
backoff_initial_ms = 200
backoff_max_secs = 1
lease_secs = 25
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
        Self { claimd, smtp }
    }

    /// Restarts claimd with `toml` added to its configuration.
    pub fn reconfigure(&mut self, toml: &str) {
        self.claimd.stop_with(nix::sys::signal::Signal::SIGTERM);
        self.claimd.append_config(toml);
        self.claimd.launch();
    }

    /// `claimd admin audit` for one employee, as IT reads it.
    pub fn audit(&self, employee_id: u32) -> String {
        let out = self
            .claimd
            .run(&["admin", "audit", "--employee", &format!("{employee_id:06}")]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    pub async fn client(&self) -> AccountServiceClient<Channel> {
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

pub fn claim(id: u32, last: &str, first: &str, password: &str) -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: last.into(),
        first_name: first.into(),
        employee_id: format!("{id:06}"),
        password: password.into(),
        answers: answers(),
        claim_code: String::new(),
    }
}

pub fn upn(username: &str) -> String {
    format!("{username}@{}", SambaDc::REALM)
}

pub fn attribute(ldif: &str, name: &str) -> Option<String> {
    ldif.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
}

/// Prints the directory write latencies claimd logged (for the closing note, not asserted).
pub fn report_latency(logs: &str) {
    let latencies: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("directory write attempted"))
        .filter_map(|l| l.split("latency_ms=").nth(1)?.split_whitespace().next())
        .collect();
    println!("    directory write latency against Samba (ms, as logged): {latencies:?}");
}

pub use crate::client::{answers, settle, wait_retrying};

/// Sends `request` and follows its operation to the end.
pub async fn claim_settled(
    client: &mut AccountServiceClient<Channel>,
    request: ClaimAccountRequest,
) -> claimd_api::v1::Operation {
    let reply = client.claim_account(request).await.unwrap().into_inner();
    settle(client, &reply.operation.unwrap().id).await
}

/// A reset with the test answers.
pub fn reset(username: &str, new_password: &str) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: username.into(),
        answers: answers(),
        new_password: new_password.into(),
        verification_code: String::new(),
    }
}

/// Sends a reset with the test answers and follows its operation to the end.
pub async fn reset_settled(
    client: &mut AccountServiceClient<Channel>,
    username: &str,
    new_password: &str,
) -> claimd_api::v1::Operation {
    let reply = client
        .complete_password_reset(reset(username, new_password))
        .await
        .unwrap()
        .into_inner();
    settle(client, &reply.operation.unwrap().id).await
}

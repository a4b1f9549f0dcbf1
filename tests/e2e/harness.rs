//! Starts slapd and the `claimd` binary for one test, and talks to them like their users do.

use std::{
    fs,
    path::Path,
    process::ExitStatus,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ClaimAccountRequest, ClaimAccountResponse, account_service_client::AccountServiceClient,
};
use claimd_testkit::{ClaimdProcess, Slapd, Smtp};
use nix::sys::signal::Signal;
use tonic::transport::Channel;

pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// One claimd process (restartable) with its slapd, SMTP server, database and logs.
pub struct App {
    pub slapd: Slapd,
    pub smtp: Smtp,
    pub claimd: ClaimdProcess,
    /// Where the portal listens (`127.0.0.1:PORT`), or empty for none.
    pub portal_listen: String,
    /// More configuration, after the harness's own sections.
    extra_config: String,
}

impl App {
    /// Starts slapd, an SMTP server and `claimd run` with a roster holding Jane Doe (077777)
    /// and Pat Terminated (000042).
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`App::start`] with extra `CLAIMD__…` (or `RUST_LOG`) environment.
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        Self::launch_new(env, false).await
    }

    /// Like [`App::start`], with the portal's pages on a free port ([`App::portal_listen`]).
    pub async fn with_portal() -> Self {
        Self::launch_new(&[], true).await
    }

    /// Like [`App::with_portal`] with extra environment.
    pub async fn with_portal_and(env: &[(&str, &str)]) -> Self {
        Self::launch_new(env, true).await
    }

    /// Like [`App::with_portal`] with more configuration sections (`[helpdesk]`, ...), and
    /// `before` run on the servers before claimd starts (entries claimd must find at once).
    pub async fn with_portal_config(extra: &str, before: impl FnOnce(&Slapd)) -> Self {
        let slapd = Slapd::start();
        before(&slapd);
        Self::launch_on(slapd, &[], true, extra).await
    }

    async fn launch_new(env: &[(&str, &str)], portal: bool) -> Self {
        Self::launch_on(Slapd::start(), env, portal, "").await
    }

    async fn launch_on(slapd: Slapd, env: &[(&str, &str)], portal: bool, extra: &str) -> Self {
        let mut app = Self {
            slapd,
            smtp: Smtp::start(),
            claimd: ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd")),
            portal_listen: String::new(),
            extra_config: extra.to_owned(),
        };
        if portal {
            app.portal_listen = format!("127.0.0.1:{}", claimd_testkit::free_port());
            app.claimd
                .set_env("CLAIMD__PORTAL__SUPPORT_EMAIL", "help@district.example");
        }
        for (key, value) in env {
            app.claimd.set_env(key, value);
        }
        app.write_config();
        app.import_roster(
            "employee_id,last_name,first_name,email,status\n\
             077777,Doe,Jane,jane.doe@district.example,active\n\
             42,Terminated,Pat,pat@district.example,terminated\n",
        );
        app.launch().await;
        app
    }

    pub fn dir(&self) -> &Path {
        self.claimd.dir()
    }

    fn write_config(&self) {
        let d = self.dir().display();
        fs::write(
            self.dir().join("bind.pw"),
            format!("{}\n", Slapd::SERVICE_PASSWORD),
        )
        .unwrap();
        self.claimd.write_config(&format!(
            r#"[grpc]
listen = "127.0.0.1:{port}"

[store]
url = "sqlite://{d}/claimd.db"
seal_key_file = "{d}/claimd.key"

[directory]
url = "{url}"
bind_dn = "{bind_dn}"
bind_password_file = "{d}/bind.pw"
users_base_dn = "{base}"
allow_insecure_directory = true
timeout_secs = 2

[mail]
url = "{smtp}"
from = "District IT <ithelp@district.example>"

[portal]
listen = "{portal}"

[sync]
poll_interval_ms = 100
backoff_initial_ms = 100
backoff_max_secs = 1
lease_secs = 10

{extra}
"#,
            port = self.claimd.port(),
            url = self.slapd.url(),
            bind_dn = Slapd::SERVICE_DN,
            base = Slapd::USERS_BASE_DN,
            smtp = self.smtp.url(),
            portal = self.portal_listen,
            extra = self.extra_config,
        ));
    }

    /// Runs `claimd --config … ARGS` to completion.
    pub fn claimd(&self, args: &[&str]) -> std::process::Output {
        self.claimd.run(args)
    }

    /// Imports `csv` with `claimd roster import`, asserting success.
    pub fn import_roster(&self, csv: &str) {
        self.claimd.import_roster(csv);
    }

    /// Starts `claimd run` (again) and waits until its health check answers.
    pub async fn launch(&mut self) {
        self.claimd.launch();
        wait_healthy(&self.endpoint(), &self.logs()).await;
    }

    pub fn endpoint(&self) -> String {
        self.claimd.endpoint()
    }

    pub async fn client(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::connect(self.endpoint())
            .await
            .expect("gRPC connects")
    }

    /// Everything claimd has logged so far.
    pub fn logs(&self) -> String {
        self.claimd.logs()
    }

    /// Sends `signal` and waits for the process to exit.
    pub fn stop_with(&mut self, signal: Signal) -> ExitStatus {
        self.claimd.stop_with(signal)
    }

    /// True when the directory lets `uid={username}` bind with `password`.
    pub fn can_login(&self, username: &str, password: &str) -> bool {
        self.slapd.can_bind(
            &format!("uid={username},{}", Slapd::USERS_BASE_DN),
            password,
        )
    }
}

/// Waits (with a deadline) until claimd's health check reports AccountService serving.
pub async fn wait_healthy(endpoint: &str, logs: &str) {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = Channel::from_shared(endpoint.to_owned())
            .unwrap()
            .connect()
            .await
        {
            let mut health = HealthClient::new(channel);
            let request = HealthCheckRequest {
                service: "claimd.v1.AccountService".into(),
            };
            if health
                .check(request)
                .await
                .is_ok_and(|r| r.into_inner().status == 1)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "claimd did not become healthy:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn jane() -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: "Doe".into(),
        first_name: "Jane".into(),
        employee_id: "077777".into(),
        password: PASSWORD.into(),
        answers: answers(),
        claim_code: String::new(),
    }
}

pub async fn claim_ok(
    client: &mut AccountServiceClient<Channel>,
    request: ClaimAccountRequest,
) -> ClaimAccountResponse {
    client
        .claim_account(request)
        .await
        .expect("claim accepted")
        .into_inner()
}

/// True when `path` holds `needle` anywhere in its bytes.
/// True when the file at `path` holds `needle`; a missing file is a failed test, not a
/// clean one (a search of nothing finds nothing).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

pub use crate::client::{answers, settle, wait_retrying};

//! Starts slapd and the `claimd` binary for one test, and talks to them like their users do.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ChallengeAnswer, ClaimAccountRequest, ClaimAccountResponse, Operation, OperationState,
    WatchOperationRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::{Slapd, Smtp, free_port};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tonic::transport::Channel;

pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// One claimd process (restartable) with its slapd, database and logs.
pub struct App {
    pub slapd: Slapd,
    pub smtp: Smtp,
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    extra_env: Vec<(String, String)>,
}

impl App {
    /// Starts slapd and `claimd run` with a roster holding Jane Doe (077777) and Pat
    /// Terminated (000042).
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`App::start`] with extra `CLAIMD__…` (or `RUST_LOG`) environment.
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let slapd = Slapd::start();
        let smtp = Smtp::start();
        let dir = tempfile::Builder::new()
            .prefix("claimd-e2e-")
            .tempdir()
            .unwrap();
        let mut app = Self {
            slapd,
            smtp,
            port: free_port(),
            dir,
            child: None,
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        };
        app.write_config();
        app.import_roster(
            "employee_id,last_name,first_name,email,status\n\
             077777,Doe,Jane,jane.doe@district.example,active\n\
             42,Terminated,Pat,pat@district.example,terminated\n",
        );
        app.launch().await;
        app
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("claimd.toml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("claimd.log")
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        fs::write(
            self.dir.path().join("bind.pw"),
            format!("{}\n", Slapd::SERVICE_PASSWORD),
        )
        .unwrap();
        let config = format!(
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

[sync]
poll_interval_ms = 100
backoff_initial_ms = 100
backoff_max_secs = 1
lease_secs = 6
"#,
            port = self.port,
            url = self.slapd.url(),
            bind_dn = Slapd::SERVICE_DN,
            base = Slapd::USERS_BASE_DN,
            smtp = self.smtp.url(),
        );
        fs::write(self.config_path(), config).unwrap();
    }

    /// Runs `claimd --config … ARGS` to completion.
    pub fn claimd(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_claimd"))
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .output()
            .expect("claimd runs")
    }

    /// Imports `csv` with `claimd roster import`, asserting success.
    pub fn import_roster(&self, csv: &str) {
        let path = self.dir.path().join("roster.csv");
        fs::write(&path, csv).unwrap();
        let out = self.claimd(&["roster", "import", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "roster import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `claimd run` (again) and waits until its health check answers.
    pub async fn launch(&mut self) {
        assert!(self.child.is_none(), "claimd already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_claimd"))
            .arg("--config")
            .arg(self.config_path())
            .arg("run")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("claimd starts");
        self.child = Some(child);
        self.wait_healthy().await;
    }

    async fn wait_healthy(&mut self) {
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("claimd exited at start ({status}):\n{}", self.logs());
            }
            if let Ok(channel) = Channel::from_shared(self.endpoint())
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
                "claimd did not become healthy:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::connect(self.endpoint())
            .await
            .expect("gRPC connects")
    }

    /// Everything claimd has logged so far.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Sends `signal` and waits for the process to exit.
    pub fn stop_with(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self.child.take().expect("claimd running");
        kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
        child.wait().unwrap()
    }

    /// True when the directory lets `uid={username}` bind with `password`.
    pub fn can_login(&self, username: &str, password: &str) -> bool {
        self.slapd.can_bind(
            &format!("uid={username},{}", Slapd::USERS_BASE_DN),
            password,
        )
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop_with(Signal::SIGKILL);
        }
    }
}

pub fn answers() -> Vec<ChallengeAnswer> {
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

pub fn jane() -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: "Doe".into(),
        first_name: "Jane".into(),
        employee_id: "077777".into(),
        password: PASSWORD.into(),
        answers: answers(),
    }
}

/// Watches the operation until it reaches a final state (with a deadline).
pub async fn settle(client: &mut AccountServiceClient<Channel>, id: &str) -> Operation {
    let watch = async {
        let mut stream = client
            .watch_operation(WatchOperationRequest { id: id.into() })
            .await
            .expect("watch starts")
            .into_inner();
        let mut last = None;
        while let Some(message) = stream.message().await.expect("watch streams") {
            last = message.operation;
        }
        last.expect("at least one operation")
    };
    let op = tokio::time::timeout(Duration::from_secs(30), watch)
        .await
        .expect("operation settles in time");
    assert_ne!(
        op.state(),
        OperationState::Pending,
        "the stream ended before a final state"
    );
    op
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
pub fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

//! What the demo and the benchmark share: a throwaway slapd and a `claimd run` beside it.
// Each example uses a different part of this module.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use claimd_api::v1::account_service_client::AccountServiceClient;
use claimd_testkit::{Slapd, Smtp, free_port};
use tonic::transport::Channel;

pub type BoxError = Box<dyn std::error::Error>;

/// slapd, a config for claimd, and (once started) the claimd process.
pub struct Stack {
    pub slapd: Slapd,
    pub smtp: Smtp,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Where the portal's pages are served.
    pub portal_port: u16,
    claimd: PathBuf,
    server: Option<Child>,
    /// `CLAIMD__…` overrides for every command (e.g. a PostgreSQL store.url).
    pub env: Vec<(String, String)>,
    /// More `claimd run` replicas (same configuration, their own ports).
    replicas: Vec<Child>,
}

impl Stack {
    /// Starts slapd and writes claimd's config (only what differs from the defaults).
    pub fn new(claimd: &str) -> Result<Self, BoxError> {
        Self::with_config(claimd, "")
    }

    /// Like [`Stack::new`], with more TOML appended to claimd's config.
    pub fn with_config(claimd: &str, extra: &str) -> Result<Self, BoxError> {
        let slapd = Slapd::start();
        let smtp = Smtp::start();
        let dir = tempfile::Builder::new().prefix("claimd-demo-").tempdir()?;
        let port = free_port();
        let portal_port = free_port();
        let d = dir.path().display();
        fs::write(
            dir.path().join("claimd.toml"),
            format!(
                "# Only what differs from the embedded defaults.\n\
                 [grpc]\nlisten = \"127.0.0.1:{port}\"\n\
                 [store]\nurl = \"sqlite://{d}/claimd.db\"\nseal_key_file = \"{d}/claimd.key\"\n\
                 [directory]\nurl = \"{url}\"\nbind_dn = \"{bind}\"\nbind_password = \"{pw}\"\n\
                 allow_insecure_directory = true  # loopback only, for this demo\n\
                 [mail]\nurl = \"{smtp}\"\nfrom = \"District IT <ithelp@district.example>\"\n\
                 [portal]\nlisten = \"127.0.0.1:{portal_port}\"\n{extra}",
                smtp = smtp.url(),
                url = slapd.url(),
                bind = Slapd::SERVICE_DN,
                pw = Slapd::SERVICE_PASSWORD,
            ),
        )?;
        Ok(Self {
            slapd,
            smtp,
            dir,
            port,
            portal_port,
            claimd: claimd.into(),
            server: None,
            env: Vec::new(),
            replicas: Vec::new(),
        })
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("claimd.toml")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("claimd.log")
    }

    /// `claimd roster import FILE`, returning what it printed.
    pub fn import(&self, roster: &Path) -> Result<String, BoxError> {
        let out = Command::new(&self.claimd)
            .arg("--config")
            .arg(self.config())
            .args(["roster", "import"])
            .arg(roster)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "roster import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `claimd run` and connects a client once it answers.
    pub async fn run(&mut self) -> Result<AccountServiceClient<Channel>, BoxError> {
        let log = fs::File::create(self.log())?;
        self.server = Some(
            Command::new(&self.claimd)
                .arg("--config")
                .arg(self.config())
                .arg("run")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
        connect(self.port).await
    }

    /// Starts one more `claimd run` replica on its own gRPC port (no pages) and connects.
    pub async fn replica(&mut self) -> Result<AccountServiceClient<Channel>, BoxError> {
        let port = free_port();
        let log = fs::File::create(self.dir.path().join(format!("replica-{port}.log")))?;
        self.replicas.push(
            Command::new(&self.claimd)
                .arg("--config")
                .arg(self.config())
                .arg("run")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env("CLAIMD__GRPC__LISTEN", format!("127.0.0.1:{port}"))
                .env("CLAIMD__PORTAL__LISTEN", "")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
        connect(port).await
    }

    /// The running claimd's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// Stops claimd with SIGTERM and reports how it exited.
    pub fn stop(&mut self) -> Result<String, BoxError> {
        let Some(mut server) = self.server.take() else {
            return Ok("not running".into());
        };
        Command::new("kill")
            .arg("-TERM")
            .arg(server.id().to_string())
            .status()?;
        Ok(server.wait()?.to_string())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for server in self.server.iter_mut().chain(self.replicas.iter_mut()) {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// A client of the claimd on `port`, once it answers (30 s at most).
async fn connect(port: u16) -> Result<AccountServiceClient<Channel>, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match AccountServiceClient::connect(format!("http://127.0.0.1:{port}")).await {
            Ok(client) => return Ok(client),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => return Err(format!("claimd did not start: {e}").into()),
        }
    }
}

/// A `Vm…:` figure of process `pid` from /proc (`VmHWM`: its peak resident memory so far,
/// `VmRSS`: now), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Bench person `i`'s claim (roster row `i,Bench{i},Person,…`), with the benchmarks' password.
pub fn bench_claim_request(i: u32) -> claimd_api::v1::ClaimAccountRequest {
    let answers = [
        ("first-pet", "Biscuit"),
        ("birth-city", "Jonesboro"),
        ("first-car", "Ford Ranger"),
    ];
    claimd_api::v1::ClaimAccountRequest {
        last_name: format!("Bench{i}"),
        first_name: "Person".into(),
        employee_id: format!("{i:06}"),
        password: "Maple-Canoe-Lantern-42".into(),
        answers: answers
            .iter()
            .map(|(q, a)| claimd_api::v1::ChallengeAnswer {
                question_id: (*q).into(),
                answer: (*a).into(),
            })
            .collect(),
        claim_code: String::new(),
    }
}

/// Watches operation `id` to its end; an error unless it SUCCEEDED.
pub async fn settle(client: &mut AccountServiceClient<Channel>, id: String) -> Result<(), String> {
    use claimd_api::v1::{OperationState, WatchOperationRequest};
    let mut stream = client
        .watch_operation(WatchOperationRequest { id })
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let mut last = None;
    while let Some(m) = stream.message().await.map_err(|e| e.to_string())? {
        last = m.operation;
    }
    match last {
        Some(op) if op.state() == OperationState::Succeeded => Ok(()),
        other => Err(format!("operation ended as {other:?}")),
    }
}

/// Makes `request`'s claim (waiting out RESOURCE_EXHAUSTED as its RetryInfo says) and
/// watches it until the directory has it; an error unless it SUCCEEDED.
pub async fn claim_until_written(
    client: &mut AccountServiceClient<Channel>,
    request: claimd_api::v1::ClaimAccountRequest,
) -> Result<(), String> {
    use tonic_types::StatusExt;
    let reply = loop {
        match client.claim_account(request.clone()).await {
            Ok(reply) => break reply.into_inner(),
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                let wait = status
                    .get_error_details()
                    .retry_info()
                    .and_then(|r| r.retry_delay)
                    .unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(wait).await;
            }
            Err(status) => return Err(status.to_string()),
        }
    };
    settle(client, reply.operation.ok_or("no operation")?.id).await
}

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
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match AccountServiceClient::connect(format!("http://127.0.0.1:{}", self.port)).await {
                Ok(client) => return Ok(client),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => return Err(format!("claimd did not start: {e}").into()),
            }
        }
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
        if let Some(server) = &mut self.server {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

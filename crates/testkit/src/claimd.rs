//! The `claimd` binary as a test process: its own temp dir (config, database, seal key,
//! log), a free gRPC port, start, restart, signals.

use std::{
    fs,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::wait::{free_port, wait_until};

/// One claimd under test. Stopped with SIGKILL on drop if still running.
#[derive(Debug)]
pub struct ClaimdProcess {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl ClaimdProcess {
    /// A process of `binary` (not started) with a fresh temp dir and port.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            dir: tempfile::Builder::new()
                .prefix("claimd-e2e-")
                .tempdir()
                .expect("temp dir"),
            port: free_port(),
            env: Vec::new(),
            child: None,
        }
    }

    /// Its temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its gRPC port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the configuration goes.
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("claimd.toml")
    }

    /// Where stdout and stderr go (appended across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir().join("claimd.log")
    }

    /// Writes the configuration.
    pub fn write_config(&self, toml: &str) {
        fs::write(self.config_path(), toml).expect("config written");
    }

    /// Adds `toml` to the end of the configuration (for later starts).
    pub fn append_config(&self, toml: &str) {
        let config = fs::read_to_string(self.config_path()).expect("config read");
        self.write_config(&format!("{config}\n{toml}"));
    }

    /// Sets an environment variable for later starts.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    /// Runs `claimd --config … ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("claimd runs")
    }

    /// Runs `claimd --config … COMMAND` expecting it to refuse to start: it must exit on its
    /// own within `within`, else it is killed and the test fails. Its stderr, as text.
    pub fn refused_start(&self, command: &str, within: Duration) -> String {
        let mut child = Command::new(&self.binary)
            .arg("--config")
            .arg(self.config_path())
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("claimd starts");
        let deadline = std::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = child.try_wait().expect("claimd waited on") {
                break status;
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("claimd {command} kept running: it should have refused to start");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
            .expect("stderr read");
        assert!(
            !status.success(),
            "claimd {command} exited cleanly:\n{stderr}"
        );
        stderr
    }

    /// Imports `csv` with `claimd roster import`, asserting success.
    pub fn import_roster(&self, csv: &str) {
        let path = self.dir().join("roster.csv");
        fs::write(&path, csv).expect("roster written");
        let out = self.run(&["roster", "import", path.to_str().expect("UTF-8 path")]);
        assert!(
            out.status.success(),
            "roster import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `claimd run` and waits until its port accepts connections.
    pub fn launch(&mut self) {
        self.launch_command("run");
    }

    /// Starts `claimd COMMAND` (`run`, `serve` or `sync`) and waits until it is up: its port
    /// accepts connections, or (for `sync`, which listens nowhere) it logs that it started.
    pub fn launch_command(&mut self, command: &str) {
        assert!(self.child.is_none(), "claimd already running");
        // The log is appended across launches: this launch is up once the log holds one
        // more start line than it did before it.
        let starts_before = started_lines(&self.logs());
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(self.config_path())
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("claimd starts");
        let port = self.port;
        let log_path = self.log_path();
        let child = self.child.insert(child);
        wait_until("claimd to listen", Duration::from_secs(30), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "claimd exited at start ({status}):\n{}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if command == "sync" {
                fs::read_to_string(&log_path).is_ok_and(|log| started_lines(&log) > starts_before)
            } else {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            }
        });
    }

    /// A second claimd process with the same configuration (so the same database, seal key and
    /// port): the other half of a split deployment, `serve` here and `sync` there. It has its
    /// own temp dir for its log.
    pub fn sibling(&self) -> Self {
        self.copy("claimd-sibling-", self.port)
    }

    /// Another replica on a port of its own: the same configuration and environment (so the
    /// same store and seal key) with only its gRPC listen address changed.
    pub fn replica(&self) -> Self {
        self.copy("claimd-replica-", free_port())
    }

    /// A process with this one's configuration and environment, in a temp dir of its own,
    /// listening on `port`.
    fn copy(&self, prefix: &str, port: u16) -> Self {
        let copy = Self {
            binary: self.binary.clone(),
            dir: tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("temp dir"),
            port,
            env: self.env.clone(),
            child: None,
        };
        let config = fs::read_to_string(self.config_path())
            .expect("config readable")
            .replace(
                &format!("127.0.0.1:{}", self.port),
                &format!("127.0.0.1:{port}"),
            );
        fs::write(copy.config_path(), config).expect("config written");
        copy
    }

    /// Everything claimd has logged so far.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Sends `signal` and waits for the process to exit.
    pub fn stop_with(&mut self, signal: Signal) -> ExitStatus {
        self.signal(signal);
        self.wait()
    }

    /// Sends `signal` to the running process and returns at once.
    pub fn signal(&self, signal: Signal) {
        let child = self.child.as_ref().expect("claimd running");
        kill(
            Pid::from_raw(i32::try_from(child.id()).expect("pid fits")),
            signal,
        )
        .expect("signal sent");
    }

    /// Waits for the running process to exit (after [`ClaimdProcess::signal`]).
    pub fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("claimd running");
        child.wait().expect("claimd exits")
    }
}

/// How many times a log says claimd started.
fn started_lines(log: &str) -> usize {
    log.matches("claimd started").count()
}

impl Drop for ClaimdProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop_with(Signal::SIGKILL);
        }
    }
}

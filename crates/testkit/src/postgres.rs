//! A throwaway PostgreSQL server: `initdb` in a temp dir, `pg_ctl start` on a free loopback
//! port, a `claimd` database. Run as the `postgres` user when the tests run as root (the
//! server refuses root), as the current user otherwise. Stopped (fast) when dropped.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::wait::free_port;

/// A running PostgreSQL server in a temp dir, with an empty `claimd` database.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    running: bool,
    /// Serves TLS with `server.crt` and `server.key` in its directory.
    tls: bool,
    /// Commits are flushed to disk (`fsync`), as a district runs it; tests turn it off.
    durable: bool,
}

/// The newest installed server's programs (`/usr/lib/postgresql/15/bin`).
fn server_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    versions.sort();
    let bin = versions
        .pop()
        .map(|v| v.join("bin"))
        .filter(|bin| bin.join("initdb").exists());
    bin.unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: run scripts/deps (apt-get install -y postgresql)")
    })
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Postgres {
    /// Creates and starts a server with a `claimd` database (about two seconds).
    pub fn start() -> Self {
        Self::start_with(None, false)
    }

    /// Like [`Postgres::start`] with `fsync` on (PostgreSQL's default): each commit is on disk
    /// before it is answered, as durable as claimd's SQLite (`synchronous = FULL`). For
    /// benchmarks that compare the two.
    pub fn start_durable() -> Self {
        Self::start_with(None, true)
    }

    /// Like [`Postgres::start`], serving TLS (as well as plain connections) with `identity`.
    pub fn start_tls(identity: &crate::Issued) -> Self {
        Self::start_with(Some(identity), false)
    }

    fn start_with(identity: Option<&crate::Issued>, durable: bool) -> Self {
        let bin = server_bin();
        let dir = tempfile::Builder::new()
            .prefix("claimd-postgres-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            // The server runs as `postgres`, which must own its directory.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown postgres failed");
        }
        let mut server = Self {
            dir,
            port: free_port(),
            bin,
            running: false,
            tls: identity.is_some(),
            durable,
        };
        if let Some(identity) = identity {
            let (cert, key) = (
                server.dir.path().join("server.crt"),
                server.dir.path().join("server.key"),
            );
            std::fs::write(&cert, &identity.cert_pem).expect("certificate written");
            std::fs::write(&key, &identity.key_pem).expect("key written");
            // The server refuses a key others can read.
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            if is_root() {
                for file in [&cert, &key] {
                    let status = Command::new("chown")
                        .arg("postgres:postgres")
                        .arg(file)
                        .status()
                        .expect("chown runs");
                    assert!(status.success(), "chown postgres failed");
                }
            }
        }
        let data = server.data();
        let out = server.run_owner(
            &server.bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.start_again();
        let out = server.run_owner(
            &server.bin.join("createdb"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &server.port.to_string(),
                "-U",
                "postgres",
                "claimd",
            ],
        );
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server program as the server's owner.
    fn run_owner(&self, program: &Path, args: &[&str]) -> Output {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .output()
            .expect("PostgreSQL program runs")
    }

    /// The `claimd` database's URL (user `postgres`, trusted on loopback).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/claimd", self.port)
    }

    /// Adds a login role that must give `password` (SCRAM) over TCP, owning the `claimd`
    /// database, and returns its URL without the password: as a district connects with
    /// `store.password_file`. Other roles keep the harness's trust.
    pub fn add_password_role(&self, role: &str, password: &str) -> String {
        let port = self.port.to_string();
        let sql = format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{password}'; ALTER DATABASE claimd OWNER TO {role};"
        );
        let out = self.run_owner(
            &self.bin.join("psql"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "claimd",
                "-c",
                &sql,
            ],
        );
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // First match wins: the role's rule goes before the trust rules.
        let hba = self.data().join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        std::fs::write(
            &hba,
            format!("host claimd {role} 127.0.0.1/32 scram-sha-256\n{rules}"),
        )
        .expect("pg_hba.conf written");
        let data = self.data();
        let out = self.run_owner(
            &self.bin.join("pg_ctl"),
            &["-D", data.to_str().unwrap(), "reload"],
        );
        assert!(out.status.success(), "pg_ctl reload failed");
        format!("postgres://{role}@127.0.0.1:{}/claimd", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server again after [`Postgres::stop`], with its data; waits until it
    /// accepts connections.
    pub fn start_again(&mut self) {
        let data = self.data();
        let log = self.dir.path().join("log");
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c synchronous_commit=on",
            self.port,
            self.dir.path().display(),
            if self.durable { "on" } else { "off" }
        );
        if self.tls {
            let dir = self.dir.path().display();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"
            ));
        }
        let out = self.run_owner(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.running = true;
    }

    /// Stops the server (fast shutdown: sessions are cut, data kept).
    pub fn stop(&mut self) {
        let data = self.data();
        let out = self.run_owner(
            &self.bin.join("pg_ctl"),
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.running = false;
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self.run_owner(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
    }
}

//! A throwaway Samba Active Directory domain controller for tests: provisioned into a temp
//! dir (LDAP and its Kerberos KDC, loopback only), with its own CA and a certificate for
//! 127.0.0.1, a service account in "Account Operators" (may create users and reset their
//! passwords) and an `OU=Staff` for claimd's users. A domain login is judged by MIT `kinit`
//! against the KDC ([`SambaDc::kinit`]), as Windows logs in. Samba's ports are fixed (88,
//! 389/636), so there can be one per machine: tests share one and run serially. Needs root.

use std::{
    fs,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::{Pid, Uid},
};

use crate::{feed::feed, wait::wait_until};

/// A running Samba AD DC, stopped on drop.
#[derive(Debug)]
pub struct SambaDc {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SambaDc {
    /// The domain's DNS name; also the UPN suffix.
    pub const REALM: &str = "district.example";
    /// The domain's base DN.
    pub const BASE_DN: &str = "DC=district,DC=example";
    /// Where claimd's users go.
    pub const USERS_BASE_DN: &str = "OU=Staff,DC=district,DC=example";
    /// The built-in administrator.
    pub const ADMIN_UPN: &str = "Administrator@district.example";
    /// Its password.
    pub const ADMIN_PASSWORD: &str = "Admin-Pass-1234";
    /// claimd's service account (a member of Account Operators).
    pub const SERVICE_UPN: &str = "svc-claimd@district.example";
    /// Its password.
    pub const SERVICE_PASSWORD: &str = "Svc-Pass-5678";
    /// The Kerberos realm (the domain's DNS name in capitals).
    pub const KERBEROS_REALM: &str = "DISTRICT.EXAMPLE";
    /// The LDAPS URL (port 636, fixed by Samba).
    pub const LDAPS_URL: &str = "ldaps://127.0.0.1:636";
    /// The plain LDAP URL (refused for simple binds by Samba; claimd refuses it too).
    pub const LDAP_URL: &str = "ldap://127.0.0.1:389";

    /// Provisions and starts a DC. Panics with the reason when samba is missing or not root.
    pub fn start() -> Self {
        assert!(
            Path::new("/usr/sbin/samba").exists(),
            "samba is not installed: run scripts/deps"
        );
        assert!(
            Uid::effective().is_root(),
            "a Samba AD DC needs root (its LDAP ports are 389/636)"
        );
        assert!(
            TcpStream::connect(("127.0.0.1", 636)).is_err(),
            "port 636 is taken: another directory (or DC) is running on this machine"
        );
        let dir = tempfile::Builder::new()
            .prefix("claimd-samba-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        fs::write(d.join("empty.conf"), "").expect("empty.conf");
        let option = |o: String| format!("--option={o}");
        let mut args = vec![
            "domain".to_owned(),
            "provision".into(),
            format!("--targetdir={}", d.display()),
            format!("--configfile={}", d.join("empty.conf").display()),
            "--realm=DISTRICT.EXAMPLE".into(),
            "--domain=DISTRICT".into(),
            "--server-role=dc".into(),
            "--dns-backend=NONE".into(),
            "--use-rfc2307".into(),
            // Not the machine's hostname, which may be longer than NetBIOS allows.
            "--host-name=claimddc".into(),
            format!("--adminpass={}", Self::ADMIN_PASSWORD),
        ];
        for o in [
            "interfaces=lo".to_owned(),
            "netbios name=CLAIMDDC".into(),
            "bind interfaces only=yes".into(),
            "server services=ldap kdc".into(),
            "ldb:nosync=true".into(),
            format!("pid directory={}", d.join("run").display()),
            format!("ncalrpc dir={}", d.join("ncalrpc").display()),
            format!("winbindd socket directory={}", d.join("winbindd").display()),
            format!(
                "ntp signd socket directory={}",
                d.join("ntp_signd").display()
            ),
            format!("log file={}", d.join("log").display()),
        ] {
            args.push(option(o));
        }
        run("samba-tool", &args);
        let smb_conf = d.join("etc/smb.conf");
        write_tls(d, &smb_conf);
        let conf = format!("-s{}", smb_conf.display());
        run(
            "samba-tool",
            &[
                "user".into(),
                "create".into(),
                "svc-claimd".into(),
                Self::SERVICE_PASSWORD.into(),
                conf.clone(),
            ],
        );
        run(
            "samba-tool",
            &[
                "group".into(),
                "addmembers".into(),
                "Account Operators".into(),
                "svc-claimd".into(),
                conf.clone(),
            ],
        );
        run(
            "samba-tool",
            &["ou".into(), "create".into(), "OU=Staff".into(), conf],
        );
        // The login's own Kerberos configuration, kept in the temp dir (never /etc/krb5.conf).
        fs::write(
            d.join("krb5.conf"),
            format!(
                "[libdefaults]\n\tdefault_realm = {realm}\n\tdns_lookup_kdc = false\n\
                 \tdns_lookup_realm = false\n\trdns = false\n\n[realms]\n\t{realm} = {{\n\
                 \t\tkdc = 127.0.0.1\n\t}}\n",
                realm = Self::KERBEROS_REALM
            ),
        )
        .expect("krb5.conf");
        let mut dc = Self { dir, child: None };
        dc.launch();
        dc
    }

    /// The CA that signed the DC's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Stops the DC (SIGTERM, then waits); the domain stays for [`SambaDc::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(
                Pid::from_raw(i32::try_from(child.id()).expect("pid fits")),
                Signal::SIGTERM,
            );
            let _ = child.wait();
            wait_until(
                "Samba to release its ports",
                Duration::from_secs(10),
                || {
                    TcpStream::connect(("127.0.0.1", 636)).is_err()
                        && TcpStream::connect(("127.0.0.1", 88)).is_err()
                },
            );
        }
    }

    /// Starts the stopped DC again.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "samba is running");
        self.launch();
    }

    /// Applies an LDIF change (`changetype: add/modify/...`) as the administrator.
    pub fn ldapmodify(&self, ldif: &str) {
        feed(
            self.tool(
                "ldapmodify",
                &["-D", Self::ADMIN_UPN, "-w", Self::ADMIN_PASSWORD],
            ),
            ldif,
        );
    }

    /// Runs `samba-tool` against the running DC as the administrator (`dsacl set`, …).
    pub fn samba_tool(&self, args: &[&str]) {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.push(format!(
            "-s{}",
            self.dir.path().join("etc/smb.conf").display()
        ));
        all.push("-Hldap://127.0.0.1".into());
        all.push(format!("-UAdministrator%{}", Self::ADMIN_PASSWORD));
        run("samba-tool", &all);
    }

    /// The LDIF `ldapsearch -LLL` prints for `filter` under the base DN, as the administrator.
    pub fn search(&self, filter: &str, attrs: &[&str]) -> String {
        let mut args = vec![
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-D",
            Self::ADMIN_UPN,
            "-w",
            Self::ADMIN_PASSWORD,
            "-b",
            Self::BASE_DN,
            filter,
        ];
        args.extend(attrs);
        let out = self
            .tool("ldapsearch", &args)
            .output()
            .expect("ldapsearch runs");
        assert!(
            out.status.success(),
            "ldapsearch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 LDIF")
    }

    /// True when `upn` can bind with `password` (Samba has no WhoAmI: a base search).
    pub fn can_bind(&self, upn: &str, password: &str) -> bool {
        self.tool(
            "ldapsearch",
            &["-D", upn, "-w", password, "-b", "", "-s", "base", "dn"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ldapsearch runs")
        .success()
    }

    /// A domain login as Windows does it: MIT `kinit` asks the DC's KDC for a ticket for
    /// `user` with `password` (read from standard input). `Err` carries kinit's own words
    /// ("Password incorrect while getting initial credentials", "Client's credentials have
    /// been revoked" for a locked account, "Password expired…").
    pub fn kinit(&self, user: &str, password: &str) -> Result<(), String> {
        let cache = tempfile::Builder::new()
            .prefix("claimd-krb5cc-")
            .tempdir()
            .expect("credential cache dir");
        let mut command = Command::new("kinit");
        command
            .env("KRB5_CONFIG", self.dir.path().join("krb5.conf"))
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", cache.path().join("cc").display()),
            )
            .arg(format!("{user}@{}", Self::KERBEROS_REALM))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .expect("kinit runs (krb5-user: scripts/deps)");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("kinit's stdin");
            // kinit may exit before reading (an unknown principal): a closed pipe is fine.
            let _ = writeln!(stdin, "{password}");
        }
        let out = child.wait_with_output().expect("kinit finishes");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim()
            .to_owned())
        }
    }

    /// True when `user` (a sAMAccountName) gets a Kerberos ticket with `password`.
    pub fn logs_in(&self, user: &str, password: &str) -> bool {
        self.kinit(user, password).is_ok()
    }

    fn tool(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .env("LDAPTLS_CACERT", self.ca_file())
            .args(["-x", "-H", Self::LDAPS_URL])
            .args(args);
        command
    }

    fn launch(&mut self) {
        let conf = self.dir.path().join("etc/smb.conf");
        let log = fs::File::create(self.dir.path().join("samba.out")).expect("samba log");
        let child = Command::new("/usr/sbin/samba")
            .args(["-F", "--debug-stdout", "-M", "single", "-s"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("samba starts");
        let child = self.child.insert(child);
        let log = self.dir.path().join("samba.out");
        wait_until("Samba's LDAPS port", Duration::from_secs(60), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "samba exited at start ({status}):\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            TcpStream::connect(("127.0.0.1", 636)).is_ok()
                && TcpStream::connect(("127.0.0.1", 88)).is_ok()
        });
        wait_until("the administrator to bind", Duration::from_secs(30), || {
            self.can_bind(Self::ADMIN_UPN, Self::ADMIN_PASSWORD)
        });
        wait_until("the KDC to give a ticket", Duration::from_secs(30), || {
            self.kinit("Administrator", Self::ADMIN_PASSWORD).is_ok()
        });
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(program: &str, args: &[String]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {} failed: {}{}",
        args.first().map_or("", String::as_str),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A CA and a certificate for 127.0.0.1 signed by it, and the smb.conf lines that use them.
/// Also `old password allowed period = 0`: like AD, Samba accepts a replaced password for 60
/// minutes by default, and the tests check that the old one stops working at once.
fn write_tls(dir: &Path, smb_conf: &Path) {
    let ca = crate::TestCa::new("claimd test CA");
    let server = ca.server_127();
    let (ca_path, cert_path, key_path) =
        (dir.join("ca.pem"), dir.join("dc.pem"), dir.join("dc.key"));
    fs::write(&ca_path, ca.pem()).expect("ca.pem");
    fs::write(&cert_path, &server.cert_pem).expect("dc.pem");
    fs::write(&key_path, &server.key_pem).expect("dc.key");
    // Samba refuses a key file others can read.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("key mode");
    let conf = fs::read_to_string(smb_conf).expect("smb.conf");
    let tls = format!(
        "[global]\n\ttls enabled = yes\n\ttls keyfile = {}\n\ttls certfile = {}\n\ttls cafile = {}\n\
         \told password allowed period = 0\n",
        key_path.display(),
        cert_path.display(),
        ca_path.display()
    );
    fs::write(smb_conf, conf.replacen("[global]\n", &tls, 1)).expect("smb.conf with TLS");
}

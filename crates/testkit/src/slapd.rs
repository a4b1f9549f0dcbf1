//! A throwaway slapd: `cn=config` loaded with `slapadd -n0`, base entries with `slapadd -n1`,
//! then `slapd -d 0` in the foreground on a free loopback port.

use std::{
    fs,
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::{
    feed::feed,
    wait::{free_port, wait_until},
};

const SUFFIX: &str = "dc=example,dc=org";

/// A running OpenLDAP server in a temp dir, stopped on drop.
#[derive(Debug)]
pub struct Slapd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Slapd {
    /// The directory root's DN.
    pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
    /// The root's password.
    pub const ROOT_PASSWORD: &str = "root-secret-Kq83";
    /// claimd's service account: may write `ou=people`, subject to the password policy.
    pub const SERVICE_DN: &str = "cn=claimd,dc=example,dc=org";
    /// The service account's password.
    pub const SERVICE_PASSWORD: &str = "svc-secret-Zr72";
    /// Where claimd's users go.
    pub const USERS_BASE_DN: &str = "ou=people,dc=example,dc=org";
    /// The server's own password policy: passwords shorter than this are refused (result 19).
    pub const POLICY_MIN_LENGTH: usize = 12;

    /// Creates and starts a server. Panics with the reason when slapd is missing or fails.
    pub fn start() -> Self {
        assert!(
            Path::new("/usr/sbin/slapd").exists(),
            "slapd is not installed: run scripts/deps (apt-get install -y slapd ldap-utils)"
        );
        let dir = tempfile::Builder::new()
            .prefix("claimd-slapd-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("config");
        let data = dir.path().join("data");
        fs::create_dir_all(&config).expect("config dir");
        fs::create_dir_all(&data).expect("data dir");
        let config_ldif = dir.path().join("config.ldif");
        fs::write(&config_ldif, config_ldif_text(&data)).expect("config.ldif");
        run(
            "slapadd",
            &["-n0", "-F", path(&config), "-l", path(&config_ldif)],
        );
        let base_ldif = dir.path().join("base.ldif");
        fs::write(&base_ldif, base_ldif_text()).expect("base.ldif");
        run(
            "slapadd",
            &["-n1", "-F", path(&config), "-l", path(&base_ldif)],
        );
        let mut slapd = Self {
            dir,
            port: free_port(),
            child: None,
        };
        slapd.launch();
        slapd
    }

    /// `ldap://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (kept across [`Slapd::stop`] and [`Slapd::resume`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (SIGTERM, then waits for it); the data stays for [`Slapd::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
            let _ = kill(pid, Signal::SIGTERM);
            // A paused server (see `pause`) handles SIGTERM only once it runs again.
            let _ = kill(pid, Signal::SIGCONT);
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port with the same data.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "slapd is running");
        self.launch();
    }

    /// True when `dn` can bind with `password` (checked with `ldapwhoami`).
    pub fn can_bind(&self, dn: &str, password: &str) -> bool {
        Command::new("ldapwhoami")
            .args(["-x", "-H", &self.url(), "-D", dn, "-w", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("ldapwhoami runs")
            .success()
    }

    /// Adds the entries of `ldif` as the root, as IT staff would with `ldapadd`.
    pub fn add(&self, ldif: &str) {
        let mut command = Command::new("ldapadd");
        command.args([
            "-x",
            "-H",
            &self.url(),
            "-D",
            Self::ROOT_DN,
            "-w",
            Self::ROOT_PASSWORD,
        ]);
        feed(command, ldif);
    }

    /// Applies an LDIF change (`changetype: modify`…) as the root, as IT staff would with
    /// `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        let mut command = Command::new("ldapmodify");
        command.args([
            "-x",
            "-H",
            &self.url(),
            "-D",
            Self::ROOT_DN,
            "-w",
            Self::ROOT_PASSWORD,
        ]);
        feed(command, ldif);
    }

    /// The server's default password policy entry (the ppolicy overlay's
    /// `olcPPolicyDefault`).
    pub const DEFAULT_POLICY_DN: &str = "cn=default,ou=policies,dc=example,dc=org";

    /// The LDIF `ldapsearch -LLL` prints for `filter` under `base` as the root.
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> String {
        let mut args = vec!["-x", "-LLL", "-o", "ldif-wrap=no", "-H"];
        let url = self.url();
        args.extend([
            url.as_str(),
            "-D",
            Self::ROOT_DN,
            "-w",
            Self::ROOT_PASSWORD,
            "-b",
            base,
            filter,
        ]);
        args.extend(attrs);
        let out = Command::new("ldapsearch")
            .args(&args)
            .output()
            .expect("ldapsearch runs");
        // 32 (no such object) is an empty answer, not a failure.
        assert!(
            out.status.success() || out.status.code() == Some(32),
            "ldapsearch failed: {out:?}"
        );
        String::from_utf8(out.stdout).expect("UTF-8 LDIF")
    }

    /// Pauses the server (SIGSTOP): connections stay open and requests wait unanswered, as
    /// with a hung directory. [`Slapd::unpause`] lets it go on.
    pub fn pause(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// Lets a paused server go on (SIGCONT); the requests that waited are answered.
    pub fn unpause(&self) {
        self.signal(Signal::SIGCONT);
    }

    fn signal(&self, signal: Signal) {
        let child = self.child.as_ref().expect("slapd is running");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
        kill(pid, signal).expect("signal slapd");
    }

    /// How many `verb` operations (`ADD`, `MOD`, `DEL`, `PASSMOD`, `BIND`…) slapd has logged
    /// on `dn` since it was created, whatever their result.
    pub fn operations(&self, verb: &str, dn: &str) -> usize {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        // PASSMOD names the entry as `id=`, every other operation as `dn=`.
        let needles = [
            format!(" {verb} dn=\"{dn}\""),
            format!(" {verb} id=\"{dn}\""),
        ];
        log.lines()
            .filter(|line| needles.iter().any(|n| line.contains(n.as_str())))
            .count()
    }

    /// The raw values of `attr` on the entry `dn`, read as the root (`ldapsearch` prints
    /// binary and some octet-string values, `userPassword` among them, in base64).
    pub fn attribute_values(&self, dn: &str, attr: &str) -> Vec<Vec<u8>> {
        use base64::Engine;
        let ldif = self.search(dn, "(objectClass=*)", &[attr]);
        let plain = format!("{attr}: ");
        let encoded = format!("{attr}:: ");
        ldif.lines()
            .filter_map(|line| {
                if let Some(value) = line.strip_prefix(&encoded) {
                    Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(value)
                            .expect("ldapsearch prints valid base64"),
                    )
                } else {
                    line.strip_prefix(&plain).map(|v| v.as_bytes().to_vec())
                }
            })
            .collect()
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("slapd.log")
    }

    fn launch(&mut self) {
        let config = self.dir.path().join("config");
        let url = format!("{}/", self.url());
        // Debug level 256 ("stats") logs one line per operation, so tests can count writes.
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("slapd log file");
        let child = Command::new("/usr/sbin/slapd")
            .args(["-d", "256", "-F", path(&config), "-h", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("slapd starts");
        let port = self.port;
        let child = self.child.insert(child);
        wait_until(
            "slapd to accept connections",
            Duration::from_secs(10),
            || {
                // A slapd that could not listen exits; never mistake another server for ours.
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("slapd exited at start ({status}); port {port} taken?");
                }
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
        // Listening is not serving yet: ready once a bind is answered.
        wait_until("slapd to answer a bind", Duration::from_secs(10), || {
            self.can_bind(Self::ROOT_DN, Self::ROOT_PASSWORD)
        });
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config_ldif_text(data: &Path) -> String {
    let data = data.display();
    let root_dn = Slapd::ROOT_DN;
    let root_pw = Slapd::ROOT_PASSWORD;
    let service = Slapd::SERVICE_DN;
    let people = Slapd::USERS_BASE_DN;
    format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {data}
olcDbMaxSize: 1073741824
olcSuffix: {SUFFIX}
olcRootDN: {root_dn}
olcRootPW: {root_pw}
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: employeeNumber eq
olcAccess: {{0}}to attrs=userPassword by dn.exact=\"{service}\" write by self write by anonymous auth by * none
olcAccess: {{1}}to dn.subtree=\"{people}\" by dn.exact=\"{service}\" write by users read by * none
olcAccess: {{2}}to * by users read by * none
olcLimits: dn.exact=\"{service}\" size.prtotal=unlimited

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: cn=default,ou=policies,{SUFFIX}
"
    )
}

fn base_ldif_text() -> String {
    let min = Slapd::POLICY_MIN_LENGTH;
    let service_pw = Slapd::SERVICE_PASSWORD;
    format!(
        "dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example School District

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=policies,{SUFFIX}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,{SUFFIX}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: {min}
pwdCheckQuality: 2

dn: cn=claimd,{SUFFIX}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: claimd
userPassword: {service_pw}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_binds_stops_and_resumes() {
        let mut slapd = Slapd::start();
        assert!(slapd.can_bind(Slapd::SERVICE_DN, Slapd::SERVICE_PASSWORD));
        assert!(!slapd.can_bind(Slapd::SERVICE_DN, "wrong"));
        assert!(
            slapd
                .search(Slapd::USERS_BASE_DN, "(objectClass=*)", &["ou"])
                .contains("ou: people")
        );
        slapd.stop();
        assert!(TcpStream::connect(("127.0.0.1", slapd.port())).is_err());
        slapd.resume();
        assert!(slapd.can_bind(Slapd::ROOT_DN, Slapd::ROOT_PASSWORD));
    }
}

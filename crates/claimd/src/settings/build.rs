//! From settings as written to the typed parts claimd runs with. Every problem is reported at
//! once, each naming its key, and nothing starts until all are fixed.

use std::{fs, net::SocketAddr, path::PathBuf, time::Duration};

use claimd_core::{
    AccountPolicy, LockoutPolicy, PasswordPolicy, QuestionPool, UsernameTemplate,
    admission::AdmissionPolicy,
};
use claimd_grpc::{ClientAddressPolicy, GrpcSettings, TlsFiles};
use claimd_ldap::{DirectorySettings, Flavor};
use claimd_sync::SyncConfig;
use secrecy::{SecretSlice, SecretString};

use super::Settings;

/// The typed, validated configuration.
#[derive(Debug)]
pub struct Parts {
    pub listen: SocketAddr,
    pub grpc: GrpcSettings,
    pub store: super::StoreParts,
    pub seal_key_file: PathBuf,
    pub directory: DirectorySettings,
    pub policy: AccountPolicy,
    pub pepper: Option<SecretSlice<u8>>,
    pub sync: SyncConfig,
    pub mail: MailParts,
    pub metrics_listen: Option<SocketAddr>,
    pub portal_listen: Option<SocketAddr>,
    pub portal: claimd_portal::PortalSettings,
    pub log_json: bool,
    pub admission: AdmissionPolicy,
}

impl Settings {
    /// The name mail is signed with (`mail.from`'s display name, else its address), and
    /// the CA `mail.ca_file` names, read.
    pub(super) fn mail_signature(&self, p: &mut Problems) -> (String, Option<Vec<u8>>) {
        let m = &self.mail;
        let ca = match &m.ca_file {
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Some(pem),
                Err(e) => {
                    p.add(
                        "mail.ca_file",
                        format!("{} cannot be read: {e}", path.display()),
                    );
                    return (String::new(), None);
                }
            },
            None => None,
        };
        match claimd_mail::validate(&m.url, &m.from, ca.as_deref()) {
            Ok(()) => (
                claimd_mail::parse_from(&m.from)
                    .map(|b| b.name.unwrap_or_else(|| b.email.to_string()))
                    .unwrap_or_default(),
                ca,
            ),
            Err(e) => {
                p.add_named(e);
                (String::new(), None)
            }
        }
    }
}

impl Parts {
    /// What is valid but weaker than it should be, for `check-config` and the start's log.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.pepper.is_none() {
            warnings.push(
                "security.pepper_file is not set: challenge answers are hashed without a \
                 server-side pepper, so a copy of the database alone is enough to start \
                 guessing them offline. Point it at a file of at least 16 random characters \
                 (the same on every replica, backed up apart from the database)"
                    .to_owned(),
            );
        }
        warnings
    }
}

/// `[mail]`, checked.
#[derive(Clone, Debug)]
pub struct MailParts {
    pub url: String,
    pub from: String,
    /// Signs the notices: the display name of `from` (or its address).
    pub signature: String,
    pub timeout: Duration,
    /// `mail.ca_file`'s certificate, read.
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, key: &str, message: impl std::fmt::Display) {
        self.0.push(format!("{key}: {message}"));
    }

    /// A problem whose message already names its key.
    pub(super) fn add_named(&mut self, message: impl std::fmt::Display) {
        self.0.push(message.to_string());
    }

    pub(super) fn take<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(key, e)).ok()
    }
}

pub(super) fn read_secret_file(path: &PathBuf) -> Result<String, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(secret)
}

impl Settings {
    /// Validates everything and builds the parts; the error lists every problem, one per line.
    pub fn parts(&self) -> anyhow::Result<Parts> {
        let mut p = Problems::default();

        let listen = p.take(
            "grpc.listen",
            self.grpc.listen.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:50051",
                    self.grpc.listen
                )
            }),
        );
        let g = &self.grpc;
        let tls = match (&g.tls_cert_file, &g.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert_file: cert.clone(),
                key_file: key.clone(),
                client_ca_file: g.client_ca_file.clone(),
            }),
            (None, None) => {
                if g.client_ca_file.is_some() {
                    p.add(
                        "grpc.client_ca_file",
                        "needs grpc.tls_cert_file and grpc.tls_key_file",
                    );
                }
                None
            }
            (Some(_), None) => {
                p.add("grpc.tls_key_file", "is required with grpc.tls_cert_file");
                None
            }
            (None, Some(_)) => {
                p.add("grpc.tls_cert_file", "is required with grpc.tls_key_file");
                None
            }
        };
        if let Some(files) = &tls
            && let Err(e) = claimd_grpc::tls_config(files)
        {
            p.add_named(e);
        }
        // Passwords and answers cross this listener: in the clear only on this host, or
        // where IT says a proxy in front terminates TLS.
        if let Some(addr) = listen
            && !addr.ip().is_loopback()
            && tls.is_none()
            && !g.allow_plaintext
        {
            p.add(
                "grpc.listen",
                format!(
                    "{addr} is reachable from other hosts but no TLS is configured: set \
                     grpc.tls_cert_file and grpc.tls_key_file, or grpc.allow_plaintext = true \
                     when a proxy in front terminates TLS"
                ),
            );
        }

        let store = self.store_parts(&mut p);

        let d = &self.directory;
        let flavor = match d.flavor.as_str() {
            "openldap" => Some(Flavor::OpenLdap),
            "active_directory" => Some(Flavor::ActiveDirectory),
            other => {
                p.add(
                    "directory.flavor",
                    format!("must be openldap or active_directory, not {other:?}"),
                );
                None
            }
        };
        let bind_password = match (&d.bind_password, &d.bind_password_file) {
            (Some(password), None) => Some(password.clone()),
            (None, Some(path)) => p
                .take("directory.bind_password_file", read_secret_file(path))
                .map(SecretString::from),
            (Some(_), Some(_)) => {
                p.add(
                    "directory.bind_password",
                    "set either bind_password or bind_password_file, not both",
                );
                None
            }
            (None, None) => {
                p.add(
                    "directory.bind_password",
                    "is required (or directory.bind_password_file)",
                );
                None
            }
        };
        let directory = DirectorySettings {
            flavor: flavor.unwrap_or(Flavor::OpenLdap),
            urls: d.url.list(),
            bind_dn: d.bind_dn.clone(),
            // A missing password is already a reported problem; the empty one never connects.
            bind_password: bind_password.unwrap_or_else(|| SecretString::from("")),
            users_base_dn: d.users_base_dn.clone(),
            ca_file: d.ca_file.clone(),
            starttls: d.starttls,
            allow_insecure_directory: d.allow_insecure_directory,
            timeout: Duration::from_secs(d.timeout_secs),
            upn_suffix: d.upn_suffix.clone(),
            adopt_used_accounts: self.accounts.adopt_used_accounts,
        };
        if let Err(e) = directory.validate() {
            p.add_named(e);
        }

        let usernames = p.take(
            "accounts.username_template",
            UsernameTemplate::parse(&self.accounts.username_template),
        );
        let passwords = p.take(
            "accounts.password_min_length",
            PasswordPolicy::new(self.accounts.password_min_length).map(|policy| {
                policy.with_ad_complexity(
                    flavor == Some(Flavor::ActiveDirectory) && d.ad_complexity_precheck,
                )
            }),
        );
        let questions = if self.challenge.questions.is_empty() {
            Some(QuestionPool::default())
        } else {
            p.take(
                "challenge.questions",
                QuestionPool::new(self.challenge.questions.clone()),
            )
        };

        let s = &self.security;
        for (key, value) in [
            (
                "security.account_max_failures",
                u64::from(s.account_max_failures),
            ),
            (
                "security.address_max_failures",
                u64::from(s.address_max_failures),
            ),
            ("security.failure_window_secs", s.failure_window_secs),
            ("security.lockout_secs", s.lockout_secs),
            (
                "security.account_consecutive_limit",
                u64::from(s.account_consecutive_limit),
            ),
            (
                "security.username_mails_per_address",
                u64::from(s.username_mails_per_address),
            ),
        ] {
            if value == 0 {
                p.add(key, "must be at least 1");
            }
        }
        let pepper = s.pepper_file.as_ref().and_then(|path| {
            let pepper = p.take("security.pepper_file", read_secret_file(path))?;
            if pepper.len() < 16 {
                p.add("security.pepper_file", "must hold at least 16 characters");
                return None;
            }
            Some(SecretSlice::from(pepper.into_bytes()))
        });

        let y = &self.sync;
        if !(1..=64).contains(&y.concurrency) {
            p.add("sync.concurrency", "must be from 1 to 64");
        }
        // A job makes up to four directory calls (AD: search, add, password, enable), each
        // bounded by the timeout; the lease must outlast them all, or another worker takes over
        // a job still being written.
        let min_lease = 5 * d.timeout_secs.max(1);
        if y.lease_secs < min_lease {
            p.add(
                "sync.lease_secs",
                format!("must be at least five directory timeouts ({min_lease}s)"),
            );
        }
        if y.max_job_age_secs < y.lease_secs {
            p.add(
                "sync.max_job_age_secs",
                "must be at least sync.lease_secs (a job needs one try)",
            );
        }
        if y.poll_interval_ms < 10 {
            p.add("sync.poll_interval_ms", "must be at least 10");
        }
        if y.backoff_initial_ms < 10 {
            p.add("sync.backoff_initial_ms", "must be at least 10");
        }
        if y.backoff_max_secs.saturating_mul(1000) < y.backoff_initial_ms {
            p.add(
                "sync.backoff_max_secs",
                "must not be shorter than sync.backoff_initial_ms",
            );
        }

        let m = &self.mail;
        let (signature, ca_pem) = self.mail_signature(&mut p);
        if m.timeout_secs == 0 {
            p.add("mail.timeout_secs", "must be at least 1");
        }

        let (portal_listen, portal, support) = self.pages(&mut p);
        let metrics_listen = match self.metrics.listen.trim() {
            "" => None,
            listen => p.take(
                "metrics.listen",
                listen.parse::<SocketAddr>().map_err(|_| {
                    format!("{listen:?} is not an address and port such as 127.0.0.1:9464")
                }),
            ),
        };

        let log_json = self.log_json(&mut p);

        if self.roster.max_disable_percent > 100 {
            p.add("roster.max_disable_percent", "must be from 0 to 100");
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.cpu_queue", l.cpu_queue as u64),
            ("limits.cpu_max_wait_ms", l.cpu_max_wait_ms),
            ("limits.max_watches", l.max_watches as u64),
            (
                "limits.max_calls_per_connection",
                l.max_calls_per_connection as u64,
            ),
            ("limits.request_timeout_secs", l.request_timeout_secs),
        ] {
            if value == 0 {
                p.add(key, "must be at least 1");
            }
        }

        if !p.0.is_empty() {
            anyhow::bail!("invalid configuration:\n  {}", p.0.join("\n  "));
        }
        let (Some(listen), Some(usernames), Some(passwords), Some(questions), Some(store)) =
            (listen, usernames, passwords, questions, store)
        else {
            anyhow::bail!("invalid configuration");
        };
        Ok(Parts {
            listen,
            grpc: GrpcSettings {
                tls,
                clients: ClientAddressPolicy {
                    trusted_proxies: g.trusted_proxies.clone(),
                },
                max_watches: l.max_watches,
                max_calls_per_connection: l.max_calls_per_connection,
                request_timeout: Duration::from_secs(l.request_timeout_secs),
                support,
            },
            store,
            seal_key_file: self.store.seal_key_file.clone(),
            directory,
            policy: AccountPolicy {
                usernames,
                passwords,
                questions,
                lockout: LockoutPolicy {
                    account_failures: s.account_max_failures,
                    address_failures: s.address_max_failures,
                    window: Duration::from_secs(s.failure_window_secs),
                    lock_for: Duration::from_secs(s.lockout_secs),
                    account_consecutive_limit: s.account_consecutive_limit,
                    username_mails_per_address: s.username_mails_per_address,
                    ..LockoutPolicy::default()
                },
                claim_code: portal.claim_code.then(|| {
                    Duration::from_secs(u64::from(self.accounts.claim_code_days) * 86_400)
                }),
                second_factor: portal.second_factor,
            },
            pepper,
            sync: SyncConfig {
                concurrency: y.concurrency,
                lease: Duration::from_secs(y.lease_secs),
                poll_interval: Duration::from_millis(y.poll_interval_ms),
                backoff_initial: Duration::from_millis(y.backoff_initial_ms),
                backoff_max: Duration::from_secs(y.backoff_max_secs),
                max_job_age: Duration::from_secs(y.max_job_age_secs),
            },
            mail: MailParts {
                url: m.url.clone(),
                from: m.from.clone(),
                signature,
                timeout: Duration::from_secs(m.timeout_secs),
                ca_pem,
            },
            metrics_listen,
            portal_listen,
            portal,
            admission: AdmissionPolicy {
                workers: l.cpu_workers,
                queue: l.cpu_queue,
                max_wait: Duration::from_millis(l.cpu_max_wait_ms),
            },
            log_json,
        })
    }
}

impl Settings {
    /// `[log]`, checked: whether lines are JSON.
    pub(super) fn log_json(&self, p: &mut Problems) -> bool {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            p.add(
                "log.level",
                format!("{:?} is not a log filter: {e}", self.log.level),
            );
        }
        match self.log.format.as_str() {
            "pretty" => false,
            "json" => true,
            other => {
                p.add(
                    "log.format",
                    format!("must be pretty or json, not {other:?}"),
                );
                false
            }
        }
    }
}

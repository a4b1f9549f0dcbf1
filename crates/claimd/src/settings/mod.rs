//! The configuration contract (DESIGN.md, "Configuration contract"): built-in defaults, then
//! the TOML file given by `--config`, then `CLAIMD__SECTION__KEY` environment overrides.
//! Unknown keys and invalid values stop the start with a message naming the key.

mod accounts;
mod build;
mod codes;
mod portal;
mod store;

use std::{collections::HashMap, net::IpAddr, path::PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

pub use accounts::{AccountsSection, ChallengeSection, RecoverySection, SecuritySection};
pub use build::Parts;
pub use codes::CodeParts;
pub use portal::PortalParts;
pub use store::StoreParts;

/// Everything claimd reads from its configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub grpc: GrpcSection,
    pub store: StoreSection,
    pub directory: DirectorySection,
    pub accounts: AccountsSection,
    pub recovery: RecoverySection,
    pub challenge: ChallengeSection,
    pub security: SecuritySection,
    pub sync: SyncSection,
    pub mail: MailSection,
    pub metrics: MetricsSection,
    pub log: LogSection,
    pub limits: LimitsSection,
    pub roster: RosterSection,
    pub portal: PortalSection,
}

/// How roster imports treat the directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RosterSection {
    /// A full import that would disable more than this percentage of the claimed accounts
    /// refuses without `--allow-mass-disable`: a truncated export must not lock out a district.
    pub max_disable_percent: u8,
}

impl Default for RosterSection {
    fn default() -> Self {
        Self {
            max_disable_percent: 10,
        }
    }
}

/// Bounds that hold whatever the number of simultaneous requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// CPU-heavy jobs (argon2, password strength) run side by side; 0: one per CPU.
    pub cpu_workers: usize,
    /// CPU jobs that may wait for a worker; more are refused at once (RESOURCE_EXHAUSTED).
    pub cpu_queue: usize,
    /// The longest a request waits for a CPU worker when its caller set no deadline.
    pub cpu_max_wait_ms: u64,
    /// Open `WatchOperation` streams; more are refused.
    pub max_watches: usize,
    /// Calls in flight on one connection.
    pub max_calls_per_connection: usize,
    /// A unary call taking longer is ended (DEADLINE_EXCEEDED).
    pub request_timeout_secs: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let d = claimd_core::admission::AdmissionPolicy::default();
        Self {
            cpu_workers: d.workers,
            cpu_queue: d.queue,
            cpu_max_wait_ms: u64::try_from(d.max_wait.as_millis()).unwrap_or(u64::MAX),
            max_watches: 1000,
            max_calls_per_connection: 32,
            request_timeout_secs: 30,
        }
    }
}

/// The self-service pages (`claimd run` serves them beside the API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSection {
    /// Where the pages are served; empty: no pages.
    pub listen: String,
    /// The AccountService `claimd portal` calls, e.g. `https://claimd.district.internal:50051`.
    pub api: String,
    /// The CA that signed the service's certificate (for an `https://` api).
    pub api_ca_file: Option<PathBuf>,
    /// This portal's client certificate, when the service asks for one.
    pub api_cert_file: Option<PathBuf>,
    /// The client certificate's key.
    pub api_key_file: Option<PathBuf>,
    /// `claimd portal`: the secret its forms and links are signed with, created (0600) when
    /// missing; portals behind one load balancer share a copy.
    pub key_file: PathBuf,
    /// The pages' public address, e.g. `https://my.district.example`.
    pub public_url: String,
    /// Reverse proxies in front of the pages whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub district_name: String,
    pub support_email: String,
    pub support_url: String,
    pub knowledge_base_url: String,
    pub support_phone: String,
    /// The district's logo in the pages' header (.png, .jpg, .svg, .webp; at most 512 KiB).
    pub logo_file: String,
}

impl Default for PortalSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            api: String::new(),
            api_ca_file: None,
            api_cert_file: None,
            api_key_file: None,
            key_file: "claimd-portal.key".into(),
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            district_name: "Example School District".into(),
            support_email: String::new(),
            support_url: String::new(),
            knowledge_base_url: String::new(),
            support_phone: String::new(),
            logo_file: String::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Where Prometheus scrapes `/metrics`, e.g. `127.0.0.1:9464`; empty: no metrics endpoint.
    pub listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    /// lettre-style SMTP URL: `smtp://host:port`, `smtp://host?tls=required`, `smtps://host`.
    pub url: String,
    /// The sender; its display name signs the notices.
    pub from: String,
    pub timeout_secs: u64,
    /// The CA that signed the SMTP server's certificate (PEM), for a relay with the
    /// district's own; the system's roots when unset.
    pub ca_file: Option<PathBuf>,
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            url: "smtp://127.0.0.1:25".into(),
            from: "District IT <ithelp@example.org>".into(),
            timeout_secs: 10,
            ca_file: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcSection {
    pub listen: String,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    pub trusted_proxies: Vec<IpAddr>,
    /// Serve plain HTTP/2 on a non-loopback address (behind a proxy that terminates TLS).
    pub allow_plaintext: bool,
}

impl Default for GrpcSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:50051".into(),
            tls_cert_file: None,
            tls_key_file: None,
            client_ca_file: None,
            trusted_proxies: Vec::new(),
            allow_plaintext: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `sqlite://claimd.db` (one machine) or `postgres://claimd@db.district.internal/claimd`.
    pub url: String,
    pub seal_key_file: PathBuf,
    /// PostgreSQL: the password, when the URL carries none.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL: the CA of the server's certificate; TLS is then required and verified.
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL: connections each process keeps at most.
    pub max_connections: u32,
}

/// The URL may carry the database password: shown without it.
impl std::fmt::Debug for StoreSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSection")
            .field("url", &store::without_password(&self.url))
            .field("seal_key_file", &self.seal_key_file)
            .field("password_file", &self.password_file)
            .field("ca_file", &self.ca_file)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            url: "sqlite://claimd.db".into(),
            seal_key_file: "claimd.key".into(),
            password_file: None,
            ca_file: None,
            max_connections: 8,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySection {
    pub flavor: String,
    /// One URL, several (failover, in order) as a list or comma-separated.
    pub url: Urls,
    pub bind_dn: String,
    pub bind_password: Option<SecretString>,
    pub bind_password_file: Option<PathBuf>,
    pub users_base_dn: String,
    pub ca_file: Option<PathBuf>,
    pub starttls: bool,
    pub allow_insecure_directory: bool,
    pub timeout_secs: u64,
    /// AD: the userPrincipalName suffix; the domain's DNS name by default.
    pub upn_suffix: Option<String>,
    /// AD: refuse passwords that break AD's complexity rule up front, as field errors.
    pub ad_complexity_precheck: bool,
}

/// `directory.url`: a string (comma-separated for several) or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Many(Vec<String>),
}

impl Urls {
    pub fn list(&self) -> Vec<String> {
        let all: Vec<&str> = match self {
            Self::One(text) => text.split(',').collect(),
            Self::Many(list) => list.iter().map(String::as_str).collect(),
        };
        all.into_iter()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Default for DirectorySection {
    fn default() -> Self {
        Self {
            flavor: "openldap".into(),
            url: Urls::One("ldap://127.0.0.1:389".into()),
            bind_dn: "cn=admin,dc=example,dc=org".into(),
            bind_password: None,
            bind_password_file: None,
            users_base_dn: "ou=people,dc=example,dc=org".into(),
            ca_file: None,
            starttls: false,
            allow_insecure_directory: false,
            timeout_secs: 10,
            upn_suffix: None,
            ad_complexity_precheck: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    pub concurrency: usize,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub backoff_initial_ms: u64,
    pub backoff_max_secs: u64,
    /// A job still failing this long after it was queued ends failed (default 7 days).
    pub max_job_age_secs: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        let d = claimd_sync::SyncConfig::default();
        Self {
            concurrency: d.concurrency,
            lease_secs: d.lease.as_secs(),
            poll_interval_ms: u64::try_from(d.poll_interval.as_millis()).unwrap_or(u64::MAX),
            backoff_initial_ms: u64::try_from(d.backoff_initial.as_millis()).unwrap_or(u64::MAX),
            backoff_max_secs: d.backoff_max.as_secs(),
            max_job_age_secs: d.max_job_age.as_secs(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `pretty` (human-readable lines) or `json` (one object per line).
    pub format: String,
    /// A tracing filter such as `info` or `claimd=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: "pretty".into(),
            level: "info".into(),
        }
    }
}

/// Keys whose environment values are comma-separated lists.
const LIST_KEYS: &[&str] = &["grpc.trusted_proxies", "portal.trusted_proxies"];

impl Settings {
    /// Loads defaults, then `file`, then `env` (the process environment, or a given map in
    /// tests). Errors name the key.
    pub fn load(
        file: Option<&std::path::Path>,
        env: Option<HashMap<String, String>>,
    ) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("--config: {} does not exist", path.display());
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let mut environment = config::Environment::with_prefix("CLAIMD")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",");
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        builder = builder.add_source(environment.source(env));
        let config = builder
            .build()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        serde_path_to_error::deserialize(config).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                anyhow::anyhow!("configuration: {inner}")
            } else {
                anyhow::anyhow!("configuration key {path}: {inner}")
            }
        })
    }
}

#[cfg(test)]
mod tests;

//! `[directory]` and `[sync]`, checked: the directory claimd writes (its flavor, servers and
//! service account) and how the sync worker paces its jobs there.

use std::{path::PathBuf, time::Duration};

use claimd_ldap::{DirectorySettings, Flavor};
use claimd_sync::SyncConfig;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    Settings,
    problems::{self, Choice, Problems, read_secret_file},
};

impl Choice for Flavor {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("openldap", Self::OpenLdap),
        ("active_directory", Self::ActiveDirectory),
    ];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySection {
    /// `openldap` or `active_directory`: how entries and passwords are written.
    #[serde(deserialize_with = "problems::choice")]
    pub flavor: Flavor,
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
    /// OpenLDAP: the ppolicy overlay's default policy entry (`olcPPolicyDefault`), for users
    /// with no `pwdPolicySubentry` of their own (a service account cannot read cn=config).
    pub ppolicy_default_dn: Option<String>,
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
            flavor: Flavor::OpenLdap,
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
            ppolicy_default_dn: None,
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

impl Settings {
    /// `[directory]`, checked. A missing bind password is reported and leaves an empty one,
    /// which never connects (nothing starts while a problem is listed).
    pub(super) fn directory(&self, p: &mut Problems) -> DirectorySettings {
        let d = &self.directory;
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
        for (n, group) in self.accounts.protected_groups.iter().enumerate() {
            // A group that names nothing would protect nobody, silently.
            if !group.contains('=') || group.trim() != group {
                p.add(
                    "accounts.protected_groups",
                    format_args!("entry {} is not a group's DN: {group:?}", n + 1),
                );
            }
        }
        let directory = DirectorySettings {
            flavor: d.flavor,
            urls: d.url.list(),
            bind_dn: d.bind_dn.clone(),
            bind_password: bind_password.unwrap_or_else(|| SecretString::from("")),
            users_base_dn: d.users_base_dn.clone(),
            ca_file: d.ca_file.clone(),
            starttls: d.starttls,
            allow_insecure_directory: d.allow_insecure_directory,
            timeout: Duration::from_secs(d.timeout_secs),
            upn_suffix: d.upn_suffix.clone(),
            adopt_used_accounts: self.accounts.adopt_used_accounts,
            protected_groups: self.accounts.protected_groups.clone(),
            ppolicy_default_dn: d.ppolicy_default_dn.clone().filter(|dn| !dn.is_empty()),
        };
        if let Err(e) = directory.validate() {
            p.add_named(e);
        }
        directory
    }

    /// `[sync]`, checked against the directory's timeout.
    pub(super) fn sync(&self, p: &mut Problems) -> SyncConfig {
        let y = &self.sync;
        if !(1..=64).contains(&y.concurrency) {
            p.add("sync.concurrency", "must be from 1 to 64");
        }
        // A job makes up to four directory calls (AD: search, add, password, enable), each
        // bounded by the timeout; the lease must outlast them all, or another worker takes over
        // a job still being written.
        let min_lease = 5 * self.directory.timeout_secs.max(1);
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
        SyncConfig {
            concurrency: y.concurrency,
            lease: Duration::from_secs(y.lease_secs),
            poll_interval: Duration::from_millis(y.poll_interval_ms),
            backoff_initial: Duration::from_millis(y.backoff_initial_ms),
            backoff_max: Duration::from_secs(y.backoff_max_secs),
            max_job_age: Duration::from_secs(y.max_job_age_secs),
        }
    }
}

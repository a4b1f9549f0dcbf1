//! The configuration contract (DESIGN.md, "Configuration contract"): built-in defaults, then
//! the TOML file given by `--config`, then `CLAIMD__SECTION__KEY` environment overrides.
//! Unknown keys and invalid values stop the start with a message naming the key.
//!
//! Each section has one file holding its serde struct (as written) and the one function that
//! checks it and returns its typed part; [`Settings::parts`] (in `parts.rs`) puts the parts
//! together for `run`/`serve`/`sync`, and the commands that need less (`portal`, `roster`,
//! `admin`) call only the sections they use. Every problem lands in one [`problems::Problems`]
//! list and is reported at once.

mod accounts;
mod directory;
mod grpc;
mod helpdesk;
mod mail;
mod parts;
mod portal;
mod problems;
mod reminders;
mod roster;
mod store;

use std::collections::HashMap;

use serde::Deserialize;

pub use accounts::{
    AccountsSection, ChallengeSection, ClaimCode, PasswordsSection, RecoverySection, SecondFactor,
    SecuritySection,
};
pub use directory::{DirectorySection, SyncSection};
pub use grpc::{GrpcSection, LimitsSection};
pub use helpdesk::{HelpdeskParts, HelpdeskSection};
pub use mail::{MailParts, MailSection};
pub use parts::Parts;
pub use portal::{PortalParts, PortalSection};
pub use reminders::{ReminderParts, RemindersSection};
pub use roster::{CodeParts, RosterSection, claim_page};
pub use store::{StoreParts, StoreSection};

/// Everything claimd reads from its configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub grpc: GrpcSection,
    pub store: StoreSection,
    pub directory: DirectorySection,
    pub accounts: AccountsSection,
    pub passwords: PasswordsSection,
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
    pub reminders: RemindersSection,
    pub helpdesk: HelpdeskSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Where Prometheus scrapes `/metrics`, e.g. `127.0.0.1:9464`; empty: no metrics endpoint.
    pub listen: String,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for a log shipper.
    Json,
}

impl problems::Choice for LogFormat {
    const WORDS: &'static [(&'static str, Self)] =
        &[("pretty", Self::Pretty), ("json", Self::Json)];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    #[serde(deserialize_with = "problems::choice")]
    pub format: LogFormat,
    /// A tracing filter such as `info` or `claimd=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// Keys whose environment values are comma-separated lists.
const LIST_KEYS: &[&str] = &[
    "grpc.trusted_proxies",
    "portal.trusted_proxies",
    "reminders.days_before",
];

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
                // The config crate ends a value's error with the key again; say it once.
                let inner = inner.to_string();
                let suffix = format!(" for key `{path}`");
                let inner = inner.strip_suffix(&suffix).unwrap_or(&inner);
                anyhow::anyhow!("configuration key {path}: {inner}")
            }
        })
    }
}

#[cfg(test)]
mod tests;

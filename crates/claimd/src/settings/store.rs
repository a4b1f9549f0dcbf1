//! `[store]`, checked: SQLite (the embedded default) or PostgreSQL, with the password and the
//! TLS trust PostgreSQL needs. Every command that touches the store (`run`, `serve`, `sync`,
//! `roster import`, `admin`) opens it through here.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use claimd_core::Store;
use claimd_store::PgSettings;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    Settings,
    problems::{Problems, read_secret_file},
};

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
            .field("url", &without_password(&self.url))
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

/// Where the store is and how to reach it.
#[derive(Clone)]
pub struct StoreParts {
    pub url: String,
    pub postgres: PgSettings,
}

/// The URL may carry the database password: shown without it.
impl std::fmt::Debug for StoreParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreParts")
            .field("url", &self.display())
            .field("postgres", &self.postgres)
            .finish()
    }
}

impl StoreParts {
    /// Opens the store (migrating it), naming `store.url` when that fails.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        claimd_store::open(&self.url, &self.postgres)
            .await
            .context("store.url")
    }

    /// The URL without a password, for messages.
    pub fn display(&self) -> String {
        without_password(&self.url)
    }
}

/// `url` without the password it may carry (in the user info or as `password=`).
pub(super) fn without_password(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL a driver would take either; keep only what precedes any user info.
        return url.split('@').next_back().unwrap_or_default().to_owned();
    };
    let _ = parsed.set_password(None);
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "password")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.to_string()
}

/// True when the URL names only this machine (loopback, or a Unix socket directory).
fn on_this_machine(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let socket = parsed
        .query_pairs()
        .any(|(k, v)| k == "host" && v.starts_with('/'));
    match parsed.host() {
        None => true,
        // postgres:// is not a scheme the url crate knows, so addresses come as names.
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name.is_empty()
                || socket
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    }
}

impl Settings {
    /// `[store]`, checked on its own (the roster and admin commands need nothing else).
    pub fn store(&self) -> anyhow::Result<StoreParts> {
        let mut p = Problems::default();
        let parts = self.store_parts(&mut p);
        p.finish(parts)
    }

    pub(super) fn store_parts(&self, p: &mut Problems) -> Option<StoreParts> {
        let s = &self.store;
        let url = s.url.trim();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !postgres && !url.starts_with("sqlite:") {
            p.add(
                "store.url",
                "must be sqlite://FILE (one machine) or postgres://USER@HOST/DATABASE (replicas)",
            );
            return None;
        }
        if !postgres {
            for (key, set) in [
                ("store.password_file", s.password_file.is_some()),
                ("store.ca_file", s.ca_file.is_some()),
            ] {
                if set {
                    p.add(key, "is for a postgres:// store.url only");
                }
            }
        }
        let password = s.password_file.as_ref().and_then(|path| {
            p.take("store.password_file", read_secret_file(path))
                .map(SecretString::from)
        });
        // The database password and every claim's sealed password cross this link: to
        // another host only over TLS whose server is verified.
        if postgres && s.ca_file.is_none() && !on_this_machine(url) {
            p.add(
                "store.ca_file",
                "is required for a database on another host (TLS, with the server verified)",
            );
        }
        if let Some(ca) = &s.ca_file
            && let Err(e) = std::fs::read(ca)
        {
            p.add(
                "store.ca_file",
                format!("cannot read {}: {e}", ca.display()),
            );
        }
        if s.max_connections == 0 {
            p.add("store.max_connections", "must be at least 1");
        }
        Some(StoreParts {
            url: url.to_owned(),
            postgres: PgSettings {
                password,
                ca_file: s.ca_file.clone(),
                max_connections: s.max_connections,
            },
        })
    }
}

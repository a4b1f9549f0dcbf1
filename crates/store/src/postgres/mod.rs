//! The PostgreSQL store: any number of `run`, `serve` and `sync` replicas share one database.
//! The SQL is the SQLite store's (`src/sql/`); this module connects (password from a file or
//! the URL, TLS verified against a CA file), migrates, and says how PostgreSQL writes
//! (`db.rs`: advisory locks and `SKIP LOCKED` instead of one write lock).

#[path = "../sql/accounts.rs"]
mod accounts;
#[path = "../sql/admin.rs"]
mod admin;
#[path = "../sql/attempts.rs"]
mod attempts;
#[path = "../sql/audit.rs"]
mod audit;
#[path = "../sql/claims.rs"]
mod claims;
#[path = "../sql/codes.rs"]
mod codes;
mod db;
#[path = "../sql/helpdesk.rs"]
mod helpdesk;
#[path = "../sql/jobs.rs"]
mod jobs;
#[path = "../sql/lifecycle.rs"]
mod lifecycle;
#[path = "../sql/mail.rs"]
mod mail;
#[path = "../sql/reminders.rs"]
mod reminders;
#[path = "../sql/roster.rs"]
mod roster;

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use claimd_core::StoreError;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

use crate::error::store_error;

/// How long a starting process waits for an unreachable database.
const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

/// How to reach the database beyond its URL.
#[derive(Clone, Debug, Default)]
pub struct PgSettings {
    /// The password (`store.password_file`), when the URL carries none.
    pub password: Option<SecretString>,
    /// The CA that signed the server's certificate (`store.ca_file`): TLS is then required
    /// and the server's name verified.
    pub ca_file: Option<PathBuf>,
    /// Connections this process keeps at most.
    pub max_connections: u32,
}

/// The store on a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://claimd@db.district.internal/claimd`) and applies any
    /// pending migrations (one replica at a time: the migrator holds an advisory lock).
    pub async fn connect(url: &str, settings: &PgSettings) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Internal {
            // The URL may hold a password: only the driver's complaint is shown.
            reason: format!("store.url: {}", redact(&e.to_string(), url)),
        })?;
        if let Some(password) = &settings.password {
            options = options.password(password.expose_secret());
        }
        if let Some(ca) = &settings.ca_file {
            options = options
                .ssl_mode(PgSslMode::VerifyFull)
                .ssl_root_cert(ca.clone());
        }
        // A replica may start while the database restarts or fails over: it waits for it
        // (a minute at most) rather than exit and be given up on by its service manager.
        let deadline = std::time::Instant::now() + CONNECT_PATIENCE;
        let pool = loop {
            let attempt = PgPoolOptions::new()
                .max_connections(settings.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await;
            match attempt {
                Ok(pool) => break pool,
                // Only a server that is not there (yet) is waited for; a refused certificate
                // or password is a configuration error and stops the start at once.
                Err(e) if not_there_yet(&e) && std::time::Instant::now() < deadline => {
                    tracing::warn!(reason = %redact(&e.to_string(), url), "database not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(store_error(e)),
            }
        };
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal {
                reason: format!("migration failed: {e}"),
            })?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests that read rows directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write(&self) -> Result<db::Tx, StoreError> {
        db::begin(&self.pool).await
    }

    /// The worker's bookkeeping goes through the same pool (PostgreSQL's commits are the
    /// server's to make durable).
    fn job_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn job_write(&self) -> Result<db::Tx, StoreError> {
        self.write().await
    }
}

/// True for a database that is down, starting or restarting (worth waiting for).
fn not_there_yet(error: &sqlx::Error) -> bool {
    match error {
        // Nobody listening yet, or the server went away mid-handshake; a TLS failure comes as
        // invalid data and is not waited for.
        sqlx::Error::Io(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::NotConnected
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::NotFound
        ),
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| matches!(code.as_ref(), "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// `text` with the URL's password replaced, wherever the URL carries it (in the user info,
/// as written or percent-decoded, or as a `password=` parameter).
fn redact(text: &str, url: &str) -> String {
    let mut secrets = Vec::new();
    if let Ok(parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            if let Ok(decoded) = percent_decode(password) {
                secrets.push(decoded);
            }
        }
        secrets.extend(
            parsed
                .query_pairs()
                .filter(|(k, _)| k == "password")
                .map(|(_, v)| v.into_owned()),
        );
    }
    // Each also as a URL would write it.
    let encoded: Vec<String> = secrets
        .iter()
        .flat_map(|s| {
            [
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>(),
                s.replace('@', "%40").replace(':', "%3A"),
            ]
        })
        .collect();
    secrets.extend(encoded);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "[redacted]")
    })
}

fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default(),
    )
}

crate::sql::roles::impl_store_roles!(PgStore);

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn every_form_of_the_url_password_is_redacted() {
        for url in [
            "postgres://claimd:Pa55%40word@db/claimd",
            "postgres://claimd@db/claimd?password=Pa55@word",
        ] {
            let text = format!("cannot connect to {url}: Pa55@word Pa55%40word");
            let redacted = redact(&text, url);
            assert!(!redacted.contains("Pa55"), "{redacted}");
        }
    }
}

//! The SQLite store: one database file (WAL, synchronous FULL, secure_delete), for one
//! machine. The SQL is shared with PostgreSQL (`src/sql/`); this module connects, migrates,
//! and says how SQLite writes: one `BEGIN IMMEDIATE` transaction at a time.

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

use std::{fmt, str::FromStr, time::Duration};

use claimd_core::StoreError;
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::error::store_error;

/// How long a writer waits for SQLite's lock before the call fails as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The store on one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The directory worker's leases and finishes: commits not fsynced on their own. A lost
    /// one (a power cut) only makes an idempotent job run again, and the next commit on
    /// `pool` (every claim and request) fsyncs the log with them; so a claim stays durable
    /// while the worker no longer waits on two fsyncs a job.
    jobs: SqlitePool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://claimd.db`) and applies
    /// any pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal {
                reason: format!("store.url: {e}"),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an accepted claim survives a power cut, not only a crash of claimd.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Erased sealed passwords are overwritten on disk, not left in free pages.
            .pragma("secure_delete", "ON");
        owner_only(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .map_err(store_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal {
                reason: format!("migration failed: {e}"),
            })?;
        let jobs = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(store_error)?;
        Ok(Self { pool, jobs })
    }

    /// The underlying pool, for tests and admin tools that read rows directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write(&self) -> Result<db::Tx, StoreError> {
        db::begin(&self.pool).await
    }

    fn job_pool(&self) -> &SqlitePool {
        &self.jobs
    }

    async fn job_write(&self) -> Result<db::Tx, StoreError> {
        db::begin(&self.jobs).await
    }
}

/// Creates the database file readable by its owner only (mode 0600), or takes group and
/// other access away from one that exists, with its write-ahead log and shared-memory index:
/// they hold answer hashes and sealed passwords. SQLite gives the log and index the
/// database file's mode when it creates them.
fn owner_only(path: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    let failed = |e: std::io::Error| StoreError::Internal {
        reason: format!("store.url: {}: {e}", path.display()),
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::Path::new(&name);
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
            tracing::warn!(file = %file.display(), "the store's file was readable by others; now mode 0600");
        }
    }
    Ok(())
}

crate::sql::roles::impl_store_roles!(SqliteStore);

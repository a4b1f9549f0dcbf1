//! claimd's store: the [`Store`](claimd_core::Store) roles on SQLite and on PostgreSQL, with
//! numbered migrations applied at connect.
//!
//! SQLite is the embedded default: one machine, one database file (WAL, synchronous FULL,
//! secure_delete); every write that touches more than one row is one `BEGIN IMMEDIATE`
//! transaction, so writers go one after another. PostgreSQL carries several replicas: the
//! same SQL (`src/sql/`, `$n` parameters, which SQLite accepts too) runs with advisory locks
//! on what each write decides about and `FOR UPDATE SKIP LOCKED` leases. Both pass one
//! conformance suite (`tests/conformance/`). [`open`] picks the backend from the URL.
//!
//! The store counts every limit (attempt failures, per-address rates, code quotas) with the
//! numbers core passes in, so one quota holds for the district however many replicas run;
//! no policy number lives in its SQL.

// The SQL modules are compiled once per backend, each time against that backend's `db`
// module (its connection types and locking): deliberate, so one text serves both.
#![allow(clippy::duplicate_mod)]

mod account_json;
mod error;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use claimd_core::{Store, StoreError};

pub use postgres::{PgSettings, PgStore};
pub use sqlite::SqliteStore;

/// The store at `url`: `sqlite://FILE` or `postgres://…` (with `postgres`'s settings).
pub async fn open(url: &str, postgres: &PgSettings) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, postgres).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    }
}

//! How the shared SQL runs on SQLite. A write transaction takes SQLite's one write lock at
//! `BEGIN IMMEDIATE`, so writers go one after another and queue on `busy_timeout` instead of
//! one failing when it upgrades a read lock; per-row locks are then not needed.

use claimd_core::StoreError;
use sqlx::{Sqlite, Transaction};

use crate::error::store_error;

pub(super) type Db = sqlx::Sqlite;
pub(super) type Conn = sqlx::SqliteConnection;
pub(super) type Pool = sqlx::SqlitePool;
pub(super) type Tx = Transaction<'static, Sqlite>;

/// What a queue's lease subquery adds to take its row: nothing (the write lock is held).
pub(super) const TAKE_ROW: &str = "";

pub(super) async fn begin(pool: &Pool) -> Result<Tx, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(store_error)
}

/// Serialises writers on `names`: already done by the transaction's write lock.
pub(super) async fn lock(_conn: &mut Conn, _names: &[String]) -> Result<(), StoreError> {
    Ok(())
}

/// Waits out a roster import: already done by the transaction's write lock.
pub(super) async fn share_roster(_conn: &mut Conn) -> Result<(), StoreError> {
    Ok(())
}

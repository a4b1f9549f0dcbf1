//! How the shared SQL runs on PostgreSQL, where several replicas write at once. Transactions
//! are READ COMMITTED; what SQLite gets from its single write lock, PostgreSQL gets from
//! transaction-scoped advisory locks on what a write decides about (an attempt key, an
//! employee, a claim, the roster), taken in one sorted order so two writers never wait on
//! each other in a circle. Queues are leased with `FOR UPDATE SKIP LOCKED`.

use claimd_core::StoreError;
use sqlx::{Postgres, Transaction};

use crate::error::store_error;

pub(super) type Db = sqlx::Postgres;
pub(super) type Conn = sqlx::PgConnection;
pub(super) type Pool = sqlx::PgPool;
pub(super) type Tx = Transaction<'static, Postgres>;

/// Takes the due row a lease picks, skipping rows another replica is taking right now.
pub(super) const TAKE_ROW: &str = "FOR UPDATE SKIP LOCKED";

/// A write waits this long for a lock (an import holds the roster's for its whole run)
/// before it fails as unavailable, like SQLite's busy timeout: a caller is not kept waiting,
/// and the pool's connections are not all held by waiters.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '10s'";

pub(super) async fn begin(pool: &Pool) -> Result<Tx, StoreError> {
    let mut tx = pool.begin().await.map_err(store_error)?;
    sqlx::query(LOCK_TIMEOUT)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    Ok(tx)
}

/// Holds `names` exclusively until the transaction ends.
pub(super) async fn lock(conn: &mut Conn, names: &[String]) -> Result<(), StoreError> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    names.dedup();
    for name in names {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(name)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Waits until no roster import is running, and keeps one from starting until the
/// transaction ends (claims and new passwords hold it shared; an import holds it alone).
/// Taken before any [`lock`], so the order stays the same everywhere.
pub(super) async fn share_roster(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended('roster', 0))")
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

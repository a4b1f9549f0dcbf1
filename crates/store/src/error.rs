//! Driver errors become [`StoreError`]s here, so no sqlx type reaches the domain.

use claimd_core::StoreError;

/// SQLite's primary result codes for "another connection holds the lock" (BUSY, LOCKED);
/// sqlx reports the extended code, whose low byte is the primary one.
fn is_lock_contention(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// PostgreSQL's SQLSTATEs for "try again": the connection (08), a serialization failure or
/// deadlock (40001, 40P01), a lock not granted in time (55P03), resources (53) and the server
/// shutting down or starting (57P).
fn is_transient_postgres(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || matches!(code, "40001" | "40P01" | "55P03")
}

pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    let reason = error.to_string();
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable { reason },
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_lock_contention(&c)) => {
            StoreError::Unavailable { reason }
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_transient_postgres(&c)) => {
            StoreError::Unavailable { reason }
        }
        _ => StoreError::Internal { reason },
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Internal {
        reason: format!("corrupt row: {what}"),
    }
}

//! Driver errors become [`StoreError`]s here, so no sqlx type reaches the domain.

use claimd_core::StoreError;

/// SQLite's primary result codes for "another connection holds the lock" (BUSY, LOCKED);
/// sqlx reports the extended code, whose low byte is the primary one.
fn is_lock_contention(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
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
        _ => StoreError::Internal { reason },
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Internal {
        reason: format!("corrupt row: {what}"),
    }
}

//! Failed-attempt counting and lockouts, shared by every replica through the store.

use claimd_core::{
    StoreError,
    store::{AttemptKey, Lockout, LockoutPolicy, Millis},
};
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::store_error;

fn millis(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) async fn locked_until(
    pool: &SqlitePool,
    keys: &[AttemptKey],
    now: Millis,
) -> Result<Option<Millis>, StoreError> {
    let mut latest = None;
    for key in keys {
        let until: Option<Millis> =
            sqlx::query_scalar("SELECT until FROM lockouts WHERE key = ? AND until > ?")
                .bind(key.stored())
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(store_error)?;
        latest = latest.max(until);
    }
    Ok(latest)
}

pub(super) async fn record_failure(
    conn: &mut SqliteConnection,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: Millis,
) -> Result<Vec<Lockout>, StoreError> {
    let window_start = now.saturating_sub(millis(policy.window));
    let mut locks = Vec::new();
    for key in keys {
        let stored = key.stored();
        sqlx::query("DELETE FROM attempt_failures WHERE key = ? AND at <= ?")
            .bind(&stored)
            .bind(window_start)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        sqlx::query("INSERT INTO attempt_failures (key, at) VALUES (?, ?)")
            .bind(&stored)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        let in_window: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM attempt_failures WHERE key = ?")
                .bind(&stored)
                .fetch_one(&mut *conn)
                .await
                .map_err(store_error)?;
        let threshold = if key.is_account() {
            policy.account_failures
        } else {
            policy.address_failures
        };
        let mut until = (in_window >= i64::from(threshold))
            .then(|| now.saturating_add(millis(policy.lock_for)));
        if key.is_account() {
            let streak: i64 = sqlx::query_scalar(
                "INSERT INTO attempt_streaks (key, failures) VALUES (?, 1)
                 ON CONFLICT (key) DO UPDATE SET failures = failures + 1
                 RETURNING failures",
            )
            .bind(&stored)
            .fetch_one(&mut *conn)
            .await
            .map_err(store_error)?;
            if streak >= i64::from(policy.account_consecutive_limit) {
                until = Some(Millis::MAX);
            }
        }
        if let Some(until) = until {
            sqlx::query(
                "INSERT INTO lockouts (key, until) VALUES (?, ?)
                 ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until)",
            )
            .bind(&stored)
            .bind(until)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
            // The lock replaces the count: once it expires, counting starts afresh.
            sqlx::query("DELETE FROM attempt_failures WHERE key = ?")
                .bind(&stored)
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
            locks.push(Lockout {
                key: key.clone(),
                until,
            });
        }
    }
    Ok(locks)
}

pub(super) async fn clear(conn: &mut SqliteConnection, key: &AttemptKey) -> Result<(), StoreError> {
    let stored = key.stored();
    sqlx::query("DELETE FROM attempt_failures WHERE key = ?")
        .bind(&stored)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query("DELETE FROM attempt_streaks WHERE key = ?")
        .bind(&stored)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

//! Failed-attempt counting and lockouts, shared by every replica through the store.

use claimd_core::{
    StoreError,
    store::{AttemptKey, AttemptTicket, Lockout, LockoutPolicy, Millis, Reservation},
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

/// Refuses when a key is locked, else counts one failure against every key (see
/// [`claimd_core::Store::reserve_attempt`]). Runs inside the caller's write transaction, so
/// simultaneous reservations are judged one after another.
pub(super) async fn reserve(
    conn: &mut SqliteConnection,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: Millis,
) -> Result<Reservation, StoreError> {
    let mut locked = None;
    for key in keys {
        let until: Option<Millis> =
            sqlx::query_scalar("SELECT until FROM lockouts WHERE key = ? AND until > ?")
                .bind(key.stored())
                .bind(now)
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?;
        locked = locked.max(until);
    }
    if let Some(until) = locked {
        return Ok(Reservation::Locked { until });
    }
    let mut ticket = AttemptTicket {
        counted: Vec::new(),
        locks: Vec::new(),
        replaced: Vec::new(),
    };
    for key in keys {
        let (row, lock) = count(conn, key, policy, now).await?;
        ticket.counted.push((key.clone(), row));
        if let Some((lock, replaced)) = lock {
            ticket.locks.push(lock);
            ticket.replaced.push(replaced);
        }
    }
    Ok(Reservation::Granted(ticket))
}

/// The lock row of `key`, in force or not.
async fn lock_row(
    conn: &mut SqliteConnection,
    key: &AttemptKey,
) -> Result<Option<Lockout>, StoreError> {
    let row: Option<(Millis, Millis)> =
        sqlx::query_as("SELECT until, placed_at FROM lockouts WHERE key = ?")
            .bind(key.stored())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
    Ok(row.map(|(until, placed_at)| Lockout {
        key: key.clone(),
        until,
        placed_at,
    }))
}

/// A lock placed by one count, with the lock row it replaced.
type Placed = (Lockout, Option<Lockout>);

/// Counts one failure against `key`; returns its row and the lock it placed, if any.
async fn count(
    conn: &mut SqliteConnection,
    key: &AttemptKey,
    policy: &LockoutPolicy,
    now: Millis,
) -> Result<(i64, Option<Placed>), StoreError> {
    let stored = key.stored();
    let window_start = now.saturating_sub(millis(policy.window));
    sqlx::query("DELETE FROM attempt_failures WHERE key = ? AND at <= ?")
        .bind(&stored)
        .bind(window_start)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    let row: i64 =
        sqlx::query_scalar("INSERT INTO attempt_failures (key, at) VALUES (?, ?) RETURNING rowid")
            .bind(&stored)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(store_error)?;
    // Failures spent on an earlier lock count no more: after a lock, counting starts afresh.
    let previous = lock_row(conn, key).await?;
    let spent_until = previous.as_ref().map_or(Millis::MIN, |l| l.placed_at);
    let in_window: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM attempt_failures WHERE key = ? AND (at > ? OR rowid = ?)",
    )
    .bind(&stored)
    .bind(spent_until)
    .bind(row)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    let mut until = (in_window >= i64::from(key.limit(policy)))
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
    let Some(until) = until else {
        return Ok((row, None));
    };
    sqlx::query(
        "INSERT INTO lockouts (key, until, placed_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET until = excluded.until, placed_at = excluded.placed_at",
    )
    .bind(&stored)
    .bind(until)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    let lock = Lockout {
        key: key.clone(),
        until,
        placed_at: now,
    };
    Ok((row, Some((lock, previous))))
}

/// Undoes a reservation: its failure rows, its step of the consecutive count, its locks.
pub(super) async fn give_back(
    conn: &mut SqliteConnection,
    ticket: &AttemptTicket,
) -> Result<(), StoreError> {
    for (key, row) in &ticket.counted {
        sqlx::query("DELETE FROM attempt_failures WHERE rowid = ? AND key = ?")
            .bind(row)
            .bind(key.stored())
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        if key.is_account() {
            sqlx::query(
                "UPDATE attempt_streaks SET failures = failures - 1 WHERE key = ? AND failures > 0",
            )
            .bind(key.stored())
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        }
    }
    for (lock, replaced) in ticket.locks.iter().zip(&ticket.replaced) {
        // Only the lock as this attempt left it: one placed since is someone else's. The row
        // it replaced comes back, so the failures spent on that earlier lock stay spent.
        let stored = lock.key.stored();
        let query = match replaced {
            Some(old) => sqlx::query(
                "UPDATE lockouts SET until = ?, placed_at = ? WHERE key = ? AND until = ? AND placed_at = ?",
            )
            .bind(old.until)
            .bind(old.placed_at),
            None => sqlx::query("DELETE FROM lockouts WHERE key = ? AND until = ? AND placed_at = ?"),
        };
        query
            .bind(&stored)
            .bind(lock.until)
            .bind(lock.placed_at)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
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

//! Failed-attempt counting and lockouts, shared by every replica through the store.

use super::db::{Conn, Pool};
use claimd_core::{
    StoreError,
    store::{AttemptKey, AttemptTicket, Lockout, LockoutPolicy, Millis, Reservation},
};

use crate::error::store_error;

fn millis(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) async fn locked_until(
    pool: &Pool,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: Millis,
    mailed_code: bool,
) -> Result<Option<Millis>, StoreError> {
    let mut conn = pool.acquire().await.map_err(store_error)?;
    Ok(locks(&mut conn, keys, policy, now)
        .await?
        .until(mailed_code))
}

/// The locks on a set of keys at one moment.
struct Locks {
    /// The latest timed lock still in force.
    timed: Option<Millis>,
    /// An account key is past the consecutive-failure limit.
    past_limit: bool,
}

impl Locks {
    /// What refuses an attempt: a timed lock always, the consecutive limit unless the
    /// attempt carries a mailed code.
    fn until(&self, mailed_code: bool) -> Option<Millis> {
        if self.past_limit && !mailed_code {
            Some(Millis::MAX)
        } else {
            self.timed
        }
    }
}

async fn locks(
    conn: &mut Conn,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: Millis,
) -> Result<Locks, StoreError> {
    let mut locks = Locks {
        timed: None,
        past_limit: false,
    };
    for key in keys {
        let until: Option<Millis> =
            sqlx::query_scalar("SELECT until FROM lockouts WHERE key = $1 AND until > $2")
                .bind(key.stored())
                .bind(now)
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?;
        locks.timed = locks.timed.max(until);
        if key.is_account() {
            let streak: Option<i64> =
                sqlx::query_scalar("SELECT failures FROM attempt_streaks WHERE key = $1")
                    .bind(key.stored())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(store_error)?;
            locks.past_limit |=
                streak.is_some_and(|n| n >= i64::from(policy.account_consecutive_limit));
        }
    }
    Ok(locks)
}

/// See [`claimd_core::Store::reserve_attempt`]. Runs inside the caller's write transaction,
/// so simultaneous reservations are decided one after another.
pub(super) async fn reserve(
    conn: &mut Conn,
    keys: &[AttemptKey],
    policy: &LockoutPolicy,
    now: Millis,
    mailed_code: bool,
) -> Result<Reservation, StoreError> {
    // Attempts on one key are decided one after another, on every replica.
    let names: Vec<String> = keys.iter().map(|k| k.stored()).collect();
    super::db::lock(conn, &names).await?;
    let locks = locks(conn, keys, policy, now).await?;
    if let Some(until) = locks.until(mailed_code) {
        return Ok(Reservation::Locked { until });
    }
    let lost_before = now.saturating_sub(millis(policy.pending_for));
    for key in keys {
        let window_start = now.saturating_sub(millis(key.window(policy)));
        sqlx::query(
            "DELETE FROM attempt_failures WHERE key = $1 AND (at <= $2 OR (pending = 1 AND at <= $3))",
        )
        .bind(key.stored())
        .bind(window_start)
        .bind(lost_before)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
        // Failures and attempts in flight both take up the limit.
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempt_failures WHERE key = $1")
            .bind(key.stored())
            .fetch_one(&mut *conn)
            .await
            .map_err(store_error)?;
        if taken >= i64::from(key.limit(policy)) {
            return Ok(Reservation::Crowded);
        }
    }
    let mut rows = Vec::with_capacity(keys.len());
    for key in keys {
        let row: i64 = sqlx::query_scalar(
            "INSERT INTO attempt_failures (key, at, pending) VALUES ($1, $2, 1) RETURNING id",
        )
        .bind(key.stored())
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        rows.push((key.clone(), row));
    }
    Ok(Reservation::Granted(AttemptTicket {
        rows,
        past_limit: locks.past_limit,
    }))
}

/// See [`claimd_core::Store::fail_attempt`].
pub(super) async fn fail(
    conn: &mut Conn,
    ticket: &AttemptTicket,
    policy: &LockoutPolicy,
    now: Millis,
) -> Result<Vec<Lockout>, StoreError> {
    // Attempts on one key are decided one after another, on every replica.
    let names: Vec<String> = ticket
        .rows
        .iter()
        .map(|(key, _)| key)
        .map(|k| k.stored())
        .collect();
    super::db::lock(conn, &names).await?;
    let mut locks = Vec::new();
    for (key, row) in &ticket.rows {
        let stored = key.stored();
        sqlx::query("UPDATE attempt_failures SET pending = 0, at = $1 WHERE id = $2 AND key = $3")
            .bind(now)
            .bind(row)
            .bind(&stored)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        let failures: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM attempt_failures WHERE key = $1 AND pending = 0",
        )
        .bind(&stored)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        let until = (failures >= i64::from(key.limit(policy)))
            .then(|| now.saturating_add(millis(key.lock_for(policy))));
        if key.is_account() {
            let streak: i64 = sqlx::query_scalar(
                "INSERT INTO attempt_streaks (key, failures) VALUES ($1, 1)
                 ON CONFLICT (key) DO UPDATE SET failures = attempt_streaks.failures + 1
                 RETURNING failures",
            )
            .bind(&stored)
            .fetch_one(&mut *conn)
            .await
            .map_err(store_error)?;
            // The consecutive limit is the streak itself, not a lock row: a reset with the
            // mailed code still gets through it, under the windowed limits. Reported once.
            if streak == i64::from(policy.account_consecutive_limit) {
                locks.push(Lockout {
                    key: key.clone(),
                    until: Millis::MAX,
                });
            }
        }
        let Some(until) = until else { continue };
        sqlx::query(
            "INSERT INTO lockouts (key, until) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET until =
                 CASE WHEN excluded.until > lockouts.until THEN excluded.until ELSE lockouts.until END",
        )
        .bind(&stored)
        .bind(until)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
        // The lock replaces the count: once it ends, counting starts afresh. Attempts still
        // in flight stay; if they fail too, they count after it.
        sqlx::query("DELETE FROM attempt_failures WHERE key = $1 AND pending = 0")
            .bind(&stored)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        locks.push(Lockout {
            key: key.clone(),
            until,
        });
    }
    Ok(locks)
}

/// See [`claimd_core::Store::give_back`].
pub(super) async fn give_back(
    conn: &mut Conn,
    ticket: &AttemptTicket,
    clear_accounts: bool,
) -> Result<(), StoreError> {
    // Attempts on one key are decided one after another, on every replica.
    let names: Vec<String> = ticket
        .rows
        .iter()
        .map(|(key, _)| key)
        .map(|k| k.stored())
        .collect();
    super::db::lock(conn, &names).await?;
    for (key, row) in &ticket.rows {
        sqlx::query("DELETE FROM attempt_failures WHERE id = $1 AND key = $2")
            .bind(row)
            .bind(key.stored())
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        if clear_accounts && key.cleared_by_proof() {
            clear(conn, key).await?;
        }
    }
    Ok(())
}

pub(super) async fn clear(conn: &mut Conn, key: &AttemptKey) -> Result<(), StoreError> {
    super::db::lock(conn, &[key.stored()]).await?;
    let stored = key.stored();
    sqlx::query("DELETE FROM attempt_failures WHERE key = $1 AND pending = 0")
        .bind(&stored)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query("DELETE FROM attempt_streaks WHERE key = $1")
        .bind(&stored)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

//! What administrators do by hand: unlock, release a stuck claim, retry now, read the audit.

use super::db::{Conn, Pool};
use claimd_core::{
    EmployeeId, OperationId, StoreError,
    store::{AttemptKey, AuditRow, Millis},
};

use crate::error::store_error;

/// Lifts every key's lock, all locked first in the one order attempts take them.
pub(super) async fn unlock_all(conn: &mut Conn, keys: &[AttemptKey]) -> Result<bool, StoreError> {
    let names: Vec<String> = keys.iter().map(AttemptKey::stored).collect();
    super::db::lock(conn, &names).await?;
    let mut lifted = false;
    for key in keys {
        lifted |= unlock(conn, key).await?;
    }
    Ok(lifted)
}

pub(super) async fn unlock(conn: &mut Conn, key: &AttemptKey) -> Result<bool, StoreError> {
    // Decided like an attempt on the key: a failure being recorded finishes first.
    super::db::lock(conn, &[key.stored()]).await?;
    let stored = key.stored();
    let mut touched = 0;
    for sql in [
        "DELETE FROM lockouts WHERE key = $1",
        "DELETE FROM attempt_failures WHERE key = $1",
        "DELETE FROM attempt_streaks WHERE key = $1",
    ] {
        touched += sqlx::query(sql)
            .bind(&stored)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?
            .rows_affected();
    }
    Ok(touched > 0)
}

/// Fails the pending claim's job and operation and rejects the claim, inside the caller's
/// transaction. A worker holding the job is fenced: its finish finds the job no longer queued.
pub(super) async fn release_pending_claim(
    conn: &mut Conn,
    employee_id: EmployeeId,
    reason: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    // The pending claim's queued job is failed first, in one statement: the same row, and
    // the same order (job, operation, claim), a finishing worker takes, so whichever commits
    // first wins and the other changes nothing. A claim the worker has just made active is
    // not released (its job is done, so no row matches).
    let claims: Vec<String> = sqlx::query_scalar(
        "UPDATE directory_jobs SET state = 'failed', sealed_password = NULL, lease_owner = NULL,
             lease_until = NULL, last_error = $2, updated_at = $3
         WHERE state = 'queued' AND claim_id IN (
             SELECT id FROM claims WHERE employee_id = $1 AND state = 'pending')
         RETURNING claim_id",
    )
    .bind(i64::from(employee_id.get()))
    .bind(reason)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    let Some(claim) = claims.into_iter().next() else {
        return Ok(false);
    };
    for sql in [
        "UPDATE operations SET state = 'failed', reason = $1, updated_at = $2
         WHERE state = 'pending' AND id IN (SELECT id FROM directory_jobs WHERE claim_id = $3)",
        "UPDATE claims SET state = 'rejected', reason = $1, updated_at = $2 WHERE id = $3 AND state = 'pending'",
    ] {
        sqlx::query(sql)
            .bind(reason)
            .bind(now)
            .bind(&claim)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    sqlx::query("DELETE FROM challenge_answers WHERE claim_id = $1")
        .bind(&claim)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(true)
}

pub(super) async fn retry_now(
    conn: &mut Conn,
    id: OperationId,
    now: Millis,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE directory_jobs SET next_attempt_at = $1, updated_at = $2
         WHERE id = $3 AND state = 'queued' AND (lease_until IS NULL OR lease_until <= $4)",
    )
    .bind(now)
    .bind(now)
    .bind(id.to_string())
    .bind(now)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}

type Row = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

pub(super) async fn audit_rows(
    pool: &Pool,
    employee_id: Option<EmployeeId>,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT at, action, employee_id, username, client, actor, outcome, reason FROM audit_log
         WHERE $1 IS NULL OR employee_id = $1
         ORDER BY id DESC LIMIT $2",
    )
    .bind(employee_id.map(|id| i64::from(id.get())))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    Ok(rows
        .into_iter()
        .map(
            |(at, action, employee_id, username, client, actor, outcome, reason)| AuditRow {
                at,
                action,
                employee_id: employee_id.and_then(|id| u32::try_from(id).ok()),
                username,
                client,
                actor,
                outcome,
                reason,
            },
        )
        .collect())
}

/// Records the seal key's fingerprint on the first start; afterwards, whether it is the same.
pub(super) async fn seal_key_matches(
    pool: &Pool,
    fingerprint: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    sqlx::query(
        "INSERT INTO seal_key (id, fingerprint, created_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(fingerprint)
    .bind(now)
    .execute(pool)
    .await
    .map_err(store_error)?;
    let (recorded,): (String,) = sqlx::query_as("SELECT fingerprint FROM seal_key WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(store_error)?;
    Ok(recorded == fingerprint)
}

//! One-time codes, stored as keyed hashes: claim codes (one per employee, replaced when
//! reissued, used once) and Forgot My Password's verification codes (a few live per account,
//! each used once, gone after ten minutes).

use super::db::{Conn, Pool};
use claimd_core::{
    EmployeeId, RosterEntry, StoreError, Username,
    codes::CodeQuota,
    mail::Mail,
    store::{AuditEvent, IssuedCode, Millis},
};

use crate::error::store_error;

/// Active entries without a live claim whose code is missing or used (a rehire's), after
/// `after`, in ID order.
pub(super) async fn needing(
    pool: &Pool,
    after: u32,
    limit: u32,
) -> Result<Vec<RosterEntry>, StoreError> {
    let rows: Vec<super::roster::IdRow> = sqlx::query_as(
        "SELECT r.employee_id, r.last_name, r.first_name, r.email, r.status, r.personal_email,
                r.site
         FROM roster r
         LEFT JOIN claim_codes k ON k.employee_id = r.employee_id
         WHERE r.status = 'active' AND r.employee_id > $1
           AND (k.employee_id IS NULL OR k.used_at IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM claims c
                           WHERE c.employee_id = r.employee_id AND c.state <> 'rejected')
         ORDER BY r.employee_id LIMIT $2",
    )
    .bind(i64::from(after))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    rows.into_iter()
        .map(super::roster::entry_from_id_row)
        .collect()
}

/// Stores the codes (each replacing its employee's earlier one), queues their mail and
/// records their audit rows.
pub(super) async fn issue(
    conn: &mut Conn,
    codes: &[IssuedCode],
    now: Millis,
) -> Result<usize, StoreError> {
    let mut stored = 0;
    for code in codes {
        // Taken as a claim takes it, and checked again inside: a person who claimed since
        // the code was drawn gets none (a live code beside a pending claim could claim again
        // if the directory refused that one).
        let id = i64::from(code.employee_id.get());
        super::db::lock(conn, &[format!("employee:{id}")]).await?;
        let claimable: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM roster r WHERE r.employee_id = $1 AND r.status = 'active'
                 AND NOT EXISTS (SELECT 1 FROM claims c
                                 WHERE c.employee_id = r.employee_id AND c.state <> 'rejected'))",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        if !claimable {
            continue;
        }
        stored += 1;
        sqlx::query(
            "INSERT INTO claim_codes (employee_id, hash, issued_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, NULL)
             ON CONFLICT (employee_id) DO UPDATE SET hash = excluded.hash,
                 issued_at = excluded.issued_at, expires_at = excluded.expires_at, used_at = NULL",
        )
        .bind(i64::from(code.employee_id.get()))
        .bind(&code.hash)
        .bind(now)
        .bind(code.expires_at)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
        if let Some(mail) = &code.mail {
            super::mail::enqueue(conn, mail, now).await?;
        }
        super::audit::insert(conn, &code.audit).await?;
    }
    Ok(stored)
}

/// Whether `hash` is the employee's code, unused and unexpired.
pub(super) async fn live(
    pool: &Pool,
    id: EmployeeId,
    hash: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM claim_codes WHERE employee_id = $1 AND hash = $2
                        AND used_at IS NULL AND expires_at > $3)",
    )
    .bind(i64::from(id.get()))
    .bind(hash)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(store_error)
}

/// Uses the employee's code up, inside the claim's transaction: false when `hash` is not
/// (or no longer) live, and nothing is to be written.
pub(super) async fn use_up(
    conn: &mut Conn,
    id: EmployeeId,
    hash: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let used = sqlx::query(
        "UPDATE claim_codes SET used_at = $1
         WHERE employee_id = $2 AND hash = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(i64::from(id.get()))
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(used.rows_affected() == 1)
}

/// Adds a verification code and queues its mail, unless `quota` says no: the account
/// already has as many live codes as it allows, has been sent as many in a day, or has an
/// unused one younger than its resend time.
pub(super) async fn add_verification(
    conn: &mut Conn,
    username: &Username,
    hash: &str,
    expires_at: Millis,
    mail: &Mail,
    audit: &AuditEvent,
    quota: &CodeQuota,
) -> Result<bool, StoreError> {
    const DAY: Millis = 86_400_000;
    let now = audit.at;
    super::db::lock(conn, &[format!("verification:{username}")]).await?;
    sqlx::query("DELETE FROM verification_codes WHERE username = $1 AND created_at <= $2")
        .bind(username.as_str())
        .bind(now - DAY)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    let (live, fresh, today): (i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN used_at IS NULL AND expires_at > $2 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN used_at IS NULL AND expires_at > $2 AND created_at > $3
                             THEN 1 ELSE 0 END), 0),
                COUNT(*)
         FROM verification_codes WHERE username = $1",
    )
    .bind(username.as_str())
    .bind(now)
    .bind(now - i64::try_from(quota.resend_after.as_millis()).unwrap_or(i64::MAX))
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    // An unused code sent moments ago is on its way: asking again (or the page drawn again
    // after a refused step) sends nothing new.
    if fresh > 0 || live >= i64::from(quota.live) || today >= i64::from(quota.per_day) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO verification_codes (id, username, hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(username.as_str())
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    super::mail::enqueue(conn, mail, now).await?;
    super::audit::insert(conn, audit).await?;
    Ok(true)
}

/// Whether `hash` is a live code of the account (read only: every reset asks, whatever the
/// name and the answers, so the question costs the same for all).
pub(super) async fn verification_live(
    pool: &Pool,
    username: &Username,
    hash: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM verification_codes WHERE username = $1 AND hash = $2
                        AND used_at IS NULL AND expires_at > $3)",
    )
    .bind(username.as_str())
    .bind(hash)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(store_error)
}

/// Uses up a live verification code of the account: true when `hash` was one.
pub(super) async fn take_verification(
    pool: &Pool,
    username: &Username,
    hash: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "UPDATE verification_codes SET used_at = $3
         WHERE username = $1 AND hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(username.as_str())
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(taken.rows_affected() >= 1)
}

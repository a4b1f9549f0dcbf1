//! Active claims as accounts: lookups for the recovery flows, new passwords, new answers.

use claimd_core::{
    Account, Email, EmployeeId, PersonName, StoreError, Username,
    store::{ClaimedAccount, NewPasswordJob, StoredAnswer},
};
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{corrupt, store_error};

/// Why an older password job was dropped for a newer one.
const SUPERSEDED: &str = "replaced by a newer password request";

/// `claim id, username, employee_id, last_name, first_name, email` of an active claim.
type AccountRow = (String, String, i64, String, String, String);

const ACCOUNT_SELECT: &str =
    "SELECT c.id, c.username, r.employee_id, r.last_name, r.first_name, r.email
     FROM claims c JOIN roster r ON r.employee_id = c.employee_id
     WHERE c.state = 'active'";

fn account((_, username, id, last, first, email): &AccountRow) -> Result<Account, StoreError> {
    Ok(Account {
        username: Username::parse(username).map_err(|_| corrupt("claims.username"))?,
        employee_id: u32::try_from(*id)
            .ok()
            .and_then(EmployeeId::new)
            .ok_or_else(|| corrupt("roster.employee_id"))?,
        first_name: PersonName::parse(first).map_err(|_| corrupt("roster.first_name"))?,
        last_name: PersonName::parse(last).map_err(|_| corrupt("roster.last_name"))?,
        email: Email::parse(email).map_err(|_| corrupt("roster.email"))?,
    })
}

pub(super) async fn by_username(
    pool: &SqlitePool,
    username: &Username,
) -> Result<Option<ClaimedAccount>, StoreError> {
    let row: Option<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ACCOUNT_SELECT} AND c.username = ?"
    )))
    .bind(username.as_str())
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let answers: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT question_id, question_text, answer_hash FROM challenge_answers WHERE claim_id = ? ORDER BY position",
    )
    .bind(&row.0)
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    Ok(Some(ClaimedAccount {
        account: account(&row)?,
        claim_id: row.0,
        answers: answers
            .into_iter()
            .map(|(question_id, question_text, hash)| StoredAnswer {
                question_id,
                question_text,
                hash,
            })
            .collect(),
    }))
}

pub(super) async fn by_email(pool: &SqlitePool, email: &Email) -> Result<Vec<Account>, StoreError> {
    let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ACCOUNT_SELECT} AND r.email = ? ORDER BY c.username"
    )))
    .bind(email.as_str())
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(account).collect()
}

/// Queues a password job inside the caller's transaction. Older password jobs of the claim
/// that no worker holds are failed as superseded, so an older password can never land after
/// a newer one; one a worker holds finishes first (jobs of a claim are leased in order).
pub(super) async fn insert_password_job(
    conn: &mut SqliteConnection,
    new: &NewPasswordJob,
) -> Result<(), StoreError> {
    let now = new.now;
    let superseded: Vec<String> = sqlx::query_scalar(
        "UPDATE directory_jobs
         SET state = 'failed', sealed_password = NULL, last_error = ?, updated_at = ?
         WHERE claim_id = ? AND kind <> 'provision' AND state = 'queued'
           AND (lease_until IS NULL OR lease_until <= ?)
         RETURNING id",
    )
    .bind(SUPERSEDED)
    .bind(now)
    .bind(&new.claim_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    for id in superseded {
        sqlx::query(
            "UPDATE operations SET state = 'failed', reason = ?, updated_at = ? WHERE id = ?",
        )
        .bind(SUPERSEDED)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    super::jobs::queue(conn, &new.job, &new.claim_id, &new.sealed_password, now).await
}

pub(super) async fn replace_answers(
    conn: &mut SqliteConnection,
    claim_id: &str,
    answers: &[StoredAnswer],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM challenge_answers WHERE claim_id = ?")
        .bind(claim_id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    super::claims::insert_answers(conn, claim_id, answers).await
}

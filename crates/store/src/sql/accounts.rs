//! Active claims as accounts: lookups for the recovery flows, new passwords, new answers.

use super::db::{Conn, Pool};
use claimd_core::{
    Account, Email, EmployeeId, PersonName, StoreError, Username,
    store::{ClaimedAccount, NewAccountJob, StoredAnswer},
};

use crate::error::{corrupt, store_error};

/// Why an older password job was dropped for a newer one.
use claimd_core::store::SUPERSEDED_REASON as SUPERSEDED;

/// `claim id, username, employee_id, last_name, first_name, email` of an active claim.
pub(super) type AccountRow = (String, String, i64, String, String, String);

pub(super) const ACCOUNT_SELECT: &str =
    "SELECT c.id, c.username, r.employee_id, r.last_name, r.first_name, r.email
     FROM claims c JOIN roster r ON r.employee_id = c.employee_id
     WHERE c.state = 'active' AND r.status = 'active'";

pub(super) fn account(
    (_, username, id, last, first, email): &AccountRow,
) -> Result<Account, StoreError> {
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

/// One query for the account and its answers, so a known username costs the store the same
/// round trip as an unknown one (the recovery flows must not differ in time).
pub(super) async fn by_username(
    pool: &Pool,
    username: &Username,
) -> Result<Option<ClaimedAccount>, StoreError> {
    type Row = (
        String,
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.username, r.employee_id, r.last_name, r.first_name, r.email,
                a.question_id, a.question_text, a.answer_hash, r.personal_email,
                c.directory_entry
         FROM claims c
         JOIN roster r ON r.employee_id = c.employee_id
         LEFT JOIN challenge_answers a ON a.claim_id = c.id
         WHERE c.state = 'active' AND r.status = 'active' AND c.username = $1
         ORDER BY a.position",
    )
    .bind(username.as_str())
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let head: AccountRow = (
        first.0.clone(),
        first.1.clone(),
        first.2,
        first.3.clone(),
        first.4.clone(),
        first.5.clone(),
    );
    let personal_email = first
        .9
        .as_deref()
        .map(|p| Email::parse(p).map_err(|_| corrupt("roster.personal_email")))
        .transpose()?;
    let entry = first.10.clone();
    let answers = rows
        .into_iter()
        .filter_map(|row| match (row.6, row.7, row.8) {
            (Some(question_id), Some(question_text), Some(hash)) => Some(StoredAnswer {
                question_id,
                question_text,
                hash,
            }),
            _ => None,
        })
        .collect();
    Ok(Some(ClaimedAccount {
        account: account(&head)?,
        claim_id: head.0,
        answers,
        personal_email,
        entry,
    }))
}

/// See [`claimd_core::store::ClaimStore::answered_questions`].
pub(super) async fn answered_questions(
    pool: &Pool,
) -> Result<Vec<claimd_core::Question>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT a.question_id, a.question_text
         FROM challenge_answers a JOIN claims c ON c.id = a.claim_id
         WHERE c.state = 'active'
         ORDER BY a.question_id, a.question_text",
    )
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    Ok(rows
        .into_iter()
        .map(|(id, text)| claimd_core::Question { id, text })
        .collect())
}

pub(super) async fn by_email(pool: &Pool, email: &Email) -> Result<Vec<Account>, StoreError> {
    let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ACCOUNT_SELECT} AND r.email = $1 ORDER BY c.username"
    )))
    .bind(email.as_str())
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(account).collect()
}

/// Queues a password job inside the caller's transaction, unless the account is no longer
/// managed (the claim released, the person terminated): false then. Older password jobs of the claim
/// that no worker holds are failed as superseded, so an older password can never land after
/// a newer one; one a worker holds finishes first (jobs of a claim are leased in order).
pub(super) async fn insert_account_job(
    conn: &mut Conn,
    new: &NewAccountJob,
) -> Result<bool, StoreError> {
    // One new password of an account at a time (its place in the account's sequence), and
    // none while an import may be ending the claim.
    super::db::share_roster(conn).await?;
    super::db::lock(conn, &[format!("claim:{}", new.claim_id)]).await?;
    let now = new.now;
    // The person may have left since the flow looked the account up: a leaver's account takes
    // no new password (and their disable must stay queued).
    let managed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM claims c JOIN roster r ON r.employee_id = c.employee_id
                        WHERE c.id = $1 AND c.state = 'active' AND r.status = 'active')",
    )
    .bind(&new.claim_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    if !managed {
        return Ok(false);
    }
    if !new.job.kind.carries_password() {
        super::jobs::queue(conn, &new.job, &new.claim_id, &new.sealed_password, now).await?;
        return Ok(true);
    }
    let superseded: Vec<String> = sqlx::query_scalar(
        "UPDATE directory_jobs
         SET state = 'failed', sealed_password = NULL, last_error = $1, updated_at = $2
         WHERE claim_id = $3 AND kind IN ('reset_password', 'change_password', 'temporary_password') AND state = 'queued'
           AND (lease_until IS NULL OR lease_until <= $4)
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
            "UPDATE operations SET state = 'failed', reason = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(SUPERSEDED)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    super::jobs::queue(conn, &new.job, &new.claim_id, &new.sealed_password, now).await?;
    Ok(true)
}

pub(super) async fn replace_answers(
    conn: &mut Conn,
    claim_id: &str,
    answers: &[StoredAnswer],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM challenge_answers WHERE claim_id = $1")
        .bind(claim_id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    super::claims::insert_answers(conn, claim_id, answers).await
}

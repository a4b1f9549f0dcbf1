//! Claims and their answers.

use super::db::{Conn, Pool};
use claimd_core::{
    DirectoryJob, EmployeeId, StoreError,
    store::{ClaimInsert, ClaimState, NewClaim, StoredAnswer},
};

use crate::error::{corrupt, store_error};

pub(super) async fn live_state(
    pool: &Pool,
    id: EmployeeId,
) -> Result<Option<ClaimState>, StoreError> {
    let state: Option<String> = sqlx::query_scalar(
        "SELECT state FROM claims WHERE employee_id = $1 AND state <> 'rejected'",
    )
    .bind(i64::from(id.get()))
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    state
        .map(|s| ClaimState::parse(&s).ok_or_else(|| corrupt("claims.state")))
        .transpose()
}

/// Writes the claim, its answers, its operation, its job and its audit row, unless a live
/// claim of the same employee or username exists. Runs inside the caller's write transaction.
pub(super) async fn insert(conn: &mut Conn, claim: &NewClaim) -> Result<ClaimInsert, StoreError> {
    // One claim of a person (or username) at a time, and none while an import changes who
    // is on the roster.
    super::db::share_roster(conn).await?;
    let account = &claim.job.account;
    super::db::lock(
        conn,
        &[
            format!("employee:{}", account.employee_id.get()),
            format!("username:{}", account.username.as_str()),
        ],
    )
    .await?;
    let account = &claim.job.account;
    let employee_id = i64::from(account.employee_id.get());
    let username = account.username.as_str();
    let live: Option<String> = sqlx::query_scalar(
        "SELECT state FROM claims WHERE (employee_id = $1 OR username = $2) AND state <> 'rejected' LIMIT 1",
    )
    .bind(employee_id)
    .bind(username)
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    if let Some(state) = live {
        let state = ClaimState::parse(&state).ok_or_else(|| corrupt("claims.state"))?;
        return Ok(ClaimInsert::Exists(state));
    }
    // A roster import may have terminated the person since the flow matched the names.
    let active: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM roster WHERE employee_id = $1 AND status = 'active')",
    )
    .bind(employee_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    if !active {
        return Ok(ClaimInsert::NotClaimable);
    }
    if let Some(code) = &claim.claim_code
        && !super::codes::use_up(conn, account.employee_id, code, claim.now).await?
    {
        return Ok(ClaimInsert::CodeRefused);
    }

    let id = claim.job.id.to_string();
    let now = claim.now;
    sqlx::query(
        "INSERT INTO claims (id, employee_id, username, state, created_at, updated_at)
         VALUES ($1, $2, $3, 'pending', $4, $5)",
    )
    .bind(&id)
    .bind(employee_id)
    .bind(username)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    insert_answers(conn, &id, &claim.answers).await?;
    // A rehire: claimd disabled this person's account when they left, so it is theirs.
    let rehire: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM directory_jobs d JOIN claims c ON c.id = d.claim_id
                        WHERE c.employee_id = $1 AND c.username = $2
                          AND d.kind = 'disable_account' AND d.state = 'done')",
    )
    .bind(employee_id)
    .bind(username)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    let job = DirectoryJob {
        rehire,
        entry: None,
        ..claim.job.clone()
    };
    super::jobs::queue(conn, &job, &id, &claim.sealed_password, now).await?;
    super::audit::insert(conn, &claim.audit).await?;
    Ok(ClaimInsert::Created)
}

pub(super) async fn insert_answers(
    conn: &mut Conn,
    claim_id: &str,
    answers: &[StoredAnswer],
) -> Result<(), StoreError> {
    for (position, answer) in answers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO challenge_answers (claim_id, position, question_id, question_text, answer_hash)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(claim_id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&answer.question_id)
        .bind(&answer.question_text)
        .bind(&answer.hash)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    Ok(())
}

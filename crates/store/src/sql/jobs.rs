//! The directory job queue and the operations it completes.

use std::time::Duration;

use super::db::{Conn, Pool};
use claimd_core::{
    DirectoryJob, JobKind, Operation, OperationId, OperationState, StoreError,
    mail::Mail,
    store::{
        AuditEvent, EndedJob, JobOutcome, LEFT_REASON, LeaseCheck, LeasedJob, Millis,
        SUPERSEDED_REASON,
    },
};

use crate::{
    account_json,
    error::{corrupt, store_error},
};

/// What a pending operation's reason says while its job waits to be retried. The job's own
/// error stays in the store and the log: it may name servers and is not for callers.
const RETRY_REASON: &str = claimd_core::reasons::RETRYING;

pub(super) async fn operation(
    pool: &Pool,
    id: OperationId,
) -> Result<Option<Operation>, StoreError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT state, reason FROM operations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(store_error)?;
    row.map(|(state, reason)| {
        Ok(Operation {
            id,
            state: OperationState::parse(&state).ok_or_else(|| corrupt("operations.state"))?,
            reason,
        })
    })
    .transpose()
}

/// `id, kind, account, sealed_password, attempts, created_at, rehire, entry` of a leased job.
type LeasedRow = (
    String,
    String,
    String,
    Option<Vec<u8>>,
    i64,
    i64,
    bool,
    Option<String>,
);

/// Takes the `max` oldest due jobs whose lease is free or has expired, in one statement, so
/// two workers can never hold the same job.
pub(super) async fn lease(
    pool: &Pool,
    owner: &str,
    lease_for: Duration,
    now: Millis,
    max: usize,
) -> Result<Vec<LeasedJob>, StoreError> {
    let lease_until = now.saturating_add(i64::try_from(lease_for.as_millis()).unwrap_or(i64::MAX));
    let rows: Vec<LeasedRow> = sqlx::query_as(
        sqlx::AssertSqlSafe(format!(
        "UPDATE directory_jobs
         SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
         WHERE id IN (
             SELECT j.id FROM directory_jobs j
             WHERE j.state = 'queued' AND j.next_attempt_at <= $3
               AND (j.lease_until IS NULL OR j.lease_until <= $3)
               -- One employee's jobs go in order, across claims (a leaver's disable before a
               -- rehire's provision): never pass an older one still queued.
               AND NOT EXISTS (
                   SELECT 1 FROM claims oc JOIN directory_jobs o ON o.claim_id = oc.id
                   WHERE oc.employee_id = (SELECT c.employee_id FROM claims c WHERE c.id = j.claim_id)
                     AND o.state = 'queued' AND o.created_at < j.created_at)
             ORDER BY j.next_attempt_at, j.created_at
             LIMIT $4 {take})
         RETURNING id, kind, account, sealed_password, attempts, created_at, rehire,
             (SELECT c.directory_entry FROM claims c WHERE c.id = directory_jobs.claim_id)",
        take = super::db::TAKE_ROW
    )),
    )
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(i64::try_from(max).unwrap_or(1))
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    let mut leased = rows
        .into_iter()
        .map(
            |(id, kind, account, sealed, attempts, queued_at, rehire, entry)| {
                Ok(LeasedJob {
                    job: DirectoryJob {
                        id: OperationId::parse(&id).map_err(|_| corrupt("directory_jobs.id"))?,
                        kind: JobKind::parse(&kind)
                            .ok_or_else(|| corrupt("directory_jobs.kind"))?,
                        account: account_json::from_json(&account)?,
                        rehire,
                        entry,
                    },
                    sealed_password: sealed.unwrap_or_default(),
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    lease_owner: owner.to_owned(),
                    queued_at,
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    // In queue order (RETURNING's order is the database's).
    leased.sort_by_key(|job| job.queued_at);
    Ok(leased)
}

/// Whether `job` may be written now: still held by its owner within the lease, and (for a
/// password) with no later job that sets the account's password (a reset, a change, a
/// leaver's disable).
pub(super) async fn confirm(
    pool: &Pool,
    jobs: &[LeasedJob],
    now: Millis,
) -> Result<Vec<LeaseCheck>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
        "SELECT j.id, COALESCE(j.state = 'queued' AND j.lease_owner = ",
    );
    // One owner leases a batch: the first job's owner stands for all.
    query.push_bind(jobs[0].lease_owner.clone());
    query.push(" AND j.lease_until > ");
    query.push_bind(now);
    query.push(
        ", FALSE),
                EXISTS (SELECT 1 FROM directory_jobs n
                        WHERE n.claim_id = j.claim_id AND n.account_seq > j.account_seq
                          AND n.kind IN ('reset_password', 'change_password', 'temporary_password')),
                EXISTS (SELECT 1 FROM directory_jobs n
                        WHERE n.claim_id = j.claim_id AND n.account_seq > j.account_seq
                          AND n.kind = 'disable_account')
         FROM directory_jobs j WHERE j.id",
    );
    crate::sql::push_in(&mut query, jobs.iter().map(|job| job.job.id.to_string()));
    let rows: Vec<(String, bool, bool, bool)> = query
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    let found: std::collections::HashMap<String, (bool, bool, bool)> = rows
        .into_iter()
        .map(|(id, held, newer, left)| (id, (held, newer, left)))
        .collect();
    Ok(jobs
        .iter()
        .map(|job| {
            let password = job.job.kind.carries_password();
            let same_owner = job.lease_owner == jobs[0].lease_owner;
            match found.get(&job.job.id.to_string()) {
                // A leaver's disable says more than a newer request: the person has left.
                Some((true, _, true)) if same_owner && password => {
                    LeaseCheck::Superseded(LEFT_REASON)
                }
                Some((true, true, _)) if same_owner && password => {
                    LeaseCheck::Superseded(SUPERSEDED_REASON)
                }
                Some((true, _, _)) if same_owner => LeaseCheck::Held,
                _ => LeaseCheck::Lost,
            }
        })
        .collect())
}

/// Ends the succeeded jobs of one worker's batch in a few statements (a statement per job
/// and table made the batch's commit most of the worker's bookkeeping): the jobs still held,
/// their operations and, for provisions, their claims. Which of `jobs` were still held.
pub(super) async fn finish_succeeded(
    conn: &mut Conn,
    jobs: &[&LeasedJob],
    now: Millis,
) -> Result<Vec<bool>, StoreError> {
    let ids: Vec<String> = jobs.iter().map(|job| job.job.id.to_string()).collect();
    // A batch has one owner; grouped all the same, should a caller mix them. A job whose
    // lease passed to another is left out by the owner test.
    let mut owners: Vec<&str> = jobs.iter().map(|job| job.lease_owner.as_str()).collect();
    owners.sort_unstable();
    owners.dedup();
    let mut held = std::collections::HashSet::new();
    for owner in owners {
        let mine: Vec<String> = jobs
            .iter()
            .filter(|job| job.lease_owner == owner)
            .map(|job| job.job.id.to_string())
            .collect();
        let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
            "UPDATE directory_jobs
             SET state = 'done', sealed_password = NULL, lease_owner = NULL, lease_until = NULL,
                 last_error = NULL, updated_at = ",
        );
        query.push_bind(now);
        query.push(" WHERE state = 'queued' AND lease_owner = ");
        query.push_bind(owner.to_owned());
        query.push(" AND id");
        crate::sql::push_in(&mut query, mine);
        query.push(" RETURNING id");
        let returned: Vec<String> = query
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(store_error)?;
        held.extend(returned);
    }
    let done: Vec<String> = ids
        .iter()
        .filter(|id| held.contains(*id))
        .cloned()
        .collect();
    if !done.is_empty() {
        let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
            "UPDATE operations SET state = 'succeeded', reason = NULL, updated_at = ",
        );
        query.push_bind(now);
        query.push(" WHERE id");
        crate::sql::push_in(&mut query, done);
        query
            .build()
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        // A provision settles a pending claim only: one released meanwhile stays released.
        let provisions: Vec<String> = jobs
            .iter()
            .filter(|job| job.job.kind == JobKind::Provision)
            .map(|job| job.job.id.to_string())
            .filter(|id| held.contains(id))
            .collect();
        if !provisions.is_empty() {
            let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
                "UPDATE claims SET state = 'active', reason = NULL, updated_at = ",
            );
            query.push_bind(now);
            query.push(
                " WHERE state = 'pending' AND id IN (SELECT claim_id FROM directory_jobs WHERE id",
            );
            crate::sql::push_in(&mut query, provisions);
            query.push(")");
            query
                .build()
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
        }
    }
    Ok(ids.iter().map(|id| held.contains(id)).collect())
}

/// Records how a worker's jobs ended, inside the caller's transaction: the successes (nearly
/// all of a nightly queue) together, each failure alone with its reason and clean-up, then
/// the audit rows and mails of the jobs still held. Which of `ended` were still held.
pub(super) async fn finish_all(
    conn: &mut Conn,
    ended: &[EndedJob],
) -> Result<Vec<bool>, StoreError> {
    let now = ended.iter().map(|end| end.audit.at).max().unwrap_or(0);
    let succeeded: Vec<&LeasedJob> = ended
        .iter()
        .filter(|end| end.outcome == JobOutcome::Succeeded)
        .map(|end| &end.job)
        .collect();
    let mut held = finish_succeeded(conn, &succeeded, now).await?.into_iter();
    let mut recorded = Vec::with_capacity(ended.len());
    for end in ended {
        let kept = match &end.outcome {
            JobOutcome::Succeeded => held.next().unwrap_or(false),
            JobOutcome::Failed { reason } => fail(conn, &end.job, reason, end.audit.at).await?,
        };
        recorded.push(kept);
    }
    let kept: Vec<&EndedJob> = ended
        .iter()
        .zip(&recorded)
        .filter(|(_, kept)| **kept)
        .map(|(end, _)| end)
        .collect();
    let audits: Vec<&AuditEvent> = kept.iter().map(|end| &end.audit).collect();
    super::audit::insert_all(conn, &audits).await?;
    let mails: Vec<&Mail> = kept.iter().filter_map(|end| end.mail.as_ref()).collect();
    super::mail::enqueue_all(conn, &mails, now).await?;
    Ok(recorded)
}

/// Ends a job held by `job.lease_owner` as failed: the job, its operation and, for a
/// provision, its claim (rejected, its answers deleted, so the person claims again). False
/// (and nothing written) when the lease is lost.
async fn fail(
    conn: &mut Conn,
    job: &LeasedJob,
    reason: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let id = job.job.id.to_string();
    let updated = sqlx::query(
        "UPDATE directory_jobs
         SET state = 'failed', sealed_password = NULL, lease_owner = NULL, lease_until = NULL,
             last_error = $1, updated_at = $2
         WHERE id = $3 AND state = 'queued' AND lease_owner = $4",
    )
    .bind(reason)
    .bind(now)
    .bind(&id)
    .bind(&job.lease_owner)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE operations SET state = 'failed', reason = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(reason)
    .bind(now)
    .bind(&id)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    // A provision settles a pending claim only: one released meanwhile (the person left)
    // stays released.
    if job.job.kind == JobKind::Provision {
        sqlx::query(
            "UPDATE claims SET state = 'rejected', reason = $1, updated_at = $2
             WHERE id = (SELECT claim_id FROM directory_jobs WHERE id = $3) AND state = 'pending'",
        )
        .bind(reason)
        .bind(now)
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
        // A rejected claim's answers protect nothing; the person claims again.
        sqlx::query(
            "DELETE FROM challenge_answers
             WHERE claim_id = (SELECT claim_id FROM directory_jobs WHERE id = $1)",
        )
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    Ok(true)
}

/// Queues a directory job and its pending operation inside the caller's transaction.
pub(super) async fn queue(
    conn: &mut Conn,
    job: &DirectoryJob,
    claim_id: &str,
    sealed_password: &[u8],
    now: Millis,
) -> Result<(), StoreError> {
    let id = job.id.to_string();
    sqlx::query("INSERT INTO operations (id, kind, state, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $4)")
        .bind(&id)
        .bind(job.kind.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO directory_jobs
             (id, kind, claim_id, account, sealed_password, state, next_attempt_at, created_at,
              updated_at, rehire, account_seq)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $6, $7,
                 (SELECT COALESCE(MAX(account_seq), 0) + 1 FROM directory_jobs WHERE claim_id = $3))",
    )
    .bind(&id)
    .bind(job.kind.as_str())
    .bind(claim_id)
    .bind(account_json::to_json(&job.account))
    .bind(sealed_password)
    .bind(now)
    .bind(job.rehire)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Gives a job back for another try at `retry_at`, held by nobody until `held_until` (a
/// lease with no owner: every statement that takes, supersedes or cancels a job leaves a
/// held one alone). False when the lease is lost.
/// Keeps the directory entry a claim is taking with the claim, while the job's lease is the
/// worker's: the claim's own retry knows the entry (and the password it set there) by it.
pub(super) async fn record_entry(
    pool: &Pool,
    job: &LeasedJob,
    entry: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE claims SET directory_entry = $1, updated_at = $2
         WHERE id = (SELECT j.claim_id FROM directory_jobs j
                     WHERE j.id = $3 AND j.state = 'queued' AND j.lease_owner = $4
                       AND j.lease_until > $2)",
    )
    .bind(entry)
    .bind(now)
    .bind(job.job.id.to_string())
    .bind(&job.lease_owner)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}

pub(super) async fn retry(
    pool: &Pool,
    job: &LeasedJob,
    retry_at: Millis,
    held_until: Option<Millis>,
    error: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let mut tx = super::db::begin(pool).await?;
    let id = job.job.id.to_string();
    let updated = sqlx::query(
        "UPDATE directory_jobs
         SET next_attempt_at = $1, lease_owner = NULL, lease_until = $6, last_error = $2, updated_at = $3
         WHERE id = $4 AND state = 'queued' AND lease_owner = $5",
    )
    .bind(retry_at)
    .bind(error)
    .bind(now)
    .bind(&id)
    .bind(&job.lease_owner)
    .bind(held_until)
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE operations SET reason = $1, updated_at = $2 WHERE id = $3 AND state = 'pending'",
    )
    .bind(RETRY_REASON)
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(true)
}

//! The SQLite store. Each concern's SQL lives in its own module; this one connects, migrates
//! and wires them to the [`Store`] trait.

mod accounts;
mod admin;
mod attempts;
mod claims;
mod jobs;
mod lifecycle;
mod mail;
mod roster;

use std::{fmt, str::FromStr, time::Duration};

use async_trait::async_trait;
use claimd_core::{
    Account, Email, EmployeeId, Operation, OperationId, RosterEntry, StoreError, Username,
    mail::{Mail, MailKind, QueuedMail},
    store::{
        AdminStore, AttemptKey, AttemptStore, AttemptTicket, AuditEvent, AuditRow, AuditStore,
        ClaimInsert, ClaimState, ClaimStore, ClaimedAccount, ImportOptions, ImportSummary,
        JobOutcome, JobStore, LeaseCheck, LeasedJob, Lockout, LockoutPolicy, Millis, NewClaim,
        NewPasswordJob, OutboxStore, QueueStats, Reservation, RosterStore, StoredAnswer,
    },
};
use sqlx::{
    Sqlite, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::error::store_error;

/// How long a writer waits for SQLite's lock before the call fails as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The store on one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://claimd.db`) and applies
    /// any pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal {
                reason: format!("store.url: {e}"),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an accepted claim survives a power cut, not only a crash of claimd.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Erased sealed passwords are overwritten on disk, not left in free pages.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(store_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal {
                reason: format!("migration failed: {e}"),
            })?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and admin tools that read rows directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction holding SQLite's write lock from the start, so two writers
    /// queue on `busy_timeout` instead of one failing when it upgrades a read lock.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)
    }
}

#[async_trait]
impl RosterStore for SqliteStore {
    async fn import_roster_with(
        &self,
        entries: &[RosterEntry],
        options: &ImportOptions,
        now: Millis,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.write().await?;
        let summary = lifecycle::import(&mut tx, entries, options, now).await?;
        if summary.applied {
            tx.commit().await.map_err(store_error)?;
        } else {
            tx.rollback().await.map_err(store_error)?;
        }
        Ok(summary)
    }

    async fn roster_entry(&self, id: EmployeeId) -> Result<Option<RosterEntry>, StoreError> {
        roster::entry(&self.pool, id).await
    }
}

#[async_trait]
impl ClaimStore for SqliteStore {
    async fn live_claim(&self, id: EmployeeId) -> Result<Option<ClaimState>, StoreError> {
        claims::live_state(&self.pool, id).await
    }

    async fn insert_claim(&self, claim: NewClaim) -> Result<ClaimInsert, StoreError> {
        let mut tx = self.write().await?;
        let outcome = claims::insert(&mut tx, &claim).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(outcome)
    }

    async fn claimed_account(
        &self,
        username: &Username,
    ) -> Result<Option<ClaimedAccount>, StoreError> {
        accounts::by_username(&self.pool, username).await
    }

    async fn claimed_accounts_by_email(&self, email: &Email) -> Result<Vec<Account>, StoreError> {
        accounts::by_email(&self.pool, email).await
    }

    async fn insert_password_job(&self, job: NewPasswordJob) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        if !accounts::insert_password_job(&mut tx, &job).await? {
            return Ok(false);
        }
        insert_audit(&mut tx, &job.audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn replace_answers(
        &self,
        claim_id: &str,
        answers: &[StoredAnswer],
        audit: AuditEvent,
        mail: Mail,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        accounts::replace_answers(&mut tx, claim_id, answers).await?;
        insert_audit(&mut tx, &audit).await?;
        mail::enqueue(&mut tx, &mail, audit.at).await?;
        tx.commit().await.map_err(store_error)
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn operation(&self, id: OperationId) -> Result<Option<Operation>, StoreError> {
        jobs::operation(&self.pool, id).await
    }

    async fn lease_job(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
    ) -> Result<Option<LeasedJob>, StoreError> {
        jobs::lease(&self.pool, owner, lease_for, now).await
    }

    async fn confirm_lease(&self, job: &LeasedJob, now: Millis) -> Result<LeaseCheck, StoreError> {
        jobs::confirm(&self.pool, job, now).await
    }

    async fn finish_job(
        &self,
        job: &LeasedJob,
        outcome: JobOutcome,
        audit: AuditEvent,
        mail: Option<Mail>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        if !jobs::finish(&mut tx, job, &outcome, audit.at).await? {
            return Ok(false);
        }
        insert_audit(&mut tx, &audit).await?;
        if let Some(mail) = &mail {
            mail::enqueue(&mut tx, mail, audit.at).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn retry_job(
        &self,
        job: &LeasedJob,
        retry_at: Millis,
        error: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        jobs::retry(&self.pool, job, retry_at, error, now).await
    }
}

#[async_trait]
impl AttemptStore for SqliteStore {
    async fn locked_until(
        &self,
        keys: &[AttemptKey],
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        attempts::locked_until(&self.pool, keys, now).await
    }

    async fn reserve_attempt(
        &self,
        keys: &[AttemptKey],
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Reservation, StoreError> {
        // A locked key is refused on a read, without the write lock: a locked-out script
        // calling in a loop must not queue every other writer behind it.
        if let Some(until) = attempts::locked_until(&self.pool, keys, now).await? {
            return Ok(Reservation::Locked { until });
        }
        let mut tx = self.write().await?;
        let reservation = attempts::reserve(&mut tx, keys, policy, now).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(reservation)
    }

    async fn fail_attempt(
        &self,
        ticket: &AttemptTicket,
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Vec<Lockout>, StoreError> {
        let mut tx = self.write().await?;
        let locks = attempts::fail(&mut tx, ticket, policy, now).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(locks)
    }

    async fn give_back(
        &self,
        ticket: &AttemptTicket,
        clear_accounts: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        attempts::give_back(&mut tx, ticket, clear_accounts).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn clear_failures(&self, key: &AttemptKey) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        attempts::clear(&mut tx, key).await?;
        tx.commit().await.map_err(store_error)
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue_mail(&self, mail: &Mail, audit: AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        mail::enqueue(&mut tx, mail, audit.at).await?;
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn mails_queued_since(
        &self,
        to: &Email,
        kind: MailKind,
        since: Millis,
    ) -> Result<u32, StoreError> {
        mail::queued_since(&self.pool, to, kind, since).await
    }

    async fn lease_mail(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
    ) -> Result<Option<QueuedMail>, StoreError> {
        mail::lease(&self.pool, owner, lease_for, now).await
    }

    async fn finish_mail(
        &self,
        mail: &QueuedMail,
        failure: Option<&str>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        mail::finish(&self.pool, mail, failure, now).await
    }

    async fn retry_mail(
        &self,
        mail: &QueuedMail,
        retry_at: Millis,
        error: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        mail::retry(&self.pool, mail, retry_at, error, now).await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        insert_audit(&mut conn, &event).await
    }

    async fn audit_rows(
        &self,
        employee_id: Option<EmployeeId>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        admin::audit_rows(&self.pool, employee_id, limit).await
    }
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let (jobs, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM directory_jobs WHERE state = 'queued'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        let mails: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(QueueStats {
            jobs_waiting: u64::try_from(jobs).unwrap_or(0),
            oldest_job_queued_at: oldest,
            mails_waiting: u64::try_from(mails).unwrap_or(0),
        })
    }

    async fn unlock(&self, key: &AttemptKey, audit: AuditEvent) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let lifted = admin::unlock(&mut tx, key).await?;
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(lifted)
    }

    async fn release_pending_claim(
        &self,
        employee_id: EmployeeId,
        reason: &str,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let released = admin::release_pending_claim(&mut tx, employee_id, reason, audit.at).await?;
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(released)
    }

    async fn retry_now(
        &self,
        id: OperationId,
        audit: AuditEvent,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let due = admin::retry_now(&mut tx, id, now).await?;
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(due)
    }
}

pub(crate) async fn insert_audit(
    conn: &mut sqlx::SqliteConnection,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, action, employee_id, username, client, outcome, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.at)
    .bind(event.action)
    .bind(event.employee_id.map(|id| i64::from(id.get())))
    .bind(event.username.as_ref().map(ToString::to_string))
    .bind(event.client.map(|ip| ip.to_string()))
    .bind(event.outcome)
    .bind(event.reason.as_deref())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

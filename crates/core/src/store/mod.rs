//! The store as the flows see it: the only state the service and the sync worker share.
//! It is split by role (roster, claims, codes, operations, jobs, attempts, outbox, audit,
//! admin): a backend implements the small traits, each caller takes the one it uses,
//! [`FlowStore`] is what the account flows hold and [`Store`] is all of them. `claimd-store`
//! implements them on SQLite and PostgreSQL; every method that changes more than one
//! row does so in one transaction.

/// Every role trait, for code that calls a concrete backend (tests, admin tools).
pub mod prelude {
    pub use super::{
        AdminStore, AttemptStore, AuditStore, ClaimStore, CodeStore, FlowStore, HelpdeskStore,
        JobStore, OperationStore, OutboxStore, ReminderStore, RosterStore, Store,
    };
}

mod attempts;
mod codes;
mod helpdesk;
mod records;
mod reminders;

use std::{fmt, time::Duration};

use async_trait::async_trait;

pub use attempts::{AttemptKey, AttemptTicket, Lockout, LockoutPolicy, Reservation};
pub use codes::CodeStore;
pub use helpdesk::{HelpdeskStore, HelperSession, SessionLimits};
pub use records::{
    AuditAction, AuditEvent, AuditOutcome, AuditRow, ClaimInsert, ClaimState, ClaimedAccount,
    EndedJob, ImportOptions, ImportSummary, IssuedCode, JobOutcome, LEFT_REASON, LeaseCheck,
    LeasedJob, NewAccountJob, NewClaim, PlannedChange, QueueStats, SUPERSEDED_REASON, StoredAnswer,
};
pub use reminders::{NewReminder, ReminderStore};

use crate::{
    Account, Email, EmployeeId, Operation, OperationId, RosterEntry, Username,
    mail::{Mail, MailKind, QueuedMail},
};

/// Unix time in milliseconds; how every time is stored.
pub type Millis = i64;

/// The current time as [`Millis`].
pub fn now_millis() -> Millis {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Why the store could not do what was asked. Never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is busy; the same call may succeed later.
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// What happened, for the log.
        reason: String,
    },
    /// Anything else: a bug, a corrupt row, a failed migration.
    #[error("store failure: {reason}")]
    Internal {
        /// What happened, for the log.
        reason: String,
    },
}

impl From<StoreError> for crate::Error {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store call failed");
        match error {
            StoreError::Unavailable { .. } => Self::Unavailable,
            StoreError::Internal { .. } => Self::Internal,
        }
    }
}

/// The persistent state of claimd, as one backend provides it: every role below. Callers
/// take the role they use (the directory worker a [`JobStore`], the mail sender an
/// [`OutboxStore`], the admin commands an [`AdminStore`], the reminder scan a
/// [`ReminderStore`], the helpdesk a [`HelpdeskStore`]); the account flows a [`FlowStore`].
pub trait Store: FlowStore + JobStore + AdminStore + ReminderStore + HelpdeskStore {}

impl<T> Store for T where T: FlowStore + JobStore + AdminStore + ReminderStore + HelpdeskStore {}

/// What the account flows use: everything but the worker's queue and the operators' tools,
/// so a flow cannot lease a job or lift a lock by mistake.
pub trait FlowStore:
    RosterStore + ClaimStore + CodeStore + OperationStore + AttemptStore + OutboxStore + AuditStore
{
}

impl<T> FlowStore for T where
    T: RosterStore
        + ClaimStore
        + CodeStore
        + OperationStore
        + AttemptStore
        + OutboxStore
        + AuditStore
{
}

/// The HR roster: imports and lookups.
#[async_trait]
pub trait RosterStore: Send + Sync + fmt::Debug {
    /// Adds or updates every entry, all or nothing (an incremental import).
    async fn import_roster(
        &self,
        entries: &[RosterEntry],
        now: Millis,
    ) -> Result<ImportSummary, StoreError> {
        self.import_roster_with(entries, &ImportOptions::default(), now)
            .await
    }

    /// Imports a roster as `options` say, all or nothing, and queues the directory jobs that
    /// bring claimed accounts in line: names and mail updated, leavers (terminated, or missing
    /// from a full import) disabled with their queued password jobs cancelled and their claim
    /// released (a rehire claims again).
    async fn import_roster_with(
        &self,
        entries: &[RosterEntry],
        options: &ImportOptions,
        now: Millis,
    ) -> Result<ImportSummary, StoreError> {
        let mut rows = entries.iter().cloned().map(Ok);
        self.import_roster_rows(&mut rows, options, now).await
    }

    /// [`import_roster_with`](Self::import_roster_with) for rows read as they come (a file's
    /// [`RosterRows`](crate::RosterRows)): a chunk at a time is compared and written, so memory
    /// does not grow with the file. A bad row means nothing is applied; every row is still
    /// read, so the summary lists every problem.
    async fn import_roster_rows(
        &self,
        rows: &mut (dyn Iterator<Item = Result<RosterEntry, Vec<crate::RosterProblem>>> + Send),
        options: &ImportOptions,
        now: Millis,
    ) -> Result<ImportSummary, StoreError>;

    /// The roster entry with this ID.
    async fn roster_entry(&self, id: EmployeeId) -> Result<Option<RosterEntry>, StoreError>;
}

/// Claims and the accounts they made: new claims, their answers and new passwords.
#[async_trait]
pub trait ClaimStore: Send + Sync + fmt::Debug {
    /// The state of the entry's live (pending or active) claim, if any.
    async fn live_claim(&self, id: EmployeeId) -> Result<Option<ClaimState>, StoreError>;

    /// Stores a claim with its answers, operation, job and audit row in one transaction.
    async fn insert_claim(&self, claim: NewClaim) -> Result<ClaimInsert, StoreError>;

    /// The active claim with this username.
    async fn claimed_account(
        &self,
        username: &Username,
    ) -> Result<Option<ClaimedAccount>, StoreError>;

    /// Every active claim whose roster entry has this email address.
    async fn claimed_accounts_by_email(&self, email: &Email) -> Result<Vec<Account>, StoreError>;

    /// Every question the active claims' answers are for, each once, as worded when answered
    /// (some may have left the pool since).
    async fn answered_questions(&self) -> Result<Vec<crate::Question>, StoreError>;

    /// Queues a person's password or unlock job (see [`NewAccountJob`]); false (nothing
    /// written) when the
    /// account is no longer managed: its claim released or the person terminated meanwhile.
    async fn insert_account_job(&self, job: NewAccountJob) -> Result<bool, StoreError>;

    /// Replaces an active claim's answers, records `audit` and queues `mail`, in one transaction.
    async fn replace_answers(
        &self,
        claim_id: &str,
        answers: &[StoredAnswer],
        audit: AuditEvent,
        mail: Mail,
    ) -> Result<(), StoreError>;
}

/// Operations as their callers poll them: the read the flows need from the job queue.
#[async_trait]
pub trait OperationStore: Send + Sync + fmt::Debug {
    /// An operation by id.
    async fn operation(&self, id: OperationId) -> Result<Option<Operation>, StoreError>;
}

/// The directory job queue as workers see it.
#[async_trait]
pub trait JobStore: Send + Sync + fmt::Debug {
    /// Takes the oldest due job whose lease is free or expired (a dead worker's) for
    /// `lease_for`, counting the attempt.
    async fn lease_job(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
    ) -> Result<Option<LeasedJob>, StoreError> {
        Ok(self.lease_jobs(owner, lease_for, now, 1).await?.pop())
    }

    /// Takes up to `max` due jobs at once, each as [`JobStore::lease_job`] would (never two
    /// of one employee), for a worker that writes them one after another and records them
    /// together.
    async fn lease_jobs(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
        max: usize,
    ) -> Result<Vec<LeasedJob>, StoreError>;

    /// Ends several jobs in one transaction, each as [`JobStore::finish_job`] would; for each,
    /// false when its lease was lost (nothing is written for it).
    async fn finish_jobs(&self, ended: &[EndedJob]) -> Result<Vec<bool>, StoreError>;

    /// Whether `job` is still this worker's to write at `now` (its lease unexpired and its
    /// owner), and, for a password, still the account's newest: checked immediately before
    /// the directory write, the fence that keeps a stalled worker's older password from
    /// landing after a newer one.
    async fn confirm_lease(&self, job: &LeasedJob, now: Millis) -> Result<LeaseCheck, StoreError> {
        let checks = self.confirm_leases(std::slice::from_ref(job), now).await?;
        Ok(checks.into_iter().next().unwrap_or(LeaseCheck::Lost))
    }

    /// [`JobStore::confirm_lease`] for a batch leased together, in one read, in order, before
    /// the batch's first write. Safe only with what the worker adds: one employee's jobs
    /// never share a batch and run in order (a request queued meanwhile waits for these), and
    /// no write starts, or runs, past the lease's deadline (a tenth before its end), so a
    /// lease lost meanwhile (a stalled loop) stops the writes that remain.
    async fn confirm_leases(
        &self,
        jobs: &[LeasedJob],
        now: Millis,
    ) -> Result<Vec<LeaseCheck>, StoreError>;

    /// Ends a job: marks it, its operation and (for a provision) its claim, erases the sealed
    /// password, records `audit` and queues `mail`, in one transaction. False when the lease
    /// was lost to another worker, in which case nothing is written.
    async fn finish_job(
        &self,
        job: &LeasedJob,
        outcome: JobOutcome,
        audit: AuditEvent,
        mail: Option<Mail>,
    ) -> Result<bool, StoreError> {
        let ended = EndedJob {
            job: job.clone(),
            outcome,
            audit,
            mail,
        };
        let held = self.finish_jobs(std::slice::from_ref(&ended)).await?;
        Ok(held.first().copied().unwrap_or(false))
    }

    /// Keeps `entry` (the directory entry a claim is taking) with the claim of `job`, while
    /// `job`'s lease is still this worker's at `now`. False when the lease was lost (nothing
    /// is written, and the writer must not go on).
    async fn record_entry(
        &self,
        job: &LeasedJob,
        entry: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Gives a job back to be retried at `retry_at`, keeping `error` for operators. With
    /// `held_until` (a write that may still land), the job stays held until then: no worker
    /// leases it, no newer password supersedes it, no leaver's import cancels it, no
    /// `admin retry` hurries it, and one employee's later jobs wait behind it. False when the
    /// lease was lost.
    async fn retry_job(
        &self,
        job: &LeasedJob,
        retry_at: Millis,
        held_until: Option<Millis>,
        error: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;
}

/// Attempt counting and lockouts.
#[async_trait]
pub trait AttemptStore: Send + Sync + fmt::Debug {
    /// The latest lock on any of `keys` still in force at `now`; `Millis::MAX` for an account
    /// key past `policy.account_consecutive_limit` consecutive failures.
    async fn locked_until(
        &self,
        keys: &[AttemptKey],
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError>;

    /// Reserves one attempt on `keys`, in one transaction and before any verification work:
    /// refused when a key is locked at `now`, or when its limit is already taken by failures
    /// and attempts still being judged; otherwise a pending attempt is counted against every
    /// key. So N simultaneous attempts are judged exactly like N in a row.
    ///
    /// An account key past the consecutive-failure limit is locked for a plain attempt. One
    /// that carries a mailed code (`mailed_code`) is still reserved, with
    /// [`AttemptTicket::past_limit`] set: the flow must then accept it only with the code
    /// proven, so the answers alone never reopen the account, and the windowed limits still
    /// hold.
    async fn reserve_attempt(
        &self,
        keys: &[AttemptKey],
        policy: &LockoutPolicy,
        now: Millis,
        mailed_code: bool,
    ) -> Result<Reservation, StoreError>;

    /// The reserved attempt was wrong: it becomes a failure, and the locks the failures now
    /// reach are placed and returned.
    async fn fail_attempt(
        &self,
        ticket: &AttemptTicket,
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Vec<Lockout>, StoreError>;

    /// The reserved attempt is given back (its secret proved right, or it was never judged).
    /// With `clear_accounts` (a proven secret) the failures counted against its account keys
    /// are forgotten too; the client address's are not.
    async fn give_back(
        &self,
        ticket: &AttemptTicket,
        clear_accounts: bool,
    ) -> Result<(), StoreError>;

    /// Forgets the failures counted against `key`; a lock stays in force.
    async fn clear_failures(&self, key: &AttemptKey) -> Result<(), StoreError>;
}

/// The mail outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync + fmt::Debug {
    /// Queues a mail and records `audit` in one transaction.
    async fn enqueue_mail(&self, mail: &Mail, audit: AuditEvent) -> Result<(), StoreError>;

    /// How many mails of `kind` were queued for `to` since `since`.
    async fn mails_queued_since(
        &self,
        to: &Email,
        kind: MailKind,
        since: Millis,
    ) -> Result<u32, StoreError>;

    /// Takes the oldest due mail for `lease_for`, counting the attempt.
    async fn lease_mail(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
    ) -> Result<Option<QueuedMail>, StoreError>;

    /// Marks a mail sent, or (with `failure`) refused for good. False when the lease was lost.
    async fn finish_mail(
        &self,
        mail: &QueuedMail,
        failure: Option<&str>,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Gives a mail back to be retried at `retry_at`. False when the lease was lost.
    async fn retry_mail(
        &self,
        mail: &QueuedMail,
        retry_at: Millis,
        error: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + fmt::Debug {
    /// Records an audit row on its own.
    async fn record_audit(&self, event: AuditEvent) -> Result<(), StoreError>;

    /// The latest audit rows, newest first, optionally only those about one employee.
    async fn audit_rows(
        &self,
        employee_id: Option<EmployeeId>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError>;
}

/// What operators do: unlock, release, retry now, and the queue figures.
#[async_trait]
pub trait AdminStore: Send + Sync + fmt::Debug {
    /// Whether `fingerprint` is the seal key's this database was first started with,
    /// recording it when none is: replicas with different keys would each accept claims the
    /// others cannot open, and answer unknown names with other decoys.
    async fn seal_key_matches(&self, fingerprint: &str, now: Millis) -> Result<bool, StoreError>;

    /// How much work waits in the queues (for metrics).
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    /// Lifts any lock on `key` and forgets its failures. True when there was anything to lift.
    async fn unlock(&self, key: &AttemptKey, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Lifts the locks of every key (one person's several) in one transaction with one
    /// audit row. True when there was anything to lift.
    async fn unlock_keys(&self, keys: &[AttemptKey], audit: AuditEvent)
    -> Result<bool, StoreError>;

    /// Gives up a pending claim of `employee_id` (its directory job is failed with `reason`,
    /// the sealed password erased) so the person can claim again. True when one was pending;
    /// the audit row is written only then.
    async fn release_pending_claim(
        &self,
        employee_id: EmployeeId,
        reason: &str,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Makes a job waiting for a retry due now. True when the operation's job was waiting.
    async fn retry_now(
        &self,
        id: OperationId,
        audit: AuditEvent,
        now: Millis,
    ) -> Result<bool, StoreError>;
}

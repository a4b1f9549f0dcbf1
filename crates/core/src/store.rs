//! The store as the flows see it: the only state the service and the sync worker share.
//! `claimd-store` implements it on SQLite (and is shaped for PostgreSQL); every method that
//! changes more than one row does so in one transaction.

use std::{fmt, net::IpAddr, time::Duration};

use async_trait::async_trait;

use crate::{
    Account, DirectoryJob, Email, EmployeeId, Operation, OperationId, RosterEntry, Username,
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

/// What a roster import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Entries that were not in the store.
    pub added: usize,
    /// Entries whose names, email or status changed.
    pub updated: usize,
    /// Entries already exactly as in the file.
    pub unchanged: usize,
}

/// A claim's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimState {
    /// Accepted; the directory is not written yet.
    Pending,
    /// The directory has the account and password.
    Active,
    /// The directory refused; the roster entry is claimable again.
    Rejected,
}

impl ClaimState {
    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Rejected => "rejected",
        }
    }

    /// Parses a stored state.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A hashed challenge answer, with the question as it was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The question's id.
    pub question_id: String,
    /// The question's text when answered (the pool may change later).
    pub question_text: String,
    /// The argon2id PHC string of the normalised answer.
    pub hash: String,
}

/// Everything a claim writes, in one transaction: the claim, its answers, its operation, its
/// directory job with the sealed password, and its audit row.
#[derive(Debug)]
pub struct NewClaim {
    /// The directory job; its id is the operation's id.
    pub job: DirectoryJob,
    /// The three hashed answers.
    pub answers: Vec<StoredAnswer>,
    /// The password, sealed for this job.
    pub sealed_password: Vec<u8>,
    /// The audit row.
    pub audit: AuditEvent,
    /// When the claim was accepted.
    pub now: Millis,
}

/// How inserting a claim went. A live (pending or active) claim of the same employee ID or
/// username makes the insert a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimInsert {
    /// The claim, answers, operation and job are stored.
    Created,
    /// Nothing was written: a live claim exists, in this state.
    Exists(ClaimState),
}

/// An active claim: the account as written to the directory, and the challenge answers.
#[derive(Clone, Debug)]
pub struct ClaimedAccount {
    /// The claim's id.
    pub claim_id: String,
    /// The account.
    pub account: Account,
    /// The three hashed answers, in the order they were given.
    pub answers: Vec<StoredAnswer>,
}

/// A new password for an active claim: the job (reset or change) with the sealed password
/// and its audit row, written in one transaction that also supersedes any older password job
/// of the claim still waiting.
#[derive(Debug)]
pub struct NewPasswordJob {
    /// The claim whose account gets the password.
    pub claim_id: String,
    /// The directory job; its id is the operation's id.
    pub job: DirectoryJob,
    /// The password, sealed for this job.
    pub sealed_password: Vec<u8>,
    /// The audit row.
    pub audit: AuditEvent,
    /// When the request was accepted.
    pub now: Millis,
}

/// A job taken by a worker until `lease_until`.
#[derive(Clone, Debug)]
pub struct LeasedJob {
    /// The job.
    pub job: DirectoryJob,
    /// The sealed password.
    pub sealed_password: Vec<u8>,
    /// Tries so far, counting this one.
    pub attempts: u32,
    /// The worker holding the lease.
    pub lease_owner: String,
    /// When the job was queued.
    pub queued_at: Millis,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// The directory has the change.
    Succeeded,
    /// The directory refused; the reason is shown to the person.
    Failed {
        /// Why, in plain words.
        reason: String,
    },
}

/// What failed attempts are counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttemptKey {
    /// An account, by employee ID.
    Employee(EmployeeId),
    /// An account, by username.
    Username(Username),
    /// A client address.
    Address(IpAddr),
}

impl AttemptKey {
    /// True for the keys that name an account rather than a client.
    pub fn is_account(&self) -> bool {
        !matches!(self, Self::Address(_))
    }

    /// The key as stored: `employee:77777`, `username:e77777`, `address:10.0.0.1`.
    pub fn stored(&self) -> String {
        match self {
            Self::Employee(id) => format!("employee:{}", id.get()),
            Self::Username(name) => format!("username:{name}"),
            Self::Address(ip) => format!("address:{ip}"),
        }
    }
}

impl fmt::Display for AttemptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stored())
    }
}

/// When failed attempts lock an account or a client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures on one account within `window` that lock it.
    pub account_failures: u32,
    /// Failures from one client address within `window` that lock it.
    pub address_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a lock lasts.
    pub lock_for: Duration,
    /// Consecutive failures on an account (however spread out) after which it stays locked
    /// until an administrator unlocks it.
    pub account_consecutive_limit: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 50,
            window: Duration::from_secs(15 * 60),
            lock_for: Duration::from_secs(15 * 60),
            account_consecutive_limit: 100,
        }
    }
}

/// A lock placed by [`Store::record_failure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// What is locked.
    pub key: AttemptKey,
    /// Until when; `Millis::MAX` for a lock only an administrator lifts.
    pub until: Millis,
}

/// One audit row: who did what, from where, and how it went. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: Millis,
    /// What: `claim`, `lockout`, `directory.provision`, ...
    pub action: &'static str,
    /// The employee ID concerned, if known.
    pub employee_id: Option<EmployeeId>,
    /// The username concerned, if known.
    pub username: Option<Username>,
    /// The client address, if known.
    pub client: Option<IpAddr>,
    /// How it went: `accepted`, `no_match`, `succeeded`, `failed`, ...
    pub outcome: &'static str,
    /// Why, in words, when there is more to say.
    pub reason: Option<String>,
}

/// The persistent state of claimd.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Adds or updates every entry, all or nothing.
    async fn import_roster(
        &self,
        entries: &[RosterEntry],
        now: Millis,
    ) -> Result<ImportSummary, StoreError>;

    /// The roster entry with this ID.
    async fn roster_entry(&self, id: EmployeeId) -> Result<Option<RosterEntry>, StoreError>;

    /// The state of the entry's live (pending or active) claim, if any.
    async fn live_claim(&self, id: EmployeeId) -> Result<Option<ClaimState>, StoreError>;

    /// Stores a claim with its answers, operation, job and audit row in one transaction.
    async fn insert_claim(&self, claim: NewClaim) -> Result<ClaimInsert, StoreError>;

    /// An operation by id.
    async fn operation(&self, id: OperationId) -> Result<Option<Operation>, StoreError>;

    /// Takes the oldest due job whose lease is free or expired (a dead worker's) for
    /// `lease_for`, counting the attempt.
    async fn lease_job(
        &self,
        owner: &str,
        lease_for: Duration,
        now: Millis,
    ) -> Result<Option<LeasedJob>, StoreError>;

    /// Ends a job: marks it, its operation and (for a provision) its claim, erases the sealed
    /// password, records `audit` and queues `mail`, in one transaction. False when the lease
    /// was lost to another worker, in which case nothing is written.
    async fn finish_job(
        &self,
        job: &LeasedJob,
        outcome: JobOutcome,
        audit: AuditEvent,
        mail: Option<Mail>,
    ) -> Result<bool, StoreError>;

    /// Gives a job back to be retried at `retry_at`, keeping `error` for operators. False when
    /// the lease was lost.
    async fn retry_job(
        &self,
        job: &LeasedJob,
        retry_at: Millis,
        error: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// The latest lock on any of `keys` still in force at `now`.
    async fn locked_until(
        &self,
        keys: &[AttemptKey],
        now: Millis,
    ) -> Result<Option<Millis>, StoreError>;

    /// Counts a failure against each key and returns the locks this failure placed.
    async fn record_failure(
        &self,
        keys: &[AttemptKey],
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Vec<Lockout>, StoreError>;

    /// Forgets the failures counted against `key` (after a success); a lock stays in force.
    async fn clear_failures(&self, key: &AttemptKey) -> Result<(), StoreError>;

    /// Records an audit row on its own.
    async fn record_audit(&self, event: AuditEvent) -> Result<(), StoreError>;

    /// The active claim with this username.
    async fn claimed_account(
        &self,
        username: &Username,
    ) -> Result<Option<ClaimedAccount>, StoreError>;

    /// Every active claim whose roster entry has this email address.
    async fn claimed_accounts_by_email(&self, email: &Email) -> Result<Vec<Account>, StoreError>;

    /// Queues a password job (see [`NewPasswordJob`]).
    async fn insert_password_job(&self, job: NewPasswordJob) -> Result<(), StoreError>;

    /// Replaces an active claim's answers, records `audit` and queues `mail`, in one transaction.
    async fn replace_answers(
        &self,
        claim_id: &str,
        answers: &[StoredAnswer],
        audit: AuditEvent,
        mail: Mail,
    ) -> Result<(), StoreError>;

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

//! What the store keeps and hands back: claims, jobs, answers, audit rows.

use std::net::IpAddr;

use crate::{Account, DirectoryJob, EmployeeId, Username};

use super::Millis;

/// How a roster file is taken.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// The file is the whole staff: active entries missing from it have left.
    pub full: bool,
    /// Plan only: report what would change and change nothing.
    pub dry_run: bool,
    /// Refuse a full import (and change nothing) when more than this percentage of the
    /// claimed accounts would be disabled; `None` lets any number through
    /// (`--allow-mass-disable`).
    pub max_disable_percent: Option<u8>,
    /// The file has no `personal_email` column: keep the addresses on file rather than
    /// clear them all (an older export must not switch the second factor off).
    pub keep_personal_email: bool,
    /// The file has no `site` column: keep the sites on file.
    pub keep_site: bool,
}

/// One directory change a roster import queues (or, in a dry run, would queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedChange {
    /// The account's username.
    pub username: Username,
    /// The employee.
    pub employee_id: EmployeeId,
    /// `UpdateAccount` or `DisableAccount`.
    pub kind: crate::JobKind,
    /// What changes, for people: `sn: "Doe" -> "Smith"`, or why the account is disabled.
    pub detail: String,
}

/// What a roster import changed (or, in a dry run or when refused, would change).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Entries that were not in the store.
    pub added: usize,
    /// Entries whose names, email or status changed.
    pub updated: usize,
    /// Entries already exactly as in the file.
    pub unchanged: usize,
    /// Entries that became terminated (in the file, or missing from a full import).
    pub terminated: usize,
    /// Accounts (claimed, live) at the start.
    pub claimed: usize,
    /// The directory changes, one per account.
    pub plan: Vec<PlannedChange>,
    /// True when the changes were committed (not a dry run, not refused).
    pub applied: bool,
    /// True when the mass-disable guard refused the import.
    pub refused_mass_disable: bool,
    /// Rows read from the file, good or bad.
    pub rows: usize,
    /// Bad rows, with their lines: when there is any, nothing was applied.
    pub problems: Vec<crate::RosterProblem>,
}

impl ImportSummary {
    /// Accounts whose names or mail are updated.
    pub fn accounts_to_update(&self) -> usize {
        self.plan
            .iter()
            .filter(|c| c.kind == crate::JobKind::UpdateAccount)
            .count()
    }

    /// Accounts disabled.
    pub fn accounts_to_disable(&self) -> usize {
        self.plan
            .iter()
            .filter(|c| c.kind == crate::JobKind::DisableAccount)
            .count()
    }
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
    /// The hash of the claim code it came with, when codes are required: used up with the
    /// claim, so a code makes one claim.
    pub claim_code: Option<String>,
}

/// How inserting a claim went. A live (pending or active) claim of the same employee ID or
/// username makes the insert a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimInsert {
    /// The claim, answers, operation and job are stored.
    Created,
    /// Nothing was written: a live claim exists, in this state.
    Exists(ClaimState),
    /// Nothing was written: the roster entry is no longer active (terminated meanwhile).
    NotClaimable,
    /// Nothing was written: the claim code is no longer live (used by a racing claim,
    /// reissued or expired since it was checked).
    CodeRefused,
}

/// A claim code to store, with the mail that carries it (sealed) and its audit row.
#[derive(Debug)]
pub struct IssuedCode {
    /// Whose code it is.
    pub employee_id: crate::EmployeeId,
    /// Its keyed hash.
    pub hash: String,
    /// When it stops working.
    pub expires_at: Millis,
    /// The mail to the personal address, if there is one.
    pub mail: Option<crate::mail::Mail>,
    /// What the audit log records.
    pub audit: AuditEvent,
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
    /// The roster's personal address: where reset codes go (with the second factor on).
    pub personal_email: Option<crate::Email>,
    /// The directory entry the claim took, once its writer recorded it.
    pub entry: Option<String>,
}

/// A person's own request for an active claim's account: a new password (a reset or a
/// change, with the sealed password) or an unlock (no password), and its audit row, written
/// in one transaction. A new password also supersedes any older password job of the claim
/// still waiting.
#[derive(Debug)]
pub struct NewAccountJob {
    /// The claim whose account the job writes.
    pub claim_id: String,
    /// The directory job; its id is the operation's id.
    pub job: DirectoryJob,
    /// The password, sealed for this job; empty for a kind that carries none.
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

/// Why a password job ended without being written: a newer one for the account replaced
/// it, or the person left (a roster import).
pub use crate::reasons::{LEFT as LEFT_REASON, SUPERSEDED as SUPERSEDED_REASON};

/// What a worker finds when it checks its lease right before writing the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseCheck {
    /// The job is still this worker's, within its lease: write.
    Held,
    /// The lease ran out or another worker holds the job: write nothing.
    Lost,
    /// A newer job sets the account's password (a newer request, or a leaver's disable): this
    /// older password must not land. Why, in plain words ([`SUPERSEDED_REASON`] or
    /// [`LEFT_REASON`]).
    Superseded(&'static str),
}

/// A job a worker has ended, recorded with others in one transaction
/// ([`super::JobStore::finish_jobs`]).
#[derive(Debug)]
pub struct EndedJob {
    /// The job as leased.
    pub job: LeasedJob,
    /// How it ended.
    pub outcome: JobOutcome,
    /// Its audit row.
    pub audit: AuditEvent,
    /// The notice it sends, if any.
    pub mail: Option<crate::mail::Mail>,
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

/// What an audit row records: its `action` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// Claim My Account.
    Claim,
    /// Forgot My Password, completed.
    ResetPassword,
    /// Change My Password.
    ChangePassword,
    /// Change My Challenge Questions.
    UpdateAnswers,
    /// Forgot My Username.
    RecoverUsername,
    /// A Forgot My Password verification code sent.
    VerificationCode,
    /// A claim code issued at an import.
    ClaimCode,
    /// A work order to the support center.
    WorkOrder,
    /// A key locked after repeated failures.
    Lockout,
    /// An import changed a claimed person's names or mail.
    RosterUpdate,
    /// An import disabled a leaver.
    RosterDisable,
    /// A directory job's end.
    Directory(crate::JobKind),
    /// `claimd admin unlock`.
    AdminUnlock,
    /// `claimd admin release`.
    AdminRelease,
    /// `claimd admin retry`.
    AdminRetry,
    /// `claimd admin reissue-code`.
    AdminReissueCode,
    /// Unlock My Account.
    UnlockAccount,
    /// A password expiry reminder queued.
    ExpiryReminder,
    /// A reminder scan of the directory, with what it found (sent and skipped).
    ExpiryReminderScan,
    /// A helpdesk helper's sign-in.
    HelpdeskSignIn,
    /// A helper (or a district tool) looked a person up, or searched.
    HelpdeskLookUp,
    /// A helper lifted a person's locks.
    HelpdeskUnlock,
    /// A helper set a temporary password.
    HelpdeskTemporaryPassword,
    /// A helper reissued a claim code.
    HelpdeskClaimCode,
    /// A helper released a pending claim.
    HelpdeskRelease,
}

impl AuditAction {
    /// As stored and printed: `claim`, `directory.provision`, `admin.unlock`, ...
    pub fn as_str(self) -> &'static str {
        use crate::JobKind;
        match self {
            Self::Claim => "claim",
            Self::ResetPassword => "reset_password",
            Self::ChangePassword => "change_password",
            Self::UpdateAnswers => "update_answers",
            Self::RecoverUsername => "recover_username",
            Self::VerificationCode => "verification_code",
            Self::ClaimCode => "claim_code",
            Self::WorkOrder => "work_order",
            Self::Lockout => "lockout",
            Self::RosterUpdate => "roster.update",
            Self::RosterDisable => "roster.disable",
            Self::Directory(JobKind::Provision) => "directory.provision",
            Self::Directory(JobKind::ResetPassword) => "directory.reset_password",
            Self::Directory(JobKind::ChangePassword) => "directory.change_password",
            Self::Directory(JobKind::UpdateAccount) => "directory.update_account",
            Self::Directory(JobKind::DisableAccount) => "directory.disable_account",
            Self::Directory(JobKind::UnlockAccount) => "directory.unlock_account",
            Self::Directory(JobKind::TemporaryPassword) => "directory.temporary_password",
            Self::AdminUnlock => "admin.unlock",
            Self::AdminRelease => "admin.release",
            Self::AdminRetry => "admin.retry",
            Self::AdminReissueCode => "admin.reissue_code",
            Self::UnlockAccount => "unlock_account",
            Self::ExpiryReminder => "expiry_reminder",
            Self::HelpdeskSignIn => "helpdesk.sign_in",
            Self::HelpdeskLookUp => "helpdesk.look_up",
            Self::HelpdeskUnlock => "helpdesk.unlock",
            Self::HelpdeskTemporaryPassword => "helpdesk.temporary_password",
            Self::HelpdeskClaimCode => "helpdesk.claim_code",
            Self::HelpdeskRelease => "helpdesk.release",
            Self::ExpiryReminderScan => "expiry_reminder_scan",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an audited action came out: its `outcome` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Taken: a claim or request queued.
    Accepted,
    /// No claimable roster entry matched.
    NoMatch,
    /// A claim of the account is still being written.
    Pending,
    /// The account is claimed already.
    AlreadyClaimed,
    /// Wrong answers, password or code.
    Unauthenticated,
    /// The secrets were right, but the request broke a rule (a new password built from the
    /// person's name): nothing changed, and the person was told.
    ProvenRefused,
    /// A reset proven by answers alone (no personal address for a second factor).
    AnswersOnly,
    /// New answers stored.
    Changed,
    /// A key locked.
    Locked,
    /// A mail queued.
    Mailed,
    /// Not mailed again: the hourly limit of the address.
    Throttled,
    /// No account uses the address.
    NoAccount,
    /// Queued for a worker.
    Queued,
    /// Sent.
    Sent,
    /// Put on the sheet HR prints.
    Printed,
    /// Issued by IT.
    Issued,
    /// The directory has the change.
    Succeeded,
    /// The change could not be made.
    Failed,
    /// Replaced by a newer request (or cancelled by a leaver).
    Superseded,
    /// An administrator's command carried out.
    Done,
}

impl AuditOutcome {
    /// As stored and printed: `accepted`, `no_match`, `succeeded`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::NoMatch => "no_match",
            Self::Pending => "pending",
            Self::AlreadyClaimed => "already_claimed",
            Self::Unauthenticated => "unauthenticated",
            Self::ProvenRefused => "proven_refused",
            Self::AnswersOnly => "answers_only",
            Self::Changed => "changed",
            Self::Locked => "locked",
            Self::Mailed => "mailed",
            Self::Throttled => "throttled",
            Self::NoAccount => "no_account",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Printed => "printed",
            Self::Issued => "issued",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Done => "done",
        }
    }
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit row: who did what, from where, and how it went. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: Millis,
    /// What.
    pub action: AuditAction,
    /// The employee ID concerned, if known.
    pub employee_id: Option<EmployeeId>,
    /// The username concerned, if known.
    pub username: Option<Username>,
    /// The client address, if known.
    pub client: Option<IpAddr>,
    /// Who acted for someone else, when someone did: a helpdesk helper (`helpdesk:jsmith`),
    /// a district tool's certificate and the person it names (`client:CN=ticketing/ana`), an
    /// administrator on the command line (`cli:root`). `None` for a person's own request.
    pub actor: Option<String>,
    /// How it went.
    pub outcome: AuditOutcome,
    /// Why, in words, when there is more to say.
    pub reason: Option<String>,
}

/// How much work waits in the store's queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Directory jobs not yet ended.
    pub jobs_waiting: u64,
    /// When the oldest of them was queued.
    pub oldest_job_queued_at: Option<Millis>,
    /// Mails not yet handed to SMTP.
    pub mails_waiting: u64,
}

/// An audit row as stored, for administrators to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub at: Millis,
    /// What.
    pub action: String,
    /// The employee ID concerned, if known.
    pub employee_id: Option<u32>,
    /// The username concerned, if known.
    pub username: Option<String>,
    /// The client address, if known.
    pub client: Option<String>,
    /// Who acted for someone else ([`AuditEvent::actor`]).
    pub actor: Option<String>,
    /// How it went.
    pub outcome: String,
    /// Why.
    pub reason: Option<String>,
}

//! The directory as the sync worker sees it: jobs to apply and the two ways one can fail.
//! The LDAP implementations (OpenLDAP, Active Directory) live in `claimd-ldap`.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{Email, EmployeeId, OperationId, PersonName, Username, store::Millis};

/// What a directory job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Create the account (or bring an existing one up to date) and set its password.
    Provision,
    /// Set a new password after the challenge answers were checked (Forgot My Password).
    ResetPassword,
    /// Set a new password after the current one was checked.
    ChangePassword,
    /// Bring the entry's names and mail in line with the roster (the login never changes).
    UpdateAccount,
    /// The employee left: the login must stop working at once.
    DisableAccount,
    /// Lift the directory's lockout of the login (too many wrong passwords) and nothing
    /// else: the password stays (Unlock My Account).
    UnlockAccount,
    /// Set a temporary password a helpdesk helper gave the person, which must be changed at
    /// the next logon (AD `pwdLastSet = 0`; ppolicy `pwdReset: TRUE`), and lift the lockout.
    TemporaryPassword,
}

impl JobKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::ResetPassword => "reset_password",
            Self::ChangePassword => "change_password",
            Self::UpdateAccount => "update_account",
            Self::DisableAccount => "disable_account",
            Self::UnlockAccount => "unlock_account",
            Self::TemporaryPassword => "temporary_password",
        }
    }

    /// True for the kinds that set a password (and so carry a sealed one).
    pub fn carries_password(self) -> bool {
        matches!(
            self,
            Self::Provision | Self::ResetPassword | Self::ChangePassword | Self::TemporaryPassword
        )
    }

    /// Parses a stored kind.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "provision" => Some(Self::Provision),
            "reset_password" => Some(Self::ResetPassword),
            "change_password" => Some(Self::ChangePassword),
            "update_account" => Some(Self::UpdateAccount),
            "disable_account" => Some(Self::DisableAccount),
            "unlock_account" => Some(Self::UnlockAccount),
            "temporary_password" => Some(Self::TemporaryPassword),
            _ => None,
        }
    }
}

/// The account a job writes: the roster entry's data and the username made for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The username (the entry's `uid`).
    pub username: Username,
    /// The employee ID.
    pub employee_id: EmployeeId,
    /// First name, as HR records it.
    pub first_name: PersonName,
    /// Last name, as HR records it.
    pub last_name: PersonName,
    /// District email address.
    pub email: Email,
}

/// One durable unit of directory work. Applying it twice leaves the directory as applying
/// it once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryJob {
    /// The operation the job belongs to (one job per operation).
    pub id: OperationId,
    /// What to do.
    pub kind: JobKind,
    /// The account to write.
    pub account: Account,
    /// A provision for a rehire: the account was this person's under an earlier claim that
    /// claimd disabled when they left, so it is taken back whatever its past use. Set by the
    /// store when it queues the claim.
    pub rehire: bool,
    /// The directory entry this job's claim took (OpenLDAP `entryUUID`), once the claim's
    /// writer recorded it ([`EntryLedger`]): a retry of the claim knows the entry, and the
    /// password it may already have set there, as its own.
    pub entry: Option<String>,
}

/// Why a directory write did not happen. The reason is readable and holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// May succeed later unchanged: the server is down, busy, slow, or misconfigured.
    #[error("transient directory failure: {reason}")]
    Transient {
        /// What happened, for the log.
        reason: String,
    },
    /// The request was sent and no answer came (a timeout, a connection lost mid-way): the
    /// directory may still carry it out. Retried like a transient failure, but never
    /// before the job's lease has run out, so that no later write for the account can
    /// start while this one may still land.
    #[error("unconfirmed directory write: {reason}")]
    Unconfirmed {
        /// What happened, for the log.
        reason: String,
    },
    /// The directory refused this change; retrying will not help. Shown to the person.
    #[error("the directory refused the change: {reason}")]
    Permanent {
        /// Why, in plain words.
        reason: String,
    },
}

impl DirectoryError {
    /// True when the same write may succeed later (everything but a refusal).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Permanent { .. })
    }

    /// Its reason.
    pub fn into_reason(self) -> String {
        match self {
            Self::Transient { reason }
            | Self::Unconfirmed { reason }
            | Self::Permanent { reason } => reason,
        }
    }
}

/// The directory as the sync worker sees it: where accounts are written. Only the worker
/// holds one; the flows never write the directory themselves.
#[async_trait]
pub trait DirectoryWriter: Send + Sync + std::fmt::Debug {
    /// Applies a job, with its password for the kinds that carry one. Must be idempotent. A
    /// claim records the entry it takes in `ledger` before it writes the password there.
    async fn apply(
        &self,
        job: &DirectoryJob,
        password: Option<&SecretString>,
        ledger: &dyn EntryLedger,
    ) -> Result<(), DirectoryError>;
}

/// Where a claim's writer records the directory entry it is about to give a password, kept
/// with the claim before the write, so that the claim's own retry (after a crash, a timeout)
/// tells the password it set from the password of someone already using the entry.
#[async_trait]
pub trait EntryLedger: Send + Sync {
    /// Records `entry` as the job's claim's; an error leaves the password unwritten.
    async fn record(&self, entry: &str) -> Result<(), DirectoryError>;
}

/// The directory as the flows see it: the judge of a current password, and of which accounts
/// are privileged.
#[async_trait]
pub trait PasswordChecker: Send + Sync + std::fmt::Debug {
    /// True when an entry claimd would act on for `account` is privileged (AD: `adminCount`,
    /// a privileged group's member; any flavor: a member of `accounts.protected_groups`), so
    /// no flow may touch it. `entry`: the one the account's claim took, once recorded.
    async fn is_protected(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<bool, DirectoryError>;

    /// Whether `username` can log in with `password` (a bind as the user). claimd keeps no
    /// password hashes; the directory is the judge.
    async fn verify_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError>;

    /// The directory's lockout rule for a claimed `account` (the policy that applies to it:
    /// AD's fine-grained one or the domain's; ppolicy's `pwdPolicySubentry` or the default)
    /// and where its count of wrong passwords stands now. `entry`: the one its claim took.
    async fn lockout_standing(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError>;

    /// The domain's default lockout rule with no count, for names claimd does not manage:
    /// they are refused after as many tries as a managed account, so the refusal cannot tell
    /// them apart.
    async fn default_lockout(&self) -> Result<LockoutStanding, DirectoryError>;
}

/// A helpdesk helper's directory entry: a directory user, who may not be claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    /// The entry's DN.
    pub dn: String,
    /// The login name, as the directory spells it (AD `sAMAccountName`, OpenLDAP `uid`).
    pub login: String,
}

/// The directory as the helpdesk's sign-in sees it (DESIGN.md, "Helpdesk"): who a login name
/// is, whether a password is theirs, where their lockout count stands, and which helpdesk
/// groups they are in.
#[async_trait]
pub trait HelperDirectory: Send + Sync + std::fmt::Debug {
    /// The one user who signs in as `login`; `None` when nobody or more than one does.
    async fn find_helper(&self, login: &str) -> Result<Option<Helper>, DirectoryError>;

    /// Whether `password` is the helper's (a bind).
    async fn check_helper_password(
        &self,
        helper: &Helper,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError>;

    /// The helper's lockout rule and count, so sign-in keeps below the threshold.
    async fn helper_lockout(&self, helper: &Helper) -> Result<LockoutStanding, DirectoryError>;

    /// For each of `groups` (DNs), whether the helper is a member (AD: nested too).
    async fn helper_groups(
        &self,
        helper: &Helper,
        groups: &[String],
    ) -> Result<Vec<bool>, DirectoryError>;

    /// What the directory says of `account`'s login now, for the helper's page: `None` when
    /// no entry answers to it. `entry`: the one its claim took, once recorded.
    async fn account_state(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<Option<AccountState>, DirectoryError>;
}

/// A login as the directory holds it, as the helpdesk shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    /// It may log in at all (AD: no `ACCOUNTDISABLE`; OpenLDAP: not a leaver's lock).
    pub enabled: bool,
    /// The directory has locked it after wrong passwords.
    pub locked: bool,
    /// When its password was last set.
    pub password_set_at: Option<Millis>,
    /// When that password expires; `None`: never, or it must be changed anyway.
    pub password_expires_at: Option<Millis>,
    /// It must be changed at the next logon (AD `pwdLastSet = 0`; ppolicy `pwdReset`).
    pub must_change: bool,
}

/// What the directory said of a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// It logs in.
    Right,
    /// It is the right one, but it has expired (AD bind `data 532`; ppolicy past
    /// `pwdMaxAge`, on a grace login).
    Expired,
    /// It is the right one, but it must be changed before anything else (AD `data 773`,
    /// pwdLastSet = 0; ppolicy `pwdReset`).
    MustChange,
    /// It does not.
    Wrong,
    /// The directory has locked the login (AD `data 775`): no password logs in until it is
    /// lifted.
    Locked,
}

impl PasswordCheck {
    /// True when the password is the account's own (it may still have to be changed).
    pub fn is_right(self) -> bool {
        matches!(self, Self::Right | Self::Expired | Self::MustChange)
    }
}

/// The directory's lockout rule for one account and where its count of wrong passwords
/// stands. claimd keeps its own wrong binds below `threshold` (DESIGN.md: claimd never locks
/// a domain login).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutStanding {
    /// Wrong passwords that lock the login; 0: the directory never locks it.
    pub threshold: u32,
    /// How long claimd counts its own wrong binds so that, counted the directory's way, they
    /// never reach the threshold. AD adds one for each wrong password within
    /// `lockOutObservationWindow` of the last one, however long the chain, so (threshold − 1)
    /// windows; ppolicy counts those within `pwdFailureCountInterval`.
    pub count_window: Duration,
    /// Wrong passwords the directory counts against the login now, from every source (a
    /// workstation, the Wi-Fi, claimd).
    pub failures: u32,
    /// When that count next falls (unix milliseconds), when it does by itself.
    pub failures_fall_at: Option<Millis>,
    /// The directory has locked the login.
    pub locked: bool,
}

impl LockoutStanding {
    /// A directory that never locks a login.
    pub fn never_locks() -> Self {
        Self {
            threshold: 0,
            count_window: Duration::ZERO,
            failures: 0,
            failures_fall_at: None,
            locked: false,
        }
    }
}

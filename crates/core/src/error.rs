//! The errors a flow returns to its caller. Each variant has one fixed, client-safe message;
//! causes (store or directory failures) are logged where they happen and never carried here.

use std::{fmt, time::Duration};

use crate::Rule;

/// One bad field of a request: the request field's name (`employee_id`, `answers[1].answer`)
/// and the rule it breaks, which never repeats the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field, as named in the API contract.
    pub field: String,
    /// What is wrong with it.
    pub rule: Rule,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        Self {
            field: field.into(),
            rule,
        }
    }
}

/// Why a request was not carried out. The gRPC layer maps each variant to one status code.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Fields are malformed or break a rule; every bad field is listed.
    #[error("the request has invalid fields")]
    InvalidArgument {
        /// Every bad field, in request order.
        violations: Vec<FieldViolation>,
    },
    /// No claimable roster entry matches the names and employee ID. One message for every
    /// kind of mismatch, so the reply tells nothing about which part was wrong.
    #[error("no roster entry matches that last name, first name and employee ID")]
    NoRosterMatch,
    /// The operation id is unknown.
    #[error("no operation has that id")]
    OperationNotFound,
    /// The roster entry already has an active account.
    #[error("this account has already been claimed")]
    AlreadyClaimed,
    /// The answers or the current password are wrong, or the username is unknown: one
    /// message for all, so the reply tells nothing about which.
    #[error("the username, answers or password are not correct")]
    Unauthenticated,
    /// The directory could not be asked to check a password; try again later.
    #[error("the directory cannot be reached right now; try again in a few minutes")]
    DirectoryUnavailable,
    /// The district's directory has locked the login after too many wrong passwords (from
    /// anywhere: a workstation, the Wi-Fi); no password can be checked until the lock is
    /// lifted, by Unlock My Account, a reset, or the directory's own lockout time.
    #[error(
        "the directory has locked this account after too many wrong passwords; Unlock My Account lifts the lock"
    )]
    DirectoryLocked,
    /// A claim of this roster entry is still being written to the directory.
    #[error("a claim of this account is being completed; check its operation")]
    ClaimPending,
    /// Too many failed attempts on this account or from this address.
    #[error("too many failed attempts; try again later")]
    LockedOut {
        /// When another attempt is allowed.
        retry_after: Duration,
    },
    /// Too many requests are waiting for CPU-heavy work to take this one before its deadline;
    /// nothing was done.
    #[error("the service is busy; try again in a moment")]
    Busy {
        /// When a retry has a fair chance.
        retry_after: Duration,
    },
    /// The store cannot be reached; the request was not carried out and may be retried.
    #[error("the service is temporarily unavailable; try again")]
    Unavailable,
    /// A fault on our side; details are in the log, never in the reply.
    #[error("internal error")]
    Internal,
    /// The helpdesk: no person with that employee ID is within the caller's sites (unknown
    /// and out of scope answer alike).
    #[error("no person with that employee ID")]
    PersonNotFound,
    /// The helpdesk: the account is privileged (an administrator's), which no flow touches.
    #[error("this account is privileged: claimd never acts on it; ask a domain administrator")]
    Privileged,
    /// The helpdesk: the action does not apply to the person as they are now.
    #[error("{why}")]
    NotApplicable {
        /// What stands in the way, for the helper.
        why: Inapplicable,
    },
}

/// Why a helpdesk action does not apply to a person now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inapplicable {
    /// There is no claimed account to act on.
    NotClaimed,
    /// Release needs a pending claim.
    NoPendingClaim,
    /// Claim codes are off in the configuration.
    ClaimCodesOff,
    /// A claim code is of no use to someone who has claimed.
    Claimed,
    /// The person has left.
    Left,
}

impl Inapplicable {
    /// Every reason, for the round trips that name them.
    pub const ALL: [Self; 5] = [
        Self::NotClaimed,
        Self::NoPendingClaim,
        Self::ClaimCodesOff,
        Self::Claimed,
        Self::Left,
    ];

    /// A stable name for clients (`NOT_CLAIMED`, ...), the way rules have codes.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotClaimed => "NOT_CLAIMED",
            Self::NoPendingClaim => "NO_PENDING_CLAIM",
            Self::ClaimCodesOff => "CLAIM_CODES_OFF",
            Self::Claimed => "CLAIMED",
            Self::Left => "LEFT",
        }
    }

    /// The reason a [`Inapplicable::code`] names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|why| why.code() == code)
    }
}

impl fmt::Display for Inapplicable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotClaimed => "this person has not claimed an account yet",
            Self::NoPendingClaim => "this person has no pending claim to release",
            Self::ClaimCodesOff => "claim codes are off (accounts.claim_code)",
            Self::Claimed => "this person has claimed already; a claim code is of no use to them",
            Self::Left => "this person has left (terminated in the roster)",
        })
    }
}

/// The standard status a caller gets for an [`Error`] (gRPC's codes, named here so the domain
/// needs no gRPC crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A field is malformed.
    InvalidArgument,
    /// Nothing matches.
    NotFound,
    /// Already claimed.
    AlreadyExists,
    /// Wrong secret or unknown username.
    Unauthenticated,
    /// A claim is still pending.
    FailedPrecondition,
    /// Locked out or too busy: retry later (with RetryInfo).
    ResourceExhausted,
    /// The store or directory cannot be reached.
    Unavailable,
    /// A fault on our side.
    Internal,
    /// The caller may not do this to that account.
    PermissionDenied,
}

impl Error {
    /// The status code for this error, and the outcome label its call is counted under in
    /// logs and metrics: the one match that decides both.
    pub fn code(&self) -> (ErrorCode, &'static str) {
        match self {
            Self::InvalidArgument { .. } => (ErrorCode::InvalidArgument, "invalid_argument"),
            Self::NoRosterMatch => (ErrorCode::NotFound, "no_roster_match"),
            Self::OperationNotFound => (ErrorCode::NotFound, "not_found"),
            Self::AlreadyClaimed => (ErrorCode::AlreadyExists, "already_claimed"),
            Self::Unauthenticated => (ErrorCode::Unauthenticated, "unauthenticated"),
            Self::DirectoryUnavailable => (ErrorCode::Unavailable, "directory_unavailable"),
            Self::ClaimPending => (ErrorCode::FailedPrecondition, "claim_pending"),
            Self::DirectoryLocked => (ErrorCode::FailedPrecondition, "directory_locked"),
            Self::LockedOut { .. } => (ErrorCode::ResourceExhausted, "locked_out"),
            Self::Busy { .. } => (ErrorCode::ResourceExhausted, "busy"),
            Self::Unavailable => (ErrorCode::Unavailable, "unavailable"),
            Self::Internal => (ErrorCode::Internal, "internal"),
            Self::PersonNotFound => (ErrorCode::NotFound, "person_not_found"),
            Self::Privileged => (ErrorCode::PermissionDenied, "privileged"),
            Self::NotApplicable { .. } => (ErrorCode::FailedPrecondition, "not_applicable"),
        }
    }

    /// An `InvalidArgument` with one violation.
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        Self::InvalidArgument {
            violations: vec![FieldViolation::new(field, rule)],
        }
    }
}

/// Collects field violations so a request is answered with all of its problems at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, rule: Rule) {
        self.0.push(FieldViolation::new(field, rule));
    }

    /// Records `result`'s error, if any, against `field`, and passes the value on.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Rule>) -> Option<T> {
        result.map_err(|e| self.add(field, e)).ok()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, else `Error::InvalidArgument` with every violation.
    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument { violations: self.0 })
        }
    }
}

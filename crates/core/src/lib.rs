//! The domain of claimd: who may claim an account and how, with no I/O of its own.
//!
//! This crate owns the rules taken from the district sheet and DESIGN.md (employee IDs,
//! usernames, name matching, the password policy, challenge questions and answers, claim and
//! verification codes, every limit's numbers: attempts, rates and code quotas, which the
//! store counts; which expiry reminders are due, [`Reminders`]; whom a campus helper may
//! help and how they sign in, [`helpdesk`]), the flows built on them ([`Accounts`]: claim, recovery, lifecycle,
//! work orders), the port front ends call ([`AccountFlows`], with [`InProcess`] for the flows
//! of this process), the words an operation can end with ([`reasons`]), and the traits the
//! outer crates implement: the [`Store`] roles (claimd-store), [`DirectoryWriter`],
//! [`PasswordChecker`], [`ExpiryReader`] and [`HelperDirectory`] (claimd-ldap), [`Mailer`]
//! (claimd-mail). It depends on no gRPC, SQL or LDAP crate; those depend on it.

mod accounts;
pub mod admission;
mod attempts;
mod claim;
pub mod claim_codes;
pub mod client_address;
pub mod codes;
mod directory;
mod employee_id;
mod error;
mod events;
pub mod flows;
mod hashing;
pub mod helpdesk;
pub mod mail;
mod operation;
mod password;
mod person;
mod policy;
mod questions;
pub mod reasons;
mod recovery;
pub mod reminders;
mod roster;
mod rule;
mod seal;
pub mod store;
mod text;
mod username;
mod work_order;

pub use accounts::{Accounts, AccountsDeps};
pub use attempts::{account_keys, address_keys};
pub use claim::{ClaimReceipt, ClaimRequest};
pub use directory::{
    Account, AccountState, DirectoryError, DirectoryJob, DirectoryWriter, EntryLedger, Helper,
    HelperDirectory, JobKind, LockoutStanding, PasswordCheck, PasswordChecker,
};
pub use employee_id::EmployeeId;
pub use error::{Error, ErrorCode, FieldViolation, Inapplicable, Violations};
pub use events::Events;
pub use flows::{AccountFlows, InProcess};
pub use hashing::AnswerHasher;
pub use mail::{Mail, MailError, MailKind, MailWriter, Mailer, QueuedMail, WorkOrder};
pub use operation::{Operation, OperationId, OperationState};
pub use password::{
    BreachedPasswords, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordPolicy, personal_words,
};
pub use person::PersonName;
pub use policy::AccountPolicy;
pub use questions::{ANSWERS_REQUIRED, Question, QuestionPool, TypedAnswer};
pub use recovery::{
    ChangeReceipt, ChangeRequest, CodeWorker, ResetRequest, UnlockRequest, UpdateAnswersRequest,
};
pub use reminders::{
    Due, ExpiryReader, PageTally, PasswordExpiry, Reminded, ReminderPolicy, Reminders,
};
pub use roster::{Email, RosterEntry, RosterProblem, RosterRows, RosterStatus, Site};
pub use rule::Rule;
pub use seal::{SealError, Sealer};
pub use store::{LockoutPolicy, Store, StoreError};
pub use username::{Username, UsernameTemplate};
pub use work_order::{MAX_DETAILS_CHARS, WorkOrderRequest};

//! The store's part in proof beyond names: claim codes and reset verification codes, kept
//! only as keyed hashes (see `crate::codes`).

use std::fmt;

use async_trait::async_trait;

use super::{AuditEvent, IssuedCode, Millis, StoreError};
use crate::{EmployeeId, RosterEntry, Username, mail::Mail};

/// One-time codes, stored as keyed hashes: claim codes and reset verification codes.
#[async_trait]
pub trait CodeStore: Send + Sync + fmt::Debug {
    /// Up to `limit` active roster entries after ID `after` (in ID order) that have no live
    /// claim and no code, or only a used one (a rehire): the ones an import gives a code.
    async fn entries_needing_codes(
        &self,
        after: u32,
        limit: u32,
    ) -> Result<Vec<RosterEntry>, StoreError>;

    /// Stores the codes, each replacing its employee's earlier one (which stops working),
    /// with their mail and audit rows, in one transaction; skips (and mails nothing for)
    /// anyone no longer claimable: terminated, or claimed meanwhile. How many were stored.
    async fn issue_claim_codes(
        &self,
        codes: &[IssuedCode],
        now: Millis,
    ) -> Result<usize, StoreError>;

    /// Whether `hash` is the employee's claim code, unused and unexpired.
    async fn claim_code_live(
        &self,
        id: EmployeeId,
        hash: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Stores a verification code for the account and queues its mail and audit row, unless
    /// `quota` says no (as many live as it allows, as many sent in the last day, or an unused
    /// one younger than its resend time); whether it did.
    async fn add_verification_code(
        &self,
        username: &Username,
        hash: &str,
        expires_at: Millis,
        mail: &Mail,
        audit: AuditEvent,
        quota: &crate::codes::CodeQuota,
    ) -> Result<bool, StoreError>;

    /// Whether `hash` is a live verification code of the account; uses nothing up.
    async fn verification_code_live(
        &self,
        username: &Username,
        hash: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Uses up a live verification code of the account: whether `hash` was one.
    async fn take_verification_code(
        &self,
        username: &Username,
        hash: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;
}

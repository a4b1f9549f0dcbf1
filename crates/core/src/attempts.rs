//! The attempt rule, in one place. Every flow that checks a secret reserves an attempt
//! before any verification work and resolves it after:
//!
//! - Keys are what the caller typed, never what was found: a claim counts against the typed
//!   employee ID, a recovery flow against the typed username, and both against the client
//!   address. So a locked key answers the same whether or not it exists, is claimed or is in
//!   the roster; and wrong names typed for a colleague's ID (half-public) never lock the
//!   colleague's Forgot My Password (the answers are the secret).
//! - Reserving checks the locks and counts the attempt as pending in one store transaction,
//!   before any verification work; attempts in flight take up the limit like failures, so a
//!   burst of N simultaneous guesses is judged exactly like N guesses in a row (past the
//!   limit: RESOURCE_EXHAUSTED, retry in a moment).
//! - A wrong secret turns the pending attempt into a failure, and only failures lock. A
//!   proven secret (right answers, a right current password, an accepted claim) gives it back
//!   and clears the account's counter; an attempt never judged (already claimed, the
//!   directory unreachable, the server too busy) is given back without clearing anything.

use std::{net::IpAddr, time::Duration};

use crate::{
    Accounts, EmployeeId, Error, Username,
    store::{
        AttemptKey, AttemptTicket, AuditAction, AuditEvent, AuditOutcome, Lockout, Reservation,
        now_millis,
    },
};

/// What an attempt is about, as typed.
#[derive(Clone, Debug)]
pub(crate) enum Subject {
    /// Claim My Account, by the employee ID typed.
    Claim(EmployeeId),
    /// Forgot My Password, change password, new answers: by the username typed.
    Recovery(Username),
    /// Forgot My Password with the code mailed to the personal address: the same keys, and
    /// it is judged past the consecutive-failure limit (only a proven code may succeed there).
    RecoveryWithCode(Username),
    /// Forgot My Username: only the client address's own rate.
    UsernameMail,
    /// A work order: only the client address's own rate.
    WorkOrder,
    /// A verification code asked for: only the client address's own rate.
    CodeOffer,
    /// A password check's bind as a directory login (a claimed account's, a helper's): only
    /// claimd's own wrong binds for it, under the directory's lockout threshold for it (the
    /// client's share is counted by the request's own attempt).
    DirectoryBinds {
        /// The login bound as, lower-cased.
        login: String,
        /// Wrong binds within `window` after which claimd binds no more.
        limit: u32,
        /// The directory's counting window for them.
        window: Duration,
    },
    /// A helpdesk sign-in, by the login name typed (lower-cased).
    HelperSignIn(String),
}

/// The attempt keys of `subject` from `client`. The one statement of the key rule.
pub(crate) fn keys(subject: &Subject, client: Option<IpAddr>) -> Vec<AttemptKey> {
    match subject {
        Subject::Claim(id) => [AttemptKey::Employee(*id)]
            .into_iter()
            .chain(client.map(AttemptKey::Address))
            .collect(),
        Subject::Recovery(name) | Subject::RecoveryWithCode(name) => {
            [AttemptKey::Username(name.clone())]
                .into_iter()
                .chain(client.map(AttemptKey::Address))
                .collect()
        }
        Subject::HelperSignIn(login) => [AttemptKey::Helper(login.clone())]
            .into_iter()
            .chain(client.map(AttemptKey::Address))
            .collect(),
        Subject::UsernameMail => client.map(AttemptKey::UsernameMail).into_iter().collect(),
        Subject::WorkOrder => client.map(AttemptKey::WorkOrder).into_iter().collect(),
        Subject::CodeOffer => client.map(AttemptKey::CodeOffer).into_iter().collect(),
        Subject::DirectoryBinds {
            login,
            limit,
            window,
        } => vec![AttemptKey::DirectoryBinds {
            login: login.clone(),
            limit: *limit,
            window: *window,
        }],
    }
}

/// Every key an administrator's unlock of a client address lifts: its failures and each of
/// its rates.
pub fn address_keys(ip: IpAddr) -> Vec<AttemptKey> {
    vec![
        AttemptKey::Address(ip),
        AttemptKey::UsernameMail(ip),
        AttemptKey::WorkOrder(ip),
        AttemptKey::CodeOffer(ip),
    ]
}

/// Every key an administrator's unlock of one account lifts: its claim key and its
/// recovery key, whichever form (employee ID or username) was typed.
pub fn account_keys(employee: Option<EmployeeId>, username: Option<&Username>) -> Vec<AttemptKey> {
    employee
        .map(AttemptKey::Employee)
        .into_iter()
        .chain(username.cloned().map(AttemptKey::Username))
        .collect()
}

/// A reserved attempt. Dropped unresolved (a fault on our side: the flows run to the end even
/// when the caller hangs up), it is given back, so faults can never pile up pending attempts
/// that crowd an account out.
#[must_use = "resolve the attempt: proven, not_judged, or failed"]
#[derive(Debug)]
pub(crate) struct Attempt<'a> {
    accounts: &'a Accounts,
    /// Taken when the attempt is resolved.
    ticket: Option<AttemptTicket>,
    audit: AuditContext,
}

/// Who an attempt is for, in its audit rows.
#[derive(Clone, Debug)]
pub(crate) struct AuditContext {
    pub action: AuditAction,
    pub employee_id: Option<EmployeeId>,
    pub username: Option<Username>,
    pub client: Option<IpAddr>,
}

impl AuditContext {
    pub fn event(&self, outcome: AuditOutcome, reason: Option<String>) -> AuditEvent {
        AuditEvent {
            at: now_millis(),
            action: self.action,
            employee_id: self.employee_id,
            username: self.username.clone(),
            client: self.client,
            actor: None,
            outcome,
            reason,
        }
    }
}

impl Accounts {
    /// Reserves an attempt on `subject`'s keys, or refuses with `LockedOut` (audited) when one
    /// is locked. Locks this attempt's count places are audited and counted in the metrics.
    pub(crate) async fn reserve(
        &self,
        subject: &Subject,
        audit: &AuditContext,
    ) -> Result<Attempt<'_>, Error> {
        let now = now_millis();
        let keys = keys(subject, audit.client);
        match self
            .store
            .reserve_attempt(
                &keys,
                &self.policy.lockout,
                now,
                matches!(subject, Subject::RecoveryWithCode(_)),
            )
            .await?
        {
            Reservation::Locked { until } => {
                // Not audited one by one (the lock was, when placed): a locked-out script
                // calling in a loop must not fill the audit log.
                tracing::info!("{} refused: locked", audit.action);
                let wait = u64::try_from(until.saturating_sub(now))
                    .unwrap_or(u64::MAX)
                    .max(1000);
                Err(Error::LockedOut {
                    retry_after: Duration::from_millis(wait),
                })
            }
            Reservation::Crowded => {
                tracing::info!(
                    "{} refused: limit taken by attempts in flight",
                    audit.action
                );
                Err(Error::Busy {
                    retry_after: Duration::from_secs(1),
                })
            }
            Reservation::Granted(ticket) => Ok(Attempt {
                accounts: self,
                ticket: Some(ticket),
                audit: audit.clone(),
            }),
        }
    }

    async fn audit_lock(&self, lock: &Lockout, audit: &AuditContext) -> Result<(), Error> {
        tracing::warn!(key = %lock.key, "locked out after repeated failures");
        let scope = match lock.key {
            AttemptKey::Employee(_) | AttemptKey::Username(_) => "account",
            AttemptKey::Address(_) => "address",
            AttemptKey::UsernameMail(_) => "username_mail",
            AttemptKey::WorkOrder(_) => "work_order",
            AttemptKey::CodeOffer(_) => "code_offer",
            AttemptKey::DirectoryBinds { .. } => "directory_binds",
            AttemptKey::Helper(_) => "helper",
        };
        metrics::counter!("claimd_lockouts_total", "scope" => scope).increment(1);
        let mut event = audit.event(
            AuditOutcome::Locked,
            Some(format!("too many failed attempts on {}", lock.key)),
        );
        event.action = AuditAction::Lockout;
        Ok(self.store.record_audit(event).await?)
    }
}

impl Attempt<'_> {
    /// The employee the typed name turned out to be: a lock this attempt completes is then
    /// audited under the employee as well as the name (found by `admin audit --employee`).
    pub(crate) fn found_employee(&mut self, id: Option<crate::EmployeeId>) {
        self.audit.employee_id = id;
    }

    /// The account is past the consecutive-failure limit: only a proven mailed code may
    /// make this attempt succeed.
    pub(crate) fn past_limit(&self) -> bool {
        self.ticket.as_ref().is_some_and(|t| t.past_limit)
    }

    fn take(&mut self) -> AttemptTicket {
        self.ticket.take().expect("an attempt is resolved once")
    }

    /// The secret proved right: the attempt is given back and the account's counter cleared
    /// (the client address's count of other people's failures stays).
    pub(crate) async fn proven(mut self) -> Result<(), Error> {
        let ticket = self.take();
        Ok(self.accounts.store.give_back(&ticket, true).await?)
    }

    /// Nothing was judged (already claimed, the directory could not be asked): given back.
    pub(crate) async fn not_judged(mut self) -> Result<(), Error> {
        let ticket = self.take();
        Ok(self.accounts.store.give_back(&ticket, false).await?)
    }

    /// The secret was wrong: the attempt counts as a failure; the locks it completes are
    /// placed and audited.
    pub(crate) async fn failed(mut self) -> Result<(), Error> {
        let ticket = self.take();
        let accounts = self.accounts;
        let locks = accounts
            .store
            .fail_attempt(&ticket, &accounts.policy.lockout, now_millis())
            .await?;
        for lock in &locks {
            accounts.audit_lock(lock, &self.audit).await?;
        }
        Ok(())
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        tracing::warn!(
            action = self.audit.action.as_str(),
            "attempt ended without a judgement; giving it back"
        );
        let store = self.accounts.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.give_back(&ticket, false).await {
                    tracing::error!(error = %e, "an unjudged attempt could not be given back");
                }
            });
        }
    }
}

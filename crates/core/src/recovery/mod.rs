//! Forgot My Username, Forgot My Password, Unlock My Account, change password, and new
//! challenge answers.
//!
//! None of these tells a caller whether an account exists: username recovery replies the
//! same for every address; an unknown username gets three decoy questions that stay the same
//! for it (keyed by the server's secret) and costs the same argon2 work when answered; wrong
//! answers, a wrong password and an unknown username give one `Unauthenticated`. Attempts
//! are reserved and judged by the rule in `attempts`, against the username as typed.

pub(crate) mod binds;
mod change;
pub(crate) mod code_mail;
pub use code_mail::CodeWorker;
mod reset;
mod unlock;
mod username;

use std::net::IpAddr;

use secrecy::SecretString;
use tracing::{info, warn};

use crate::{
    Accounts, Error, JobKind, Operation, OperationId, OperationState, Username,
    attempts::{Attempt, AuditContext, Subject},
    directory::DirectoryJob,
    password::personal_words,
    questions::TypedAnswer,
    store::{
        AuditAction, AuditEvent, AuditOutcome, ClaimedAccount, Millis, NewAccountJob, now_millis,
    },
};

/// Replies that read but do not hash (username recovery, reset questions) take at least this
/// long, so the few store rows a known account adds cannot be timed. Tokio's timer ticks in
/// milliseconds: both paths end on the same tick.
const RESPONSE_FLOOR: std::time::Duration = std::time::Duration::from_millis(5);

/// Runs `work`, then waits until [`RESPONSE_FLOOR`] has passed since the start.
pub(super) async fn at_least_floor<T>(work: impl std::future::Future<Output = T>) -> T {
    let deadline = tokio::time::Instant::now() + RESPONSE_FLOOR;
    let result = work.await;
    tokio::time::sleep_until(deadline).await;
    result
}

/// Forgot My Password, second step.
#[derive(Debug)]
pub struct ResetRequest {
    /// The username as typed.
    pub username: String,
    /// Answers to the three questions shown.
    pub answers: Vec<TypedAnswer>,
    /// The new password.
    pub new_password: SecretString,
    /// The code mailed to the personal address, when the district asks for one.
    pub verification_code: SecretString,
}

/// Unlock My Account: the same proof as Forgot My Password, no new password.
#[derive(Debug)]
pub struct UnlockRequest {
    /// The username as typed.
    pub username: String,
    /// Answers to the three questions shown.
    pub answers: Vec<TypedAnswer>,
    /// The code mailed to the personal address, when the district asks for one.
    pub verification_code: SecretString,
}

/// A logged-in person changes the password.
#[derive(Debug)]
pub struct ChangeRequest {
    /// The username as typed.
    pub username: String,
    /// The password now.
    pub current_password: SecretString,
    /// The new password.
    pub new_password: SecretString,
}

/// A change of password accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeReceipt {
    /// The directory job that sets the new password.
    pub operation: Operation,
    /// The directory said the current password had expired or had to be changed before
    /// anything else (AD bind `data 532`/`773`; ppolicy `pwdReset`, past `pwdMaxAge`): the
    /// pages say why the person is here.
    pub current_password_expired: bool,
}

/// A logged-in person replaces the challenge questions and answers.
#[derive(Debug)]
pub struct UpdateAnswersRequest {
    /// The username as typed.
    pub username: String,
    /// The password now.
    pub password: SecretString,
    /// Three new answers to three different questions from the pool.
    pub answers: Vec<TypedAnswer>,
}

/// The account a request names (if claimd manages one by that name) and its reserved attempt.
pub(super) struct Target<'a> {
    username: Username,
    claimed: Option<ClaimedAccount>,
    attempt: Attempt<'a>,
    audit: AuditContext,
    /// The directory says the account is privileged: refused as if the secrets were wrong.
    privileged: bool,
    /// The wrong bind this request may make, reserved against the directory's lockout
    /// threshold (see `binds`), resolved with `attempt`.
    bind: Option<Attempt<'a>>,
}

impl Accounts {
    /// Length, characters, common passwords and the username, judged once the attempt is
    /// reserved: the strength estimate costs CPU, so it must cost a try's reservation too (a
    /// locked name or address gets its lock, not a free estimate). A refused password gives
    /// the attempt back. The names are checked once the person is verified (see
    /// `accept_password`), so the reply cannot tell an unknown account.
    pub(super) async fn new_password_fits<'a>(
        &self,
        target: Target<'a>,
        field: &str,
        password: &SecretString,
    ) -> Result<Target<'a>, Error> {
        let words = personal_words("", "", "", target.username.as_str());
        match self.password_rule(password, words, false).await {
            Ok(Ok(())) => Ok(target),
            Ok(Err(rule)) => {
                target.attempt.not_judged().await?;
                Err(Error::invalid(field, rule))
            }
            Err(busy) => {
                target.attempt.not_judged().await?;
                Err(busy)
            }
        }
    }

    /// Reserves an attempt on the typed username (refused when it or the client is locked),
    /// then looks the account up. `mailed_code`: the request carries the code mailed to the
    /// personal address, so an account past the consecutive limit is still judged.
    pub(super) async fn target(
        &self,
        username: Username,
        action: AuditAction,
        client: Option<IpAddr>,
        mailed_code: bool,
    ) -> Result<Target<'_>, Error> {
        let span = tracing::Span::current();
        span.record("username", username.as_str());
        let mut audit = AuditContext {
            action,
            employee_id: None,
            username: Some(username.clone()),
            client,
        };
        let subject = if mailed_code {
            Subject::RecoveryWithCode(username.clone())
        } else {
            Subject::Recovery(username.clone())
        };
        let mut attempt = self.reserve(&subject, &audit).await?;
        let claimed = self.store.claimed_account(&username).await?;
        audit.employee_id = claimed.as_ref().map(|c| c.account.employee_id);
        attempt.found_employee(audit.employee_id);
        Ok(Target {
            username,
            claimed,
            attempt,
            audit,
            privileged: false,
            bind: None,
        })
    }

    /// The claimed account when the check passed (the attempt given back, the counter
    /// cleared); otherwise the failure stays counted and the caller gets `Unauthenticated`.
    pub(super) async fn verified(
        &self,
        target: Target<'_>,
        passed: bool,
    ) -> Result<ClaimedAccount, Error> {
        match target.claimed {
            Some(claimed) if passed && !target.privileged => {
                target.attempt.proven().await?;
                if let Some(bind) = target.bind {
                    bind.proven().await?;
                }
                Ok(claimed)
            }
            claimed => {
                target.attempt.failed().await?;
                if let Some(bind) = target.bind {
                    bind.failed().await?;
                }
                let reason = if target.privileged {
                    crate::claim::PRIVILEGED
                } else if claimed.is_some() {
                    "wrong answers or password"
                } else {
                    "no claimed account"
                };
                warn!(reason, "{} refused", target.audit.action);
                let event = target
                    .audit
                    .event(AuditOutcome::Unauthenticated, Some(reason.into()));
                self.store.record_audit(event).await?;
                Err(Error::Unauthenticated)
            }
        }
    }

    /// Queues a verified person's new password, after the checks that need their names and
    /// the breached list.
    pub(super) async fn accept_password(
        &self,
        claimed: ClaimedAccount,
        kind: JobKind,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let account = &claimed.account;
        let words = personal_words(
            account.last_name.as_str(),
            account.first_name.as_str(),
            &account.employee_id.to_string(),
            account.username.as_str(),
        );
        let action = if kind == JobKind::ResetPassword {
            AuditAction::ResetPassword
        } else {
            AuditAction::ChangePassword
        };
        if let Err(rule) = self.password_rule(password, words, true).await? {
            // The secrets were right, and the reply says so to whoever gave them: the person
            // hears of it, and the audit shows it, whatever follows.
            let now = now_millis();
            let proof = if kind == JobKind::ResetPassword {
                "the answers to your challenge questions"
            } else {
                "your current password"
            };
            let mut event =
                self.account_event(action, &claimed, client, AuditOutcome::ProvenRefused, now);
            event.reason = Some(format!("secrets right; the new password {rule}"));
            let mail = self.mail.secrets_proven(account, proof, now, rule);
            self.store.enqueue_mail(&mail, event).await?;
            self.events.mail_queued();
            warn!(%rule, "{action} refused after the secrets were proven");
            return Err(Error::invalid("new_password", rule));
        }
        let now = now_millis();
        let id = OperationId::new();
        let job = NewAccountJob {
            audit: self.account_event(action, &claimed, client, AuditOutcome::Accepted, now),
            sealed_password: self.sealer.seal(password, id.to_string().as_bytes()),
            job: DirectoryJob {
                id,
                kind,
                account: account.clone(),
                rehire: false,
                entry: None,
            },
            claim_id: claimed.claim_id,
            now,
        };
        if !self.store.insert_account_job(job).await? {
            // The person left while the request was checked: answered as for a stranger.
            warn!("password refused: the account is no longer managed");
            return Err(Error::Unauthenticated);
        }
        self.events.job_queued();
        info!(operation = %id, "{action} accepted");
        Ok(Operation {
            id,
            state: OperationState::Pending,
            reason: None,
        })
    }

    pub(super) fn account_event(
        &self,
        action: AuditAction,
        claimed: &ClaimedAccount,
        client: Option<IpAddr>,
        outcome: AuditOutcome,
        at: Millis,
    ) -> AuditEvent {
        AuditEvent {
            at,
            action,
            employee_id: Some(claimed.account.employee_id),
            username: Some(claimed.account.username.clone()),
            client,
            actor: None,
            outcome,
            reason: None,
        }
    }
}

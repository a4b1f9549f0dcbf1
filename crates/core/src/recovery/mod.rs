//! Forgot My Username, Forgot My Password, change password, and new challenge answers.
//!
//! None of these tells a caller whether an account exists: username recovery replies the
//! same for every address; an unknown username gets three decoy questions that stay the same
//! for it (keyed by the server's secret) and costs the same argon2 work when answered; wrong
//! answers, a wrong password and an unknown username give one `Unauthenticated`. Failures
//! count toward the same account and address locks as the claim flow.

mod change;
mod reset;
mod username;

use std::net::IpAddr;

use secrecy::SecretString;
use tracing::{info, warn};

use crate::{
    Accounts, Error, JobKind, Operation, OperationId, OperationState, Username, Violations,
    directory::DirectoryJob,
    password::personal_words,
    questions::TypedAnswer,
    store::{AttemptKey, AuditEvent, ClaimedAccount, Millis, NewPasswordJob, now_millis},
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

/// The account a verified request is for, and the attempt keys it counts against.
pub(super) struct Target {
    username: Username,
    claimed: Option<ClaimedAccount>,
    keys: Vec<AttemptKey>,
}

impl Accounts {
    /// Length, characters, common passwords and the username; the names are checked once the
    /// person is verified (see `accept_password`), so the reply cannot tell an unknown account.
    pub(super) fn check_new_password(
        &self,
        v: &mut Violations,
        field: &str,
        password: &SecretString,
        username: Option<&Username>,
    ) {
        let words = personal_words("", "", "", username.map_or("", Username::as_str));
        v.check(field, self.policy.passwords.check(password, &words));
    }

    /// Looks the account up and refuses early when it or the client is locked.
    pub(super) async fn target(
        &self,
        username: Username,
        client: Option<IpAddr>,
    ) -> Result<Target, Error> {
        let span = tracing::Span::current();
        span.record("username", username.as_str());
        let claimed = self.store.claimed_account(&username).await?;
        let account_key = match &claimed {
            Some(c) => AttemptKey::Employee(c.account.employee_id),
            None => AttemptKey::Username(username.clone()),
        };
        let mut keys = vec![account_key];
        keys.extend(client.map(AttemptKey::Address));
        self.check_lock(&keys, now_millis()).await?;
        Ok(Target {
            username,
            claimed,
            keys,
        })
    }

    pub(super) async fn directory_says(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<bool, Error> {
        self.directory
            .verify_password(username, password)
            .await
            .map_err(|e| {
                warn!(error = %e, "the directory could not check a password");
                Error::DirectoryUnavailable
            })
    }

    /// The claimed account when the check passed; otherwise counts the failure.
    pub(super) async fn verified(
        &self,
        target: Target,
        passed: bool,
        action: &'static str,
        client: Option<IpAddr>,
    ) -> Result<ClaimedAccount, Error> {
        let now = now_millis();
        match target.claimed {
            Some(claimed) if passed => Ok(claimed),
            claimed => {
                let employee_id = claimed.as_ref().map(|c| c.account.employee_id);
                let reason = if claimed.is_some() {
                    "wrong answers or password"
                } else {
                    "no claimed account"
                };
                warn!(reason, "{action} refused");
                self.store
                    .record_audit(AuditEvent {
                        at: now,
                        action,
                        employee_id,
                        username: Some(target.username.clone()),
                        client,
                        outcome: "unauthenticated",
                        reason: Some(reason.into()),
                    })
                    .await?;
                self.count_failure(
                    &target.keys,
                    employee_id,
                    Some(&target.username),
                    client,
                    now,
                )
                .await?;
                Err(Error::Unauthenticated)
            }
        }
    }

    /// Queues a verified person's new password, after the checks that need their names.
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
        self.policy
            .passwords
            .check(password, &words)
            .map_err(|rule| Error::invalid("new_password", rule))?;
        self.store
            .clear_failures(&AttemptKey::Employee(account.employee_id))
            .await?;
        let now = now_millis();
        let id = OperationId::new();
        let action = if kind == JobKind::ResetPassword {
            "reset_password"
        } else {
            "change_password"
        };
        let job = NewPasswordJob {
            audit: self.account_event(action, &claimed, client, "accepted", now),
            sealed_password: self.sealer.seal(password, id.to_string().as_bytes()),
            job: DirectoryJob {
                id,
                kind,
                account: account.clone(),
            },
            claim_id: claimed.claim_id,
            now,
        };
        self.store.insert_password_job(job).await?;
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
        action: &'static str,
        claimed: &ClaimedAccount,
        client: Option<IpAddr>,
        outcome: &'static str,
        at: Millis,
    ) -> AuditEvent {
        AuditEvent {
            at,
            action,
            employee_id: Some(claimed.account.employee_id),
            username: Some(claimed.account.username.clone()),
            client,
            outcome,
            reason: None,
        }
    }
}

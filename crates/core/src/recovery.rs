//! Forgot My Username, Forgot My Password, change password, and new challenge answers.
//!
//! None of these tells a caller whether an account exists: username recovery replies the
//! same for every address; an unknown username gets three decoy questions that stay the same
//! for it (keyed by the server's secret) and costs the same argon2 work when answered; wrong
//! answers, a wrong password and an unknown username give one `Unauthenticated`. Failures
//! count toward the same account and address locks as the claim flow.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use tracing::{info, warn};

use crate::{
    Accounts, Email, Error, JobKind, Operation, OperationId, OperationState, Question, Username,
    Violations,
    directory::DirectoryJob,
    mail::MailKind,
    password::personal_words,
    questions::{ANSWERS_REQUIRED, MAX_ANSWER_CHARS, TypedAnswer, validate_answers},
    store::{
        AttemptKey, AuditEvent, ClaimedAccount, Millis, NewPasswordJob, StoredAnswer, now_millis,
    },
    text::{answer_key, has_control},
};

/// Replies that read but do not hash (username recovery, reset questions) take at least this
/// long, so the few store rows a known account adds cannot be timed. Tokio's timer ticks in
/// milliseconds: both paths end on the same tick.
const RESPONSE_FLOOR: std::time::Duration = std::time::Duration::from_millis(5);

/// Runs `work`, then waits until [`RESPONSE_FLOOR`] has passed since the start.
async fn at_least_floor<T>(work: impl std::future::Future<Output = T>) -> T {
    let deadline = tokio::time::Instant::now() + RESPONSE_FLOOR;
    let result = work.await;
    tokio::time::sleep_until(deadline).await;
    result
}

/// At most this many username mails go to one address per hour, however often it is asked.
const USERNAME_MAILS_PER_HOUR: u32 = 3;
const HOUR_MS: Millis = 60 * 60 * 1000;

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
struct Target {
    username: Username,
    claimed: Option<ClaimedAccount>,
    keys: Vec<AttemptKey>,
}

impl Accounts {
    /// Forgot My Username: mails the usernames of the claimed accounts using `email`. The
    /// reply is the same whether or not there are any.
    pub async fn recover_username(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error> {
        let email = Email::parse(email).map_err(|rule| Error::invalid("email", rule))?;
        at_least_floor(self.mail_usernames(email, client)).await
    }

    async fn mail_usernames(&self, email: Email, client: Option<IpAddr>) -> Result<(), Error> {
        let now = now_millis();
        let keys: Vec<AttemptKey> = client.map(AttemptKey::Address).into_iter().collect();
        self.check_lock(&keys, now).await?;
        // Every request counts toward the address's limit: a rate limit that says nothing
        // about which addresses are on file.
        self.count_failure(&keys, None, None, client, now).await?;
        let accounts = self.store.claimed_accounts_by_email(&email).await?;
        // Asked for every address, on file or not, so both paths cost the same.
        let recent = self
            .store
            .mails_queued_since(&email, MailKind::UsernameReminder, now - HOUR_MS)
            .await?;
        let audit = |outcome, username: Option<&Username>| AuditEvent {
            at: now,
            action: "recover_username",
            employee_id: None,
            username: username.cloned(),
            client,
            outcome,
            reason: None,
        };
        if accounts.is_empty() {
            info!(outcome = "no_account", "username recovery");
            self.store.record_audit(audit("no_account", None)).await?;
            return Ok(());
        }
        if recent >= USERNAME_MAILS_PER_HOUR {
            warn!(
                recent,
                "username mail not sent again: hourly limit for the address"
            );
            self.store
                .record_audit(audit("throttled", Some(&accounts[0].username)))
                .await?;
            return Ok(());
        }
        let usernames: Vec<Username> = accounts.iter().map(|a| a.username.clone()).collect();
        let mail = self.mail.username_reminder(&email, &usernames);
        self.store
            .enqueue_mail(&mail, audit("mailed", Some(&usernames[0])))
            .await?;
        self.events.mail_queued();
        info!(
            outcome = "mailed",
            accounts = usernames.len(),
            "username recovery"
        );
        Ok(())
    }

    /// Forgot My Password, first step: the three questions chosen at claim time, or three
    /// decoys (stable for the username) when there is no claimed account by that name.
    pub async fn reset_questions(&self, username: &str) -> Result<Vec<Question>, Error> {
        let username =
            Username::parse(username).map_err(|rule| Error::invalid("username", rule))?;
        at_least_floor(self.questions_for(username)).await
    }

    async fn questions_for(&self, username: Username) -> Result<Vec<Question>, Error> {
        // Both paths do the same work: one store query and the decoy computation.
        let decoys = self.decoys(&username);
        match self.store.claimed_account(&username).await? {
            Some(claimed) if claimed.answers.len() == ANSWERS_REQUIRED => Ok(claimed
                .answers
                .into_iter()
                .map(|a| Question {
                    id: a.question_id,
                    text: a.question_text,
                })
                .collect()),
            _ => Ok(decoys),
        }
    }

    /// Three questions from the pool picked by a keyed hash of the username.
    fn decoys(&self, username: &Username) -> Vec<Question> {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.decoy_key.as_slice())
            .expect("HMAC takes any key length");
        mac.update(username.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let pool = self.policy.questions.questions();
        let mut order: Vec<usize> = (0..pool.len()).collect();
        for i in 0..ANSWERS_REQUIRED {
            let draw = usize::from(u16::from_be_bytes([digest[2 * i], digest[2 * i + 1]]));
            let j = i + draw % (order.len() - i);
            order.swap(i, j);
        }
        order[..ANSWERS_REQUIRED]
            .iter()
            .map(|&i| pool[i].clone())
            .collect()
    }

    /// Forgot My Password, second step: checks the answers and queues the new password.
    pub async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(&request.username));
        self.check_new_password(
            &mut v,
            "new_password",
            &request.new_password,
            username.as_ref(),
        );
        check_reset_answers(&mut v, &request.answers);
        v.into_result()?;
        let target = self.target(username.expect("validated"), client).await?;

        // Three argon2 checks whether or not the account exists.
        let pairs: Vec<(SecretString, String)> = match &target.claimed {
            Some(claimed) if claimed.answers.len() == ANSWERS_REQUIRED => claimed
                .answers
                .iter()
                .map(|stored| {
                    let typed = request
                        .answers
                        .iter()
                        .find(|a| a.question_id == stored.question_id);
                    let key =
                        typed.map_or_else(String::new, |a| answer_key(a.answer.expose_secret()));
                    (SecretString::from(key), stored.hash.clone())
                })
                .collect(),
            _ => request
                .answers
                .iter()
                .map(|a| {
                    (
                        SecretString::from(answer_key(a.answer.expose_secret())),
                        self.dummy_hash.clone(),
                    )
                })
                .collect(),
        };
        let all_right = self.hasher.verify_all(pairs).await?.iter().all(|ok| *ok);
        let claimed = self
            .verified(target, all_right, "reset_password", client)
            .await?;
        self.accept_password(
            claimed,
            JobKind::ResetPassword,
            &request.new_password,
            client,
        )
        .await
    }

    /// Checks the current password with the directory and queues the new one.
    pub async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(&request.username));
        if request.current_password.expose_secret().is_empty() {
            v.add("current_password", "is required");
        }
        self.check_new_password(
            &mut v,
            "new_password",
            &request.new_password,
            username.as_ref(),
        );
        if request.new_password.expose_secret() == request.current_password.expose_secret() {
            v.add("new_password", "must differ from the current password");
        }
        v.into_result()?;
        let target = self.target(username.expect("validated"), client).await?;
        let right = self
            .directory_says(&target.username, &request.current_password)
            .await?;
        let claimed = self
            .verified(target, right, "change_password", client)
            .await?;
        self.accept_password(
            claimed,
            JobKind::ChangePassword,
            &request.new_password,
            client,
        )
        .await
    }

    /// Checks the password with the directory and replaces the challenge answers.
    pub async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(&request.username));
        if request.password.expose_secret().is_empty() {
            v.add("password", "is required");
        }
        let answers = validate_answers(
            &self.policy.questions,
            "answers",
            &request.answers,
            Some(&request.password),
            &mut v,
        );
        v.into_result()?;
        let answers = answers.ok_or(Error::Internal)?;
        let target = self.target(username.expect("validated"), client).await?;
        let right = self
            .directory_says(&target.username, &request.password)
            .await?;
        let claimed = self
            .verified(target, right, "update_answers", client)
            .await?;

        let hashes = self
            .hasher
            .hash_all(answers.iter().map(|a| a.key.clone()).collect())
            .await?;
        let stored: Vec<StoredAnswer> = answers
            .iter()
            .zip(hashes)
            .map(|(a, hash)| StoredAnswer {
                question_id: a.question.id.clone(),
                question_text: a.question.text.clone(),
                hash,
            })
            .collect();
        let now = now_millis();
        let audit = self.account_event("update_answers", &claimed, client, "changed", now);
        let notice = self.mail.answers_changed(&claimed.account);
        self.store
            .replace_answers(&claimed.claim_id, &stored, audit, notice)
            .await?;
        self.events.mail_queued();
        info!("challenge answers replaced");
        Ok(())
    }

    /// Length, characters, common passwords and the username; the names are checked once the
    /// person is verified (see `accept_password`), so the reply cannot tell an unknown account.
    fn check_new_password(
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
    async fn target(&self, username: Username, client: Option<IpAddr>) -> Result<Target, Error> {
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

    async fn directory_says(
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
    async fn verified(
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
    async fn accept_password(
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

    fn account_event(
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

/// Reset answers: three, each for a different question, each a short single line. Whether
/// the questions are the person's is part of the check, not of validation.
fn check_reset_answers(v: &mut Violations, answers: &[TypedAnswer]) {
    if answers.len() != ANSWERS_REQUIRED {
        v.add(
            "answers",
            format!("exactly {ANSWERS_REQUIRED} answers are required, one for each question shown"),
        );
        return;
    }
    for (i, answer) in answers.iter().enumerate() {
        if answers[..i]
            .iter()
            .any(|a| a.question_id == answer.question_id)
        {
            v.add(
                format!("answers[{i}].question_id"),
                "each answer must be for a different question",
            );
        }
        let raw = answer.answer.expose_secret();
        if raw.trim().is_empty() {
            v.add(format!("answers[{i}].answer"), "is required");
        } else if has_control(raw) {
            v.add(
                format!("answers[{i}].answer"),
                "must not contain control characters such as line breaks or tabs",
            );
        } else if raw.chars().count() > MAX_ANSWER_CHARS {
            v.add(
                format!("answers[{i}].answer"),
                format!("must be at most {MAX_ANSWER_CHARS} characters"),
            );
        }
    }
}

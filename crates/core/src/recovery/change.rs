//! A logged-in person changes the password or the challenge answers; the current password is
//! checked by the directory.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use tracing::info;

use super::{ChangeReceipt, ChangeRequest, UpdateAnswersRequest};
use crate::{
    Accounts, Error, JobKind, PasswordCheck, Rule, Username, Violations,
    questions::validate_answers,
    store::{AuditAction, AuditOutcome, StoredAnswer, now_millis},
};

impl Accounts {
    /// Checks the current password with the directory and queues the new one.
    pub async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<ChangeReceipt, Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(&request.username));
        check_given_password(&mut v, "current_password", &request.current_password);
        if request.new_password.expose_secret() == request.current_password.expose_secret() {
            v.add("new_password", Rule::SameAsCurrent);
        }
        v.into_result()?;
        let target = self
            .target(
                username.expect("validated"),
                AuditAction::ChangePassword,
                client,
                false,
            )
            .await?;
        let target = self
            .new_password_fits(target, "new_password", &request.new_password)
            .await?;
        let (target, check) = self
            .password_is_right(target, &request.current_password)
            .await?;
        let claimed = self.verified(target, check.is_right()).await?;
        let was_due = matches!(check, PasswordCheck::Expired | PasswordCheck::MustChange);
        if was_due {
            info!(?check, "the current password had to be changed");
        }
        let operation = self
            .accept_password(
                claimed,
                JobKind::ChangePassword,
                &request.new_password,
                client,
            )
            .await?;
        Ok(ChangeReceipt {
            operation,
            current_password_expired: was_due,
        })
    }

    /// Checks the password with the directory and replaces the challenge answers.
    pub async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(&request.username));
        check_given_password(&mut v, "password", &request.password);
        let answers = validate_answers(
            &self.policy.questions,
            "answers",
            &request.answers,
            Some(&request.password),
            &mut v,
        );
        v.into_result()?;
        let answers = answers.ok_or(Error::Internal)?;
        let target = self
            .target(
                username.expect("validated"),
                AuditAction::UpdateAnswers,
                client,
                false,
            )
            .await?;
        let (target, check) = self.password_is_right(target, &request.password).await?;
        let claimed = self.verified(target, check.is_right()).await?;

        let hasher = self.hasher.clone();
        let keys: Vec<_> = answers.iter().map(|a| a.key.clone()).collect();
        let hashes = self.cpu.run(move || hasher.hash_each(&keys)).await??;
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
        let audit = self.account_event(
            AuditAction::UpdateAnswers,
            &claimed,
            client,
            AuditOutcome::Changed,
            now,
        );
        let notice = self.mail.answers_changed(&claimed.account);
        self.store
            .replace_answers(&claimed.claim_id, &stored, audit, notice)
            .await?;
        self.events.mail_queued();
        info!("challenge answers replaced");
        Ok(())
    }
}

/// A password given as proof: present, and no longer than any password claimd sets (a
/// megabyte of "password" is refused before it reaches a bind).
fn check_given_password(v: &mut Violations, field: &str, password: &SecretString) {
    let chars = password.expose_secret().chars().count();
    if chars == 0 {
        v.add(field, Rule::Required);
    } else if chars > crate::MAX_PASSWORD_CHARS {
        v.add(field, Rule::AtMostChars(crate::MAX_PASSWORD_CHARS));
    }
}

//! Forgot My Password: the person's three questions (or stable decoys), then the answers
//! checked with the same argon2 work whether or not the account exists.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

use super::{ResetRequest, at_least_floor};
use crate::{
    Accounts, Error, JobKind, Operation, Question, Rule, Username, Violations,
    questions::{ANSWERS_REQUIRED, MAX_ANSWER_CHARS, MAX_QUESTION_ID_CHARS, TypedAnswer},
    store::{AuditAction, AuditOutcome, now_millis},
    text::{answer_key, has_invisible},
};

impl Accounts {
    /// Forgot My Password, first step: the three questions chosen at claim time, or three
    /// decoys (stable for the username) when there is no claimed account by that name.
    /// With the second factor on, a claimed account with a personal address is also sent a
    /// code (off the request path; `client` counts against the per-address limit).
    pub async fn reset_questions(
        &self,
        username: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Vec<Question>, Error> {
        let username =
            Username::parse(username).map_err(|rule| Error::invalid("username", rule))?;
        at_least_floor(self.questions_for(username, client)).await
    }

    async fn questions_for(
        &self,
        username: Username,
        client: Option<std::net::IpAddr>,
    ) -> Result<Vec<Question>, Error> {
        // Both paths do the same work: one store query and the decoy computation.
        let decoys = self.decoys(&username).await?;
        let claimed = self.store.claimed_account(&username).await?;
        if self.policy.second_factor
            && let Some(claimed) = &claimed
            && let Some(to) = &claimed.personal_email
        {
            self.codes_to_send.offer(
                claimed.account.username.clone(),
                claimed.account.employee_id,
                to.clone(),
                client,
            );
        }
        let mut questions = match claimed {
            // Worded as the pool words them today, like the decoys: a pool reworded since the
            // claim must not tell real accounts from unknown ones.
            Some(claimed) if claimed.answers.len() == ANSWERS_REQUIRED => claimed
                .answers
                .into_iter()
                .map(|a| match self.policy.questions.get(&a.question_id) {
                    Some(current) => current.clone(),
                    None => Question {
                        id: a.question_id,
                        text: a.question_text,
                    },
                })
                .collect(),
            _ => decoys,
        };
        // In the pool's order, real or decoy: the order people chose theirs in (often the
        // pool's own) must not tell them from the decoys' draw.
        questions.sort_by_key(|q| self.policy.questions.position(&q.id));
        Ok(questions)
    }

    /// Three questions picked by a keyed hash of the username from the pool and the
    /// questions real accounts still hold after they left it.
    async fn decoys(&self, username: &Username) -> Result<Vec<Question>, Error> {
        let retired = self
            .retired_questions
            .get_or_try_init(|| async {
                let mut retired = self.store.answered_questions().await?;
                retired.retain(|q| self.policy.questions.get(&q.id).is_none());
                retired.dedup_by(|a, b| a.id == b.id);
                Ok::<_, Error>(retired)
            })
            .await?;
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.decoy_key.as_slice())
            .expect("HMAC takes any key length");
        mac.update(username.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let pool: Vec<&Question> = self
            .policy
            .questions
            .questions()
            .iter()
            .chain(retired)
            .collect();
        let mut order: Vec<usize> = (0..pool.len()).collect();
        for i in 0..ANSWERS_REQUIRED {
            let draw = usize::from(u16::from_be_bytes([digest[2 * i], digest[2 * i + 1]]));
            let j = i + draw % (order.len() - i);
            order.swap(i, j);
        }
        Ok(order[..ANSWERS_REQUIRED]
            .iter()
            .map(|&i| pool[i].clone())
            .collect())
    }

    /// Forgot My Password, second step: checks the answers and queues the new password.
    pub async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let target = self
            .answers_target(
                &request.username,
                &request.answers,
                &request.verification_code,
                AuditAction::ResetPassword,
                client,
            )
            .await?;
        let target = self
            .new_password_fits(target, "new_password", &request.new_password)
            .await?;

        let claimed = self
            .prove_answers(
                target,
                &request.answers,
                &request.verification_code,
                AuditAction::ResetPassword,
                client,
            )
            .await?;
        self.accept_password(
            claimed,
            JobKind::ResetPassword,
            &request.new_password,
            client,
        )
        .await
    }

    /// The request's username, answers and code checked for form (every bad field at once),
    /// then the attempt reserved on the username: the first step of every flow proven by
    /// the answers.
    pub(super) async fn answers_target(
        &self,
        username: &str,
        answers: &[TypedAnswer],
        code: &SecretString,
        action: AuditAction,
        client: Option<IpAddr>,
    ) -> Result<super::Target<'_>, Error> {
        let mut v = Violations::default();
        let username = v.check("username", Username::parse(username));
        check_reset_answers(&mut v, answers);
        if code.expose_secret().chars().count() > MAX_CODE_CHARS {
            v.add("verification_code", Rule::AtMostChars(MAX_CODE_CHARS));
        }
        v.into_result()?;
        let mailed_code = self.policy.second_factor && !code.expose_secret().is_empty();
        self.target(username.expect("validated"), action, client, mailed_code)
            .await
    }

    /// Forgot My Password's proof, shared by Unlock My Account: the three answers (checked
    /// with the same argon2 work whether or not the account exists), the mailed code when
    /// the district asks for one, and the consecutive-failure bound. A privileged account's
    /// right answers are refused as wrong ones, before a mailed code is used up. The account
    /// when all is proven; `Unauthenticated` (the failure counted) otherwise.
    pub(super) async fn prove_answers(
        &self,
        target: super::Target<'_>,
        answers: &[TypedAnswer],
        code: &SecretString,
        action: AuditAction,
        client: Option<IpAddr>,
    ) -> Result<crate::store::ClaimedAccount, Error> {
        // Three argon2 checks whether or not the account exists.
        let pairs: Vec<(SecretString, String)> = match &target.claimed {
            Some(claimed) if claimed.answers.len() == ANSWERS_REQUIRED => claimed
                .answers
                .iter()
                .map(|stored| {
                    let typed = answers.iter().find(|a| a.question_id == stored.question_id);
                    let key =
                        typed.map_or_else(String::new, |a| answer_key(a.answer.expose_secret()));
                    (SecretString::from(key), stored.hash.clone())
                })
                .collect(),
            _ => answers
                .iter()
                .map(|a| {
                    (
                        SecretString::from(answer_key(a.answer.expose_secret())),
                        self.dummy_hash.clone(),
                    )
                })
                .collect(),
        };
        let hasher = self.hasher.clone();
        let checked = self.cpu.run(move || hasher.verify_each(&pairs)).await;
        let mut all_right = match checked {
            Ok(results) => results.iter().all(|ok| *ok),
            Err(busy) => {
                target.attempt.not_judged().await?;
                return Err(busy);
            }
        };
        // Right answers for a privileged account are refused as wrong ones, before a mailed
        // code is used up.
        let mut target = target;
        if all_right
            && let Some(claimed) = &target.claimed
            && self
                .privileged(&claimed.account, claimed.entry.as_deref())
                .await
        {
            target.privileged = true;
            all_right = false;
        }
        // The second factor: one read for every request (known or not, answers right or
        // not), so its cost tells nothing; the code is used up only by a reset that passes.
        let mut answers_only = false;
        let mut code_proven = false;
        if self.policy.second_factor {
            let hash = self
                .codes
                .verification(&target.username, code.expose_secret());
            let code_ok = self
                .store
                .verification_code_live(&target.username, &hash, now_millis())
                .await?;
            match &target.claimed {
                Some(claimed) if claimed.personal_email.is_some() => {
                    code_proven = all_right
                        && code_ok
                        && self
                            .store
                            .take_verification_code(&target.username, &hash, now_millis())
                            .await?;
                    all_right = code_proven;
                }
                _ => answers_only = all_right,
            }
        }
        // Past the consecutive-failure limit the answers alone never reopen the account
        // (NIST's bound on guesses); the code mailed to the person does.
        if target.attempt.past_limit() && !code_proven {
            all_right = false;
            answers_only = false;
        }
        let claimed = self.verified(target, all_right).await?;
        if answers_only {
            let mut event = self.account_event(
                action,
                &claimed,
                client,
                AuditOutcome::AnswersOnly,
                now_millis(),
            );
            event.reason = Some("no personal_email on the roster: no second factor asked".into());
            self.store.record_audit(event).await?;
        }
        Ok(claimed)
    }
}

/// A typed verification code's length at most (the codes are far shorter; spaces and
/// dashes people type are allowed for).
const MAX_CODE_CHARS: usize = 32;

/// Reset answers: three, each for a different question, each a short single line. Whether
/// the questions are the person's is part of the check, not of validation.
fn check_reset_answers(v: &mut Violations, answers: &[TypedAnswer]) {
    if answers.len() != ANSWERS_REQUIRED {
        v.add("answers", Rule::ShownAnswerCount(ANSWERS_REQUIRED));
        return;
    }
    for (i, answer) in answers.iter().enumerate() {
        if answer.question_id.chars().count() > MAX_QUESTION_ID_CHARS {
            v.add(
                format!("answers[{i}].question_id"),
                Rule::AtMostChars(MAX_QUESTION_ID_CHARS),
            );
        } else if answers[..i]
            .iter()
            .any(|a| a.question_id == answer.question_id)
        {
            v.add(format!("answers[{i}].question_id"), Rule::DistinctQuestions);
        }
        let raw = answer.answer.expose_secret();
        if raw.trim().is_empty() {
            v.add(format!("answers[{i}].answer"), Rule::Required);
        } else if has_invisible(raw) {
            v.add(format!("answers[{i}].answer"), Rule::Invisible);
        } else if raw.chars().count() > MAX_ANSWER_CHARS {
            v.add(
                format!("answers[{i}].answer"),
                Rule::AtMostChars(MAX_ANSWER_CHARS),
            );
        }
    }
}

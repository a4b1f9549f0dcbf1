//! What a helper may do to a person (DESIGN.md, "Helpdesk"), each in the same order: the
//! scope check first (out of scope answers as an unknown ID, and is audited), then the reason,
//! then the refusals the person's state gives (never a privileged account nor a helper's:
//! asked of the directory, and a directory that cannot say refuses), then the change with its
//! audit row naming the helper and the reason, then the person's notice.

use secrecy::SecretString;
use tracing::info;

use super::{
    Helpdesk,
    person::{Acting, reason},
};
use crate::{
    Account, Error, Inapplicable, JobKind, Operation, OperationId, OperationState, RosterEntry,
    RosterStatus, account_keys,
    claim_codes::{IssueError, ReissuedBy},
    directory::DirectoryJob,
    mail::HelpdeskDeed,
    password::personal_words,
    store::{AuditAction, AuditOutcome, ClaimState, ClaimedAccount, NewAccountJob, now_millis},
};

/// A temporary password: groups of four from letters and digits no one misreads when it is
/// read out over the phone (no 0/O, 1/l/I), at least four groups (about 93 bits) and as many
/// as the district's minimum length needs; upper and lower case and a digit are drawn until
/// present, so every complexity rule holds.
fn temporary_password(min_chars: usize) -> SecretString {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    // Four characters and a dash a group, less the last dash.
    let groups = (min_chars + 1).div_ceil(5).max(4);
    let mut rng = rand::rng();
    loop {
        let mut password = String::with_capacity(groups * 5);
        for i in 0..groups * 4 {
            if i > 0 && i % 4 == 0 {
                password.push('-');
            }
            password.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
        }
        let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return SecretString::from(password);
        }
    }
}

/// A temporary password set: shown once to the helper, kept only sealed in its job.
#[derive(Debug)]
pub struct TemporaryPassword {
    /// The directory job that sets it.
    pub operation: Operation,
    /// The password, for the helper to give the person.
    pub password: SecretString,
}

/// What a reissued claim code became.
#[derive(Debug)]
pub enum ReissuedCode {
    /// Mailed to the personal address the roster holds.
    Mailed {
        /// The day it stops working.
        until: String,
    },
    /// No personal address: shown once for the helper to print or hand over.
    Shown {
        /// The code.
        code: SecretString,
        /// The day it stops working.
        until: String,
    },
}

impl Helpdesk {
    /// Refuses an account no helpdesk action may touch (see `protected`); a directory that
    /// cannot say refuses too (the helpdesk never guesses an account is not an
    /// administrator's).
    async fn refuse_privileged(&self, account: &Account, entry: Option<&str>) -> Result<(), Error> {
        match self.protected(account, entry).await {
            Ok(false) => Ok(()),
            Ok(true) => {
                tracing::warn!(employee = %account.employee_id, "helpdesk refused: the account is privileged or a helper's");
                Err(Error::Privileged)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the directory could not say whether an account is privileged");
                Err(Error::DirectoryUnavailable)
            }
        }
    }

    /// The person's active claim, when they have one.
    async fn claimed(&self, account: &Account) -> Result<Option<ClaimedAccount>, Error> {
        if self.store.live_claim(account.employee_id).await? != Some(ClaimState::Active) {
            return Ok(None);
        }
        Ok(self
            .store
            .claimed_account(&account.username)
            .await?
            .filter(|c| c.account.employee_id == account.employee_id))
    }

    /// Queues the notice of a deed to a person who has not claimed (their district address
    /// may not exist yet: HR's personal one, when there is one), with its audit row. The deed
    /// is done: a notice that cannot be queued is logged, never hidden from the helper.
    async fn notify(
        &self,
        acting: &Acting,
        entry: &RosterEntry,
        action: AuditAction,
        deed: HelpdeskDeed,
    ) {
        let to = entry.personal_email.as_ref().unwrap_or(&entry.email);
        let mail = self
            .accounts
            .mail
            .helpdesk_acted(&entry.first_name, to, deed);
        let audit = acting.event(action, entry, None, AuditOutcome::Mailed, None);
        if let Err(e) = self.store.enqueue_mail(&mail, audit).await {
            tracing::error!(error = %e, "the person's notice of a helpdesk action was not queued");
        }
    }

    /// Lifts claimd's own locks on the person (claim, answer and code failures) and, when they
    /// have claimed, queues the job that lifts the directory's lockout (its notice tells the
    /// person once it has). The password stays. `None`: no directory job was needed.
    pub async fn unlock(
        &self,
        acting: &Acting,
        id: &str,
        why: &str,
    ) -> Result<Option<Operation>, Error> {
        let entry = self
            .in_scope(acting, id, AuditAction::HelpdeskUnlock)
            .await?;
        let why = reason(why)?;
        if entry.status == RosterStatus::Terminated {
            return Err(Error::NotApplicable {
                why: Inapplicable::Left,
            });
        }
        let account = self.account_of(&entry);
        let claimed = self.claimed(&account).await?;
        self.refuse_privileged(&account, claimed.as_ref().and_then(|c| c.entry.as_deref()))
            .await?;
        let keys = account_keys(Some(entry.employee_id), Some(&account.username));
        let lifted = self
            .store
            .unlock_keys(
                &keys,
                acting.event(
                    AuditAction::HelpdeskUnlock,
                    &entry,
                    Some(account.username.clone()),
                    AuditOutcome::Done,
                    Some(why.clone()),
                ),
            )
            .await?;
        let operation = match &claimed {
            Some(claimed) => {
                let id = self
                    .queue(acting, &entry, claimed, JobKind::UnlockAccount, None, &why)
                    .await?;
                Some(Operation {
                    id,
                    state: OperationState::Pending,
                    reason: None,
                })
            }
            None => {
                self.notify(
                    acting,
                    &entry,
                    AuditAction::HelpdeskUnlock,
                    HelpdeskDeed::Unlocked,
                )
                .await;
                None
            }
        };
        info!(actor = acting.actor(), employee = %entry.employee_id, lifted, "helpdesk unlock");
        Ok(operation)
    }

    /// Sets a generated temporary password the person must change at the next logon, and
    /// lifts the directory's lockout; their answers stay. The worker mails the person once
    /// the directory has it.
    pub async fn set_temporary_password(
        &self,
        acting: &Acting,
        id: &str,
        why: &str,
    ) -> Result<TemporaryPassword, Error> {
        let entry = self
            .in_scope(acting, id, AuditAction::HelpdeskTemporaryPassword)
            .await?;
        let why = reason(why)?;
        let account = self.account_of(&entry);
        let Some(claimed) = self.claimed(&account).await? else {
            return Err(Error::NotApplicable {
                why: Inapplicable::NotClaimed,
            });
        };
        self.refuse_privileged(&account, claimed.entry.as_deref())
            .await?;
        let personal = personal_words(
            entry.last_name.as_str(),
            entry.first_name.as_str(),
            &entry.employee_id.to_string(),
            account.username.as_str(),
        );
        // Random, so nearly always fine at once; the rules stay the only judge, and a password
        // they refuse is never handed out.
        let min_chars = self.accounts.policy.passwords.min_chars();
        let mut password = None;
        for _ in 0..8 {
            let candidate = temporary_password(min_chars);
            if self
                .accounts
                .password_rule(&candidate, personal.clone(), true)
                .await?
                .is_ok()
            {
                password = Some(candidate);
                break;
            }
        }
        let Some(password) = password else {
            tracing::error!("no generated temporary password met the district's password rules");
            return Err(Error::Internal);
        };
        let id = self
            .queue(
                acting,
                &entry,
                &claimed,
                JobKind::TemporaryPassword,
                Some(&password),
                &why,
            )
            .await?;
        info!(actor = acting.actor(), employee = %entry.employee_id, operation = %id, "helpdesk temporary password");
        Ok(TemporaryPassword {
            operation: Operation {
                id,
                state: OperationState::Pending,
                reason: None,
            },
            password,
        })
    }

    /// Queues a directory job on the person's claimed account, with the helper's audit row.
    async fn queue(
        &self,
        acting: &Acting,
        entry: &RosterEntry,
        claimed: &ClaimedAccount,
        kind: JobKind,
        password: Option<&SecretString>,
        why: &str,
    ) -> Result<OperationId, Error> {
        let now = now_millis();
        let id = OperationId::new();
        let action = match kind {
            JobKind::TemporaryPassword => AuditAction::HelpdeskTemporaryPassword,
            _ => AuditAction::HelpdeskUnlock,
        };
        let job = NewAccountJob {
            audit: acting.event(
                action,
                entry,
                Some(claimed.account.username.clone()),
                AuditOutcome::Accepted,
                Some(why.to_owned()),
            ),
            sealed_password: password.map_or_else(Vec::new, |p| {
                self.accounts.sealer.seal(p, id.to_string().as_bytes())
            }),
            job: DirectoryJob {
                id,
                kind,
                account: claimed.account.clone(),
                rehire: false,
                entry: None,
            },
            claim_id: claimed.claim_id.clone(),
            now,
        };
        if !self.store.insert_account_job(job).await? {
            // Left or released while the request was checked.
            return Err(Error::NotApplicable {
                why: Inapplicable::NotClaimed,
            });
        }
        self.accounts.events.job_queued();
        Ok(id)
    }

    /// A new claim code for a person who has not claimed (the old one stops working):
    /// mailed to the personal address (that mail is the notice), or shown once when the
    /// roster has none (the person is told at their district address).
    pub async fn reissue_claim_code(
        &self,
        acting: &Acting,
        id: &str,
        why: &str,
    ) -> Result<ReissuedCode, Error> {
        let entry = self
            .in_scope(acting, id, AuditAction::HelpdeskClaimCode)
            .await?;
        let why = reason(why)?;
        let Some(issuer) = &self.codes else {
            return Err(Error::NotApplicable {
                why: Inapplicable::ClaimCodesOff,
            });
        };
        if self.store.live_claim(entry.employee_id).await? == Some(ClaimState::Pending) {
            return Err(Error::ClaimPending);
        }
        let account = self.account_of(&entry);
        self.refuse_privileged(&account, None).await?;
        let by = ReissuedBy {
            action: AuditAction::HelpdeskClaimCode,
            actor: acting.actor().to_owned(),
            reason: Some(why),
            client: acting.client(),
        };
        let until = issuer.until();
        let code = issuer
            .reissue(entry.employee_id, by)
            .await
            .map_err(|e| match e {
                IssueError::NotInRoster(_) => Error::PersonNotFound,
                IssueError::Terminated(_) => Error::NotApplicable {
                    why: Inapplicable::Left,
                },
                IssueError::Claimed(_) | IssueError::ClaimedMeanwhile(_) => Error::NotApplicable {
                    why: Inapplicable::Claimed,
                },
                IssueError::Store(e) => Error::from(e),
                IssueError::Sheet(_) => Error::Internal,
            })?;
        info!(actor = acting.actor(), employee = %entry.employee_id, "helpdesk claim code");
        Ok(match code {
            None => ReissuedCode::Mailed { until },
            Some(code) => {
                self.notify(
                    acting,
                    &entry,
                    AuditAction::HelpdeskClaimCode,
                    HelpdeskDeed::ClaimCodeHanded,
                )
                .await;
                ReissuedCode::Shown { code, until }
            }
        })
    }

    /// Gives up the person's claim stuck in pending, so they may claim again.
    pub async fn release_claim(&self, acting: &Acting, id: &str, why: &str) -> Result<(), Error> {
        let entry = self
            .in_scope(acting, id, AuditAction::HelpdeskRelease)
            .await?;
        let why = reason(why)?;
        if entry.status == RosterStatus::Terminated {
            return Err(Error::NotApplicable {
                why: Inapplicable::Left,
            });
        }
        if self.store.live_claim(entry.employee_id).await? != Some(ClaimState::Pending) {
            return Err(Error::NotApplicable {
                why: Inapplicable::NoPendingClaim,
            });
        }
        // No privilege check: a release only gives up claimd's own pending claim (the claim
        // itself refused privileged accounts), and it is most needed while the directory is
        // down or refusing.
        let account = self.account_of(&entry);
        let audit = acting.event(
            AuditAction::HelpdeskRelease,
            &entry,
            Some(account.username.clone()),
            AuditOutcome::Done,
            Some(why),
        );
        // The claimant's operation ends in the pages' own words; the helper's reason stays
        // in the audit.
        if !self
            .store
            .release_pending_claim(entry.employee_id, crate::reasons::RELEASED, audit)
            .await?
        {
            return Err(Error::NotApplicable {
                why: Inapplicable::NoPendingClaim,
            });
        }
        self.notify(
            acting,
            &entry,
            AuditAction::HelpdeskRelease,
            HelpdeskDeed::Released,
        )
        .await;
        info!(actor = acting.actor(), employee = %entry.employee_id, "helpdesk release");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn temporary_passwords_are_long_mixed_and_never_alike() {
        let a = temporary_password(8);
        let b = temporary_password(8);
        assert_ne!(a.expose_secret(), b.expose_secret());
        let text = a.expose_secret();
        assert_eq!(text.len(), 19);
        assert_eq!(text.matches('-').count(), 3);
        assert!(!text.contains(['0', 'O', '1', 'l', 'I']));
        crate::PasswordPolicy::default()
            .with_ad_complexity(true)
            .check(&a, &personal_words("Doe", "Jane", "077777", "e77777"))
            .expect("a temporary password keeps every rule");
        let long = temporary_password(30);
        assert!(
            long.expose_secret().len() >= 30,
            "as long as the district asks"
        );
    }
}

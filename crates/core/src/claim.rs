//! The Claim My Account flow: validate, match the roster, then store the claim, its answer
//! hashes and its directory job in one transaction. The directory itself is written later by
//! the sync worker; the caller follows the returned operation.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use tracing::{info, warn};

use crate::{
    AccountPolicy, Accounts, EmployeeId, Error, OperationId, PersonName, RosterStatus, Username,
    Violations,
    attempts::{AuditContext, Subject},
    directory::{Account, DirectoryJob, JobKind},
    operation::{Operation, OperationState},
    password::personal_words,
    questions::{TypedAnswer, validate_answers},
    store::{
        AuditAction, AuditEvent, AuditOutcome, ClaimInsert, ClaimState, NewClaim, StoredAnswer,
        now_millis,
    },
};

/// Why a claim with a missing, wrong, used or expired code was refused (audit only).
const CODE_REFUSED: &str = "the claim code is missing, wrong, used or expired";

/// Why a claim for a privileged directory account was refused (audit only).
pub(crate) const PRIVILEGED: &str = "the directory account is privileged";

/// A claim as it arrives from the portal.
#[derive(Debug)]
pub struct ClaimRequest {
    /// Last name as typed.
    pub last_name: String,
    /// First name as typed.
    pub first_name: String,
    /// Employee ID as typed: six digits.
    pub employee_id: String,
    /// The chosen password.
    pub password: SecretString,
    /// Three answers to three different questions.
    pub answers: Vec<TypedAnswer>,
    /// The claim code HR sent, when the district requires one (else ignored).
    pub claim_code: SecretString,
}

/// What an accepted claim returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimReceipt {
    /// The username to log in with.
    pub username: Username,
    /// The operation that writes the account into the directory.
    pub operation: Operation,
}

/// A claim's fields once every one is valid.
struct ValidClaim {
    last_name: PersonName,
    first_name: PersonName,
    employee_id: EmployeeId,
    username: Username,
    answers: Vec<crate::questions::NormalizedAnswer>,
}

impl Accounts {
    /// Claims an account. `client` is the caller's address, for attempt limits and audit.
    pub async fn claim(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
    ) -> Result<ClaimReceipt, Error> {
        // Validation estimates the password's strength: CPU work, on the bounded pool.
        let policy = self.policy.clone();
        let (request, claim) = self
            .cpu
            .run(move || {
                let claim = validate(&policy, &request);
                (request, claim)
            })
            .await?;
        let claim = claim?;
        let span = tracing::Span::current();
        span.record("employee_id", tracing::field::display(claim.employee_id));
        span.record("username", claim.username.as_str());

        let now = now_millis();
        let audit = AuditContext {
            action: AuditAction::Claim,
            employee_id: Some(claim.employee_id),
            username: Some(claim.username.clone()),
            client,
        };
        let attempt = self
            .reserve(&Subject::Claim(claim.employee_id), &audit)
            .await?;

        let entry = self.store.roster_entry(claim.employee_id).await?;
        // The code is looked up for every typed ID, known or not, so the reply takes as long.
        let code = match self.policy.claim_code {
            Some(_) => {
                let hash = self
                    .codes
                    .claim(claim.employee_id, request.claim_code.expose_secret());
                let live = self
                    .store
                    .claim_code_live(claim.employee_id, &hash, now)
                    .await?;
                Some((hash, live))
            }
            None => None,
        };
        let mismatch = match &entry {
            None => Some("no roster entry has this employee ID"),
            Some(e)
                if !e.last_name.matches(&claim.last_name)
                    || !e.first_name.matches(&claim.first_name) =>
            {
                Some("the names do not match the roster entry")
            }
            Some(e) if e.status == RosterStatus::Terminated => {
                Some("the roster entry is terminated")
            }
            // As a names mismatch: a wrong code must not tell that the names were right.
            Some(_) if code.as_ref().is_some_and(|(_, live)| !live) => Some(CODE_REFUSED),
            Some(_) => None,
        };
        if let Some(reason) = mismatch {
            warn!(reason, "claim refused: no roster match");
            attempt.failed().await?;
            self.audit(&claim, client, AuditOutcome::NoMatch, Some(reason))
                .await?;
            return Err(Error::NoRosterMatch);
        }
        let entry = entry.expect("matched above");
        let account = Account {
            username: claim.username.clone(),
            employee_id: entry.employee_id,
            first_name: entry.first_name,
            last_name: entry.last_name,
            email: entry.email,
        };

        // Names that match are not a proven secret (they are half-public), and "already
        // claimed" tells whoever has them something: the attempt counts, so asking "is this
        // person's account claimed?" costs a try like any mismatch.
        if let Some(state) = self.store.live_claim(claim.employee_id).await? {
            attempt.failed().await?;
            return self.refuse_live(&claim, client, state).await;
        }

        // A privileged directory account (a Domain Admin carrying an employee's ID) is
        // answered as a mismatch: whoever typed its names learns nothing. (After the live
        // claim: a claimed account later made privileged answers as any claimed one.)
        if self.privileged(&account, None).await {
            warn!(reason = PRIVILEGED, "claim refused: no roster match");
            attempt.failed().await?;
            self.audit(&claim, client, AuditOutcome::NoMatch, Some(PRIVILEGED))
                .await?;
            return Err(Error::NoRosterMatch);
        }

        let keys: Vec<_> = claim.answers.iter().map(|a| a.key.clone()).collect();
        let hasher = self.hasher.clone();
        let hashes = match self.cpu.run(move || hasher.hash_each(&keys)).await {
            Ok(hashes) => hashes?,
            Err(busy) => {
                attempt.not_judged().await?;
                return Err(busy);
            }
        };
        let answers = claim
            .answers
            .iter()
            .zip(hashes)
            .map(|(a, hash)| StoredAnswer {
                question_id: a.question.id.clone(),
                question_text: a.question.text.clone(),
                hash,
            })
            .collect();
        let id = OperationId::new();
        let job = DirectoryJob {
            id,
            kind: JobKind::Provision,
            account,
            rehire: false,
            entry: None,
        };
        let insert = self
            .store
            .insert_claim(NewClaim {
                sealed_password: self
                    .sealer
                    .seal(&request.password, id.to_string().as_bytes()),
                job,
                answers,
                audit: self.event(&claim, client, AuditOutcome::Accepted, None),
                now,
                claim_code: code.map(|(hash, _)| hash),
            })
            .await?;
        match insert {
            // The claim is stored: a failure to give the attempt back must not turn an
            // accepted claim into an error (the pending row expires on its own).
            ClaimInsert::Created => {
                if let Err(e) = attempt.proven().await {
                    warn!(error = %e, "accepted claim's attempt not given back");
                }
            }
            // Another claim of the same person won the race since the check above.
            ClaimInsert::Exists(state) => {
                attempt.not_judged().await?;
                return self.refuse_live(&claim, client, state).await;
            }
            // Terminated, or the code used or replaced, since the check: as any mismatch.
            ClaimInsert::NotClaimable | ClaimInsert::CodeRefused => {
                let reason = if insert == ClaimInsert::CodeRefused {
                    CODE_REFUSED
                } else {
                    "the roster entry is terminated"
                };
                attempt.failed().await?;
                self.audit(&claim, client, AuditOutcome::NoMatch, Some(reason))
                    .await?;
                return Err(Error::NoRosterMatch);
            }
        }
        self.events.job_queued();
        info!(operation = %id, "claim accepted");
        Ok(ClaimReceipt {
            username: claim.username,
            operation: Operation {
                id,
                state: OperationState::Pending,
                reason: None,
            },
        })
    }

    async fn refuse_live(
        &self,
        claim: &ValidClaim,
        client: Option<IpAddr>,
        state: ClaimState,
    ) -> Result<ClaimReceipt, Error> {
        let (outcome, error) = match state {
            ClaimState::Pending => (AuditOutcome::Pending, Error::ClaimPending),
            ClaimState::Active | ClaimState::Rejected => {
                (AuditOutcome::AlreadyClaimed, Error::AlreadyClaimed)
            }
        };
        info!(outcome = outcome.as_str(), "claim refused");
        self.audit(claim, client, outcome, None).await?;
        Err(error)
    }

    fn event(
        &self,
        claim: &ValidClaim,
        client: Option<IpAddr>,
        outcome: AuditOutcome,
        reason: Option<&str>,
    ) -> AuditEvent {
        AuditEvent {
            at: now_millis(),
            action: AuditAction::Claim,
            employee_id: Some(claim.employee_id),
            username: Some(claim.username.clone()),
            client,
            actor: None,
            outcome,
            reason: reason.map(str::to_owned),
        }
    }

    async fn audit(
        &self,
        claim: &ValidClaim,
        client: Option<IpAddr>,
        outcome: AuditOutcome,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        Ok(self
            .store
            .record_audit(self.event(claim, client, outcome, reason))
            .await?)
    }
}

/// Checks every field of a claim; the errors name each bad field.
fn validate(policy: &AccountPolicy, request: &ClaimRequest) -> Result<ValidClaim, Error> {
    let mut v = Violations::default();
    let last_name = v.check("last_name", PersonName::parse(&request.last_name));
    let first_name = v.check("first_name", PersonName::parse(&request.first_name));
    let employee_id = v.check("employee_id", EmployeeId::parse_typed(&request.employee_id));
    let username = employee_id.map(|id| policy.usernames.render(id));
    let personal = personal_words(
        &request.last_name,
        &request.first_name,
        &employee_id.map_or(String::new(), |id| id.to_string()),
        username.as_ref().map_or("", Username::as_str),
    );
    v.check(
        "password",
        policy.passwords.check(&request.password, &personal),
    );
    let answers = validate_answers(
        &policy.questions,
        "answers",
        &request.answers,
        Some(&request.password),
        &mut v,
    );
    v.into_result()?;
    match (last_name, first_name, employee_id, username, answers) {
        (Some(last_name), Some(first_name), Some(employee_id), Some(username), Some(answers)) => {
            Ok(ValidClaim {
                last_name,
                first_name,
                employee_id,
                username,
                answers,
            })
        }
        _ => Err(Error::Internal),
    }
}

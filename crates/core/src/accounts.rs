//! The account flows' shared parts: everything the claim and recovery flows need, and the
//! calls that only read (questions, operations).

use std::{fmt, net::IpAddr, sync::Arc, time::Duration};

use zeroize::Zeroizing;

use crate::{
    AccountPolicy, AnswerHasher, Directory, EmployeeId, Error, Events, MailWriter, Operation,
    OperationId, Question, Sealer, Store, Username,
    store::{AttemptKey, AuditEvent, Millis},
};

/// What the account flows are built from.
#[derive(Debug)]
pub struct AccountsDeps {
    /// The shared state.
    pub store: Arc<dyn Store>,
    /// The district's rules.
    pub policy: Arc<AccountPolicy>,
    /// Hashes and checks answers.
    pub hasher: AnswerHasher,
    /// Seals queued passwords; its key also keys the decoy questions.
    pub sealer: Arc<Sealer>,
    /// In-process signals to the workers.
    pub events: Arc<Events>,
    /// Checks current passwords (a bind as the user).
    pub directory: Arc<dyn Directory>,
    /// Writes the notices.
    pub mail: Arc<MailWriter>,
}

/// The account flows: claim, recover, reset, change; and following operations.
pub struct Accounts {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: Arc<AccountPolicy>,
    pub(crate) hasher: AnswerHasher,
    pub(crate) sealer: Arc<Sealer>,
    pub(crate) events: Arc<Events>,
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) mail: Arc<MailWriter>,
    /// Keys the decoy questions shown for unknown usernames.
    pub(crate) decoy_key: Zeroizing<[u8; 32]>,
    /// Verified against when an account is unknown, so the work matches a known one.
    pub(crate) dummy_hash: String,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("store", &self.store)
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The flows over these parts. Computes one argon2 hash (the dummy for unknown accounts).
    pub fn new(deps: AccountsDeps) -> Result<Self, Error> {
        let dummy_hash = deps.hasher.dummy_hash()?;
        Ok(Self {
            decoy_key: deps.sealer.subkey("decoy challenge questions"),
            store: deps.store,
            policy: deps.policy,
            hasher: deps.hasher,
            sealer: deps.sealer,
            events: deps.events,
            directory: deps.directory,
            mail: deps.mail,
            dummy_hash,
        })
    }

    /// The challenge questions offered.
    pub fn questions(&self) -> &[Question] {
        self.policy.questions.questions()
    }

    /// The in-process signals this service sends.
    pub fn events(&self) -> &Arc<Events> {
        &self.events
    }

    /// An operation by the id a caller gives.
    pub async fn operation(&self, id: &str) -> Result<Operation, Error> {
        let id = OperationId::parse(id).map_err(|rule| Error::invalid("id", rule))?;
        self.store
            .operation(id)
            .await?
            .ok_or(Error::OperationNotFound)
    }
}

impl Accounts {
    /// `Err(LockedOut)` when any of `keys` is locked at `now`.
    pub(crate) async fn check_lock(&self, keys: &[AttemptKey], now: Millis) -> Result<(), Error> {
        match self.store.locked_until(keys, now).await? {
            Some(until) => {
                let wait = u64::try_from(until.saturating_sub(now))
                    .unwrap_or(0)
                    .max(1000);
                Err(Error::LockedOut {
                    retry_after: Duration::from_millis(wait),
                })
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against `keys` and audits any lock it places.
    pub(crate) async fn count_failure(
        &self,
        keys: &[AttemptKey],
        employee_id: Option<EmployeeId>,
        username: Option<&Username>,
        client: Option<IpAddr>,
        now: Millis,
    ) -> Result<(), Error> {
        for lock in self
            .store
            .record_failure(keys, &self.policy.lockout, now)
            .await?
        {
            tracing::warn!(key = %lock.key, "locked out after repeated failures");
            let scope = if lock.key.is_account() {
                "account"
            } else {
                "address"
            };
            metrics::counter!("claimd_lockouts_total", "scope" => scope).increment(1);
            self.store
                .record_audit(AuditEvent {
                    at: now,
                    action: "lockout",
                    employee_id,
                    username: username.cloned(),
                    client,
                    outcome: "locked",
                    reason: Some(format!("too many failed attempts on {}", lock.key)),
                })
                .await?;
        }
        Ok(())
    }
}

//! The account flows' shared parts: everything the claim and recovery flows need, and the
//! calls that only read (questions, operations).

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use zeroize::Zeroizing;

use secrecy::SecretString;

use crate::{
    Account, AccountPolicy, AnswerHasher, Error, Events, MailWriter, Operation, OperationId,
    PasswordChecker, Question, Rule, Sealer,
    admission::CpuPool,
    store::{FlowStore, Millis, now_millis},
};

/// What the account flows are built from.
#[derive(Debug)]
pub struct AccountsDeps {
    /// The shared state.
    pub store: Arc<dyn FlowStore>,
    /// The district's rules.
    pub policy: Arc<AccountPolicy>,
    /// Hashes and checks answers.
    pub hasher: AnswerHasher,
    /// Seals queued passwords; its key also keys the decoy questions.
    pub sealer: Arc<Sealer>,
    /// In-process signals to the workers.
    pub events: Arc<Events>,
    /// Checks current passwords (a bind as the user).
    pub directory: Arc<dyn PasswordChecker>,
    /// Writes the notices.
    pub mail: Arc<MailWriter>,
    /// Where CPU-heavy steps (argon2, password strength) run, bounded.
    pub cpu: Arc<CpuPool>,
}

/// How long a claim or a reset waits for the directory to say whether an account is
/// privileged before it goes on without the answer.
const PRIVILEGE_CHECK_LIMIT: Duration = Duration::from_secs(1);

/// The account flows: claim, recover, reset, change; and following operations.
pub struct Accounts {
    pub(crate) store: Arc<dyn FlowStore>,
    pub(crate) policy: Arc<AccountPolicy>,
    pub(crate) hasher: AnswerHasher,
    pub(crate) sealer: Arc<Sealer>,
    pub(crate) events: Arc<Events>,
    pub(crate) directory: Arc<dyn PasswordChecker>,
    pub(crate) mail: Arc<MailWriter>,
    pub(crate) cpu: Arc<CpuPool>,
    /// Keys the decoy questions shown for unknown usernames.
    pub(crate) decoy_key: Zeroizing<[u8; 32]>,
    /// Keys the stored hashes of claim and verification codes.
    pub(crate) codes: crate::codes::CodeKeys,
    /// Verification codes to make and mail, off the request path.
    pub(crate) codes_to_send: crate::recovery::code_mail::CodeMail,
    /// Verified against when an account is unknown, so the work matches a known one.
    pub(crate) dummy_hash: String,
    /// How long the directory's password checks take, for names it is not asked about.
    pub(crate) bind_time: BindTime,
    /// Questions people answered that have since left the pool, read once: decoys are drawn
    /// from them too, so showing one does not tell a real account.
    pub(crate) retired_questions: tokio::sync::OnceCell<Vec<crate::Question>>,
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
            codes: crate::codes::CodeKeys::new(&deps.sealer),
            codes_to_send: crate::recovery::code_mail::CodeMail::new(
                deps.store.clone(),
                deps.sealer.clone(),
                deps.mail.clone(),
                crate::codes::CodeKeys::new(&deps.sealer),
                deps.policy.lockout.clone(),
            ),
            store: deps.store,
            policy: deps.policy,
            hasher: deps.hasher,
            sealer: deps.sealer,
            events: deps.events,
            directory: deps.directory,
            mail: deps.mail,
            cpu: deps.cpu,
            dummy_hash,
            bind_time: BindTime::new(),
            retired_questions: tokio::sync::OnceCell::new(),
        })
    }

    /// Whether the directory says `account` is privileged, for the flows that do not bind
    /// (a claim, a reset): a directory that is down or slow to say does not hold them up,
    /// since the directory worker asks again before every write and refuses.
    pub(crate) async fn privileged(&self, account: &Account, entry: Option<&str>) -> bool {
        if self.bind_time.directory_down() {
            return false;
        }
        let asked = tokio::time::timeout(
            PRIVILEGE_CHECK_LIMIT,
            self.directory.is_protected(account, entry),
        )
        .await;
        match asked {
            Ok(Ok(privileged)) => privileged,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the directory could not say whether the account is privileged");
                false
            }
            Err(_) => {
                tracing::warn!(
                    "the directory was too slow to say whether the account is privileged"
                );
                false
            }
        }
    }

    /// The fewest characters a new password may have (the district's setting).
    pub fn min_password_chars(&self) -> usize {
        self.policy.passwords.min_chars()
    }

    /// The challenge questions offered.
    pub fn questions(&self) -> &[Question] {
        self.policy.questions.questions()
    }

    /// Checks a new password against the policy (length, characters, common and personal
    /// words; the breached list once the person is `proven`) on the admission pool: strength
    /// estimation is CPU-heavy for long passwords, and the list is read from a file.
    pub(crate) async fn password_rule(
        &self,
        password: &SecretString,
        personal: Vec<String>,
        proven: bool,
    ) -> Result<Result<(), Rule>, Error> {
        let policy = self.policy.clone();
        let password = password.clone();
        self.cpu
            .run(move || {
                if proven {
                    policy.passwords.check(&password, &personal)
                } else {
                    policy.passwords.check_before_proof(&password, &personal)
                }
            })
            .await
    }

    /// The worker that makes and mails Forgot My Password's verification codes, for the one
    /// caller that runs it; `None` once taken.
    pub fn code_worker(&self) -> Option<crate::CodeWorker> {
        self.codes_to_send.take_worker()
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

/// What claimd knows of the directory's password checks: how long one takes (a running
/// average) and whether the last one failed to reach it, so a name the directory is not asked
/// about gets the same time and the same reply as a managed one.
#[derive(Debug)]
pub(crate) struct BindTime {
    micros: AtomicU64,
    /// Until when (Unix ms) the directory counts as unreachable after a failed check.
    down_until: AtomicI64,
}

impl BindTime {
    /// Before any bind, a loopback-to-LAN guess; the average takes over after a few binds.
    const START: Duration = Duration::from_millis(3);
    /// How long one failed check marks the directory unreachable for everyone.
    const DOWN_FOR: Millis = 30_000;

    pub(crate) fn new() -> Self {
        Self {
            micros: AtomicU64::new(u64::try_from(Self::START.as_micros()).unwrap_or(u64::MAX)),
            down_until: AtomicI64::new(0),
        }
    }

    pub(crate) fn typical(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }

    /// Folds one bind's time in (weight 1/8: a slow bind moves it a little) and notes
    /// whether the directory answered.
    pub(crate) fn record(&self, took: Duration, answered: bool) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old - old / 8 + sample / 8)
            });
        let until = if answered {
            0
        } else {
            now_millis().saturating_add(Self::DOWN_FOR)
        };
        self.down_until.store(until, Ordering::Relaxed);
    }

    /// True while the last check could not reach the directory (for a while after it).
    pub(crate) fn directory_down(&self) -> bool {
        now_millis() < self.down_until.load(Ordering::Relaxed)
    }
}

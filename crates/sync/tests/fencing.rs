//! Fencing: a worker whose directory write stalls past its lease never lands an older
//! password after a newer one, and a job that cannot be written for too long gives up. The
//! directory here is a fake that holds one password and can stall a write (the real
//! directory's outages are tested against slapd in `worker.rs` and the end-to-end suite).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use claimd_core::{
    AccountPolicy, Accounts, AccountsDeps, AnswerHasher, ClaimRequest, DirectoryError,
    DirectoryJob, DirectoryWriter, Email, EmployeeId, Events, LockoutStanding, MailWriter,
    OperationState, PasswordCheck, PasswordChecker, PersonName, ResetRequest, RosterEntry,
    RosterStatus, Sealer, TypedAnswer, Username,
    store::{Millis, RosterStore, SUPERSEDED_REASON, now_millis},
};
use claimd_store::SqliteStore;
use claimd_sync::{Step, SyncConfig, Worker};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;

/// One account's password; a write of a listed password stalls until the test lets the
/// directory carry it out (or for ever).
#[derive(Debug, Default)]
struct FakeDirectory {
    password: Arc<Mutex<Option<String>>>,
    /// Every password whose write was started (sent), stalled or not, and when.
    sent: Mutex<Vec<(String, Millis)>>,
    /// Every password the directory carried out, in the order it did.
    landed: Arc<Mutex<Vec<String>>>,
    stall: Mutex<HashMap<String, Arc<Notify>>>,
    down: Mutex<bool>,
}

impl FakeDirectory {
    /// The passwords sent, in order.
    fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// When `password` was sent.
    fn sent_at(&self, password: &str) -> Option<Millis> {
        let sent = self.sent.lock().unwrap();
        sent.iter().find(|(p, _)| p == password).map(|(_, at)| *at)
    }

    fn landed(&self) -> Vec<String> {
        self.landed.lock().unwrap().clone()
    }
}

#[async_trait]
impl DirectoryWriter for FakeDirectory {
    async fn apply(
        &self,
        _job: &DirectoryJob,
        password: Option<&SecretString>,
        _ledger: &dyn claimd_core::EntryLedger,
    ) -> Result<(), DirectoryError> {
        if *self.down.lock().unwrap() {
            return Err(DirectoryError::Transient {
                reason: "connection refused".into(),
            });
        }
        if let Some(password) = password {
            let password = password.expose_secret().to_owned();
            // A real client sends the request on the first poll.
            self.sent
                .lock()
                .unwrap()
                .push((password.clone(), now_millis()));
            let stall = self.stall.lock().unwrap().get(&password).cloned();
            // Once sent, the request is the server's: it is carried out after its stall
            // whether or not the client is still waiting for the answer.
            let (current, landed) = (self.password.clone(), self.landed.clone());
            let server = tokio::spawn(async move {
                if let Some(stall) = stall {
                    stall.notified().await;
                }
                *current.lock().unwrap() = Some(password.clone());
                landed.lock().unwrap().push(password);
            });
            server.await.expect("the fake server's task");
        }
        Ok(())
    }
}

#[async_trait]
impl PasswordChecker for FakeDirectory {
    async fn verify_password(
        &self,
        _username: &Username,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        Ok(
            if self.password.lock().unwrap().as_deref() == Some(password.expose_secret()) {
                PasswordCheck::Right
            } else {
                PasswordCheck::Wrong
            },
        )
    }

    async fn lockout_standing(
        &self,
        _account: &claimd_core::Account,
        _entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError> {
        Ok(LockoutStanding::never_locks())
    }

    async fn default_lockout(&self) -> Result<LockoutStanding, DirectoryError> {
        Ok(LockoutStanding::never_locks())
    }

    async fn is_protected(
        &self,
        _account: &claimd_core::Account,
        _entry: Option<&str>,
    ) -> Result<bool, DirectoryError> {
        Ok(false)
    }
}

struct Rig {
    store: Arc<SqliteStore>,
    directory: Arc<FakeDirectory>,
    accounts: Accounts,
    sealer: Arc<Sealer>,
    events: Arc<Events>,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
                .await
                .unwrap(),
        );
        store
            .import_roster(&[person(77777, "Doe", "Jane")], 0)
            .await
            .unwrap();
        let sealer = Arc::new(Sealer::from_key(&[9; 32]));
        let events = Arc::new(Events::default());
        let directory = Arc::new(FakeDirectory::default());
        let accounts = Accounts::new(AccountsDeps {
            store: store.clone(),
            policy: Arc::new(AccountPolicy::default()),
            hasher: AnswerHasher::new(None),
            sealer: sealer.clone(),
            events: events.clone(),
            directory: directory.clone(),
            mail: Arc::new(MailWriter::new("District IT")),
            cpu: Arc::new(claimd_core::admission::CpuPool::new(&Default::default())),
        })
        .unwrap();
        Self {
            store,
            directory,
            accounts,
            sealer,
            events,
            _dir: dir,
        }
    }

    /// A worker (a replica's) with a one-second lease.
    fn worker(&self, max_job_age: Duration) -> Arc<Worker> {
        self.worker_leased(Duration::from_secs(1), max_job_age)
    }

    /// A worker (a replica's) with a lease of `lease`.
    fn worker_leased(&self, lease: Duration, max_job_age: Duration) -> Arc<Worker> {
        let config = SyncConfig {
            lease,
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(100),
            max_job_age,
            ..SyncConfig::default()
        };
        Arc::new(Worker::new(
            self.store.clone(),
            self.directory.clone(),
            self.sealer.clone(),
            self.events.clone(),
            Arc::new(MailWriter::new("District IT")),
            config,
        ))
    }

    async fn reset(&self, password: &str) -> String {
        let op = self
            .accounts
            .complete_reset(
                ResetRequest {
                    username: "e77777".into(),
                    answers: answers(),
                    new_password: SecretString::from(password),
                    verification_code: SecretString::default(),
                },
                None,
            )
            .await
            .unwrap();
        op.id.to_string()
    }

    async fn state(&self, op: &str) -> OperationState {
        self.accounts.operation(op).await.unwrap().state
    }

    /// When the job's lease runs out, while some worker holds it.
    async fn lease_until(&self, op: &str) -> Option<Millis> {
        sqlx::query_scalar("SELECT lease_until FROM directory_jobs WHERE id = ?")
            .bind(op)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }
}

/// An active roster entry with a district address made from the first name.
fn person(id: u32, last: &str, first: &str) -> RosterEntry {
    RosterEntry {
        employee_id: EmployeeId::new(id).unwrap(),
        last_name: PersonName::parse(last).unwrap(),
        first_name: PersonName::parse(first).unwrap(),
        email: Email::parse(&format!("{}@district.example", first.to_lowercase())).unwrap(),
        status: RosterStatus::Active,
        personal_email: None,
        site: None,
    }
}

/// A claim with the test's answers.
fn claim(last: &str, first: &str, id: &str, password: &str) -> ClaimRequest {
    ClaimRequest {
        last_name: last.into(),
        first_name: first.into(),
        employee_id: id.into(),
        password: SecretString::from(password),
        answers: answers(),
        claim_code: SecretString::default(),
    }
}

fn answers() -> Vec<TypedAnswer> {
    [
        ("first-pet", "Rex"),
        ("birth-city", "Atlanta"),
        ("first-car", "Ford Focus"),
    ]
    .into_iter()
    .map(|(q, a)| TypedAnswer {
        question_id: q.into(),
        answer: SecretString::from(a),
    })
    .collect()
}

async fn claimed(rig: &Rig, worker: &Worker) {
    rig.accounts
        .claim(
            claim("Doe", "Jane", "077777", "Correct-Horse-Battery-9"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(worker.step().await.unwrap(), Step::Succeeded);
}

/// Steps `worker` until `op` has ended (with a deadline).
async fn run_until_done(rig: &Rig, worker: &Worker, op: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while rig.state(op).await == OperationState::Pending {
        assert!(tokio::time::Instant::now() < deadline, "{op} never ended");
        if worker.step().await.unwrap() == Step::Idle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Waits (with a deadline) until `what` holds.
async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never happened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// When the person asks for a newer password, in the scenarios below.
#[derive(Clone, Copy, Debug)]
enum Newer {
    /// While the older write is still in flight.
    DuringTheStall,
    /// Once the worker has abandoned the older write (which is still in the server's hands).
    AfterTheWorkerGaveUp,
}

/// What the README promises of a stalled write: the worker abandons it a tenth of the lease
/// before the lease ends, the directory may still carry out the request already sent, and
/// no other write for the account starts before that lease has ended; so the newest
/// password wins. The directory here carries the older request out after the worker gave
/// up, before its lease ends: the case the lease exists for.
async fn a_stalled_write_and_a_newer_password(when: Newer) {
    let rig = Rig::new().await;
    let (week, lease) = (Duration::from_secs(7 * 86_400), Duration::from_secs(4));
    let (first, second) = (
        rig.worker_leased(lease, week),
        rig.worker_leased(lease, week),
    );
    claimed(&rig, &first).await;

    let older = "Older-Harbor-Lantern-11";
    let newer = "Newer-Meadow-Compass-22";
    let land_older = Arc::new(Notify::new());
    rig.directory
        .stall
        .lock()
        .unwrap()
        .insert(older.into(), land_older.clone());
    let older_op = rig.reset(older).await;
    let stalled = tokio::spawn({
        let first = first.clone();
        async move { first.step().await.unwrap() }
    });
    wait_for("the older password's write", || {
        rig.directory.sent_at(older).is_some()
    })
    .await;
    let older_lease_end = rig
        .lease_until(&older_op)
        .await
        .expect("the older job is leased while its write is in flight");
    let newer_op = match when {
        Newer::DuringTheStall => Some(rig.reset(newer).await),
        Newer::AfterTheWorkerGaveUp => None,
    };
    let step = tokio::time::timeout(Duration::from_secs(15), stalled)
        .await
        .expect("the stalled step ends")
        .unwrap();
    assert_eq!(
        step,
        Step::Retrying,
        "the older write was abandoned ({when:?})"
    );
    let newer_op = match newer_op {
        Some(op) => op,
        None => rig.reset(newer).await,
    };
    // The directory now carries the older request out, inside its lease.
    assert!(
        now_millis() < older_lease_end,
        "this machine was too slow to land the older write inside its lease"
    );
    land_older.notify_one();
    run_until_done(&rig, &second, &newer_op).await;
    assert_eq!(rig.state(&newer_op).await, OperationState::Succeeded);

    assert_eq!(
        rig.directory.sent()[1..],
        [older, newer],
        "what was sent after the claim"
    );
    let newer_sent = rig.directory.sent_at(newer).unwrap();
    assert!(
        newer_sent >= older_lease_end,
        "{when:?}: the newer write started {} ms before the older lease ended",
        older_lease_end - newer_sent
    );
    assert_eq!(
        rig.directory.landed()[1..],
        [older, newer],
        "the order the directory carried them out in"
    );
    assert_eq!(
        rig.directory.password.lock().unwrap().as_deref(),
        Some(newer),
        "the newer password is the one that works"
    );
    let older_state = rig.accounts.operation(&older_op).await.unwrap();
    assert_eq!(older_state.state, OperationState::Failed);
    assert_eq!(older_state.reason.as_deref(), Some(SUPERSEDED_REASON));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stalled_past_its_lease_never_lands_after_a_newer_password() {
    a_stalled_write_and_a_newer_password(Newer::DuringTheStall).await;
}

/// The newer request after the worker abandoned the older write: the older job is still
/// held (its request may land), so the newer one neither replaces it at once nor is written
/// before its lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_password_after_an_abandoned_write_waits_for_its_lease() {
    a_stalled_write_and_a_newer_password(Newer::AfterTheWorkerGaveUp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_cannot_be_written_for_too_long_fails_and_forgets_its_password() {
    let rig = Rig::new().await;
    let worker = rig.worker(Duration::from_millis(300));
    claimed(&rig, &worker).await;
    *rig.directory.down.lock().unwrap() = true;
    let op = rig.reset("Lonely-Island-Beacon-33").await;
    run_until_done(&rig, &worker, &op).await;
    let operation = rig.accounts.operation(&op).await.unwrap();
    assert_eq!(operation.state, OperationState::Failed);
    assert!(
        operation
            .reason
            .as_deref()
            .is_some_and(|r| r == claimd_core::reasons::too_old(Duration::from_millis(300))),
        "{operation:?}"
    );
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed_password FROM directory_jobs WHERE id = ?")
            .bind(&op)
            .fetch_one(rig.store.pool())
            .await
            .unwrap();
    assert_eq!(sealed, None);
}

/// A batch whose first write stalls past the lease's deadline starts no other write: the
/// batch's one fence read was before that stall, and a lease lost during it must not let
/// the rest of the batch through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_stall_past_the_deadline_the_rest_of_the_batch_is_not_sent() {
    let rig = Rig::new().await;
    rig.store
        .import_roster(&[person(77778, "Roe", "Rick")], 0)
        .await
        .unwrap();
    let (jane_pw, rick_pw) = ("Stalled-Harbor-Lantern-11", "Waiting-Meadow-Compass-22");
    rig.directory
        .stall
        .lock()
        .unwrap()
        .insert(jane_pw.into(), Arc::new(Notify::new()));
    for (last, first, id, password) in [
        ("Doe", "Jane", "077777", jane_pw),
        ("Roe", "Rick", "077778", rick_pw),
    ] {
        rig.accounts
            .claim(claim(last, first, id, password), None)
            .await
            .unwrap();
    }
    let worker = rig.worker(Duration::from_secs(7 * 86_400));
    let steps = worker.step_batch(16).await.unwrap();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_ne!(steps[0], Step::Succeeded, "{steps:?}");
    assert_eq!(steps[1], Step::LeaseLost, "{steps:?}");
    assert_eq!(
        rig.directory.sent(),
        [jane_pw],
        "Rick's write was sent after the lease's deadline"
    );
}

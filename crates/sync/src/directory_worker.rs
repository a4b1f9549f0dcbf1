//! The directory worker: leases jobs and writes them into the directory.

use std::{sync::Arc, time::Instant};

use claimd_core::{
    DirectoryError, DirectoryJob, DirectoryWriter, EntryLedger, Events, JobKind, MailWriter,
    Sealer, StoreError, reasons,
    store::{
        AuditAction, AuditEvent, AuditOutcome, EndedJob, JobOutcome, JobStore, LeaseCheck,
        LeasedJob, Millis, now_millis,
    },
};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::{SyncConfig, millis, owner, pacing::run_loop, retry_delay};

/// What one [`Worker::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// No job was due.
    Idle,
    /// The directory has the change.
    Succeeded,
    /// The directory refused the change for good.
    Failed,
    /// A transient failure; the job will be retried.
    Retrying,
    /// The lease ran out and another worker took the job; nothing was recorded.
    LeaseLost,
    /// A newer password for the same account was requested: this one was not written.
    Superseded,
}

/// Jobs a loop leases at once: written one after another, recorded together.
const BATCH: usize = 16;

/// How a leased job came out, before it is recorded.
enum Decision {
    /// Nothing more to record (a retry recorded, or the lease lost).
    Done(Step),
    /// To be recorded as ended.
    End(Box<EndedJob>, Step),
}

/// The lease a batch was taken under.
struct Lease {
    /// When its writes are abandoned: a tenth of the lease before it ends, for clocks and
    /// the commit.
    deadline: tokio::time::Instant,
    /// When it ends, on the store's clock.
    ends_ms: Millis,
}

/// A leased claim's [`EntryLedger`]: the entry is kept with the claim only while the job's
/// lease is this worker's, so a worker that lost it stops before the password write.
struct JobLedger<'a> {
    store: &'a dyn JobStore,
    job: &'a LeasedJob,
}

#[async_trait::async_trait]
impl EntryLedger for JobLedger<'_> {
    async fn record(&self, entry: &str) -> Result<(), DirectoryError> {
        match self.store.record_entry(self.job, entry, now_millis()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DirectoryError::Transient {
                reason: "the job's lease was lost before its directory entry was recorded".into(),
            }),
            Err(e) => Err(DirectoryError::Transient {
                reason: format!("the claim's directory entry could not be recorded: {e}"),
            }),
        }
    }
}

/// Applies directory jobs from the store.
#[derive(Debug)]
pub struct Worker {
    store: Arc<dyn JobStore>,
    directory: Arc<dyn DirectoryWriter>,
    sealer: Arc<Sealer>,
    events: Arc<Events>,
    mail: Arc<MailWriter>,
    config: SyncConfig,
    owner: String,
}

impl Worker {
    /// A worker with a unique lease-owner name; `mail` writes the notices a finished job sends.
    pub fn new(
        store: Arc<dyn JobStore>,
        directory: Arc<dyn DirectoryWriter>,
        sealer: Arc<Sealer>,
        events: Arc<Events>,
        mail: Arc<MailWriter>,
        config: SyncConfig,
    ) -> Self {
        Self {
            store,
            directory,
            sealer,
            events,
            mail,
            config,
            owner: owner("worker"),
        }
    }

    /// Leases and applies at most one job, as this worker's first loop.
    pub async fn step(&self) -> Result<Step, StoreError> {
        let steps = self.step_batch(1).await?;
        Ok(steps.first().copied().unwrap_or(Step::Idle))
    }

    /// Leases and applies up to `max` jobs as one batch, as this worker's first loop: how
    /// each went, in lease order (empty: nothing was due).
    pub async fn step_batch(&self, max: usize) -> Result<Vec<Step>, StoreError> {
        self.run_batch(&format!("{}-0", self.owner), max).await
    }

    /// Leases up to `max` due jobs under the lease identity `owner` (one per loop, so two
    /// loops of one process can never mistake each other's lease for their own), writes them
    /// one after another, each behind its own fence and all within the lease, and records
    /// their ends in one transaction: a nightly queue of thousands costs a few statements per
    /// batch rather than per job. How each job went, in lease order (empty: nothing was due).
    async fn run_batch(&self, owner: &str, max: usize) -> Result<Vec<Step>, StoreError> {
        // The lease runs from before it is asked for; the writes must end inside it, with a
        // tenth to spare for clocks and the commit, or they are abandoned (see `decide`).
        let leased_at = tokio::time::Instant::now();
        let leased_ms = now_millis();
        let jobs = self
            .store
            .lease_jobs(owner, self.config.lease, leased_ms, max)
            .await?;
        let lease = Lease {
            deadline: leased_at + self.config.lease - self.config.lease / 10,
            ends_ms: leased_ms.saturating_add(millis(self.config.lease)),
        };
        // The fence for the whole batch, in one read, before its first write (see
        // `JobStore::confirm_leases` for why that is as safe as one read per job).
        let checks = self.store.confirm_leases(&jobs, now_millis()).await?;
        let mut steps = Vec::with_capacity(jobs.len());
        // The jobs to record as ended, and where each is in `steps`.
        let (mut ended, mut at) = (Vec::new(), Vec::new());
        for (job, check) in jobs.iter().zip(checks) {
            let span = info_span!(
                "job",
                job_id = %job.job.id,
                kind = job.job.kind.as_str(),
                username = %job.job.account.username,
                attempt = job.attempts,
            );
            match self.decide(job, check, &lease).instrument(span).await? {
                Decision::Done(step) => steps.push(step),
                Decision::End(end, step) => {
                    ended.push(*end);
                    at.push(steps.len());
                    steps.push(step);
                }
            }
        }
        if !ended.is_empty() {
            let held = self.store.finish_jobs(&ended).await?;
            for ((end, i), held) in ended.iter().zip(at).zip(held) {
                steps[i] = self.recorded(end, steps[i], held);
            }
        }
        if steps
            .iter()
            .any(|s| matches!(s, Step::Succeeded | Step::Failed | Step::Superseded))
        {
            self.events.job_finished();
        }
        if steps.contains(&Step::Succeeded) {
            self.events.mail_queued();
        }
        Ok(steps)
    }

    /// Writes one leased job (behind the fence) and says how it ended; a retry is recorded
    /// here, an end is recorded by the caller (alone, or with the rest of a batch).
    async fn decide(
        &self,
        job: &LeasedJob,
        fence: LeaseCheck,
        lease: &Lease,
    ) -> Result<Decision, StoreError> {
        let deadline = lease.deadline;
        let opened = if job.job.kind.carries_password() {
            self.sealer
                .open(&job.sealed_password, job.job.id.to_string().as_bytes())
                .map(Some)
        } else {
            Ok(None)
        };
        // The fence: before writing, the job must still be ours and, for a password, still
        // the account's newest.
        match fence {
            LeaseCheck::Held => {}
            LeaseCheck::Lost => {
                warn!("lease lost before the directory write; nothing written");
                return Ok(Decision::Done(Step::LeaseLost));
            }
            LeaseCheck::Superseded(reason) => return Ok(self.supersede(job, reason)),
        }
        // The batch's fence was read before its first write; a job reached after the
        // deadline (the loop stalled: a paused VM, a starved CPU) is not started at all.
        // Checked here, not left to the timeout below, which polls the write once (sending
        // the request) before it looks at the clock.
        if tokio::time::Instant::now() >= deadline {
            warn!("the lease's deadline passed before the directory write; nothing written");
            return Ok(Decision::Done(Step::LeaseLost));
        }
        // A job given its last try already: past its age by a whole lease (an unconfirmed
        // write past its age is retried once its lease ends, and not again).
        let age = now_millis().saturating_sub(job.queued_at);
        if age >= millis(self.config.max_job_age).saturating_add(millis(self.config.lease)) {
            warn!("the job is too old to try again; nothing written");
            let reason = reasons::too_old(self.config.max_job_age);
            return Ok(self.ended(job, JobOutcome::Failed { reason }, Step::Failed));
        }
        let result = match opened {
            Ok(password) => self.write(job, password.as_ref(), deadline).await,
            Err(e) => {
                error!(error = %e, "queued password cannot be opened; was the seal key replaced?");
                Err(DirectoryError::Permanent {
                    reason: reasons::PASSWORD_UNREADABLE.into(),
                })
            }
        };
        let now = now_millis();
        let too_old = now.saturating_sub(job.queued_at) >= millis(self.config.max_job_age);
        let (outcome, step) = match result {
            Ok(()) => (JobOutcome::Succeeded, Step::Succeeded),
            Err(DirectoryError::Permanent { reason }) => {
                warn!(%reason, "directory refused the job");
                (JobOutcome::Failed { reason }, Step::Failed)
            }
            Err(DirectoryError::Transient { reason }) if too_old => {
                warn!(%reason, "directory write failed and the job is too old to retry");
                let reason = reasons::too_old(self.config.max_job_age);
                (JobOutcome::Failed { reason }, Step::Failed)
            }
            Err(DirectoryError::Transient { reason }) => {
                return self.retry(job, &reason, now, None).await;
            }
            // The request may still be carried out: the job stays held until the lease it
            // was sent under has ended, so no write for this account (this job's retry, or a
            // newer password or a leaver's disable, which wait behind it) starts before then.
            // Even past its age: ending it now would let those start at once.
            Err(DirectoryError::Unconfirmed { reason }) => {
                return self.retry(job, &reason, now, Some(lease.ends_ms)).await;
            }
        };
        Ok(self.ended(job, outcome, step))
    }

    /// Sends one job's change to the directory, giving up at `deadline`: connecting,
    /// failing over and writing all count against the lease, so a write still running when
    /// it ends is abandoned (and reported unconfirmed: it may still land).
    async fn write(
        &self,
        job: &LeasedJob,
        password: Option<&secrecy::SecretString>,
        deadline: tokio::time::Instant,
    ) -> Result<(), DirectoryError> {
        debug!("directory write started");
        let started = Instant::now();
        let ledger = JobLedger {
            store: &*self.store,
            job,
        };
        let result =
            tokio::time::timeout_at(deadline, self.directory.apply(&job.job, password, &ledger))
                .await
                .unwrap_or_else(|_| {
                    Err(DirectoryError::Unconfirmed {
                        reason: "the directory did not finish within the job's lease".into(),
                    })
                });
        let elapsed = started.elapsed();
        let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        info!(latency_ms, ok = result.is_ok(), "directory write attempted");
        metrics::histogram!("claimd_directory_write_seconds", "kind" => job.job.kind.as_str())
            .record(elapsed.as_secs_f64());
        result
    }

    /// A job's end, to be recorded: its audit row (a replaced job's says so) and, for a
    /// success, the person's notice.
    fn ended(&self, job: &LeasedJob, outcome: JobOutcome, step: Step) -> Decision {
        let audit = AuditEvent {
            at: now_millis(),
            action: AuditAction::Directory(job.job.kind),
            employee_id: Some(job.job.account.employee_id),
            username: Some(job.job.account.username.clone()),
            client: None,
            actor: None,
            outcome: match step {
                Step::Succeeded => AuditOutcome::Succeeded,
                Step::Superseded => AuditOutcome::Superseded,
                _ => AuditOutcome::Failed,
            },
            reason: match &outcome {
                JobOutcome::Failed { reason } => Some(reason.clone()),
                JobOutcome::Succeeded => None,
            },
        };
        let mail = if step == Step::Succeeded {
            self.notice(&job.job)
        } else {
            None
        };
        Decision::End(
            Box::new(EndedJob {
                job: job.clone(),
                outcome,
                audit,
                mail,
            }),
            step,
        )
    }

    /// Records a transient failure: the job is retried after its backoff, and, when
    /// `held_until` is given, stays held until then (not taken, superseded or cancelled).
    async fn retry(
        &self,
        job: &LeasedJob,
        reason: &str,
        now: Millis,
        held_until: Option<Millis>,
    ) -> Result<Decision, StoreError> {
        let delay = retry_delay(
            job.attempts,
            self.config.backoff_initial,
            self.config.backoff_max,
        );
        let retry_at = now
            .saturating_add(millis(delay))
            .max(held_until.unwrap_or(now));
        warn!(%reason, retry_in_ms = retry_at.saturating_sub(now), "directory write failed, will retry");
        count_job(job.job.kind.as_str(), "retrying");
        Ok(Decision::Done(
            if self
                .store
                .retry_job(job, retry_at, held_until, reason, now)
                .await?
            {
                Step::Retrying
            } else {
                warn!("lease lost before the retry was recorded");
                Step::LeaseLost
            },
        ))
    }

    /// Logs and counts a job whose end was recorded (or says its lease was lost).
    fn recorded(&self, end: &EndedJob, step: Step, held: bool) -> Step {
        let job = &end.job;
        if !held {
            warn!("lease lost before the outcome was recorded; the job's new holder records it");
            return Step::LeaseLost;
        }
        if step == Step::Superseded {
            info!("older password not written: a newer one was requested");
            count_job(job.job.kind.as_str(), "superseded");
            return step;
        }
        let waited_ms = end.audit.at.saturating_sub(job.queued_at);
        info!(outcome = ?step, waited_ms, "directory job ended");
        count_job(
            job.job.kind.as_str(),
            if step == Step::Succeeded {
                "succeeded"
            } else {
                "failed"
            },
        );
        // How long people wait from request to directory, retries included.
        metrics::histogram!("claimd_directory_job_wait_seconds", "kind" => job.job.kind.as_str())
            .record(waited_ms as f64 / 1000.0);
        step
    }

    /// Ends a password job a newer job replaced (a newer request, or a leaver's disable),
    /// without writing it.
    fn supersede(&self, job: &LeasedJob, reason: &'static str) -> Decision {
        let outcome = JobOutcome::Failed {
            reason: reason.into(),
        };
        self.ended(job, outcome, Step::Superseded)
    }

    /// The mail telling the person the change is done (roster-driven changes send none).
    fn notice(&self, job: &DirectoryJob) -> Option<claimd_core::Mail> {
        match job.kind {
            JobKind::Provision => Some(self.mail.claim_confirmation(&job.account)),
            JobKind::ResetPassword => Some(self.mail.password_reset(&job.account)),
            JobKind::ChangePassword => Some(self.mail.password_changed(&job.account)),
            JobKind::UnlockAccount => Some(self.mail.account_unlocked(&job.account)),
            JobKind::TemporaryPassword => Some(self.mail.temporary_password_set(&job.account)),
            JobKind::UpdateAccount | JobKind::DisableAccount => None,
        }
    }

    /// Runs `concurrency` loops until `shutdown` is cancelled; each finishes the job in hand
    /// before returning.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let loops: Vec<_> = (0..self.config.concurrency.max(1))
            .map(|i| {
                let worker = self.clone();
                let shutdown = shutdown.clone();
                let owner = format!("{}-{i}", worker.owner);
                tokio::spawn(async move {
                    let step = || async {
                        worker
                            .run_batch(&owner, BATCH)
                            .await
                            .map(|steps| !steps.is_empty())
                    };
                    run_loop(&worker.config, &shutdown, step, || worker.events.queued()).await;
                })
            })
            .collect();
        for task in loops {
            if let Err(e) = task.await {
                error!(error = %e, "sync loop ended abnormally");
            }
        }
        info!("sync worker stopped");
    }
}

fn count_job(kind: &'static str, outcome: &'static str) {
    metrics::counter!("claimd_directory_jobs_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
}

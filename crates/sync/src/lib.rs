//! The sync worker: takes directory jobs from the store and writes them into the directory.
//!
//! A worker leases one job at a time per loop, opens its sealed password, applies it through
//! the [`Directory`] and ends it in one store transaction: succeeded (claim active), failed
//! with a readable reason (claim rejected, roster entry claimable again), or given back for a
//! retry after a capped exponential backoff with jitter. A lease left by a dead worker expires
//! and another worker takes the job; jobs are idempotent, so a job applied twice leaves the
//! directory as once. On shutdown the job in hand is finished before the loop returns.

mod backoff;

use std::{sync::Arc, time::Duration, time::Instant};

use claimd_core::{
    Directory, DirectoryError, Events, Sealer, Store, StoreError,
    store::{AuditEvent, JobOutcome, LeasedJob, now_millis},
};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

pub use backoff::retry_delay;

/// How the worker paces itself (`[sync]` in the configuration).
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Jobs applied side by side.
    pub concurrency: usize,
    /// How long a job stays with a worker before another may take it over.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs (queued by another process or retried).
    pub poll_interval: Duration,
    /// The first retry delay.
    pub backoff_initial: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

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
}

/// Applies directory jobs from the store.
#[derive(Debug)]
pub struct Worker {
    store: Arc<dyn Store>,
    directory: Arc<dyn Directory>,
    sealer: Arc<Sealer>,
    events: Arc<Events>,
    config: SyncConfig,
    owner: String,
}

impl Worker {
    /// A worker with a unique lease-owner name.
    pub fn new(
        store: Arc<dyn Store>,
        directory: Arc<dyn Directory>,
        sealer: Arc<Sealer>,
        events: Arc<Events>,
        config: SyncConfig,
    ) -> Self {
        let owner = format!(
            "worker-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Self {
            store,
            directory,
            sealer,
            events,
            config,
            owner,
        }
    }

    /// Leases and applies at most one job.
    pub async fn step(&self) -> Result<Step, StoreError> {
        let Some(job) = self
            .store
            .lease_job(&self.owner, self.config.lease, now_millis())
            .await?
        else {
            return Ok(Step::Idle);
        };
        let span = info_span!(
            "job",
            job_id = %job.job.id,
            kind = job.job.kind.as_str(),
            username = %job.job.account.username,
            attempt = job.attempts,
        );
        let step = self.apply(job).instrument(span).await?;
        if matches!(step, Step::Succeeded | Step::Failed) {
            self.events.job_finished();
        }
        Ok(step)
    }

    async fn apply(&self, job: LeasedJob) -> Result<Step, StoreError> {
        let result = match self
            .sealer
            .open(&job.sealed_password, job.job.id.to_string().as_bytes())
        {
            Ok(password) => {
                let started = Instant::now();
                let result = self.directory.apply(&job.job, &password).await;
                info!(
                    latency_ms = started.elapsed().as_millis() as u64,
                    ok = result.is_ok(),
                    "directory write attempted"
                );
                result
            }
            Err(e) => {
                error!(error = %e, "queued password cannot be opened; was the seal key replaced?");
                Err(DirectoryError::Permanent {
                    reason:
                        "the queued password could not be read; please submit the request again"
                            .into(),
                })
            }
        };
        let now = now_millis();
        let (outcome, step) = match result {
            Ok(()) => (JobOutcome::Succeeded, Step::Succeeded),
            Err(DirectoryError::Permanent { reason }) => {
                warn!(%reason, "directory refused the job");
                (JobOutcome::Failed { reason }, Step::Failed)
            }
            Err(DirectoryError::Transient { reason }) => {
                let delay = retry_delay(
                    job.attempts,
                    self.config.backoff_initial,
                    self.config.backoff_max,
                );
                warn!(%reason, retry_in_ms = delay.as_millis() as u64, "directory write failed, will retry");
                let retry_at =
                    now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                return Ok(
                    if self.store.retry_job(&job, retry_at, &reason, now).await? {
                        Step::Retrying
                    } else {
                        warn!("lease lost before the retry was recorded");
                        Step::LeaseLost
                    },
                );
            }
        };
        let audit = AuditEvent {
            at: now,
            action: "directory.provision",
            employee_id: Some(job.job.account.employee_id),
            username: Some(job.job.account.username.clone()),
            client: None,
            outcome: if step == Step::Succeeded {
                "succeeded"
            } else {
                "failed"
            },
            reason: match &outcome {
                JobOutcome::Failed { reason } => Some(reason.clone()),
                JobOutcome::Succeeded => None,
            },
        };
        if !self.store.finish_job(&job, outcome, audit).await? {
            warn!("lease lost before the outcome was recorded; the job's new holder records it");
            return Ok(Step::LeaseLost);
        }
        let waited_ms = now.saturating_sub(job.queued_at);
        info!(outcome = ?step, waited_ms, "directory job ended");
        Ok(step)
    }

    /// Runs `concurrency` loops until `shutdown` is cancelled; each finishes the job in hand
    /// before returning.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let loops: Vec<_> = (0..self.config.concurrency.max(1))
            .map(|_| tokio::spawn(self.clone().run_loop(shutdown.clone())))
            .collect();
        for task in loops {
            if let Err(e) = task.await {
                error!(error = %e, "sync loop ended abnormally");
            }
        }
        info!("sync worker stopped");
    }

    async fn run_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut store_failures = 0u32;
        while !shutdown.is_cancelled() {
            let pause = match self.step().await {
                Ok(Step::Idle) => {
                    store_failures = 0;
                    Some(self.config.poll_interval)
                }
                Ok(_) => {
                    store_failures = 0;
                    None
                }
                Err(e) => {
                    store_failures = store_failures.saturating_add(1);
                    let delay = retry_delay(
                        store_failures,
                        self.config.backoff_initial,
                        self.config.backoff_max,
                    );
                    error!(error = %e, retry_in_ms = delay.as_millis() as u64, "store unavailable to the sync worker");
                    Some(delay)
                }
            };
            if let Some(pause) = pause {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.events.queued() => {}
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

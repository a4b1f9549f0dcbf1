//! Admission to CPU-heavy work (argon2, password-strength estimation): a fixed number of
//! workers (one per CPU by default) behind a bounded queue. Memory stays bounded whatever the
//! number of simultaneous requests (argon2 takes 19 MiB a run; only `workers` runs exist at
//! once), and a request that would wait past its deadline is refused at once with a time to
//! retry after, instead of queueing work nobody will wait for.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{sync::Semaphore, time::Instant};

use crate::Error;

tokio::task_local! {
    /// When the caller stops waiting for the request being served (its gRPC deadline).
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the request's deadline for [`CpuPool::run`].
pub async fn with_deadline<F: Future>(deadline: Option<Instant>, work: F) -> F::Output {
    match deadline {
        Some(deadline) => DEADLINE.scope(deadline, work).await,
        None => work.await,
    }
}

/// How the pool is sized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionPolicy {
    /// Jobs run side by side; 0 means one per CPU.
    pub workers: usize,
    /// Jobs that may wait for a worker; more are refused at once.
    pub queue: usize,
    /// The longest a job waits when its caller set no deadline.
    pub max_wait: Duration,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 64,
            max_wait: Duration::from_secs(10),
        }
    }
}

/// The bounded pool every CPU-heavy step of a request runs on.
#[derive(Debug)]
pub struct CpuPool {
    permits: Arc<Semaphore>,
    workers: usize,
    queue: usize,
    max_wait: Duration,
    waiting: AtomicUsize,
    /// A running average of one job's run time, in microseconds.
    job_micros: AtomicU64,
}

/// Decrements the waiting count when a job stops waiting, however it stops.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CpuPool {
    /// A pool sized by `policy`.
    pub fn new(policy: &AdmissionPolicy) -> Self {
        let workers = if policy.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            policy.workers
        };
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            workers,
            queue: policy.queue,
            max_wait: policy.max_wait,
            waiting: AtomicUsize::new(0),
            // Three argon2 runs at OWASP parameters on a 2020s core, until measured.
            job_micros: AtomicU64::new(60_000),
        }
    }

    /// How many jobs run side by side.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `work` on a blocking thread once a worker is free. Refused with `Busy` (and a
    /// time to retry after) when the queue is full, or when the wait would pass the request's
    /// deadline (or the pool's longest wait).
    pub async fn run<T, W>(&self, work: W) -> Result<T, Error>
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
    {
        let now = Instant::now();
        let limit = now + self.max_wait;
        let deadline = DEADLINE.try_with(|d| *d).map_or(limit, |d| d.min(limit));
        let job = Duration::from_micros(self.job_micros.load(Ordering::Relaxed));
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let waiting = Waiting(&self.waiting);
        let busy = |wait: Duration| {
            metrics::counter!("claimd_admission_refused_total").increment(1);
            Error::Busy {
                retry_after: wait.max(Duration::from_secs(1)),
            }
        };
        // Jobs ahead are shared by the workers; this one starts after them and runs for `job`.
        let expected_wait =
            job.saturating_mul(u32::try_from(ahead / self.workers).unwrap_or(u32::MAX));
        if ahead >= self.queue || now + expected_wait + job > deadline {
            return Err(busy(expected_wait + job));
        }
        let start_by = deadline.checked_sub(job).unwrap_or(now);
        let permit =
            match tokio::time::timeout_at(start_by, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_closed)) => return Err(Error::Internal),
                Err(_elapsed) => return Err(busy(job)),
            };
        drop(waiting);
        let span = tracing::Span::current();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "CPU job failed");
            Error::Internal
        })?;
        self.record(started.elapsed());
        Ok(result)
    }

    /// Folds one job's run time into the average (weight 1/8).
    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .job_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old - old / 8 + sample / 8)
            });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn pool(workers: usize, queue: usize) -> Arc<CpuPool> {
        Arc::new(CpuPool::new(&AdmissionPolicy {
            workers,
            queue,
            max_wait: Duration::from_secs(30),
        }))
    }

    /// Blocks a worker until `release` is dropped: a job whose length the test controls.
    fn held(pool: &Arc<CpuPool>) -> (tokio::task::JoinHandle<()>, std::sync::mpsc::Sender<()>) {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let pool = pool.clone();
        let task = tokio::spawn(async move {
            pool.run(move || {
                let _ = wait.recv();
            })
            .await
            .unwrap();
        });
        (task, release)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_workers_run_at_once() {
        let pool = pool(2, 100);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..20)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_with_a_time_to_retry() {
        let pool = pool(1, 1);
        let (first, release_first) = held(&pool);
        // Wait until the first job holds the only worker and has stopped waiting.
        while pool.permits.available_permits() > 0 || pool.waiting.load(Ordering::Acquire) > 0 {
            tokio::task::yield_now().await;
        }
        let (second, release_second) = held(&pool);
        while pool.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(|| ()).await.unwrap_err();
        assert!(
            matches!(refused, Error::Busy { retry_after } if retry_after >= Duration::from_secs(1)),
            "{refused:?}"
        );
        drop((release_first, release_second));
        first.await.unwrap();
        second.await.unwrap();
        pool.run(|| ()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_cannot_start_before_its_deadline_is_refused() {
        let pool = pool(1, 10);
        let (first, release) = held(&pool);
        while pool.permits.available_permits() > 0 || pool.waiting.load(Ordering::Acquire) > 0 {
            tokio::task::yield_now().await;
        }
        let deadline = Instant::now() + Duration::from_millis(200);
        let refused = with_deadline(Some(deadline), pool.run(|| ())).await;
        assert!(matches!(refused, Err(Error::Busy { .. })), "{refused:?}");
        drop(release);
        first.await.unwrap();
    }
}

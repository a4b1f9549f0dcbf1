//! In-process signals between the service and the sync worker. They only shorten waits: the
//! store stays the source of truth, and a worker or watcher in another process falls back to
//! polling it.

use tokio::sync::{Notify, watch};

/// Signals shared by the service and the worker of one process.
#[derive(Debug)]
pub struct Events {
    queued: Notify,
    mail: Notify,
    finished: watch::Sender<u64>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            queued: Notify::new(),
            mail: Notify::new(),
            finished: watch::Sender::new(0),
        }
    }
}

impl Events {
    /// Tells a waiting worker that a job was queued.
    pub fn job_queued(&self) {
        self.queued.notify_one();
    }

    /// Waits until a job is queued (or a queued signal is already pending).
    pub async fn queued(&self) {
        self.queued.notified().await;
    }

    /// Tells a waiting mail sender that mail was queued.
    pub fn mail_queued(&self) {
        self.mail.notify_one();
    }

    /// Waits until mail is queued (or a signal is already pending).
    pub async fn mail_waiting(&self) {
        self.mail.notified().await;
    }

    /// Tells watchers that a job ended.
    pub fn job_finished(&self) {
        self.finished.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever a job ends.
    pub fn finished(&self) -> watch::Receiver<u64> {
        self.finished.subscribe()
    }
}

//! Forgot My Password's verification codes, made and mailed off the request path: a small
//! bounded queue drained by one task. BeginPasswordReset only offers the account and
//! returns, so its reply takes as long for a claimed account as for an unknown name, and a
//! burst of requests for one name costs one store write, not one each.
//!
//! Offers are also limited per client address, counted in the store (so one quota holds for
//! the district however many replicas run) by the draining task, off the request path (so
//! the limit itself tells a caller nothing): one script cannot make the district mail every
//! employee's personal address.

use std::{
    collections::HashSet,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::{
    Email, EmployeeId, MailWriter, Sealer, Store, Username, attempts, codes,
    store::{AuditEvent, LockoutPolicy, Reservation, now_millis},
};

/// Accounts waiting for a code at most: more are dropped (the person asks again).
const WAITING: usize = 64;

/// One account to send a code to, and who asked.
struct Wanted {
    username: Username,
    employee_id: EmployeeId,
    to: Email,
    client: Option<IpAddr>,
}

/// What the draining task needs.
struct Parts {
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    mail: Arc<MailWriter>,
    keys: codes::CodeKeys,
    /// The per-address quota's numbers (the store counts).
    limits: LockoutPolicy,
    /// The per-account quota's numbers (the store counts).
    quota: codes::CodeQuota,
}

/// The queue of accounts to send a verification code to.
pub(crate) struct CodeMail {
    parts: Arc<Parts>,
    /// Accounts offered and not yet handled: one code per burst of requests.
    waiting: Arc<Mutex<HashSet<Username>>>,
    /// The draining task's inbox; started on first use (inside the runtime), and again
    /// should that task have ended.
    queue: Mutex<Option<mpsc::Sender<Wanted>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CodeMail {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        sealer: Arc<Sealer>,
        mail: Arc<MailWriter>,
        keys: codes::CodeKeys,
        limits: LockoutPolicy,
    ) -> Self {
        Self {
            parts: Arc::new(Parts {
                store,
                sealer,
                mail,
                keys,
                limits,
                quota: codes::CodeQuota::default(),
            }),
            waiting: Arc::default(),
            queue: Mutex::new(None),
        }
    }

    /// Asks for a code to be mailed to `to` for `username`; returns at once. Dropped when
    /// the account already waits or the queue is full (and later, by the task, when the
    /// client has asked too often).
    pub(crate) fn offer(
        &self,
        username: Username,
        employee_id: EmployeeId,
        to: Email,
        client: Option<IpAddr>,
    ) {
        {
            let mut waiting = lock(&self.waiting);
            if waiting.len() >= WAITING || !waiting.insert(username.clone()) {
                return;
            }
        }
        let wanted = Wanted {
            username: username.clone(),
            employee_id,
            to,
            client,
        };
        let mut queue = lock(&self.queue);
        let sender = match queue.as_ref() {
            Some(sender) if !sender.is_closed() => sender,
            ended => {
                if ended.is_some() {
                    error!("the verification code task had ended; starting it again");
                }
                let (tx, rx) = mpsc::channel(WAITING);
                tokio::spawn(drain(self.parts.clone(), self.waiting.clone(), rx));
                queue.insert(tx)
            }
        };
        if sender.try_send(wanted).is_err() {
            lock(&self.waiting).remove(&username);
        }
    }
}

/// Sends each wanted code, one at a time. A send that panics is logged and the account let
/// go; the task goes on.
async fn drain(
    parts: Arc<Parts>,
    waiting: Arc<Mutex<HashSet<Username>>>,
    mut queue: mpsc::Receiver<Wanted>,
) {
    while let Some(wanted) = queue.recv().await {
        let username = wanted.username.clone();
        let parts = parts.clone();
        if let Err(e) = tokio::spawn(async move { send(&parts, &wanted).await }).await {
            error!(%username, error = %e, "sending a verification code failed");
        }
        lock(&waiting).remove(&username);
    }
}

/// Counts an offer against its client address's quota in the store; false when the quota
/// is used up (or the store cannot say: no code then, the person may ask again).
async fn within_quota(parts: &Parts, client: Option<IpAddr>) -> bool {
    let keys = attempts::keys(&attempts::Subject::CodeOffer, client);
    if keys.is_empty() {
        return true; // an in-process caller with no address
    }
    let now = now_millis();
    match parts.store.reserve_attempt(&keys, &parts.limits, now).await {
        Ok(Reservation::Granted(ticket)) => {
            // Counted at once: an offer uses the quota whatever becomes of it.
            if let Err(e) = parts.store.fail_attempt(&ticket, &parts.limits, now).await {
                warn!(error = %e, "verification code offer not counted");
                return false;
            }
            true
        }
        Ok(Reservation::Locked { .. } | Reservation::Crowded) => false,
        Err(e) => {
            warn!(error = %e, "verification code offer not counted");
            false
        }
    }
}

async fn send(parts: &Parts, wanted: &Wanted) {
    let Wanted {
        username,
        employee_id,
        to,
        client,
    } = wanted;
    if !within_quota(parts, *client).await {
        info!(%username, "verification code not sent: this client asked for too many");
        return;
    }
    let code = codes::new_verification_code();
    let hash = parts.keys.verification(username, code.expose_secret());
    let mut mail = parts
        .mail
        .verification_code(to, username, code.expose_secret());
    mail.body = codes::seal_body(&parts.sealer, to.as_str(), &SecretString::from(mail.body));
    let now = now_millis();
    let lifetime = i64::try_from(codes::VERIFICATION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
    let audit = AuditEvent {
        at: now,
        action: "verification_code",
        employee_id: Some(*employee_id),
        username: Some(username.clone()),
        client: None,
        outcome: "sent",
        reason: None,
    };
    match parts
        .store
        .add_verification_code(
            username,
            &hash,
            now.saturating_add(lifetime),
            &mail,
            audit,
            &parts.quota,
        )
        .await
    {
        Ok(true) => info!(%username, "verification code queued for the personal address"),
        Ok(false) => info!(
            %username,
            "verification code not sent: one was sent minutes ago, or the most allowed are live or were sent today"
        ),
        Err(e) => warn!(%username, error = %e, "verification code not stored"),
    }
}

//! Forgot My Password's verification codes, made and mailed off the request path: a small
//! bounded queue drained by one worker ([`CodeWorker`]), which the binary runs and stops
//! beside the directory worker and the mail sender. BeginPasswordReset only offers the account and
//! returns, so its reply takes as long for a claimed account as for an unknown name, and a
//! burst of requests for one name costs one store write, not one each.
//!
//! Offers are also limited per client address, counted in the store (so one quota holds for
//! the district however many replicas run) by the draining task, off the request path (so
//! the limit itself tells a caller nothing): one script cannot make the district mail every
//! employee's personal address. The queue itself gives each client network only a few
//! places, so a flood from one network never crowds out anyone else's code.

use std::{
    collections::HashSet,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::{
    Email, EmployeeId, MailWriter, Sealer, Username, attempts,
    client_address::NetworkShares,
    codes,
    store::{
        AuditAction, AuditEvent, AuditOutcome, FlowStore, LockoutPolicy, Reservation, now_millis,
    },
};

/// Accounts waiting for a code at most: more are dropped (the person asks again).
const WAITING: usize = 1024;
/// Accounts waiting for a code asked from one client network (an IPv4 address, an IPv6 /64)
/// at most: a flood from one network, with however many names, holds only these places, so
/// everyone else's code still gets through (the network's store quota, 20 an hour, then
/// drops its offers one by one without mailing).
const WAITING_PER_NETWORK: usize = 4;

/// One account to send a code to, and who asked.
struct Wanted {
    username: Username,
    employee_id: EmployeeId,
    to: Email,
    client: Option<IpAddr>,
    /// The client's network, whose share of the queue this holds.
    network: Option<String>,
}

/// What the draining task needs.
struct Parts {
    store: Arc<dyn FlowStore>,
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
    /// Accounts offered and not yet handled: one code per burst of requests.
    waiting: Arc<Mutex<Waiting>>,
    queue: mpsc::Sender<Wanted>,
    /// The worker that drains the queue, until someone takes it to run it.
    worker: Mutex<Option<CodeWorker>>,
}

/// Makes and mails the codes offered, one at a time: run it ([`CodeWorker::run`]) for as
/// long as the service takes requests. Without it running, offers wait in the queue (a
/// bounded one: past that they are dropped), and no code is sent.
pub struct CodeWorker {
    parts: Arc<Parts>,
    waiting: Arc<Mutex<Waiting>>,
    queue: mpsc::Receiver<Wanted>,
}

impl std::fmt::Debug for CodeWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeWorker").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CodeMail {
    pub(crate) fn new(
        store: Arc<dyn FlowStore>,
        sealer: Arc<Sealer>,
        mail: Arc<MailWriter>,
        keys: codes::CodeKeys,
        limits: LockoutPolicy,
    ) -> Self {
        let (tx, rx) = mpsc::channel(WAITING);
        let waiting = Arc::<Mutex<Waiting>>::default();
        let worker = CodeWorker {
            parts: Arc::new(Parts {
                store,
                sealer,
                mail,
                keys,
                limits,
                quota: codes::CodeQuota::default(),
            }),
            waiting: waiting.clone(),
            queue: rx,
        };
        Self {
            waiting,
            queue: tx,
            worker: Mutex::new(Some(worker)),
        }
    }

    /// The worker, for the one caller that runs it; `None` once taken.
    pub(crate) fn take_worker(&self) -> Option<CodeWorker> {
        lock(&self.worker).take()
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
        let network = client.map(NetworkShares::network);
        if !lock(&self.waiting).admit(&username, network.as_deref()) {
            return;
        }
        let wanted = Wanted {
            username: username.clone(),
            employee_id,
            to,
            client,
            network: network.clone(),
        };
        if self.queue.try_send(wanted).is_err() {
            warn!("verification code not sent: too many are waiting");
            lock(&self.waiting).release(&username, network.as_deref());
        }
    }
}

/// Who waits for a code: each account once, each client network a few times.
#[derive(Debug)]
struct Waiting {
    accounts: HashSet<Username>,
    per_network: NetworkShares,
}

impl Default for Waiting {
    fn default() -> Self {
        Self {
            accounts: HashSet::new(),
            per_network: NetworkShares::new(WAITING_PER_NETWORK),
        }
    }
}

impl Waiting {
    /// Takes a place for `username` asked from `network`; false when it already waits, the
    /// network holds its share, or every place is taken.
    fn admit(&mut self, username: &Username, network: Option<&str>) -> bool {
        if self.accounts.len() >= WAITING || self.accounts.contains(username) {
            return false;
        }
        if network.is_some_and(|network| !self.per_network.take(network)) {
            return false;
        }
        self.accounts.insert(username.clone());
        true
    }

    /// Gives the place back once the account is handled.
    fn release(&mut self, username: &Username, network: Option<&str>) {
        if self.accounts.remove(username)
            && let Some(network) = network
        {
            self.per_network.give_back(network);
        }
    }
}

impl CodeWorker {
    /// Sends each wanted code, one at a time, until `stop` resolves (the code in hand is
    /// finished first). A send that panics is logged and the account let go; the worker
    /// goes on.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let wanted = tokio::select! {
                () = &mut stop => break,
                wanted = self.queue.recv() => match wanted {
                    Some(wanted) => wanted,
                    None => break,
                },
            };
            let username = wanted.username.clone();
            let network = wanted.network.clone();
            let parts = self.parts.clone();
            if let Err(e) = tokio::spawn(async move { send(&parts, &wanted).await }).await {
                error!(%username, error = %e, "sending a verification code failed");
            }
            lock(&self.waiting).release(&username, network.as_deref());
        }
        info!("verification code worker stopped");
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
    match parts
        .store
        .reserve_attempt(&keys, &parts.limits, now, false)
        .await
    {
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
        ..
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
        action: AuditAction::VerificationCode,
        employee_id: Some(*employee_id),
        username: Some(username.clone()),
        client: None,
        actor: None,
        outcome: AuditOutcome::Sent,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> Username {
        Username::parse(&format!("e{i}")).unwrap()
    }

    #[test]
    fn one_network_holds_a_few_places_and_others_still_get_in() {
        let mut waiting = Waiting::default();
        let flood = Some("code_offer:2001:db8:1:2::/64");
        let admitted = (0..1000)
            .filter(|&i| waiting.admit(&name(i), flood))
            .count();
        assert_eq!(admitted, WAITING_PER_NETWORK);
        assert!(waiting.admit(&name(5000), Some("code_offer:198.51.100.7")));
        assert!(
            !waiting.admit(&name(5000), Some("code_offer:198.51.100.8")),
            "once"
        );
        waiting.release(&name(0), flood);
        assert!(
            waiting.admit(&name(77), flood),
            "a place given back is free again"
        );
        for i in 0..WAITING {
            waiting.release(&name(i), flood);
        }
        waiting.release(&name(77), flood);
        waiting.release(&name(5000), Some("code_offer:198.51.100.7"));
        assert!(waiting.per_network.is_empty());
    }
}

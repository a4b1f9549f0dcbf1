//! Forgot My Password's verification codes, made and mailed off the request path: a small
//! bounded queue drained by one task. BeginPasswordReset only offers the account and
//! returns, so its reply takes as long for a claimed account as for an unknown name, and a
//! burst of requests for one name costs one store write, not one each.
//!
//! Offers are also limited per client address (in this process's memory: microseconds for
//! every caller, so the limit itself tells nothing): one script cannot make the district
//! mail every employee's personal address, nor fill the queue against real people.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::{
    Email, EmployeeId, MailWriter, Sealer, Store, Username, codes,
    store::{AuditEvent, now_millis},
};

/// Accounts waiting for a code at most: more are dropped (the person asks again).
const WAITING: usize = 64;

/// Codes one client address may ask for in [`CLIENT_WINDOW`].
const PER_CLIENT: u32 = 20;

/// The window of [`PER_CLIENT`].
const CLIENT_WINDOW: Duration = Duration::from_secs(3600);

/// Client addresses remembered at most; past this the oldest windows are forgotten.
const CLIENTS: usize = 10_000;

/// One account to send a code to.
struct Wanted {
    username: Username,
    employee_id: EmployeeId,
    to: Email,
}

/// What the draining task needs.
struct Parts {
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    mail: Arc<MailWriter>,
    keys: codes::CodeKeys,
}

/// The queue of accounts to send a verification code to.
pub(crate) struct CodeMail {
    parts: Arc<Parts>,
    /// Accounts offered and not yet handled: one code per burst of requests.
    waiting: Arc<Mutex<HashSet<Username>>>,
    /// The draining task's inbox; started on first use (inside the runtime), and again
    /// should that task have ended.
    queue: Mutex<Option<mpsc::Sender<Wanted>>>,
    /// Offers per client address.
    clients: ClientLimit,
}

/// Offers per client address: when its window began, and how many since.
#[derive(Default)]
struct ClientLimit(Mutex<HashMap<IpAddr, (Instant, u32)>>);

impl ClientLimit {
    /// Whether `client` may ask for another code at `now` (and counts it).
    fn allows(&self, client: Option<IpAddr>, now: Instant) -> bool {
        let Some(client) = client else {
            return true;
        };
        let mut clients = lock(&self.0);
        if clients.len() >= CLIENTS {
            clients.retain(|_, (since, _)| now.duration_since(*since) < CLIENT_WINDOW);
        }
        if clients.len() >= CLIENTS {
            return false;
        }
        let (since, count) = clients.entry(client).or_insert((now, 0));
        if now.duration_since(*since) >= CLIENT_WINDOW {
            (*since, *count) = (now, 0);
        }
        *count += 1;
        *count <= PER_CLIENT
    }
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
    ) -> Self {
        Self {
            parts: Arc::new(Parts {
                store,
                sealer,
                mail,
                keys,
            }),
            waiting: Arc::default(),
            queue: Mutex::new(None),
            clients: ClientLimit::default(),
        }
    }

    /// Asks for a code to be mailed to `to` for `username`; returns at once. Dropped when
    /// the client has asked too often, the account already waits, or the queue is full.
    pub(crate) fn offer(
        &self,
        username: Username,
        employee_id: EmployeeId,
        to: Email,
        client: Option<IpAddr>,
    ) {
        if !self.clients.allows(client, Instant::now()) {
            info!("verification code not sent: this client asked for too many");
            return;
        }
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

async fn send(parts: &Parts, wanted: &Wanted) {
    let Wanted {
        username,
        employee_id,
        to,
    } = wanted;
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
        .add_verification_code(username, &hash, now.saturating_add(lifetime), &mail, audit)
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

    #[test]
    fn a_client_is_limited_per_hour_and_others_are_not() {
        let limit = ClientLimit::default();
        let start = Instant::now();
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..PER_CLIENT {
            assert!(limit.allows(Some(one), start));
        }
        assert!(!limit.allows(Some(one), start));
        assert!(limit.allows(Some(two), start));
        assert!(limit.allows(Some(one), start + CLIENT_WINDOW), "a new hour");
        assert!(
            limit.allows(None, start),
            "in-process callers are not counted"
        );
    }
}

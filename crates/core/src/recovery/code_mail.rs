//! Forgot My Password's verification codes, made and mailed off the request path: a small
//! bounded queue drained by one task. BeginPasswordReset only offers the account and
//! returns, so its reply takes as long for a claimed account as for an unknown name, and a
//! burst of requests for one name costs one store write, not one each.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::{
    Email, MailWriter, Sealer, Store, Username, codes,
    store::{AuditEvent, now_millis},
};

/// Accounts waiting for a code at most: more are dropped (the person asks again).
const WAITING: usize = 64;

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
    /// Started on first use, inside the runtime.
    queue: OnceLock<mpsc::Sender<(Username, Email)>>,
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
            queue: OnceLock::new(),
        }
    }

    /// Asks for a code to be mailed to `to` for `username`; returns at once. Dropped when
    /// the account already waits or the queue is full.
    pub(crate) fn offer(&self, username: Username, to: Email) {
        {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if waiting.len() >= WAITING || !waiting.insert(username.clone()) {
                return;
            }
        }
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(WAITING);
            tokio::spawn(drain(self.parts.clone(), self.waiting.clone(), rx));
            tx
        });
        if queue.try_send((username.clone(), to)).is_err() {
            self.waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&username);
        }
    }
}

async fn drain(
    parts: Arc<Parts>,
    waiting: Arc<Mutex<HashSet<Username>>>,
    mut queue: mpsc::Receiver<(Username, Email)>,
) {
    while let Some((username, to)) = queue.recv().await {
        send(&parts, &username, &to).await;
        waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&username);
    }
}

async fn send(parts: &Parts, username: &Username, to: &Email) {
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
        employee_id: None,
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
        Ok(false) => {
            info!(%username, "verification code not sent: the most allowed are live or were sent today")
        }
        Err(e) => warn!(%username, error = %e, "verification code not stored"),
    }
}

//! The mail sender: drains the outbox through a [`Mailer`], retrying while SMTP is down.

use std::sync::Arc;

use claimd_core::{
    Events, Mail, MailError, Mailer, Sealer, StoreError, codes,
    store::{OutboxStore, now_millis},
};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::{SyncConfig, millis, owner, pacing::run_loop, retry_delay};

/// What one [`MailSender::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailStep {
    /// Nothing was due.
    Idle,
    /// Handed to the SMTP server.
    Sent,
    /// Refused for good by the SMTP server.
    Failed,
    /// Not sent now; will be retried.
    Retrying,
    /// The lease was lost; nothing recorded.
    LeaseLost,
}

/// Sends queued mail.
#[derive(Debug)]
pub struct MailSender {
    store: Arc<dyn OutboxStore>,
    mailer: Arc<dyn Mailer>,
    /// Opens the bodies sealed in the outbox (those carrying a one-time code).
    sealer: Arc<Sealer>,
    events: Arc<Events>,
    config: SyncConfig,
    owner: String,
}

impl MailSender {
    /// A sender with a unique lease-owner name.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        mailer: Arc<dyn Mailer>,
        sealer: Arc<Sealer>,
        events: Arc<Events>,
        config: SyncConfig,
    ) -> Self {
        Self {
            store,
            mailer,
            sealer,
            events,
            config,
            owner: owner("mailer"),
        }
    }

    /// The mail as sent: a sealed body opened (in memory only, just before sending).
    fn opened(&self, mail: &Mail) -> Option<Mail> {
        if !codes::is_sealed(&mail.body) {
            return Some(mail.clone());
        }
        let body = codes::open_body(&self.sealer, mail.to.as_str(), &mail.body)?;
        Some(Mail {
            body: body.expose_secret().to_owned(),
            ..mail.clone()
        })
    }

    /// Leases and sends at most one mail.
    pub async fn step(&self) -> Result<MailStep, StoreError> {
        let Some(queued) = self
            .store
            .lease_mail(&self.owner, self.config.lease, now_millis())
            .await?
        else {
            return Ok(MailStep::Idle);
        };
        let span = info_span!("mail", kind = queued.mail.kind.as_str(), to = %queued.mail.to.as_str(), attempt = queued.attempts);
        async {
            let result = match self.opened(&queued.mail) {
                Some(mail) => self.mailer.send(&mail).await,
                None => Err(MailError::Permanent {
                    reason: "its sealed body cannot be opened with this seal key".into(),
                }),
            };
            let now = now_millis();
            let (recorded, step) = match result {
                Ok(()) => (self.store.finish_mail(&queued, None, now).await?, MailStep::Sent),
                Err(MailError::Permanent { reason }) => {
                    warn!(%reason, "mail refused for good");
                    (self.store.finish_mail(&queued, Some(&reason), now).await?, MailStep::Failed)
                }
                Err(MailError::Transient { reason }) => {
                    let delay = retry_delay(queued.attempts, self.config.backoff_initial, self.config.backoff_max);
                    warn!(%reason, retry_in_ms = delay.as_millis() as u64, "mail not sent, will retry");
                    let at = now.saturating_add(millis(delay));
                    (self.store.retry_mail(&queued, at, &reason, now).await?, MailStep::Retrying)
                }
            };
            if !recorded {
                warn!("lease lost before the mail's outcome was recorded");
                return Ok(MailStep::LeaseLost);
            }
            info!(outcome = ?step, "mail handled");
            let outcome = match step {
                MailStep::Sent => "sent",
                MailStep::Failed => "failed",
                _ => "retrying",
            };
            metrics::counter!("claimd_mail_total", "kind" => queued.mail.kind.as_str(), "outcome" => outcome).increment(1);
            Ok(step)
        }
        .instrument(span)
        .await
    }

    /// Sends until `shutdown` is cancelled, finishing the mail in hand.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let step = || async { self.step().await.map(|s| s != MailStep::Idle) };
        run_loop(&self.config, &shutdown, step, || self.events.mail_waiting()).await;
        info!("mail sender stopped");
    }
}

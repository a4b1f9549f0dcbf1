//! Forgot My Username: the usernames go to the address on file, and the reply is the same
//! for every address.

use std::net::IpAddr;

use tracing::{info, warn};

use super::at_least_floor;
use crate::{
    Accounts, Email, Error, Username,
    attempts::{AuditContext, Subject},
    mail::MailKind,
    store::{AuditAction, AuditEvent, AuditOutcome, Millis, now_millis},
};
/// At most this many username mails go to one address per hour, however often it is asked.
const USERNAME_MAILS_PER_HOUR: u32 = 3;
const HOUR_MS: Millis = 60 * 60 * 1000;

impl Accounts {
    /// Forgot My Username: mails the usernames of the claimed accounts using `email`. The
    /// reply is the same whether or not there are any.
    pub async fn recover_username(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error> {
        let email = Email::parse(email).map_err(|rule| Error::invalid("email", rule))?;
        at_least_floor(self.mail_usernames(email, client)).await
    }

    async fn mail_usernames(&self, email: Email, client: Option<IpAddr>) -> Result<(), Error> {
        let now = now_millis();
        // Every request counts toward the address's own username-mail rate, whatever the
        // email: a limit that says nothing about which addresses are on file, and that never
        // locks the claim or reset flows for everyone behind a school's address.
        let audit = AuditContext {
            action: AuditAction::RecoverUsername,
            employee_id: None,
            username: None,
            client,
        };
        self.reserve(&Subject::UsernameMail, &audit)
            .await?
            .failed()
            .await?;
        let accounts = self.store.claimed_accounts_by_email(&email).await?;
        // Asked for every address, on file or not, so both paths cost the same.
        let recent = self
            .store
            .mails_queued_since(&email, MailKind::UsernameReminder, now - HOUR_MS)
            .await?;
        let audit = |outcome, username: Option<&Username>| AuditEvent {
            at: now,
            action: AuditAction::RecoverUsername,
            employee_id: None,
            username: username.cloned(),
            client,
            actor: None,
            outcome,
            reason: None,
        };
        if accounts.is_empty() {
            info!(outcome = "no_account", "username recovery");
            self.store
                .record_audit(audit(AuditOutcome::NoAccount, None))
                .await?;
            return Ok(());
        }
        if recent >= USERNAME_MAILS_PER_HOUR {
            warn!(
                recent,
                "username mail not sent again: hourly limit for the address"
            );
            self.store
                .record_audit(audit(AuditOutcome::Throttled, Some(&accounts[0].username)))
                .await?;
            return Ok(());
        }
        let usernames: Vec<Username> = accounts.iter().map(|a| a.username.clone()).collect();
        let mail = self.mail.username_reminder(&email, &usernames);
        self.store
            .enqueue_mail(&mail, audit(AuditOutcome::Mailed, Some(&usernames[0])))
            .await?;
        self.events.mail_queued();
        info!(
            outcome = "mailed",
            accounts = usernames.len(),
            "username recovery"
        );
        Ok(())
    }
}

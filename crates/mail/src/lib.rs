//! Hands claimd's notices to an SMTP server with lettre (async, rustls).
//!
//! [`SmtpMailer`] implements the domain's [`Mailer`]: plain-text mail from the configured
//! `[mail] from` to the person's district address. Connection problems and 4xx replies are
//! transient (the outbox retries them); 5xx replies are permanent.

use std::{fmt, time::Duration};

use async_trait::async_trait;
use claimd_core::{Mail, MailError, Mailer};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

/// A setting that cannot work, naming its key.
#[derive(Debug, thiserror::Error)]
#[error("mail.{key}: {message}")]
pub struct MailSettingsError {
    /// The key under `[mail]`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Sends mail through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry SMTP credentials: show only the sender.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp://host:port`, `smtp://host?tls=required`, `smtps://host`, with
    /// optional `user:password@`) sending as `from` (`District IT <ithelp@district.example>`).
    /// Must be called inside a tokio runtime (the connection pool starts there).
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, MailSettingsError> {
        let from = parse_from(from)?;
        let transport = transport_builder(url)?.timeout(Some(timeout)).build();
        Ok(Self { transport, from })
    }
}

fn transport_builder(
    url: &str,
) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, MailSettingsError> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailSettingsError {
        key: "url",
        message: format!("not a usable SMTP URL: {e}"),
    })
}

/// Checks `[mail] url` and `from` without connecting (and without a runtime).
pub fn validate(url: &str, from: &str) -> Result<(), MailSettingsError> {
    transport_builder(url)?;
    parse_from(from).map(|_| ())
}

/// Parses `[mail] from`; also used to sign the notices with its display name.
pub fn parse_from(from: &str) -> Result<Mailbox, MailSettingsError> {
    from.parse().map_err(|e| MailSettingsError {
        key: "from",
        message: format!("{from:?} is not an address: {e}"),
    })
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|e| MailError::Permanent {
            reason: format!("recipient is not an address: {e}"),
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Permanent {
                reason: format!("mail cannot be built: {e}"),
            })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent {
                reason: e.to_string(),
            }),
            Err(e) => Err(MailError::Transient {
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_named() {
        assert!(
            validate(
                "smtp://127.0.0.1:2525",
                "District IT <ithelp@district.example>"
            )
            .is_ok()
        );
        assert_eq!(validate("http://x", "it@x.example").unwrap_err().key, "url");
        assert_eq!(
            validate("smtp://x", "not an address").unwrap_err().key,
            "from"
        );
    }

    #[tokio::test]
    async fn debug_hides_the_url() {
        let mailer = SmtpMailer::new(
            "smtp://user:smtp-secret@127.0.0.1:2525",
            "it@x.example",
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(!format!("{mailer:?}").contains("smtp-secret"));
    }
}

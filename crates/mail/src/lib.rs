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
    transport::smtp::client::{Certificate, Tls, TlsParameters},
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
    /// `ca_pem`, when given, is the only trust for the server's certificate (a district's
    /// own CA, `mail.ca_file`); otherwise the system's roots are.
    pub fn new(
        url: &str,
        from: &str,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, MailSettingsError> {
        let from = parse_from(from)?;
        let transport = transport_builder(url, ca_pem)?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }
}

fn transport_builder(
    url: &str,
    ca_pem: Option<&[u8]>,
) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, MailSettingsError> {
    let builder =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailSettingsError {
            key: "url",
            message: format!("not a usable SMTP URL: {e}"),
        })?;
    let Some(pem) = ca_pem else {
        return Ok(builder);
    };
    // The URL chose how TLS is used (lettre's own reading of it); the CA only changes whom
    // it trusts.
    let (host, mode) = tls_mode(url).ok_or(MailSettingsError {
        key: "ca_file",
        message: "is only used with TLS: set mail.url to smtps://… or smtp://…?tls=required".into(),
    })?;
    let bad_ca = |e: lettre::transport::smtp::Error| MailSettingsError {
        key: "ca_file",
        message: format!("is not a usable PEM certificate: {e}"),
    };
    let parameters = TlsParameters::builder(host)
        .add_root_certificate(Certificate::from_pem(pem).map_err(bad_ca)?)
        .build_rustls()
        .map_err(bad_ca)?;
    Ok(builder.tls(mode(parameters)))
}

/// How a connection uses TLS, given its parameters.
type TlsMode = fn(TlsParameters) -> Tls;

/// The host and the TLS mode a `mail.url` asks for, as lettre reads it; `None` for clear
/// text.
fn tls_mode(url: &str) -> Option<(String, TlsMode)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_owned();
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let mode: TlsMode = match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => Tls::Wrapper,
        ("smtp", Some("required")) => Tls::Required,
        ("smtp", Some("opportunistic")) => Tls::Opportunistic,
        _ => return None,
    };
    Some((host, mode))
}

/// Checks `[mail] url`, `ca_file` and `from` without connecting (and without a runtime).
pub fn validate(url: &str, from: &str, ca_pem: Option<&[u8]>) -> Result<(), MailSettingsError> {
    transport_builder(url, ca_pem)?;
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
                "District IT <ithelp@district.example>",
                None
            )
            .is_ok()
        );
        assert_eq!(
            validate("http://x", "it@x.example", None).unwrap_err().key,
            "url"
        );
        assert_eq!(
            validate("smtp://x", "not an address", None)
                .unwrap_err()
                .key,
            "from"
        );
    }

    #[tokio::test]
    async fn debug_hides_the_url() {
        let mailer = SmtpMailer::new(
            "smtp://user:smtp-secret@127.0.0.1:2525",
            "it@x.example",
            Duration::from_secs(5),
            None,
        )
        .unwrap();
        assert!(!format!("{mailer:?}").contains("smtp-secret"));
    }
}

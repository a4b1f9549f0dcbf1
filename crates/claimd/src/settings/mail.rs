//! `[mail]`, checked: the SMTP relay, the sender whose display name signs the notices, and
//! the relay's CA.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

use super::{Settings, problems::Problems};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    /// lettre-style SMTP URL: `smtp://host:port`, `smtp://host?tls=required`, `smtps://host`.
    pub url: String,
    /// The sender; its display name signs the notices.
    pub from: String,
    pub timeout_secs: u64,
    /// The CA that signed the SMTP server's certificate (PEM), for a relay with the
    /// district's own; the system's roots when unset.
    pub ca_file: Option<PathBuf>,
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            url: "smtp://127.0.0.1:25".into(),
            from: "District IT <ithelp@example.org>".into(),
            timeout_secs: 10,
            ca_file: None,
        }
    }
}

/// `[mail]`, checked.
#[derive(Clone, Debug)]
pub struct MailParts {
    pub url: String,
    pub from: String,
    /// Signs the notices: the display name of `from` (or its address).
    pub signature: String,
    pub timeout: Duration,
    /// `mail.ca_file`'s certificate, read.
    pub ca_pem: Option<Vec<u8>>,
}

impl Settings {
    /// `[mail]`, checked.
    pub(super) fn mail(&self, p: &mut Problems) -> MailParts {
        let m = &self.mail;
        let (signature, ca_pem) = self.mail_signature(p);
        p.at_least_one("mail.timeout_secs", m.timeout_secs);
        MailParts {
            url: m.url.clone(),
            from: m.from.clone(),
            signature,
            timeout: Duration::from_secs(m.timeout_secs),
            ca_pem,
        }
    }

    /// The name mail is signed with (`mail.from`'s display name, else its address), and
    /// the CA `mail.ca_file` names, read; the relay's URL and the sender checked.
    pub(super) fn mail_signature(&self, p: &mut Problems) -> (String, Option<Vec<u8>>) {
        let m = &self.mail;
        let ca = match &m.ca_file {
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Some(pem),
                Err(e) => {
                    p.add(
                        "mail.ca_file",
                        format!("{} cannot be read: {e}", path.display()),
                    );
                    return (String::new(), None);
                }
            },
            None => None,
        };
        match claimd_mail::validate(&m.url, &m.from, ca.as_deref()) {
            Ok(()) => (
                claimd_mail::parse_from(&m.from)
                    .map(|b| b.name.unwrap_or_else(|| b.email.to_string()))
                    .unwrap_or_default(),
                ca,
            ),
            Err(e) => {
                p.add_named(e);
                (String::new(), None)
            }
        }
    }
}

//! Service-account connections, each bound once and reused; jobs take them in turn, so the
//! worker's loops write side by side (one connection would carry every loop's requests in
//! turn). A broken connection is dropped and the next call on its slot opens a new one.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use claimd_core::{DirectoryError, PasswordCheck};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::{
    classify::{Step, classify},
    settings::DirectorySettings,
};

pub(crate) struct Connection {
    settings: DirectorySettings,
    tls: Option<Arc<ClientConfig>>,
    slots: Vec<Mutex<Option<Ldap>>>,
    /// The slot the next job takes.
    next: AtomicUsize,
    /// The URL that answered last.
    preferred: AtomicUsize,
}

impl Connection {
    pub(crate) fn new(settings: DirectorySettings, tls: Option<Arc<ClientConfig>>) -> Self {
        Self {
            settings,
            tls,
            slots: vec![Mutex::new(None)],
            next: AtomicUsize::new(0),
            preferred: AtomicUsize::new(0),
        }
    }

    /// Keeps up to `n` connections (one per worker loop).
    pub(crate) fn with_slots(mut self, n: usize) -> Self {
        self.slots = (0..n.max(1)).map(|_| Mutex::new(None)).collect();
        self
    }

    pub(crate) fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    /// A bound handle on the next slot, and the slot: its kept connection, or a new one when
    /// there is none or it closed.
    pub(crate) async fn get(&self) -> Result<(usize, Ldap), DirectoryError> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut current = self.slots[slot].lock().await;
        if let Some(ldap) = current.as_mut()
            && !ldap.is_closed()
        {
            return Ok((slot, ldap.clone()));
        }
        *current = None;
        let ldap = self.open().await?;
        *current = Some(ldap.clone());
        Ok((slot, ldap))
    }

    /// Forgets a slot's connection after a failure, so the next job on it starts afresh.
    pub(crate) async fn reset(&self, slot: usize) {
        if let Some(mut ldap) = self.slots[slot].lock().await.take() {
            let _ = ldap.unbind().await;
        }
    }

    /// A new, unbound connection (TLS as configured) to the first URL that answers, starting
    /// with the one that worked last.
    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let urls = &self.settings.urls;
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last_error = None;
        for k in 0..urls.len() {
            let index = (start + k) % urls.len();
            match self.connect_to(&urls[index]).await {
                Ok(ldap) => {
                    if index != start {
                        tracing::warn!(url = %urls[index], "failed over to another directory server");
                    }
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(ldap);
                }
                Err(e) => {
                    tracing::warn!(url = %urls[index], error = %e, "directory server unreachable");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or(DirectoryError::Transient {
            reason: "no directory URL".into(),
        }))
    }

    async fn connect_to(&self, url: &str) -> Result<Ldap, DirectoryError> {
        let s = &self.settings;
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls);
        if let Some(tls) = &self.tls {
            conn_settings = conn_settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(conn_settings, url)
            .await
            .map_err(|e| classify(Step::Connect, e))?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    async fn open(&self) -> Result<Ldap, DirectoryError> {
        let s = &self.settings;
        let mut ldap = self.connect().await?;
        ldap.with_timeout(s.timeout)
            .simple_bind(&s.bind_dn, s.bind_password.expose_secret())
            .await
            .and_then(|r| r.success())
            // A refused bind is the service account's problem, never the job's: retry
            // until an administrator fixes the credentials.
            .map_err(|e| DirectoryError::Transient {
                reason: format!(
                    "service account bind failed: {}",
                    classify(Step::Connect, e).into_reason()
                ),
            })?;
        tracing::debug!("directory connection bound");
        Ok(ldap)
    }

    /// What binding as `dn` with `password` says, on a connection of its own that is closed
    /// after.
    pub(crate) async fn can_bind(
        &self,
        dn: &str,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        // An empty password is an unauthenticated bind (RFC 4513 5.1.2), which succeeds.
        if password.expose_secret().is_empty() {
            return Ok(PasswordCheck::Wrong);
        }
        let mut ldap = self.connect().await?;
        let result = ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(dn, password.expose_secret())
            .await
            .map_err(|e| classify(Step::Connect, e));
        let _ = ldap.unbind().await;
        let result = result?;
        match result.rc {
            0 => Ok(PasswordCheck::Right),
            INVALID_CREDENTIALS => Ok(bind_refusal(&result.text)),
            rc => Err(DirectoryError::Transient {
                reason: format!("user bind answered result {rc}"),
            }),
        }
    }
}

/// What AD's `data …` word in a refused bind means (a password checked by AD is right when it
/// has only expired or must be changed); any other directory's refusal is a wrong password.
fn bind_refusal(text: &str) -> PasswordCheck {
    let data = |code: &str| text.to_ascii_lowercase().contains(&format!("data {code}"));
    if data("532") {
        PasswordCheck::Expired
    } else if data("773") {
        PasswordCheck::MustChange
    } else if data("775") {
        PasswordCheck::Locked
    } else {
        PasswordCheck::Wrong
    }
}

/// LDAP result code for a wrong DN or password.
const INVALID_CREDENTIALS: u32 = 49;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_bind_refusals_are_read_by_their_data_word() {
        let ad = |data: &str| {
            format!(
                "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563"
            )
        };
        assert_eq!(bind_refusal(&ad("52e")), PasswordCheck::Wrong);
        assert_eq!(bind_refusal(&ad("532")), PasswordCheck::Expired);
        assert_eq!(bind_refusal(&ad("773")), PasswordCheck::MustChange);
        assert_eq!(bind_refusal(&ad("775")), PasswordCheck::Locked);
        assert_eq!(bind_refusal(""), PasswordCheck::Wrong);
    }
}

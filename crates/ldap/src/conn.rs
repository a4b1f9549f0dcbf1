//! One service-account connection, bound once and reused by every job; a broken connection is
//! dropped and the next call opens a new one.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use claimd_core::DirectoryError;
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
    current: Mutex<Option<Ldap>>,
    /// The URL that answered last.
    preferred: AtomicUsize,
}

impl Connection {
    pub(crate) fn new(settings: DirectorySettings, tls: Option<Arc<ClientConfig>>) -> Self {
        Self {
            settings,
            tls,
            current: Mutex::new(None),
            preferred: AtomicUsize::new(0),
        }
    }

    pub(crate) fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    /// A bound handle: the kept one, or a new connection when there is none or it closed.
    pub(crate) async fn get(&self) -> Result<Ldap, DirectoryError> {
        let mut current = self.current.lock().await;
        if let Some(ldap) = current.as_mut()
            && !ldap.is_closed()
        {
            return Ok(ldap.clone());
        }
        *current = None;
        let ldap = self.open().await?;
        *current = Some(ldap.clone());
        Ok(ldap)
    }

    /// Forgets the kept connection after a failure, so the next job starts afresh.
    pub(crate) async fn reset(&self) {
        if let Some(mut ldap) = self.current.lock().await.take() {
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
            .map_err(|e| match classify(Step::Connect, e) {
                // A refused bind is the service account's problem, never the job's: retry
                // until an administrator fixes the credentials.
                DirectoryError::Permanent { reason } | DirectoryError::Transient { reason } => {
                    DirectoryError::Transient {
                        reason: format!("service account bind failed: {reason}"),
                    }
                }
            })?;
        tracing::debug!("directory connection bound");
        Ok(ldap)
    }

    /// True when `dn` binds with `password`, on a connection of its own that is closed after.
    pub(crate) async fn can_bind(
        &self,
        dn: &str,
        password: &SecretString,
    ) -> Result<bool, DirectoryError> {
        // An empty password is an unauthenticated bind (RFC 4513 5.1.2), which succeeds.
        if password.expose_secret().is_empty() {
            return Ok(false);
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
            0 => Ok(true),
            // AD: the password is right but must be changed (773) or has expired (532).
            INVALID_CREDENTIALS
                if ["data 773", "data 532"]
                    .iter()
                    .any(|d| result.text.contains(d)) =>
            {
                Ok(true)
            }
            INVALID_CREDENTIALS => Ok(false),
            rc => Err(DirectoryError::Transient {
                reason: format!("user bind answered result {rc}"),
            }),
        }
    }
}

/// LDAP result code for a wrong DN or password.
const INVALID_CREDENTIALS: u32 = 49;

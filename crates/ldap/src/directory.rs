//! [`LdapDirectory`]: the domain's `Directory` over one service-account connection, writing
//! the configured flavor.

use std::fmt;

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, DirectoryWriter, EntryLedger, JobKind, PasswordChecker,
    Username, reasons,
};
use secrecy::SecretString;

use crate::{
    conn::Connection,
    flavor,
    settings::{DirectorySettings, SettingsError},
};

/// The directory claimd writes into.
pub struct LdapDirectory {
    conn: Connection,
}

impl fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("settings", self.conn.settings())
            .finish()
    }
}

impl LdapDirectory {
    /// A directory for valid settings; connects lazily on the first job.
    pub fn new(settings: DirectorySettings) -> Result<Self, SettingsError> {
        settings.validate()?;
        let tls = settings.tls_config()?;
        Ok(Self {
            conn: Connection::new(settings, tls),
        })
    }

    /// Keeps `n` connections to the directory (one per worker loop, `sync.concurrency`).
    #[must_use]
    pub fn with_connections(self, n: usize) -> Self {
        Self {
            conn: self.conn.with_slots(n),
        }
    }
}

#[async_trait]
impl DirectoryWriter for LdapDirectory {
    async fn apply(
        &self,
        job: &DirectoryJob,
        password: Option<&SecretString>,
        ledger: &dyn EntryLedger,
    ) -> Result<(), DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let s = self.conn.settings();
        let flavor = flavor::of(s.flavor);
        let result = match (job.kind, password) {
            (JobKind::Provision, Some(password)) => {
                flavor.provision(&mut ldap, s, job, password, ledger).await
            }
            (JobKind::ResetPassword | JobKind::ChangePassword, Some(password)) => {
                flavor.set_password(&mut ldap, s, job, password).await
            }
            (JobKind::UpdateAccount, _) => flavor.update(&mut ldap, s, job).await,
            (JobKind::DisableAccount, _) => flavor.disable(&mut ldap, s, job).await,
            (JobKind::Provision | JobKind::ResetPassword | JobKind::ChangePassword, None) => {
                Err(DirectoryError::Permanent {
                    reason: reasons::PASSWORD_MISSING.into(),
                })
            }
        };
        if result.as_ref().is_err_and(DirectoryError::is_retryable) {
            self.conn.reset(slot).await;
        }
        result
    }
}

#[async_trait]
impl PasswordChecker for LdapDirectory {
    async fn verify_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<bool, DirectoryError> {
        let s = self.conn.settings();
        let name = flavor::of(s.flavor).bind_name(s, username);
        self.conn.can_bind(&name, password).await
    }

    async fn is_protected(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<bool, DirectoryError> {
        let s = self.conn.settings();
        let flavor = flavor::of(s.flavor);
        if !flavor.can_be_privileged(s) {
            return Ok(false);
        }
        let (slot, mut ldap) = self.conn.get().await?;
        let result = flavor.is_protected(&mut ldap, s, account, entry).await;
        if result.as_ref().is_err_and(DirectoryError::is_retryable) {
            self.conn.reset(slot).await;
        }
        result
    }
}

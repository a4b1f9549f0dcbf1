//! [`LdapDirectory`]: the domain's `Directory` over one service-account connection, writing
//! the configured flavor.

use std::fmt;

use async_trait::async_trait;
use claimd_core::{
    DirectoryError, DirectoryJob, DirectoryWriter, JobKind, PasswordChecker, Username, reasons,
};
use secrecy::SecretString;

use crate::{
    ad,
    conn::Connection,
    openldap,
    settings::{DirectorySettings, Flavor, SettingsError},
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
    ) -> Result<(), DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let s = self.conn.settings();
        let account = &job.account;
        let result = match (s.flavor, job.kind, password) {
            (Flavor::OpenLdap, JobKind::Provision, Some(password)) => {
                openldap::provision(&mut ldap, s, account, password).await
            }
            (
                Flavor::OpenLdap,
                JobKind::ResetPassword | JobKind::ChangePassword,
                Some(password),
            ) => openldap::set_password(&mut ldap, s, account, password).await,
            (Flavor::OpenLdap, JobKind::UpdateAccount, _) => {
                openldap::update(&mut ldap, s, account).await
            }
            (Flavor::OpenLdap, JobKind::DisableAccount, _) => {
                openldap::disable(&mut ldap, s, account).await
            }
            (Flavor::ActiveDirectory, JobKind::Provision, Some(password)) => {
                let adopt = if s.adopt_used_accounts {
                    ad::Adopt::Used
                } else if job.rehire {
                    ad::Adopt::Disabled
                } else {
                    ad::Adopt::NeverUsed
                };
                ad::provision(&mut ldap, s, account, password, adopt).await
            }
            (
                Flavor::ActiveDirectory,
                JobKind::ResetPassword | JobKind::ChangePassword,
                Some(password),
            ) => ad::set_password(&mut ldap, s, account, password).await,
            (Flavor::ActiveDirectory, JobKind::UpdateAccount, _) => {
                ad::update(&mut ldap, s, account).await
            }
            (Flavor::ActiveDirectory, JobKind::DisableAccount, _) => {
                ad::disable(&mut ldap, s, account).await
            }
            (_, JobKind::Provision | JobKind::ResetPassword | JobKind::ChangePassword, None) => {
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
        match s.flavor {
            Flavor::OpenLdap => {
                self.conn
                    .can_bind(&openldap::user_dn(s, username.as_str()), password)
                    .await
            }
            Flavor::ActiveDirectory => {
                self.conn
                    .can_bind(&ad::user_principal_name(s, username), password)
                    .await
            }
        }
    }
}

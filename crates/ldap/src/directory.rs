//! [`LdapDirectory`]: the domain's `Directory` over one service-account connection, writing
//! the configured flavor.

use std::{
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use claimd_core::{
    Account, AccountState, DirectoryError, DirectoryJob, DirectoryWriter, EntryLedger,
    ExpiryReader, Helper, HelperDirectory, JobKind, LockoutStanding, PasswordCheck,
    PasswordChecker, PasswordExpiry, Username, reasons,
};
use secrecy::SecretString;

use crate::{
    conn::Connection,
    flavor,
    settings::{DirectorySettings, SettingsError},
};

/// How long the directory's default lockout rule is reused before it is read again: a
/// change by IT reaches claimd within a minute, and a burst of checks for names claimd does
/// not manage costs the directory one read.
const DEFAULT_RULE_FOR: Duration = Duration::from_secs(60);

/// The directory claimd writes into.
pub struct LdapDirectory {
    conn: Connection,
    default_lockout: Mutex<Option<(Instant, LockoutStanding)>>,
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
            default_lockout: Mutex::new(None),
        })
    }

    /// Keeps `n` connections to the directory (one per worker loop, `sync.concurrency`).
    #[must_use]
    pub fn with_connections(self, n: usize) -> Self {
        Self {
            conn: self.conn.with_slots(n),
            ..self
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
            (
                JobKind::ResetPassword | JobKind::ChangePassword | JobKind::TemporaryPassword,
                Some(password),
            ) => flavor.set_password(&mut ldap, s, job, password).await,
            (JobKind::UpdateAccount, _) => flavor.update(&mut ldap, s, job).await,
            (JobKind::DisableAccount, _) => flavor.disable(&mut ldap, s, job).await,
            (JobKind::UnlockAccount, _) => flavor.unlock(&mut ldap, s, job).await,
            (
                JobKind::Provision
                | JobKind::ResetPassword
                | JobKind::ChangePassword
                | JobKind::TemporaryPassword,
                None,
            ) => Err(DirectoryError::Permanent {
                reason: reasons::PASSWORD_MISSING.into(),
            }),
        };
        if result.as_ref().is_err_and(DirectoryError::is_retryable) {
            self.conn.reset(slot).await;
        }
        result
    }
}

impl LdapDirectory {
    /// Drops the connection of `slot` after a failure that may be its own (the next call on
    /// it opens a new one), and hands the result on.
    async fn settled<T>(
        &self,
        slot: usize,
        result: Result<T, DirectoryError>,
    ) -> Result<T, DirectoryError> {
        if result.as_ref().is_err_and(DirectoryError::is_retryable) {
            self.conn.reset(slot).await;
        }
        result
    }
}

#[async_trait]
impl HelperDirectory for LdapDirectory {
    async fn find_helper(&self, login: &str) -> Result<Option<Helper>, DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let found = crate::helpers::find(&mut ldap, self.conn.settings(), login).await;
        self.settled(slot, found).await
    }

    async fn check_helper_password(
        &self,
        helper: &Helper,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        self.conn.can_bind(&helper.dn, password).await
    }

    async fn helper_lockout(&self, helper: &Helper) -> Result<LockoutStanding, DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let standing = crate::helpers::lockout(&mut ldap, self.conn.settings(), helper).await;
        self.settled(slot, standing).await
    }

    async fn helper_groups(
        &self,
        helper: &Helper,
        groups: &[String],
    ) -> Result<Vec<bool>, DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let found = crate::helpers::groups(&mut ldap, self.conn.settings(), helper, groups).await;
        self.settled(slot, found).await
    }

    async fn account_state(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<Option<AccountState>, DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let state = crate::state::read(&mut ldap, self.conn.settings(), account, entry).await;
        self.settled(slot, state).await
    }
}

#[async_trait]
impl ExpiryReader for LdapDirectory {
    async fn read_expiries(
        &self,
        pages: tokio::sync::mpsc::Sender<Vec<PasswordExpiry>>,
    ) -> Result<u64, DirectoryError> {
        let (slot, mut ldap) = self.conn.get().await?;
        let read = crate::expiry::read(&mut ldap, self.conn.settings(), pages).await;
        self.settled(slot, read).await
    }
}

#[async_trait]
impl PasswordChecker for LdapDirectory {
    async fn verify_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        let s = self.conn.settings();
        let flavor = flavor::of(s.flavor);
        let name = flavor.bind_name(s, username);
        let check = self.conn.can_bind(&name, password).await?;
        if check != PasswordCheck::Right {
            return Ok(check);
        }
        // Right, as far as the bind says; the directory's own records may say it must be
        // changed (only so the pages can say why). A failure to read them changes nothing.
        let Ok((slot, mut ldap)) = self.conn.get().await else {
            return Ok(check);
        };
        match flavor.right_password_state(&mut ldap, s, username).await {
            Ok(state) => Ok(state),
            Err(e) => {
                tracing::warn!(error = %e, "could not read whether the password must be changed");
                if e.is_retryable() {
                    self.conn.reset(slot).await;
                }
                Ok(check)
            }
        }
    }

    async fn lockout_standing(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError> {
        let s = self.conn.settings();
        let (slot, mut ldap) = self.conn.get().await?;
        let standing = flavor::of(s.flavor)
            .lockout_standing(&mut ldap, s, account, entry)
            .await;
        self.settled(slot, standing).await
    }

    async fn default_lockout(&self) -> Result<LockoutStanding, DirectoryError> {
        if let Some((read, rule)) = &*self.default_lockout.lock().expect("not poisoned")
            && read.elapsed() < DEFAULT_RULE_FOR
        {
            return Ok(rule.clone());
        }
        let s = self.conn.settings();
        let (slot, mut ldap) = self.conn.get().await?;
        let result = flavor::of(s.flavor).default_lockout(&mut ldap, s).await;
        match &result {
            Ok(rule) => {
                *self.default_lockout.lock().expect("not poisoned") =
                    Some((Instant::now(), rule.clone()));
            }
            Err(e) if e.is_retryable() => self.conn.reset(slot).await,
            Err(_) => {}
        }
        result
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

//! The seam between claimd's directory jobs and one kind of directory: what a flavor must
//! know how to write. `openldap.rs` and `ad.rs` implement it; a third flavor is one more file
//! implementing [`DirectoryFlavor`], a [`Flavor`] variant and one line in [`of`].

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, EntryLedger, LockoutStanding, PasswordCheck, Username,
};
use ldap3::Ldap;
use secrecy::SecretString;

use crate::{
    ad::ActiveDirectory,
    openldap::OpenLdap,
    settings::{DirectorySettings, Flavor},
};

/// How one kind of directory holds people, over a connection bound as claimd's service
/// account. Refusals retrying cannot fix are [`DirectoryError::Permanent`] with a readable
/// reason from [`claimd_core::reasons`].
#[async_trait]
pub(crate) trait DirectoryFlavor: Send + Sync {
    /// A claim: the person's entry made or taken over, with its first password. An entry
    /// someone already uses is refused unless the district allows it; the entry taken is
    /// recorded in `ledger` before its password is written.
    async fn provision(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
        ledger: &dyn EntryLedger,
    ) -> Result<(), DirectoryError>;

    /// A reset or a change: the new password on the entry the claim took (`job.entry`, once
    /// recorded). A reset also lifts the directory's lockout.
    async fn set_password(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
    ) -> Result<(), DirectoryError>;

    /// The roster's names and mail written over the claimed entry's.
    async fn update(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError>;

    /// A leaver: the claimed entry can no longer log in.
    async fn disable(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError>;

    /// Unlock My Account: the directory's lockout of the claimed entry lifted, nothing else
    /// (the password stays).
    async fn unlock(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError>;

    /// Whether an entry claimd would act on for `account` (the one its claim took, `entry`,
    /// and the ones its number and username find) is privileged, so no flow may touch it.
    async fn is_protected(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<bool, DirectoryError>;

    /// Whether any entry can be privileged under `settings` (when not, [`Self::is_protected`]
    /// is false without asking the directory).
    fn can_be_privileged(&self, settings: &DirectorySettings) -> bool;

    /// The lockout rule that applies to `account`'s login and where its count stands.
    async fn lockout_standing(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError>;

    /// The directory's default lockout rule, with no count.
    async fn default_lockout(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
    ) -> Result<LockoutStanding, DirectoryError>;

    /// What a password that bound as `username` still needs (to be changed, expired), when
    /// the bind itself does not say (AD's bind does: `data 532`/`773`).
    async fn right_password_state(
        &self,
        _ldap: &mut Ldap,
        _settings: &DirectorySettings,
        _username: &Username,
    ) -> Result<PasswordCheck, DirectoryError> {
        Ok(PasswordCheck::Right)
    }

    /// The name `username` binds with to prove a password (a DN, or a UPN).
    fn bind_name(&self, settings: &DirectorySettings, username: &Username) -> String;
}

/// The implementation of a configured flavor.
pub(crate) fn of(flavor: Flavor) -> &'static dyn DirectoryFlavor {
    match flavor {
        Flavor::OpenLdap => &OpenLdap,
        Flavor::ActiveDirectory => &ActiveDirectory,
    }
}

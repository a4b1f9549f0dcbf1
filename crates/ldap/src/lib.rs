//! Writes claimd's directory jobs into LDAP with `ldap3` over rustls.
//!
//! [`LdapDirectory`] implements the domain's [`DirectoryWriter`](claimd_core::DirectoryWriter),
//! [`PasswordChecker`](claimd_core::PasswordChecker) and
//! [`ExpiryReader`](claimd_core::ExpiryReader) and
//! [`HelperDirectory`](claimd_core::HelperDirectory) over one of two flavors, each a
//! `DirectoryFlavor` (`flavor.rs`, the seam a third flavor implements). `openldap` creates or
//! updates `uid={username},{users_base_dn}` as an inetOrgPerson and sets the password with the
//! Password Modify extended operation (RFC 3062), so the server hashes it. `active_directory`
//! finds the pre-provisioned user by `employeeID` (or creates it, disabled), replaces
//! `unicodePwd` and enables the account; AD's extended error codes become plain reasons.
//! Every write after a claim goes to the entry the claim took (its entryUUID or objectGUID,
//! kept with the claim), and no flow acts on a privileged entry (AD's own privileged groups
//! and `adminCount`, and `accounts.protected_groups`; `ad/lookup.rs`, `protected.rs`).
//! Current passwords are checked by binding as the user, and never past the directory's
//! lockout rule for it (`ad/lockout.rs`, `ppolicy.rs`: claimd never locks a login). The
//! reminder scan reads every expiring password by a paged search (`expiry.rs`); the
//! helpdesk's helpers are found by login name and their groups read (`helpers.rs`).
//! Service-account connections are kept and reused; a broken one is replaced on the next job.
//! Refusals that retrying cannot fix
//! become permanent errors with a readable reason; everything else (connection loss, busy,
//! timeouts, misconfiguration) is transient.

mod ad;
mod classify;
mod conn;
mod directory;
pub mod escape;
pub(crate) mod expiry;
mod flavor;
mod helpers;
mod openldap;
mod ppolicy;
mod protected;
mod read;
mod settings;
mod state;
mod time;

pub use directory::LdapDirectory;
pub use settings::{DirectorySettings, Flavor, SettingsError};

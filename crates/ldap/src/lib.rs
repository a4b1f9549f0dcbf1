//! Writes claimd's directory jobs into LDAP with `ldap3` over rustls.
//!
//! [`LdapDirectory`] implements the domain's [`Directory`](claimd_core::Directory) trait. The
//! `openldap` flavor creates or updates `uid={username},{users_base_dn}` as an inetOrgPerson
//! and sets the password with the Password Modify extended operation (RFC 3062), so the server
//! hashes it. One service-account connection is kept and reused; a broken one is replaced on
//! the next job. Refusals that retrying cannot fix become permanent errors with a readable
//! reason; everything else (connection loss, busy, timeouts, misconfiguration) is transient.

mod classify;
mod conn;
pub mod escape;
mod openldap;
mod settings;

pub use openldap::LdapDirectory;
pub use settings::{DirectorySettings, Flavor, SettingsError};

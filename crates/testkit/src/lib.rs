//! Real servers for claimd's tests and demo, started as local processes in temp dirs on free
//! loopback ports and stopped when dropped.
//!
//! [`Slapd`] is an OpenLDAP server with `dc=example,dc=org`, `ou=people` for claimd's users,
//! a password policy (at least [`Slapd::POLICY_MIN_LENGTH`] characters, enforced for the
//! service account) and a non-root service account `cn=claimd` that may write `ou=people`,
//! as a district would set one up. Verification goes through the real OpenLDAP tools
//! (`ldapwhoami`, `ldapsearch`). [`Smtp`] is a real SMTP server (Debian's aiosmtpd) that
//! delivers into a Maildir the tests read. [`SambaDc`] is a throwaway Samba Active Directory
//! domain controller (root only; one per machine). [`Browser`] is a headless Chromium driven
//! over WebDriver, for the portal's pages. [`Postgres`] is a PostgreSQL server with an empty
//! `claimd` database, for the replicated store. [`write_pwned_list`] writes a breached-password
//! list in Have I Been Pwned's format.

mod browser;
mod claimd;
mod feed;
mod postgres;
mod pwned;
mod samba;
mod slapd;
mod smtp;
mod tls;
mod wait;

pub use browser::{Browser, keys};
pub use claimd::ClaimdProcess;
pub use postgres::Postgres;
pub use pwned::write_pwned_list;
pub use samba::SambaDc;
pub use slapd::Slapd;
pub use smtp::{ReceivedMail, Smtp};
pub use tls::{Issued, TestCa};
pub use wait::{free_port, wait_until};

//! The `openldap` flavor: `uid={username},{users_base_dn}` as an inetOrgPerson, password by
//! Password Modify (RFC 3062) so the server hashes it.

use std::{collections::HashSet, fmt};

use async_trait::async_trait;
use claimd_core::{Account, Directory, DirectoryError, DirectoryJob, JobKind, Username};
use ldap3::{Ldap, Mod, Scope, SearchEntry, exop::PasswordModify};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    classify::{Step, classify},
    conn::Connection,
    escape::child_dn,
    settings::{DirectorySettings, Flavor, SettingsError},
};

/// LDAP result code for "an entry with this DN exists".
const ENTRY_ALREADY_EXISTS: u32 = 68;

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
        if settings.flavor == Flavor::ActiveDirectory {
            return Err(SettingsError {
                key: "flavor",
                message: "active_directory is not supported by this build yet; use openldap".into(),
            });
        }
        let tls = settings.tls_config()?;
        Ok(Self {
            conn: Connection::new(settings, tls),
        })
    }

    async fn provision(
        &self,
        ldap: &mut Ldap,
        account: &Account,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let settings = self.conn.settings();
        let dn = child_dn("uid", account.username.as_str(), &settings.users_base_dn);
        let employee_number = account.employee_id.get().to_string();
        let full_name = format!(
            "{} {}",
            account.first_name.as_str(),
            account.last_name.as_str()
        );
        let values: [(&str, &str); 5] = [
            ("cn", &full_name),
            ("sn", account.last_name.as_str()),
            ("givenName", account.first_name.as_str()),
            ("mail", account.email.as_str()),
            ("employeeNumber", &employee_number),
        ];
        let mut attrs: Vec<(&str, HashSet<&str>)> = vec![
            (
                "objectClass",
                HashSet::from(["top", "person", "organizationalPerson", "inetOrgPerson"]),
            ),
            ("uid", HashSet::from([account.username.as_str()])),
        ];
        attrs.extend(
            values
                .iter()
                .map(|(attr, value)| (*attr, HashSet::from([*value]))),
        );
        let added = ldap
            .with_timeout(settings.timeout)
            .add(&dn, attrs)
            .await
            .map_err(|e| classify(Step::Entry, e))?;
        match added.rc {
            0 => tracing::info!(%dn, "directory entry created"),
            ENTRY_ALREADY_EXISTS => {
                self.check_owner(ldap, &dn, &employee_number).await?;
                let mods = values
                    .iter()
                    .map(|(attr, value)| Mod::Replace(*attr, HashSet::from([*value])))
                    .collect();
                ldap.with_timeout(settings.timeout)
                    .modify(&dn, mods)
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| classify(Step::Entry, e))?;
                tracing::info!(%dn, "directory entry updated");
            }
            _ => return Err(classify(Step::Entry, ldap3::LdapError::from(added))),
        }
        self.modify_password(ldap, &dn, password).await
    }

    /// Sets the password of an existing entry (reset, change).
    async fn set_password(
        &self,
        ldap: &mut Ldap,
        account: &Account,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let dn = child_dn(
            "uid",
            account.username.as_str(),
            &self.conn.settings().users_base_dn,
        );
        self.modify_password(ldap, &dn, password)
            .await
            .map_err(|e| match e {
                DirectoryError::Transient { reason } if reason.contains("rc=32") => {
                    DirectoryError::Permanent {
                        reason: "the account is not in the directory; ask the district's IT staff"
                            .into(),
                    }
                }
                other => other,
            })
    }

    /// Password Modify (RFC 3062) as the service account: the server hashes the password and
    /// applies its password policy.
    async fn modify_password(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let exop = PasswordModify {
            user_id: Some(dn),
            old_pass: None,
            new_pass: Some(password.expose_secret()),
        };
        ldap.with_timeout(self.conn.settings().timeout)
            .extended(exop)
            .await
            .and_then(|r| r.success())
            .map(|_| ())
            .map_err(|e| classify(Step::Password, e))
    }

    /// Refuses to take over an existing entry that belongs to another employee.
    async fn check_owner(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        employee_number: &str,
    ) -> Result<(), DirectoryError> {
        let (entries, _) = ldap
            .with_timeout(self.conn.settings().timeout)
            .search(dn, Scope::Base, "(objectClass=*)", vec!["employeeNumber"])
            .await
            .and_then(|r| r.success())
            .map_err(|e| classify(Step::Entry, e))?;
        let owner = entries
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| {
                e.attrs
                    .get("employeeNumber")
                    .and_then(|v| v.first().cloned())
            });
        match owner {
            Some(other) if other != employee_number => Err(DirectoryError::Permanent {
                reason:
                    "the directory already has an account with this username for another employee; \
                         ask the district's IT staff"
                        .into(),
            }),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn apply(
        &self,
        job: &DirectoryJob,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let mut ldap = self.conn.get().await?;
        let result = match job.kind {
            JobKind::Provision => self.provision(&mut ldap, &job.account, password).await,
            JobKind::ResetPassword | JobKind::ChangePassword => {
                self.set_password(&mut ldap, &job.account, password).await
            }
        };
        if let Err(DirectoryError::Transient { .. }) = &result {
            self.conn.reset().await;
        }
        result
    }

    async fn verify_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<bool, DirectoryError> {
        let dn = child_dn(
            "uid",
            username.as_str(),
            &self.conn.settings().users_base_dn,
        );
        self.conn.can_bind(&dn, password).await
    }
}

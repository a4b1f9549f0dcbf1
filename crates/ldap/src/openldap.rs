//! The `openldap` flavor: `uid={username},{users_base_dn}` as an inetOrgPerson, password by
//! Password Modify (RFC 3062) so the server hashes it and applies its own policy.

use std::collections::HashSet;

use async_trait::async_trait;
use claimd_core::{Account, DirectoryError, DirectoryJob, EntryLedger, Username, reasons};
use ldap3::{Ldap, Mod, Scope, SearchEntry, exop::PasswordModify};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    classify::{Step, classify},
    escape::child_dn,
    flavor::DirectoryFlavor,
    settings::DirectorySettings,
};

/// LDAP result code for "an entry with this DN exists".
const ENTRY_ALREADY_EXISTS: u32 = 68;
/// LDAP result code for "no such object".
const NO_SUCH_OBJECT: u32 = 32;

/// The user's DN.
fn user_dn(settings: &DirectorySettings, username: &str) -> String {
    child_dn("uid", username, &settings.users_base_dn)
}

/// The `openldap` flavor: entries named by the username, found and checked by
/// `employeeNumber`.
pub(crate) struct OpenLdap;

#[async_trait]
impl DirectoryFlavor for OpenLdap {
    fn bind_name(&self, settings: &DirectorySettings, username: &Username) -> String {
        user_dn(settings, username.as_str())
    }

    /// Creates the entry, or takes over one made for this person that nobody uses yet (no
    /// password, never changed), and sets its password. The entry is recorded with the claim
    /// first, so the claim's own retry goes on over the password it set.
    async fn provision(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
        ledger: &dyn EntryLedger,
    ) -> Result<(), DirectoryError> {
        let account = &job.account;
        let dn = user_dn(settings, account.username.as_str());
        let employee_number = account.employee_id.get().to_string();
        let values = roster_values(account);
        let mut attrs: Vec<(&str, HashSet<&str>)> = vec![
            (
                "objectClass",
                HashSet::from(["top", "person", "organizationalPerson", "inetOrgPerson"]),
            ),
            ("uid", HashSet::from([account.username.as_str()])),
            ("employeeNumber", HashSet::from([employee_number.as_str()])),
        ];
        attrs.extend(
            values
                .iter()
                .map(|(attr, value)| (*attr, HashSet::from([value.as_str()]))),
        );
        let added = ldap
            .with_timeout(settings.timeout)
            .add(&dn, attrs)
            .await
            .map_err(|e| classify(Step::Entry, e))?;
        let existed = match added.rc {
            0 => false,
            ENTRY_ALREADY_EXISTS => true,
            _ => return Err(classify(Step::Entry, ldap3::LdapError::from(added))),
        };
        let entry = read_entry(ldap, settings, &dn).await?;
        check_number(entry.employee_number.as_deref(), &employee_number)?;
        if job.entry.as_deref() != Some(entry.uuid.as_str()) {
            // Someone logs in with it already (a password, or ppolicy saw one set): a claim
            // by names and ID alone must not take it over. A rehire's own old entry (claimd
            // disabled it) is theirs.
            if entry.in_use && !settings.adopt_used_accounts && !job.rehire {
                tracing::warn!(%dn, "directory entry already in use; not taken over");
                return Err(DirectoryError::Permanent {
                    reason: reasons::ACCOUNT_USED.into(),
                });
            }
            ledger.record(&entry.uuid).await?;
        }
        if existed {
            replace_roster_values(ldap, settings, &dn, account).await?;
            tracing::info!(%dn, "directory entry updated");
        } else {
            tracing::info!(%dn, "directory entry created");
        }
        modify_password(ldap, settings, &dn, password)
            .await
            .map_err(|e| classify(Step::Password, e))
    }

    /// Sets the password of an existing entry (reset, change).
    async fn set_password(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let dn = user_dn(settings, account.username.as_str());
        match modify_password(ldap, settings, &dn, password).await {
            Ok(()) => Ok(()),
            Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => {
                Err(DirectoryError::Permanent {
                    reason: reasons::NOT_IN_DIRECTORY.into(),
                })
            }
            Err(e) => Err(classify(Step::Password, e)),
        }
    }

    /// Brings the entry's names and mail in line with the roster (the uid never changes).
    async fn update(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
    ) -> Result<(), DirectoryError> {
        let dn = user_dn(settings, account.username.as_str());
        check_owner(ldap, settings, &dn, &account.employee_id.get().to_string()).await?;
        replace_roster_values(ldap, settings, &dn, account).await?;
        tracing::info!(%dn, "directory entry updated from the roster");
        Ok(())
    }

    /// Ends the login of a leaver: the password becomes a random one nobody is told, so the
    /// old one stops working on any slapd (with or without the ppolicy overlay). An entry that
    /// is already gone is already disabled.
    async fn disable(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
    ) -> Result<(), DirectoryError> {
        let dn = user_dn(settings, account.username.as_str());
        match check_owner(ldap, settings, &dn, &account.employee_id.get().to_string()).await {
            Err(e) if e.is_retryable() && !entry_exists(ldap, settings, &dn).await? => {
                return Ok(());
            }
            other => other?,
        }
        let random: [u8; 32] = rand::random();
        let unknown = SecretString::from(
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        modify_password(ldap, settings, &dn, &unknown)
            .await
            .map_err(|e| classify(Step::Password, e))?;
        tracing::info!(%dn, "directory login disabled");
        Ok(())
    }
}

/// What the roster decides on an entry: the names and mail (the uid and the employee number
/// never change once written).
fn roster_values(account: &Account) -> [(&'static str, String); 4] {
    [
        (
            "cn",
            format!(
                "{} {}",
                account.first_name.as_str(),
                account.last_name.as_str()
            ),
        ),
        ("sn", account.last_name.as_str().to_owned()),
        ("givenName", account.first_name.as_str().to_owned()),
        ("mail", account.email.as_str().to_owned()),
    ]
}

/// Replaces the roster-decided values of an entry already checked to be this person's.
async fn replace_roster_values(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    account: &Account,
) -> Result<(), DirectoryError> {
    let values = roster_values(account);
    let mods = values
        .iter()
        .map(|(attr, value)| Mod::Replace(*attr, HashSet::from([value.as_str()])))
        .collect();
    ldap.with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .map(|_| ())
        .map_err(|e| classify(Step::Entry, e))
}

async fn entry_exists(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<bool, DirectoryError> {
    match ldap
        .with_timeout(settings.timeout)
        .search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
        .await
        .and_then(|r| r.success())
    {
        Ok((entries, _)) => Ok(!entries.is_empty()),
        Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => Ok(false),
        Err(e) => Err(classify(Step::Read, e)),
    }
}

/// Password Modify (RFC 3062) as the service account; callers classify the failure.
async fn modify_password(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    password: &SecretString,
) -> Result<(), ldap3::LdapError> {
    let exop = PasswordModify {
        user_id: Some(dn),
        old_pass: None,
        new_pass: Some(password.expose_secret()),
    };
    ldap.with_timeout(settings.timeout)
        .extended(exop)
        .await
        .and_then(|r| r.success())
        .map(|_| ())
}

/// What a claim needs to know of an entry before it takes it.
struct EntryFacts {
    /// `entryUUID`: the entry's identity, whatever it is renamed to.
    uuid: String,
    employee_number: Option<String>,
    /// It has a password, or ppolicy recorded one being set.
    in_use: bool,
}

/// Reads the entry at `dn` as a claim sees it. Password values are asked for only to see
/// whether there is one (what comes back is the server's hash, and is dropped here).
async fn read_entry(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<EntryFacts, DirectoryError> {
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(
            dn,
            Scope::Base,
            "(objectClass=*)",
            vec![
                "entryUUID",
                "employeeNumber",
                "userPassword",
                "pwdChangedTime",
            ],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let Some(mut entry) = entries.into_iter().next().map(SearchEntry::construct) else {
        return Err(changed_meanwhile());
    };
    let in_use = entry.bin_attrs.contains_key("userPassword")
        || entry.attrs.contains_key("userPassword")
        || entry.attrs.contains_key("pwdChangedTime");
    let first = |values: Option<Vec<String>>| values.and_then(|v| v.into_iter().next());
    let Some(uuid) = first(entry.attrs.remove("entryUUID")) else {
        return Err(DirectoryError::Transient {
            reason: "the directory did not show the entry's entryUUID".into(),
        });
    };
    Ok(EntryFacts {
        uuid,
        employee_number: first(entry.attrs.remove("employeeNumber")),
        in_use,
    })
}

/// Deleted between our add and this read: the next try adds it afresh.
fn changed_meanwhile() -> DirectoryError {
    DirectoryError::Transient {
        reason: "the directory entry changed while it was being written".into(),
    }
}

/// Only an entry that carries this person's number is theirs; anything else was made by
/// someone else (IT by hand, another tool) and is never taken over.
fn check_number(found: Option<&str>, employee_number: &str) -> Result<(), DirectoryError> {
    match found {
        Some(owner) if owner == employee_number => Ok(()),
        Some(_) => Err(DirectoryError::Permanent {
            reason: reasons::ENTRY_OF_ANOTHER.into(),
        }),
        None => Err(DirectoryError::Permanent {
            reason: reasons::ENTRY_UNNUMBERED.into(),
        }),
    }
}

/// Refuses to update or disable an existing entry that belongs to another employee.
async fn check_owner(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    employee_number: &str,
) -> Result<(), DirectoryError> {
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(dn, Scope::Base, "(objectClass=*)", vec!["employeeNumber"])
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
        return Err(changed_meanwhile());
    };
    let owner = entry
        .attrs
        .get("employeeNumber")
        .and_then(|v| v.first().map(String::as_str));
    check_number(owner, employee_number)
}

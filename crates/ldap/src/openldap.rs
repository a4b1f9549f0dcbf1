//! The `openldap` flavor: `uid={username},{users_base_dn}` as an inetOrgPerson, password by
//! Password Modify (RFC 3062) so the server hashes it and applies its own policy.

use std::collections::HashSet;

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, EntryLedger, LockoutStanding, PasswordCheck, Username,
    reasons,
};
use ldap3::{Ldap, Mod, Scope, SearchEntry, exop::PasswordModify};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    classify::{Step, classify},
    escape::child_dn,
    flavor::DirectoryFlavor,
    ppolicy,
    protected::{in_protected_group, openldap_member_of_any},
    read::NO_SUCH_OBJECT,
    settings::DirectorySettings,
};

/// LDAP result code for "an entry with this DN exists".
const ENTRY_ALREADY_EXISTS: u32 = 68;

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

    /// OpenLDAP has no privileged users of its own: only the district's protected groups.
    fn can_be_privileged(&self, settings: &DirectorySettings) -> bool {
        !settings.protected_groups.is_empty()
    }

    async fn is_protected(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        _entry: Option<&str>,
    ) -> Result<bool, DirectoryError> {
        // The entry is named by the username: the one a claim took and a password check
        // binds as.
        let dn = user_dn(settings, account.username.as_str());
        protected(ldap, settings, &dn).await
    }

    async fn lockout_standing(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        _entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError> {
        let dn = user_dn(settings, account.username.as_str());
        ppolicy::standing(ldap, settings, &dn).await
    }

    /// A bind succeeds under `pwdReset` and on a grace login: ppolicy's own attributes say.
    async fn right_password_state(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        username: &Username,
    ) -> Result<PasswordCheck, DirectoryError> {
        ppolicy::password_state(ldap, settings, &user_dn(settings, username.as_str())).await
    }

    async fn default_lockout(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
    ) -> Result<LockoutStanding, DirectoryError> {
        Ok(ppolicy::default_policy(ldap, settings)
            .await?
            .map_or_else(LockoutStanding::never_locks, ppolicy::Policy::standing))
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
        refuse_protected(ldap, settings, &dn).await?;
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
        let entry = read_entry(ldap, settings, &dn)
            .await?
            .ok_or_else(changed_meanwhile)?;
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
            .map_err(|e| classify(Step::Password, e))?;
        if job.rehire {
            // claimd locked the leaver's login for good; the rehire gets it back.
            ppolicy::lift_lock(ldap, settings, &dn).await?;
        }
        Ok(())
    }

    /// Sets the password of the claimed entry (reset, change, a helpdesk's temporary one).
    async fn set_password(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let Some(dn) = claimed_entry(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        modify_password(ldap, settings, &dn, password)
            .await
            .map_err(|e| classify(Step::Password, e))?;
        match job.kind {
            claimd_core::JobKind::ResetPassword => ppolicy::lift_lock(ldap, settings, &dn).await?,
            claimd_core::JobKind::TemporaryPassword => {
                ppolicy::lift_lock(ldap, settings, &dn).await?;
                ppolicy::require_change(ldap, settings, &dn).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Lifts ppolicy's lock: `pwdAccountLockedTime` removed (slapd drops `pwdFailureTime`).
    async fn unlock(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let Some(dn) = claimed_entry(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        ppolicy::lift_lock(ldap, settings, &dn).await
    }

    /// Brings the entry's names and mail in line with the roster (the uid never changes).
    async fn update(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let Some(dn) = claimed_entry(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        replace_roster_values(ldap, settings, &dn, &job.account).await?;
        tracing::info!(%dn, "directory entry updated from the roster");
        Ok(())
    }

    /// Ends the login of a leaver. With the ppolicy overlay the entry is locked until an
    /// administrator lifts it (`pwdAccountLockedTime: 000001010000Z`), first; then the
    /// password becomes a random one nobody is told, so the old one stops working on any
    /// slapd, and the lock is written again (setting a password lifts it). Once the lock is
    /// in place, a random password the directory's own policy refuses (`pwdMaxLength`, a
    /// quality module, `pwdMinAge`) cannot keep the login alive: the disable still
    /// succeeds. An entry that is already gone is already disabled.
    async fn disable(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let Some(dn) = claimed_entry(ldap, settings, job).await? else {
            return Ok(());
        };
        let locked = ppolicy::lock_for_good(ldap, settings, &dn).await?;
        let random: [u8; 32] = rand::random();
        let unknown = SecretString::from(
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        match modify_password(ldap, settings, &dn, &unknown)
            .await
            .map_err(|e| classify(Step::Password, e))
        {
            // ppolicy drops pwdAccountLockedTime when a password is set: the lock goes back
            // on, so the leaver stays locked until an administrator lifts it.
            Ok(()) => {
                ppolicy::lock_for_good(ldap, settings, &dn).await?;
            }
            Err(DirectoryError::Permanent { reason }) if locked => {
                tracing::warn!(%dn, %reason, "the random password was refused; the lock holds the login");
            }
            Err(e) => return Err(e),
        }
        tracing::info!(%dn, "directory login disabled");
        Ok(())
    }
}

/// The DN of the entry a later job acts on, `None` when it is gone. It must be the one the
/// claim took (its entryUUID, once recorded: an entry IT deleted and made again for someone
/// else under the same uid is not), carry the person's number, and not be protected.
async fn claimed_entry(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    job: &DirectoryJob,
) -> Result<Option<String>, DirectoryError> {
    let dn = user_dn(settings, job.account.username.as_str());
    let Some(entry) = read_entry(ldap, settings, &dn).await? else {
        return Ok(None);
    };
    check_number(
        entry.employee_number.as_deref(),
        &job.account.employee_id.get().to_string(),
    )?;
    if job
        .entry
        .as_deref()
        .is_some_and(|claimed| claimed != entry.uuid)
    {
        tracing::warn!(%dn, "the directory entry is not the one the claim took; left alone");
        return Err(DirectoryError::Permanent {
            reason: reasons::ENTRY_REPLACED.into(),
        });
    }
    refuse_protected(ldap, settings, &dn).await?;
    Ok(Some(dn))
}

/// Whether `dn` is a member of a group in `accounts.protected_groups` (`member` or
/// `uniqueMember`; OpenLDAP groups do not nest).
async fn protected(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<bool, DirectoryError> {
    let filter = format!("(|{})", openldap_member_of_any(&[dn.to_owned()]));
    in_protected_group(ldap, settings, &filter).await
}

async fn refuse_protected(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<(), DirectoryError> {
    if protected(ldap, settings, dn).await? {
        tracing::warn!(%dn, "directory entry is in a protected group; left alone");
        return Err(DirectoryError::Permanent {
            reason: reasons::ACCOUNT_PRIVILEGED.into(),
        });
    }
    Ok(())
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

/// Reads the entry at `dn` (`None`: there is none). Password values are asked for only to
/// see whether there is one (what comes back is the server's hash, and is dropped here).
async fn read_entry(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<Option<EntryFacts>, DirectoryError> {
    let found = ldap
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
        .and_then(|r| r.success());
    let entries = match found {
        Ok((entries, _)) => entries,
        Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => {
            return Ok(None);
        }
        Err(e) => return Err(classify(Step::Read, e)),
    };
    let Some(mut entry) = entries.into_iter().next().map(SearchEntry::construct) else {
        return Ok(None);
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
    Ok(Some(EntryFacts {
        uuid,
        employee_number: first(entry.attrs.remove("employeeNumber")),
        in_use,
    }))
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

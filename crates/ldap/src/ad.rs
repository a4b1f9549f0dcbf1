//! The `active_directory` flavor. A claim finds the user HR pre-provisioned by `employeeID`
//! within `users_base_dn`, or creates it there (disabled); sets `unicodePwd` (the password in
//! double quotes, UTF-16LE) by replace, which AD treats as an administrator reset; then enables
//! the account (userAccountControl: clear ACCOUNTDISABLE, set NORMAL_ACCOUNT, keep every other
//! bit of a pre-provisioned account). AD accepts passwords only over TLS.

use std::collections::HashSet;

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, EntryLedger, LockoutStanding, Username, reasons,
};
use ldap3::{Ldap, Mod};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{
    classify::{Step, classify},
    escape::child_dn,
    flavor::DirectoryFlavor,
    settings::DirectorySettings,
};

mod lockout;
mod lookup;

pub(crate) use lockout::standing_of_dn as lockout_of_dn;
use lookup::{AdUser, CREATED_DISABLED, locate, upn};
pub(crate) use lookup::{IN_CHAIN, guid_filter};

/// userAccountControl bits (MS-ADTS 2.2.16).
const ACCOUNTDISABLE: u32 = 0x2;
const NORMAL_ACCOUNT: u32 = 0x200;
/// LDAP result code for "an entry with this DN exists" (a CN taken by a namesake).
const ENTRY_ALREADY_EXISTS: u32 = 68;

/// Which used pre-provisioned accounts a claim may take over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adopt {
    /// Only accounts nobody has used (the default).
    NeverUsed,
    /// A rehire: their own old account, as long as it is still disabled (re-enabled by IT
    /// meanwhile, someone may be using it).
    Disabled,
    /// Any (`accounts.adopt_used_accounts`).
    Used,
}

/// The `active_directory` flavor: pre-provisioned users found by `employeeID`, created
/// disabled when missing, `unicodePwd` replaced, then enabled.
pub(crate) struct ActiveDirectory;

#[async_trait]
impl DirectoryFlavor for ActiveDirectory {
    fn bind_name(&self, settings: &DirectorySettings, username: &Username) -> String {
        upn(settings, username)
    }

    fn can_be_privileged(&self, _settings: &DirectorySettings) -> bool {
        true
    }

    async fn is_protected(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<bool, DirectoryError> {
        lookup::any_privileged(ldap, settings, account, entry).await
    }

    async fn lockout_standing(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<LockoutStanding, DirectoryError> {
        lockout::standing(ldap, settings, account, entry).await
    }

    async fn default_lockout(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
    ) -> Result<LockoutStanding, DirectoryError> {
        Ok(lockout::domain_rule(ldap, settings).await?.standing())
    }

    /// Finds or creates the user, records it with the claim, sets the password, enables the
    /// account. A pre-provisioned account that has been used is taken over only as `adopt`
    /// allows; the one this claim already recorded is its own.
    async fn provision(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
        ledger: &dyn EntryLedger,
    ) -> Result<(), DirectoryError> {
        let account = &job.account;
        let adopt = if settings.adopt_used_accounts {
            Adopt::Used
        } else if job.rehire {
            Adopt::Disabled
        } else {
            Adopt::NeverUsed
        };
        let allowed = |user: &AdUser| match adopt {
            _ if job.entry.as_deref() == Some(user.guid.as_str()) => true,
            Adopt::NeverUsed => !user.used,
            Adopt::Disabled => !user.used || user.account_control & ACCOUNTDISABLE != 0,
            Adopt::Used => true,
        };
        let user = match locate(ldap, settings, job).await? {
            Some(user) if !allowed(&user) => {
                // Someone else may be using it: never name it to the claimant.
                tracing::warn!(dn = %user.dn, "pre-provisioned account already used; not taken over");
                return Err(DirectoryError::Permanent {
                    reason: reasons::ACCOUNT_USED.into(),
                });
            }
            Some(user) => {
                if let Some(sam) = &user.sam_account_name
                    && !sam.eq_ignore_ascii_case(account.username.as_str())
                {
                    // The reason reaches the claimant: it never names the other account.
                    tracing::warn!(dn = %user.dn, sam, "pre-provisioned account has another username");
                    return Err(DirectoryError::Permanent {
                        reason: reasons::ACCOUNT_OTHER_USERNAME.into(),
                    });
                }
                tracing::info!(dn = %user.dn, "found the pre-provisioned account");
                user
            }
            None => create(ldap, settings, account).await?,
        };
        if job.entry.as_deref() != Some(user.guid.as_str()) {
            ledger.record(&user.guid).await?;
        }
        replace_password(ldap, settings, &user.dn, password).await?;
        let enabled = (user.account_control & !ACCOUNTDISABLE) | NORMAL_ACCOUNT;
        if enabled != user.account_control {
            let mods = vec![Mod::Replace(
                "userAccountControl".to_owned(),
                HashSet::from([enabled.to_string()]),
            )];
            ldap.with_timeout(settings.timeout)
                .modify(&user.dn, mods)
                .await
                .and_then(|r| r.success())
                .map_err(|e| classify(Step::Entry, e))?;
            tracing::info!(dn = %user.dn, "account enabled");
        }
        Ok(())
    }

    /// Sets a new password on the claimed account (reset, change, a helpdesk's temporary one).
    async fn set_password(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let Some(user) = locate(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        replace_password(ldap, settings, &user.dn, password).await?;
        // An administrator's reset leaves AD's lockout in place; the person who proved it is
        // them by their answers is let in with the new password.
        match job.kind {
            claimd_core::JobKind::ResetPassword => lift_lockout(ldap, settings, &user.dn).await?,
            claimd_core::JobKind::TemporaryPassword => {
                // pwdLastSet = 0: the next logon must set a password of the person's own
                // (kinit: "Password expired. You must change it now.").
                let mods = vec![
                    Mod::Replace("pwdLastSet".to_owned(), HashSet::from(["0".to_owned()])),
                    Mod::Replace("lockoutTime".to_owned(), HashSet::from(["0".to_owned()])),
                ];
                ldap.with_timeout(settings.timeout)
                    .modify(&user.dn, mods)
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| classify(Step::Entry, e))?;
                tracing::info!(dn = %user.dn, "temporary password set; it must be changed at the next logon");
            }
            _ => {}
        }
        Ok(())
    }

    /// Lifts AD's lockout (`lockoutTime = 0`, which also clears `badPwdCount`).
    async fn unlock(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let Some(user) = locate(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        lift_lockout(ldap, settings, &user.dn).await
    }

    /// Brings the account's names and mail in line with the roster (the logon name and the CN
    /// stay: renaming is IT's call).
    async fn update(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let account = &job.account;
        let Some(user) = locate(ldap, settings, job).await? else {
            return Err(DirectoryError::Permanent {
                reason: reasons::NOT_IN_DIRECTORY.into(),
            });
        };
        let display = format!(
            "{} {}",
            account.first_name.as_str(),
            account.last_name.as_str()
        );
        let mods = [
            ("givenName", account.first_name.as_str()),
            ("sn", account.last_name.as_str()),
            ("displayName", display.as_str()),
            ("mail", account.email.as_str()),
        ]
        .into_iter()
        .map(|(attr, value)| Mod::Replace(attr.to_owned(), HashSet::from([value.to_owned()])))
        .collect();
        ldap.with_timeout(settings.timeout)
            .modify(&user.dn, mods)
            .await
            .and_then(|r| r.success())
            .map_err(|e| classify(Step::Entry, e))?;
        tracing::info!(dn = %user.dn, "account updated from the roster");
        Ok(())
    }

    /// Disables a leaver's account (ACCOUNTDISABLE, every other bit kept). An account that is
    /// gone or already disabled needs nothing.
    async fn disable(
        &self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        job: &DirectoryJob,
    ) -> Result<(), DirectoryError> {
        let Some(user) = locate(ldap, settings, job).await? else {
            return Ok(());
        };
        let disabled = user.account_control | ACCOUNTDISABLE;
        if disabled != user.account_control {
            let mods = vec![Mod::Replace(
                "userAccountControl".to_owned(),
                HashSet::from([disabled.to_string()]),
            )];
            ldap.with_timeout(settings.timeout)
                .modify(&user.dn, mods)
                .await
                .and_then(|r| r.success())
                .map_err(|e| classify(Step::Entry, e))?;
        }
        tracing::info!(dn = %user.dn, "account disabled");
        Ok(())
    }
}

/// `lockoutTime = 0`: the one write that unlocks an AD account (and resets its count).
async fn lift_lockout(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<(), DirectoryError> {
    let mods = vec![Mod::Replace(
        "lockoutTime".to_owned(),
        HashSet::from(["0".to_owned()]),
    )];
    ldap.with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Entry, e))?;
    tracing::info!(%dn, "account lockout lifted");
    Ok(())
}

/// Creates the user, disabled, with the roster's data. A namesake's CN gets the username added.
async fn create(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
) -> Result<AdUser, DirectoryError> {
    let display = format!(
        "{} {}",
        account.first_name.as_str(),
        account.last_name.as_str()
    );
    let upn = upn(settings, &account.username);
    let id = account.employee_id.get().to_string();
    let control = CREATED_DISABLED.to_string();
    for cn in [display.clone(), format!("{display} ({})", account.username)] {
        let dn = child_dn("CN", &cn, &settings.users_base_dn);
        let attrs: Vec<(&str, HashSet<&str>)> = vec![
            (
                "objectClass",
                HashSet::from(["top", "person", "organizationalPerson", "user"]),
            ),
            ("cn", HashSet::from([cn.as_str()])),
            ("sAMAccountName", HashSet::from([account.username.as_str()])),
            ("userPrincipalName", HashSet::from([upn.as_str()])),
            ("givenName", HashSet::from([account.first_name.as_str()])),
            ("sn", HashSet::from([account.last_name.as_str()])),
            ("displayName", HashSet::from([display.as_str()])),
            ("mail", HashSet::from([account.email.as_str()])),
            ("employeeID", HashSet::from([id.as_str()])),
            ("userAccountControl", HashSet::from([control.as_str()])),
        ];
        let added = ldap
            .with_timeout(settings.timeout)
            .add(&dn, attrs)
            .await
            .map_err(|e| classify(Step::Entry, e))?;
        match added.rc {
            0 => {
                tracing::info!(%dn, "account created, disabled until its password is set");
                return lookup::created(ldap, settings, &dn).await;
            }
            ENTRY_ALREADY_EXISTS => continue,
            _ => return Err(classify(Step::Entry, ldap3::LdapError::from(added))),
        }
    }
    // (Bound first: tracing's macros bring a `display` of their own into scope.)
    let name = display;
    tracing::warn!(%name, "every common name tried for the new account is taken");
    Err(DirectoryError::Permanent {
        reason: reasons::NAME_TAKEN.into(),
    })
}

/// An administrator reset of `unicodePwd`: the password in double quotes, UTF-16LE.
async fn replace_password(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    password: &SecretString,
) -> Result<(), DirectoryError> {
    let value = Zeroizing::new(unicode_pwd(password));
    let mods = vec![Mod::Replace(
        b"unicodePwd".to_vec(),
        HashSet::from([value.to_vec()]),
    )];
    ldap.with_timeout(settings.timeout)
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .map(|_| ())
        .map_err(|e| classify(Step::Password, e))
}

fn unicode_pwd(password: &SecretString) -> Vec<u8> {
    format!("\"{}\"", password.expose_secret())
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(
            unicode_pwd(&SecretString::from("aé")),
            [0x22, 0, 0x61, 0, 0xe9, 0, 0x22, 0]
        );
    }
}

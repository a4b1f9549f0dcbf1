//! A person's login as the helpdesk page shows it (enabled, locked, when the password was
//! set and when it expires, whether it must be changed), read from the directory's own
//! attributes. AD: `userAccountControl`, `msDS-User-Account-Control-Computed` (which
//! applies the lockout duration), `pwdLastSet` and `msDS-UserPasswordExpiryTimeComputed`
//! (which applies the fine-grained policy). OpenLDAP: ppolicy's `pwdChangedTime`, `pwdReset`
//! and `pwdAccountLockedTime` (a leaver's lock for good is "disabled"), and the `pwdMaxAge`
//! of the policy that applies.

use claimd_core::{Account, AccountState, DirectoryError};
use ldap3::{Ldap, Scope, SearchEntry};

use crate::{
    ad::guid_filter,
    classify::{Step, classify},
    escape::{child_dn, equality_filter},
    ppolicy,
    read::{self, first},
    settings::{DirectorySettings, Flavor},
    time,
};

/// userAccountControl: the account is disabled.
const ACCOUNTDISABLE: u32 = 0x2;
/// msDS-User-Account-Control-Computed: locked out now.
const UF_LOCKOUT: u32 = 0x10;

/// The state of `account`'s login; `None` when no entry answers to it.
pub(crate) async fn read(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
    entry: Option<&str>,
) -> Result<Option<AccountState>, DirectoryError> {
    match settings.flavor {
        Flavor::ActiveDirectory => active_directory(ldap, settings, account, entry).await,
        Flavor::OpenLdap => openldap(ldap, settings, account).await,
    }
}

async fn active_directory(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
    entry: Option<&str>,
) -> Result<Option<AccountState>, DirectoryError> {
    // The entry the claim took, else the one the username names.
    let which = entry
        .and_then(guid_filter)
        .unwrap_or_else(|| equality_filter("sAMAccountName", account.username.as_str()));
    let filter = format!("(&(objectClass=user){which})");
    let attrs = vec![
        "userAccountControl",
        "msDS-User-Account-Control-Computed",
        "pwdLastSet",
        "msDS-UserPasswordExpiryTimeComputed",
    ];
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(&settings.users_base_dn, Scope::Subtree, &filter, attrs)
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let Some(user) = entries.into_iter().next().map(SearchEntry::construct) else {
        return Ok(None);
    };
    let bits = |attr: &str| {
        first(&user, attr)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let must_change = first(&user, "pwdLastSet").is_some_and(|v| v.trim() == "0");
    Ok(Some(AccountState {
        enabled: bits("userAccountControl") & ACCOUNTDISABLE == 0,
        locked: bits("msDS-User-Account-Control-Computed") & UF_LOCKOUT != 0,
        password_set_at: first(&user, "pwdLastSet").and_then(time::filetime),
        password_expires_at: if must_change {
            None
        } else {
            first(&user, "msDS-UserPasswordExpiryTimeComputed").and_then(time::filetime)
        },
        must_change,
    }))
}

async fn openldap(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
) -> Result<Option<AccountState>, DirectoryError> {
    let dn = child_dn("uid", account.username.as_str(), &settings.users_base_dn);
    let attrs = [
        "pwdChangedTime",
        "pwdReset",
        "pwdAccountLockedTime",
        "pwdPolicySubentry",
    ];
    let Some(user) = read::entry(ldap, settings, &dn, &attrs).await? else {
        return Ok(None);
    };
    let enabled = first(&user, "pwdAccountLockedTime") != Some(ppolicy::LOCKED_FOR_GOOD);
    let locked = enabled && ppolicy::standing(ldap, settings, &dn).await?.locked;
    let must_change = first(&user, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    let set_at = first(&user, "pwdChangedTime").and_then(time::generalized);
    let max_age = match first(&user, "pwdPolicySubentry") {
        Some(own) => ppolicy::max_age_at(ldap, settings, own).await?.flatten(),
        None => ppolicy::default_max_age(ldap, settings).await?,
    };
    Ok(Some(AccountState {
        enabled,
        locked,
        password_set_at: set_at,
        password_expires_at: set_at
            .zip(max_age)
            .filter(|_| !must_change)
            .map(|(at, age)| at.saturating_add(age)),
        must_change,
    }))
}

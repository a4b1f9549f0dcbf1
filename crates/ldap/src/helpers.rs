//! The helpdesk's helpers as the directory knows them (DESIGN.md, "Helpdesk"): found by the
//! login name they sign in with (AD `sAMAccountName`, anywhere in the domain; OpenLDAP `uid`
//! under `directory.users_base_dn`), and which of `[helpdesk] groups` they are in (AD follows
//! nesting with `LDAP_MATCHING_RULE_IN_CHAIN`; OpenLDAP reads the groups' `member` and
//! `uniqueMember`). Their password is checked by a bind, like any user's, and their lockout
//! count read the same way, so signing in never locks a helper out.

use claimd_core::{DirectoryError, Helper, LockoutStanding};
use ldap3::{Ldap, Scope, SearchEntry};

use crate::{
    ad::IN_CHAIN,
    classify::{Step, classify},
    escape::equality_filter,
    ppolicy,
    protected::memberships,
    read::naming_context,
    settings::{DirectorySettings, Flavor},
};

/// The one user who signs in as `login`; `None` when nobody does, or more than one entry
/// answers to it (the directory cannot say which is the helper, so neither is).
pub(crate) async fn find(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    login: &str,
) -> Result<Option<Helper>, DirectoryError> {
    let (base, filter, name) = match settings.flavor {
        Flavor::ActiveDirectory => (
            naming_context(ldap, settings).await?,
            format!(
                "(&(objectCategory=person)(objectClass=user){})",
                equality_filter("sAMAccountName", login)
            ),
            "sAMAccountName",
        ),
        Flavor::OpenLdap => (
            settings.users_base_dn.clone(),
            equality_filter("uid", login),
            "uid",
        ),
    };
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(&base, Scope::Subtree, &filter, vec![name])
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let mut found: Vec<SearchEntry> = entries.into_iter().map(SearchEntry::construct).collect();
    if found.len() != 1 {
        if found.len() > 1 {
            tracing::warn!(
                count = found.len(),
                "several directory entries answer to one helper's login name; none is taken"
            );
        }
        return Ok(None);
    }
    let entry = found.remove(0);
    let login = crate::read::first(&entry, name).unwrap_or(login).to_owned();
    Ok(Some(Helper {
        dn: entry.dn,
        login,
    }))
}

/// Which of `groups` the helper is in, in order.
pub(crate) async fn groups(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    helper: &Helper,
    groups: &[String],
) -> Result<Vec<bool>, DirectoryError> {
    let filter = match settings.flavor {
        Flavor::ActiveDirectory => {
            format!("(member:{IN_CHAIN}:={})", ldap3::ldap_escape(&helper.dn))
        }
        Flavor::OpenLdap => format!(
            "(|{}{})",
            equality_filter("member", &helper.dn),
            equality_filter("uniqueMember", &helper.dn)
        ),
    };
    memberships(ldap, settings, groups, &filter, "helpdesk.groups").await
}

/// The helper's lockout rule and count, as for any user.
pub(crate) async fn lockout(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    helper: &Helper,
) -> Result<LockoutStanding, DirectoryError> {
    match settings.flavor {
        Flavor::ActiveDirectory => crate::ad::lockout_of_dn(ldap, settings, &helper.dn).await,
        Flavor::OpenLdap => ppolicy::standing(ldap, settings, &helper.dn).await,
    }
}

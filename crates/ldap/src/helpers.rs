//! The helpdesk's helpers as the directory knows them (DESIGN.md, "Helpdesk"): found by the
//! login name they sign in with (AD `sAMAccountName`, anywhere in the domain; OpenLDAP `uid`
//! under `directory.users_base_dn`), and which of `[helpdesk] groups` they are in (AD follows
//! nesting with `LDAP_MATCHING_RULE_IN_CHAIN`; OpenLDAP reads the groups' `member` and
//! `uniqueMember`, following nested groups a level at a time). Their password is checked by a bind, like any user's, and their lockout
//! count read the same way, so signing in never locks a helper out.

use claimd_core::{DirectoryError, Helper, LockoutStanding};
use ldap3::{Ldap, Scope, SearchEntry};

use crate::{
    ad::IN_CHAIN,
    classify::{Step, classify},
    escape::equality_filter,
    ppolicy,
    protected::{memberships, openldap_member_of_any},
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
        Flavor::OpenLdap => {
            let holders = openldap_holders(ldap, settings, &helper.dn).await?;
            format!("(|{})", openldap_member_of_any(&holders))
        }
    };
    memberships(ldap, settings, groups, &filter, "helpdesk.groups").await
}

/// How deep OpenLDAP groups are followed: deeper nesting is a loop or a mistake.
const MAX_NESTING: usize = 8;

/// The helper and every group that holds them, through nesting: OpenLDAP has no in-chain
/// rule, so the groups holding the last level are searched for, a level at a time, under
/// the directory's naming context.
async fn openldap_holders(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<Vec<String>, DirectoryError> {
    let base = openldap_suffix(ldap, settings).await?;
    let mut holders = vec![dn.to_owned()];
    let mut level = holders.clone();
    for _ in 0..MAX_NESTING {
        let filter = format!("(|{})", openldap_member_of_any(&level));
        let (entries, _) = ldap
            .with_timeout(settings.timeout)
            .search(&base, Scope::Subtree, &filter, vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .map_err(|e| classify(Step::Read, e))?;
        level = entries
            .into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .filter(|group| !holders.iter().any(|h| h.eq_ignore_ascii_case(group)))
            .collect();
        if level.is_empty() {
            break;
        }
        holders.extend(level.iter().cloned());
    }
    Ok(holders)
}

/// The naming context `users_base_dn` lies in (the root DSE's `namingContexts`), where the
/// groups are looked for.
async fn openldap_suffix(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
) -> Result<String, DirectoryError> {
    let root = crate::read::entry(ldap, settings, "", &["namingContexts"]).await?;
    let contexts = root
        .as_ref()
        .map(|r| crate::read::all(r, "namingContexts").to_vec())
        .unwrap_or_default();
    let base = settings.users_base_dn.to_ascii_lowercase();
    contexts
        .iter()
        .find(|c| base.ends_with(&c.to_ascii_lowercase()))
        .or(contexts.first())
        .cloned()
        .ok_or_else(|| DirectoryError::Transient {
            reason: "the directory's root DSE shows no namingContexts".into(),
        })
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

//! Group membership, whatever the flavor: `accounts.protected_groups` (groups whose members
//! claimd never acts on) and the helpdesk's groups.

use claimd_core::DirectoryError;
use ldap3::{Ldap, Scope};

use crate::{
    classify::{Step, classify},
    escape::equality_filter,
    settings::DirectorySettings,
};

/// LDAP result code for "no such object".
const NO_SUCH_OBJECT: u32 = 32;

/// Whether a group in `accounts.protected_groups` matches `member_filter` (the flavor's test
/// of membership: AD follows nesting, OpenLDAP reads `member` and `uniqueMember`). A group
/// that is not there stops the job (retried, the key named) rather than protect nobody.
pub(crate) async fn in_protected_group(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    member_filter: &str,
) -> Result<bool, DirectoryError> {
    let groups = &settings.protected_groups;
    let found = memberships(
        ldap,
        settings,
        groups,
        member_filter,
        "accounts.protected_groups",
    );
    Ok(found.await?.contains(&true))
}

/// OpenLDAP's test of membership for a group's `member` or `uniqueMember` holding any of
/// `dns`: `(member=…)(uniqueMember=…)…`, to go inside an `(|…)`.
pub(crate) fn openldap_member_of_any(dns: &[String]) -> String {
    dns.iter()
        .map(|dn| {
            format!(
                "{}{}",
                equality_filter("member", dn),
                equality_filter("uniqueMember", dn)
            )
        })
        .collect()
}

/// For each of `groups` (configured under `key`), whether it matches `member_filter`. A
/// group that is not there is an error naming `key` and the group: a typo must not read as
/// "not a member".
pub(crate) async fn memberships(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    groups: &[String],
    member_filter: &str,
    key: &str,
) -> Result<Vec<bool>, DirectoryError> {
    let mut found = Vec::with_capacity(groups.len());
    for group in groups {
        let answer = ldap
            .with_timeout(settings.timeout)
            .search(group, Scope::Base, member_filter, vec!["1.1"])
            .await
            .and_then(|r| r.success());
        match answer {
            Ok((entries, _)) => found.push(!entries.is_empty()),
            Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => {
                return Err(DirectoryError::Transient {
                    reason: format!("{key}: there is no group {group:?}"),
                });
            }
            Err(e) => return Err(classify(Step::Read, e)),
        }
    }
    Ok(found)
}

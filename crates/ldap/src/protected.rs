//! `accounts.protected_groups`: groups whose members claimd never acts on, whatever flavor.

use claimd_core::DirectoryError;
use ldap3::{Ldap, Scope};

use crate::{
    classify::{Step, classify},
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
    for group in &settings.protected_groups {
        let found = ldap
            .with_timeout(settings.timeout)
            .search(group, Scope::Base, member_filter, vec!["1.1"])
            .await
            .and_then(|r| r.success());
        match found {
            Ok((entries, _)) if !entries.is_empty() => return Ok(true),
            Ok(_) => {}
            Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => {
                return Err(DirectoryError::Transient {
                    reason: format!("accounts.protected_groups: there is no group {group:?}"),
                });
            }
            Err(e) => return Err(classify(Step::Read, e)),
        }
    }
    Ok(false)
}

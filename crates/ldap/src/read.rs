//! Small reads the flavors share: one entry's attributes, and the domain's naming context.

use claimd_core::DirectoryError;
use ldap3::{Ldap, Scope, SearchEntry};

use crate::{
    classify::{Step, classify},
    settings::DirectorySettings,
};

/// LDAP result code for "there is no entry by that DN".
pub(crate) const NO_SUCH_OBJECT: u32 = 32;

/// The entry at `dn` with `attrs` (`None`: there is none).
pub(crate) async fn entry(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
    attrs: &[&str],
) -> Result<Option<SearchEntry>, DirectoryError> {
    let found = ldap
        .with_timeout(settings.timeout)
        .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await
        .and_then(|r| r.success());
    match found {
        Ok((entries, _)) => Ok(entries.into_iter().next().map(SearchEntry::construct)),
        Err(ldap3::LdapError::LdapResult { result }) if result.rc == NO_SUCH_OBJECT => Ok(None),
        Err(e) => Err(classify(Step::Read, e)),
    }
}

/// The first value of `attr` in `entry`.
pub(crate) fn first<'e>(entry: &'e SearchEntry, attr: &str) -> Option<&'e str> {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .and_then(|(_, values)| values.first())
        .map(String::as_str)
}

/// Every value of `attr` in `entry`.
pub(crate) fn all<'e>(entry: &'e SearchEntry, attr: &str) -> &'e [String] {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .map_or(&[], |(_, values)| values.as_slice())
}

/// The domain's own entry (AD: where the domain-wide password and lockout policy live), from
/// the root DSE's `defaultNamingContext`.
pub(crate) async fn naming_context(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
) -> Result<String, DirectoryError> {
    entry(ldap, settings, "", &["defaultNamingContext"])
        .await?
        .as_ref()
        .and_then(|root| first(root, "defaultNamingContext").map(str::to_owned))
        .ok_or_else(|| DirectoryError::Transient {
            reason: "the directory's root DSE shows no defaultNamingContext".into(),
        })
}

//! The reminder scan's read: every expiring password under `directory.users_base_dn`, by a
//! paged search (the simple paged results control, `PAGE` entries a page) streamed into
//! pages of [`PasswordExpiry`], so a district of 100,000 accounts is read in flat memory
//! and the directory never builds one huge answer.
//!
//! AD computes the expiry itself (`msDS-UserPasswordExpiryTimeComputed`, which honours the
//! fine-grained policy that applies and reads "never" for `DONT_EXPIRE_PASSWORD`); disabled
//! accounts and those that never expire are filtered out by the search. OpenLDAP's is
//! `pwdChangedTime` + the `pwdMaxAge` of the policy that applies (the entry's
//! `pwdPolicySubentry`, else `directory.ppolicy_default_dn`), each policy read once a scan.
//! A password that must be changed anyway (AD pwdLastSet = 0, ppolicy `pwdReset`) or a
//! leaver's locked entry gets no reminder.

use std::collections::HashMap;

use claimd_core::{DirectoryError, PasswordExpiry, Username, store::Millis};
use ldap3::{
    Ldap, Scope, SearchEntry,
    adapters::{Adapter, EntriesOnly, PagedResults},
};
use tokio::sync::mpsc::Sender;

use crate::{
    classify::{Step, classify},
    ppolicy,
    read::first,
    settings::{DirectorySettings, Flavor},
    time,
};

/// Entries a page: AD's default MaxPageSize is 1000; a smaller page keeps each answer small.
const PAGE: usize = 500;

/// AD users the scan reads: people's accounts, not disabled (`ACCOUNTDISABLE`, 0x2), whose
/// password may expire (no `DONT_EXPIRE_PASSWORD`, 0x10000).
const AD_FILTER: &str = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=*)\
    (!(userAccountControl:1.2.840.113556.1.4.803:=2))\
    (!(userAccountControl:1.2.840.113556.1.4.803:=65536)))";
const AD_ATTRS: [&str; 3] = [
    "sAMAccountName",
    "pwdLastSet",
    "msDS-UserPasswordExpiryTimeComputed",
];
const OPENLDAP_ATTRS: [&str; 5] = [
    "uid",
    "pwdChangedTime",
    "pwdPolicySubentry",
    "pwdReset",
    "pwdAccountLockedTime",
];

/// Streams every expiring password to `pages`; returns the entries read.
pub(crate) async fn read(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    pages: Sender<Vec<PasswordExpiry>>,
) -> Result<u64, DirectoryError> {
    let (scope, filter, attrs): (Scope, &str, Vec<&str>) = match settings.flavor {
        Flavor::ActiveDirectory => (Scope::Subtree, AD_FILTER, AD_ATTRS.to_vec()),
        // claimd's OpenLDAP accounts are `uid=…` directly under the base.
        Flavor::OpenLdap => (Scope::OneLevel, "(uid=*)", OPENLDAP_ATTRS.to_vec()),
    };
    let mut policies = MaxAges::default();
    let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE as i32)),
    ];
    let mut search = ldap
        .with_timeout(settings.timeout)
        .streaming_search_with(adapters, &settings.users_base_dn, scope, filter, attrs)
        .await
        .map_err(|e| classify(Step::Read, e))?;
    let mut read = 0u64;
    let mut page = Vec::with_capacity(PAGE);
    while let Some(entry) = search
        .next()
        .await
        .map_err(|e| refused(&settings.bind_dn, e))?
    {
        read += 1;
        let entry = SearchEntry::construct(entry);
        let expiry = match settings.flavor {
            Flavor::ActiveDirectory => ad_expiry(&entry),
            Flavor::OpenLdap => openldap_expiry(ldap, settings, &mut policies, &entry).await?,
        };
        page.extend(expiry);
        if page.len() == PAGE {
            let full = std::mem::replace(&mut page, Vec::with_capacity(PAGE));
            if pages.send(full).await.is_err() {
                // The scan was stopped (a shutdown): the rest of the answer is dropped.
                return Ok(read);
            }
        }
    }
    search
        .finish()
        .await
        .success()
        .map_err(|e| refused(&settings.bind_dn, e))?;
    if !page.is_empty() {
        let _ = pages.send(page).await;
    }
    Ok(read)
}

/// A failed read, with what to change when the directory's size limit stopped it: slapd
/// counts a paged search's entries against `size.prtotal`, which is the size limit (500)
/// unless the service account is given more.
fn refused(bind_dn: &str, error: ldap3::LdapError) -> DirectoryError {
    /// LDAP result code sizeLimitExceeded.
    const SIZE_LIMIT_EXCEEDED: u32 = 4;
    match &error {
        ldap3::LdapError::LdapResult { result } if result.rc == SIZE_LIMIT_EXCEEDED => {
            DirectoryError::Transient {
                reason: format!(
                    "the directory's size limit stopped the reminder scan: let the service \
                     account page through every entry under directory.users_base_dn (OpenLDAP: \
                     olcLimits: dn.exact=\"{bind_dn}\" size.prtotal=unlimited)"
                ),
            }
        }
        _ => classify(Step::Read, error),
    }
}

/// An AD user's expiry: computed by AD; none when it never expires or must change now.
fn ad_expiry(entry: &SearchEntry) -> Option<PasswordExpiry> {
    let username = Username::parse(first(entry, "sAMAccountName")?).ok()?;
    let set_at = time::filetime(first(entry, "pwdLastSet")?)?;
    let expires_at = time::filetime(first(entry, "msDS-UserPasswordExpiryTimeComputed")?)?;
    Some(PasswordExpiry {
        username,
        set_at,
        expires_at,
    })
}

/// An OpenLDAP user's expiry by its policy's `pwdMaxAge`.
async fn openldap_expiry(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    policies: &mut MaxAges,
    entry: &SearchEntry,
) -> Result<Option<PasswordExpiry>, DirectoryError> {
    let Some(username) = first(entry, "uid").and_then(|u| Username::parse(u).ok()) else {
        return Ok(None);
    };
    let must_change = first(entry, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    if must_change || first(entry, "pwdAccountLockedTime").is_some() {
        return Ok(None);
    }
    let Some(set_at) = first(entry, "pwdChangedTime").and_then(time::generalized) else {
        return Ok(None);
    };
    let max_age = policies
        .of(ldap, settings, first(entry, "pwdPolicySubentry"))
        .await?;
    Ok(max_age.map(|age| PasswordExpiry {
        username,
        set_at,
        expires_at: set_at.saturating_add(age),
    }))
}

/// Each ppolicy's `pwdMaxAge` in milliseconds (`None`: never expires), read once a scan.
#[derive(Default)]
struct MaxAges {
    /// The entry's own policies, by DN.
    own: HashMap<String, Option<Millis>>,
    /// `directory.ppolicy_default_dn`'s, once read.
    default: Option<Option<Millis>>,
}

impl MaxAges {
    async fn of(
        &mut self,
        ldap: &mut Ldap,
        settings: &DirectorySettings,
        subentry: Option<&str>,
    ) -> Result<Option<Millis>, DirectoryError> {
        match subentry {
            Some(dn) => {
                if let Some(known) = self.own.get(dn) {
                    return Ok(*known);
                }
                // One entry naming a policy claimd cannot read must not stop everyone's
                // reminders: its people get none this scan, and the log says why once.
                let age = match ppolicy::max_age_at(ldap, settings, dn).await {
                    Ok(Some(age)) => age,
                    Ok(None) | Err(DirectoryError::Permanent { .. }) => {
                        tracing::warn!(policy = %dn, "no reminders for the entries under a password policy claimd cannot read (missing, or not readable by the service account)");
                        None
                    }
                    Err(e) => return Err(e),
                };
                self.own.insert(dn.to_owned(), age);
                Ok(age)
            }
            None => {
                if let Some(known) = self.default {
                    return Ok(known);
                }
                let age = ppolicy::default_max_age(ldap, settings).await?;
                self.default = Some(age);
                Ok(age)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_limit_names_the_limit_to_raise() {
        let error = ldap3::LdapError::LdapResult {
            result: ldap3::LdapResult {
                rc: 4,
                matched: String::new(),
                text: String::new(),
                refs: Vec::new(),
                ctrls: Vec::new(),
            },
        };
        let reason = refused("cn=claimd,dc=example,dc=org", error).into_reason();
        let wanted = r#"olcLimits: dn.exact="cn=claimd,dc=example,dc=org" size.prtotal=unlimited"#;
        assert!(reason.contains(wanted), "{reason}");
    }
}

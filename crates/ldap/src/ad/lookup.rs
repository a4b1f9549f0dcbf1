//! Which AD object a job is about, and whether claimd may act on it. A claim finds its object
//! by `employeeID` and records the object's `objectGUID` with the claim; every later write
//! goes to that object, wherever IT moves the `employeeID`. A privileged object (AdminSDHolder's
//! `adminCount`, a member of AD's own privileged groups or of `accounts.protected_groups`,
//! nested memberships included) is never acted on.

use claimd_core::{Account, DirectoryError, DirectoryJob, Username, reasons};
use ldap3::{Ldap, Scope, SearchEntry};

use crate::{
    classify::{Step, classify},
    escape::equality_filter,
    protected::in_protected_group,
    settings::DirectorySettings,
};

/// An account as created: a normal account, disabled until its password is set.
pub(super) const CREATED_DISABLED: u32 = 0x200 | 0x2;
/// The extensible-match rule that follows group nesting (`LDAP_MATCHING_RULE_IN_CHAIN`).
pub(crate) const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";
/// Domain groups (relative IDs under the domain's SID) that hold the domain: Enterprise
/// Read-only DCs, Domain Admins, Domain Controllers, Schema Admins, Enterprise Admins,
/// Read-only DCs, Key Admins, Enterprise Key Admins.
const DOMAIN_PRIVILEGED: &[u32] = &[498, 512, 516, 518, 519, 521, 526, 527];
/// Built-in groups (`S-1-5-32-…`): Administrators, Account, Server, Print and Backup
/// Operators, Replicator.
const BUILTIN_PRIVILEGED: &[u32] = &[544, 548, 549, 550, 551, 552];

/// A user a job is about.
pub(super) struct AdUser {
    pub(super) dn: String,
    pub(super) account_control: u32,
    pub(super) sam_account_name: Option<String>,
    /// Someone set its password and logged on with it (pwdLastSet and lastLogonTimestamp).
    pub(super) used: bool,
    /// Its `objectGUID`, as lowercase hex of the 16 bytes AD stores.
    pub(super) guid: String,
}

const USER_ATTRS: [&str; 6] = [
    "userAccountControl",
    "sAMAccountName",
    "pwdLastSet",
    "lastLogonTimestamp",
    "adminCount",
    "objectGUID",
];

/// The object `job` is about: the one its claim matched once that is recorded (gone from
/// `users_base_dn`: `None`), else the one carrying the employee's `employeeID`. A
/// privileged object is refused.
pub(super) async fn locate(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    job: &DirectoryJob,
) -> Result<Option<AdUser>, DirectoryError> {
    let filter = match job.entry.as_deref().and_then(guid_filter) {
        Some(by_guid) => format!("(&(objectClass=user){by_guid})"),
        None => employee_filter(&job.account),
    };
    let Some(user) = one_user(ldap, settings, &filter).await? else {
        return Ok(None);
    };
    if privileged(ldap, settings, &user.dn).await? {
        return Err(DirectoryError::Permanent {
            reason: reasons::ACCOUNT_PRIVILEGED.into(),
        });
    }
    Ok(Some(user))
}

/// Whether any object claimd would act on for `account` is privileged: the one its claim
/// matched (`entry`), the one carrying its `employeeID`, and the one its username logs in
/// as (a password check binds as that one).
pub(super) async fn any_privileged(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    account: &Account,
    entry: Option<&str>,
) -> Result<bool, DirectoryError> {
    let username = &account.username;
    let mut alternatives = vec![
        equality_filter("employeeID", &account.employee_id.get().to_string()),
        equality_filter("sAMAccountName", username.as_str()),
        equality_filter("userPrincipalName", &upn(settings, username)),
    ];
    alternatives.extend(entry.and_then(guid_filter));
    let filter = format!("(&(objectClass=user)(|{}))", alternatives.concat());
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(
            &settings.users_base_dn,
            Scope::Subtree,
            &filter,
            vec!["1.1"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    for dn in entries.into_iter().map(|e| SearchEntry::construct(e).dn) {
        if privileged(ldap, settings, &dn).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `username@upn_suffix`, what AD users bind and log in with.
pub(super) fn upn(settings: &DirectorySettings, username: &Username) -> String {
    format!("{}@{}", username.as_str(), settings.upn_suffix())
}

fn employee_filter(account: &Account) -> String {
    let id = account.employee_id.get().to_string();
    format!(
        "(&(objectClass=user){})",
        equality_filter("employeeID", &id)
    )
}

/// `(objectGUID=\xx…)` for a recorded GUID; `None` for anything else (an entry recorded by
/// another flavor before the district moved to AD).
pub(crate) fn guid_filter(guid: &str) -> Option<String> {
    if guid.len() != 32 || !guid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let escaped: String = (0..16)
        .map(|i| format!("\\{}", &guid[2 * i..2 * i + 2]))
        .collect();
    Some(format!("(objectGUID={escaped})"))
}

/// The user just created at `dn`, as a claim records it.
pub(super) async fn created(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<AdUser, DirectoryError> {
    users(ldap, settings, dn, Scope::Base, "(objectClass=user)")
        .await?
        .ok_or_else(gone_meanwhile)
}

/// The one user `filter` finds under `users_base_dn`; several are refused (claimd guesses
/// none of them).
async fn one_user(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    filter: &str,
) -> Result<Option<AdUser>, DirectoryError> {
    users(
        ldap,
        settings,
        &settings.users_base_dn,
        Scope::Subtree,
        filter,
    )
    .await
}

async fn users(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    base: &str,
    scope: Scope,
    filter: &str,
) -> Result<Option<AdUser>, DirectoryError> {
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(base, scope, filter, USER_ATTRS.to_vec())
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let mut users: Vec<SearchEntry> = entries.into_iter().map(SearchEntry::construct).collect();
    if users.len() > 1 {
        return Err(DirectoryError::Permanent {
            reason: reasons::with_number(reasons::SEVERAL_ACCOUNTS, users.len()),
        });
    }
    let Some(entry) = users.pop() else {
        return Ok(None);
    };
    let first = |attr: &str| entry.attrs.get(attr).and_then(|v| v.first().cloned());
    let set = |attr: &str| first(attr).is_some_and(|v| v != "0");
    let Some(guid) = binary(&entry, "objectGUID").into_iter().next() else {
        return Err(DirectoryError::Transient {
            reason: "the directory did not show the account's objectGUID".into(),
        });
    };
    Ok(Some(AdUser {
        account_control: first("userAccountControl")
            .and_then(|v| v.parse().ok())
            .unwrap_or(CREATED_DISABLED),
        sam_account_name: first("sAMAccountName"),
        // Never used: no password yet, or nobody ever logged on (a retried claim of ours
        // has set the password, but nobody has used it).
        used: set("pwdLastSet") && set("lastLogonTimestamp"),
        guid: guid.iter().map(|b| format!("{b:02x}")).collect(),
        dn: entry.dn,
    }))
}

/// A binary attribute's values. ldap3 keeps values that happen to be valid UTF-8 as text;
/// their bytes are the same.
fn binary(entry: &SearchEntry, attr: &str) -> Vec<Vec<u8>> {
    match entry.bin_attrs.get(attr) {
        Some(values) => values.clone(),
        None => entry
            .attrs
            .get(attr)
            .map(|values| values.iter().map(|v| v.as_bytes().to_vec()).collect())
            .unwrap_or_default(),
    }
}

/// Whether the object at `dn` is privileged: `adminCount` set (AD's protected groups' members,
/// now or before), a member of AD's privileged groups (`tokenGroups`: every group, nested and
/// primary included, by SID, so a renamed group still counts), or of a configured group.
async fn privileged(
    ldap: &mut Ldap,
    settings: &DirectorySettings,
    dn: &str,
) -> Result<bool, DirectoryError> {
    let (entries, _) = ldap
        .with_timeout(settings.timeout)
        .search(
            dn,
            Scope::Base,
            "(objectClass=*)",
            vec!["adminCount", "tokenGroups"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| classify(Step::Read, e))?;
    let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
        return Err(gone_meanwhile());
    };
    let admin_count = entry
        .attrs
        .get("adminCount")
        .is_some_and(|values| values.iter().any(|v| v.trim() != "0"));
    if admin_count
        || binary(&entry, "tokenGroups")
            .iter()
            .any(|sid| privileged_sid(sid))
    {
        return Ok(true);
    }
    let filter = format!("(member:{IN_CHAIN}:={})", ldap3::ldap_escape(dn));
    in_protected_group(ldap, settings, &filter).await
}

fn gone_meanwhile() -> DirectoryError {
    DirectoryError::Transient {
        reason: "the directory account changed while it was being read".into(),
    }
}

/// Whether a binary SID (MS-DTYP 2.4.2.2) is one of the privileged groups': `S-1-5-21-…-RID`
/// with a domain RID above, or `S-1-5-32-RID` with a built-in one.
fn privileged_sid(sid: &[u8]) -> bool {
    let Some((&[revision, count], rest)) = sid.split_first_chunk::<2>() else {
        return false;
    };
    let count = usize::from(count);
    if revision != 1 || rest.len() != 6 + 4 * count || rest[..6] != [0, 0, 0, 0, 0, 5] {
        return false;
    }
    let subs: Vec<u32> = rest[6..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    match subs.as_slice() {
        [32, rid] => BUILTIN_PRIVILEGED.contains(rid),
        [21, _, _, _, rid] => DOMAIN_PRIVILEGED.contains(rid),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(subs: &[u32]) -> Vec<u8> {
        let mut bytes = vec![1, u8::try_from(subs.len()).unwrap(), 0, 0, 0, 0, 0, 5];
        bytes.extend(subs.iter().flat_map(|s| s.to_le_bytes()));
        bytes
    }

    #[test]
    fn privileged_groups_are_known_by_sid() {
        let domain = [21, 1_004_336_348, 1_177_238_915, 682_003_330];
        let with = |rid| [&domain[..], &[rid]].concat();
        assert!(privileged_sid(&sid(&with(512))), "Domain Admins");
        assert!(privileged_sid(&sid(&with(519))), "Enterprise Admins");
        assert!(privileged_sid(&sid(&[32, 544])), "Administrators");
        assert!(privileged_sid(&sid(&[32, 551])), "Backup Operators");
        assert!(!privileged_sid(&sid(&with(513))), "Domain Users");
        assert!(!privileged_sid(&sid(&with(1105))), "a district group");
        assert!(!privileged_sid(&sid(&[32, 545])), "Users");
        assert!(!privileged_sid(&sid(&[32])), "truncated");
        let mut wrong_authority = sid(&[32, 544]);
        wrong_authority[7] = 1;
        assert!(!privileged_sid(&wrong_authority));
        let mut short = sid(&with(512));
        short.pop();
        assert!(!privileged_sid(&short));
    }

    #[test]
    fn a_guid_becomes_an_escaped_filter_and_anything_else_none() {
        assert_eq!(
            guid_filter("00112233445566778899aabbccddeeff").as_deref(),
            Some(r"(objectGUID=\00\11\22\33\44\55\66\77\88\99\aa\bb\cc\dd\ee\ff)")
        );
        assert_eq!(guid_filter("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), None);
        assert_eq!(guid_filter("zz112233445566778899aabbccddeeff"), None);
    }
}

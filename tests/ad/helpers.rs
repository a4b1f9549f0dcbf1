//! The helpdesk's helpers on Active Directory: a campus tech outside `users_base_dn` (in
//! CN=Users) is found by `sAMAccountName` anywhere in the domain, their password is checked
//! by a bind (kinit agrees), and a membership through a nested group counts
//! (`LDAP_MATCHING_RULE_IN_CHAIN`); a group they are not in does not.

use std::time::Duration;

use claimd_core::{HelperDirectory, PasswordCheck};
use claimd_ldap::{DirectorySettings, Flavor, LdapDirectory};
use claimd_testkit::SambaDc;
use secrecy::SecretString;

const TECH_PASSWORD: &str = "Campus-Tech-Ladder-61";

fn group_dn(cn: &str) -> String {
    format!("CN={cn},CN=Users,{}", SambaDc::BASE_DN)
}

/// claimd's directory client on the DC, as its service account, over LDAPS.
pub fn directory(dc: &SambaDc) -> LdapDirectory {
    LdapDirectory::new(DirectorySettings {
        flavor: Flavor::ActiveDirectory,
        urls: vec![SambaDc::LDAPS_URL.into()],
        bind_dn: SambaDc::SERVICE_UPN.into(),
        bind_password: SecretString::from(SambaDc::SERVICE_PASSWORD),
        users_base_dn: SambaDc::USERS_BASE_DN.into(),
        ca_file: Some(dc.ca_file()),
        starttls: false,
        allow_insecure_directory: false,
        timeout: Duration::from_secs(5),
        upn_suffix: None,
        adopt_used_accounts: false,
        protected_groups: Vec::new(),
        ppolicy_default_dn: None,
    })
    .unwrap()
}

pub async fn a_helper_is_found_in_the_domain_and_nested_groups_count(dc: &mut SambaDc) {
    dc.samba_tool(&["user", "create", "tech101", TECH_PASSWORD]);
    for group in ["Techs-101", "Techs-101-North", "Techs-202"] {
        dc.samba_tool(&["group", "add", group]);
    }
    // tech101 is in Techs-101-North, which is in Techs-101.
    dc.samba_tool(&["group", "addmembers", "Techs-101-North", "tech101"]);
    dc.samba_tool(&["group", "addmembers", "Techs-101", "Techs-101-North"]);

    let dir = directory(dc);

    let tech = dir.find_helper("tech101").await.unwrap().expect("found");
    assert!(
        tech.dn.to_ascii_lowercase().contains("cn=users"),
        "found outside users_base_dn: {}",
        tech.dn
    );
    assert_eq!(dir.find_helper("no-such-tech").await.unwrap(), None);
    let right = SecretString::from(TECH_PASSWORD);
    assert_eq!(
        dir.check_helper_password(&tech, &right).await.unwrap(),
        PasswordCheck::Right
    );
    dc.kinit("tech101", TECH_PASSWORD)
        .expect("the same password gets a ticket");
    let wrong = SecretString::from("Not-The-Password-1");
    assert_eq!(
        dir.check_helper_password(&tech, &wrong).await.unwrap(),
        PasswordCheck::Wrong
    );
    let groups = [group_dn("Techs-101"), group_dn("Techs-202")];
    assert_eq!(
        dir.helper_groups(&tech, &groups).await.unwrap(),
        [true, false],
        "the nested membership counts, the other group does not"
    );
    dir.helper_lockout(&tech)
        .await
        .expect("the helper's lockout standing is readable");
}

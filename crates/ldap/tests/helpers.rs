//! The helpdesk's helpers against a real slapd: found by `uid`, their password checked by a
//! bind, their groups read from `member` and `uniqueMember` (nested groups followed), and a
//! configured group that is not there named rather than taken as "not a member".

use claimd_core::{DirectoryError, HelperDirectory, PasswordCheck};
use claimd_ldap::LdapDirectory;
use claimd_testkit::Slapd;
use secrecy::SecretString;

const SUFFIX: &str = "dc=example,dc=org";
const TECH_PASSWORD: &str = "Campus-Tech-Ladder-61";

mod common;

fn directory(slapd: &Slapd) -> LdapDirectory {
    LdapDirectory::new(common::settings(slapd)).unwrap()
}

fn tech_dn() -> String {
    format!("uid=tech101,{}", Slapd::USERS_BASE_DN)
}

/// A campus tech, a group of names and a group of unique names holding them, and a group
/// without them.
fn helpdesk(slapd: &Slapd) {
    let tech = tech_dn();
    slapd.add(&format!(
        "dn: {tech}\nobjectClass: inetOrgPerson\nuid: tech101\ncn: Terry Tech\nsn: Tech\n\
         userPassword: {TECH_PASSWORD}\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: cn=techs-101,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: techs-101\n\
         member: {tech}\n\n\
         dn: cn=front-office,ou=groups,{SUFFIX}\nobjectClass: groupOfUniqueNames\n\
         cn: front-office\nuniqueMember: {tech}\n\n\
         dn: cn=techs-202,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: techs-202\n\
         member: cn=admin,{SUFFIX}\n\n\
         dn: cn=district,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: district\n\
         member: cn=campus-techs,ou=groups,{SUFFIX}\n\n\
         dn: cn=campus-techs,ou=groups,{SUFFIX}\nobjectClass: groupOfUniqueNames\n\
         cn: campus-techs\nuniqueMember: cn=techs-101,ou=groups,{SUFFIX}\n"
    ));
}

fn groups(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("cn={n},ou=groups,{SUFFIX}"))
        .collect()
}

#[tokio::test]
async fn a_helper_is_found_checked_and_their_groups_read() {
    let slapd = Slapd::start();
    helpdesk(&slapd);
    let dir = directory(&slapd);

    let tech = dir.find_helper("tech101").await.unwrap().expect("found");
    assert_eq!(tech.dn, tech_dn());
    assert_eq!(tech.login, "tech101");
    assert_eq!(dir.find_helper("nobody").await.unwrap(), None);
    assert_eq!(
        dir.find_helper("tech101)(uid=*").await.unwrap(),
        None,
        "a filter in the login name is a name, not a filter"
    );

    let right = SecretString::from(TECH_PASSWORD);
    let wrong = SecretString::from("Not-The-Password-1");
    assert_eq!(
        dir.check_helper_password(&tech, &right).await.unwrap(),
        PasswordCheck::Right
    );
    assert_eq!(
        dir.check_helper_password(&tech, &wrong).await.unwrap(),
        PasswordCheck::Wrong
    );

    let member_of = dir
        .helper_groups(
            &tech,
            &groups(&["techs-101", "front-office", "techs-202", "district"]),
        )
        .await
        .unwrap();
    assert_eq!(
        member_of,
        [true, true, false, true],
        "district holds campus-techs, which holds techs-101"
    );

    let missing = dir
        .helper_groups(&tech, &groups(&["techs-101", "no-such-group"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, DirectoryError::Transient { reason }
            if reason.contains("helpdesk.groups") && reason.contains("no-such-group")),
        "{missing:?}"
    );

    let standing = dir.helper_lockout(&tech).await.unwrap();
    assert_eq!(
        standing.threshold, 0,
        "no ppolicy lockout here: {standing:?}"
    );
}

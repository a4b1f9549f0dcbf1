//! A helpdesk's temporary password against a real slapd with the ppolicy overlay: it
//! replaces the old one, lifts a lock, and must be changed before anything else
//! (`pwdReset: TRUE`), which a bind as the person then reports.

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, DirectoryWriter, Email, EmployeeId, EntryLedger,
    JobKind, OperationId, PasswordCheck, PasswordChecker, PersonName, Username,
};
use claimd_ldap::LdapDirectory;
use claimd_testkit::Slapd;
use secrecy::SecretString;

mod common;

const OLD: &str = "Correct-Horse-Battery-9";
const TEMPORARY: &str = "Temporary-Quartz-Lamp-27";

struct NoLedger;

#[async_trait]
impl EntryLedger for NoLedger {
    async fn record(&self, _entry: &str) -> Result<(), DirectoryError> {
        Ok(())
    }
}

fn job(kind: JobKind) -> DirectoryJob {
    DirectoryJob {
        id: OperationId::new(),
        kind,
        account: Account {
            username: Username::parse("e77777").unwrap(),
            employee_id: EmployeeId::new(77777).unwrap(),
            first_name: PersonName::parse("Jane").unwrap(),
            last_name: PersonName::parse("Doe").unwrap(),
            email: Email::parse("jane.doe@district.example").unwrap(),
        },
        rehire: false,
        entry: None,
    }
}

#[tokio::test]
async fn a_temporary_password_replaces_the_old_lifts_the_lock_and_must_be_changed() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(common::settings(&slapd)).unwrap();
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    dir.apply(
        &job(JobKind::Provision),
        Some(&SecretString::from(OLD)),
        &NoLedger,
    )
    .await
    .unwrap();
    // Locked by ppolicy, as wrong passwords at a workstation would leave it.
    slapd.modify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: pwdAccountLockedTime\n\
         pwdAccountLockedTime: 20261201000000Z\n"
    ));

    dir.apply(
        &job(JobKind::TemporaryPassword),
        Some(&SecretString::from(TEMPORARY)),
        &NoLedger,
    )
    .await
    .unwrap();

    let ldif = slapd.search(
        &dn,
        "(objectClass=*)",
        &["pwdReset", "pwdAccountLockedTime"],
    );
    assert!(ldif.lines().any(|l| l == "pwdReset: TRUE"), "{ldif}");
    assert!(!ldif.contains("pwdAccountLockedTime"), "{ldif}");
    let username = Username::parse("e77777").unwrap();
    assert_eq!(
        dir.verify_password(&username, &SecretString::from(OLD))
            .await
            .unwrap(),
        PasswordCheck::Wrong,
        "the old password no longer works"
    );
    assert_eq!(
        dir.verify_password(&username, &SecretString::from(TEMPORARY))
            .await
            .unwrap(),
        PasswordCheck::MustChange,
        "the temporary password logs in only to be changed"
    );
}

//! A helpdesk's temporary password in Active Directory: the old password no longer gets a
//! ticket, and the temporary one gets "Password expired. You must change it now." from
//! kinit (`pwdLastSet = 0`), so the person must choose their own at the next logon.

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, DirectoryWriter, Email, EmployeeId, EntryLedger,
    JobKind, OperationId, PersonName, Username,
};
use claimd_testkit::SambaDc;
use secrecy::SecretString;

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
            username: Username::parse("e88801").unwrap(),
            employee_id: EmployeeId::new(88801).unwrap(),
            first_name: PersonName::parse("Tomas").unwrap(),
            last_name: PersonName::parse("Temple").unwrap(),
            email: Email::parse("tomas.temple@district.example").unwrap(),
        },
        rehire: false,
        entry: None,
    }
}

pub async fn a_temporary_password_must_be_changed_at_the_next_domain_login(dc: &mut SambaDc) {
    let dir = super::helpers::directory(dc);
    dir.apply(
        &job(JobKind::Provision),
        Some(&SecretString::from(OLD)),
        &NoLedger,
    )
    .await
    .unwrap();
    dc.kinit("e88801", OLD)
        .expect("the claimed password logs in");

    dir.apply(
        &job(JobKind::TemporaryPassword),
        Some(&SecretString::from(TEMPORARY)),
        &NoLedger,
    )
    .await
    .unwrap();

    let old = dc
        .kinit("e88801", OLD)
        .expect_err("the old password is gone");
    assert!(old.contains("Password incorrect"), "{old}");
    let temporary = dc
        .kinit("e88801", TEMPORARY)
        .expect_err("the temporary password must be changed first");
    assert!(
        temporary.contains("Password expired.") && temporary.contains("You must change it now."),
        "{temporary}"
    );
}

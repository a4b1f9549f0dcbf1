//! The helpdesk's pages against the real Samba AD DC, judged by Kerberos: a campus tech in
//! `Desk-101` signs in with their own domain password (a wrong one is refused and counted by
//! the domain, once), sees a person of site 101 and not one of site 202 (the unknown ID's
//! page), lifts a domain lockout, sets a temporary password after which kinit says the
//! password expired and must be changed while the old one is gone, and is refused on a
//! Domain Admins member of site 101; the audit names the tech and the reason, and the person
//! is mailed.

use std::time::{Duration, Instant};

use claimd_api::v1::OperationState;
use claimd_testkit::SambaDc;

use crate::{
    desk::{signed_in, without_token},
    harness::*,
    lockout::DomainLockout,
};

const DESK_PASSWORD: &str = "Front-Office-Kettle-74";

/// desk101 in Desk-101 (once per DC), and a Domain Admins member with employee ID 5392.
fn people(dc: &SambaDc) {
    if !dc
        .search("(sAMAccountName=desk101)", &["dn"])
        .contains("dn: ")
    {
        dc.samba_tool(&["user", "create", "desk101", DESK_PASSWORD]);
        dc.samba_tool(&["group", "add", "Desk-101"]);
        dc.samba_tool(&["group", "addmembers", "Desk-101", "desk101"]);
    }
    if !dc.search("(employeeID=5392)", &["dn"]).contains("dn: ") {
        dc.ldapmodify(&format!(
            "dn: CN=Dana Admin,{base}\nchangetype: add\nobjectClass: user\n\
             sAMAccountName: e5392\nuserPrincipalName: e5392@{realm}\nemployeeID: 5392\n\
             userAccountControl: 514\n",
            base = SambaDc::USERS_BASE_DN,
            realm = SambaDc::REALM
        ));
        dc.ldapmodify(&format!(
            "dn: CN=Domain Admins,CN=Users,{base}\nchangetype: modify\nadd: member\n\
             member: CN=Dana Admin,{users}\n",
            base = SambaDc::BASE_DN,
            users = SambaDc::USERS_BASE_DN
        ));
    }
}

fn bad_password_count(dc: &SambaDc, login: &str) -> u32 {
    attribute(
        &dc.search(&format!("(sAMAccountName={login})"), &["badPwdCount"]),
        "badPwdCount",
    )
    .and_then(|n| n.parse().ok())
    .unwrap_or(0)
}

pub async fn a_campus_tech_unlocks_and_sets_a_temporary_password_in_ad(dc: &mut SambaDc) {
    people(dc);
    let mut ad = Ad::new(dc, true, "5390,Helped,Hana,hana@district.example,active\n");
    ad.claimd.import_roster(
        "employee_id,last_name,first_name,email,status,site\n\
         5390,Helped,Hana,hana@district.example,active,101\n\
         5391,Elsewhere,Eli,eli@district.example,active,202\n\
         5392,Admin,Dana,dana@district.example,active,101\n",
    );
    let portal = format!("127.0.0.1:{}", claimd_testkit::free_port());
    ad.claimd.set_env("CLAIMD__PORTAL__LISTEN", &portal);
    ad.reconfigure(&format!(
        "[helpdesk]\ngroups = [{{ group = \"CN=Desk-101,CN=Users,{}\", sites = [\"101\"] }}]\n",
        SambaDc::BASE_DN
    ));
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5390, "Helped", "Hana", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");

    // A wrong password is refused, and the domain counts it, once (Samba counts wrong
    // passwords only while a lockout policy is on).
    {
        let _policy = DomainLockout::after(dc, 3);
        let before = bad_password_count(dc, "desk101");
        let refused = signed_in(&portal, "desk101", "Not-The-Password-1")
            .err()
            .expect("refused");
        assert!(refused.contains("not correct"), "{refused}");
        assert_eq!(bad_password_count(dc, "desk101"), before + 1);
    }
    let mut desk = signed_in(&portal, "desk101", DESK_PASSWORD).expect("the tech's own password");

    // Site 202's person is the unknown ID's page.
    let (status, _, other) = desk.get("/helpdesk/people/005391");
    let (_, _, unknown) = desk.get("/helpdesk/people/009998");
    assert_eq!(status, 404);
    assert_eq!(
        without_token(&other).replace("005391", "009998"),
        without_token(&unknown)
    );

    // The domain locks Hana out; the tech lifts it, and her own password logs in again.
    let page = "/helpdesk/people/005390";
    {
        let _policy = DomainLockout::after(dc, 3);
        for n in 0..3 {
            assert!(!dc.logs_in("e5390", &format!("Typed-At-A-Workstation-{n}")));
        }
        let revoked = dc.kinit("e5390", GOOD).unwrap_err();
        assert!(revoked.contains("revoked"), "{revoked}");
        let (_, _, body) = desk.get(page);
        assert!(
            body.contains("Locked by the directory</dt><dd>Yes"),
            "{body}"
        );
        let (status, body) = desk.post(
            page,
            "/helpdesk/people/005390/unlock",
            &[("reason", "ticket 77: Hana locked out at the library")],
        );
        assert_eq!(status, 200, "{body}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while dc.kinit("e5390", GOOD).is_err() {
            assert!(
                Instant::now() < deadline,
                "never unlocked:\n{}",
                ad.claimd.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // A temporary password: the old one is gone, and kinit wants the new one changed.
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/005390/temporary-password",
        &[("reason", "ticket 78: Hana forgot her answers")],
    );
    assert_eq!(status, 200, "{body}");
    let temporary = body
        .split("<code id=\"temporary-password\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("shown once")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let expired = loop {
        match dc.kinit("e5390", &temporary) {
            Err(said) if said.contains("Password expired") => break said,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "never set:\n{}",
                    ad.claimd.logs()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(expired.contains("You must change it now."), "{expired}");
    let old = dc.kinit("e5390", GOOD).unwrap_err();
    assert!(old.contains("Password incorrect"), "{old}");

    // A Domain Admins member of site 101 is never acted on.
    let (status, body) = desk.post(
        "/helpdesk/people/005392",
        "/helpdesk/people/005392/unlock",
        &[("reason", "ticket 79")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This account is privileged"), "{body}");

    // The audit names the tech and the reasons; Hana is told of both actions.
    let audit = ad.audit(5390);
    for said in [
        "helpdesk.unlock",
        "helpdesk.temporary_password",
        "helpdesk:desk101",
        "ticket 77: Hana locked out at the library",
        "ticket 78: Hana forgot her answers",
    ] {
        assert!(audit.contains(said), "{said}: {audit}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mails = ad.smtp.messages();
        let told = |subject: &str| {
            mails
                .iter()
                .any(|m| m.to.contains("hana@district.example") && m.subject.contains(subject))
        };
        if told("was unlocked") && told("temporary password") {
            break;
        }
        assert!(Instant::now() < deadline, "not mailed: {mails:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !ad.claimd.logs().contains(&temporary),
        "the password reached the log"
    );
}

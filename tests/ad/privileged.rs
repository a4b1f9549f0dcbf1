//! Privileged accounts and the account a claim took: the AD cases of `accounts.protected_groups`,
//! AD's own privileged groups, and writes bound to the claimed object's objectGUID.

use claimd_api::v1::{ChangePasswordRequest, OperationState};
use claimd_testkit::SambaDc;
use tonic::Code;

use crate::harness::*;

/// A group of IT's own, nested in Domain Admins: its members are privileged though AD has not
/// (yet) set their adminCount.
const NESTED_ADMINS: &str = "CN=Helpdesk Leads,OU=Staff,DC=district,DC=example";
/// A district group listed in `accounts.protected_groups`, holding a group that holds people.
const CAMPUS_ADMINS: &str = "CN=Campus Admins,OU=Staff,DC=district,DC=example";

/// Makes the groups above (once per DC).
fn privileged_groups(dc: &SambaDc) {
    if dc.search("(cn=Helpdesk Leads)", &["dn"]).contains("dn: ") {
        return;
    }
    for (cn, sam) in [
        ("Helpdesk Leads", "helpdesk-leads"),
        ("Campus Admins", "campus-admins"),
        ("Campus Admins North", "campus-admins-north"),
    ] {
        dc.ldapmodify(&format!(
            "dn: CN={cn},OU=Staff,{base}\nchangetype: add\nobjectClass: group\n\
             sAMAccountName: {sam}\n",
            base = SambaDc::BASE_DN
        ));
    }
    dc.ldapmodify(&format!(
        "dn: CN=Domain Admins,CN=Users,{base}\nchangetype: modify\nadd: member\n\
         member: {NESTED_ADMINS}\n",
        base = SambaDc::BASE_DN
    ));
    dc.ldapmodify(&format!(
        "dn: {CAMPUS_ADMINS}\nchangetype: modify\nadd: member\n\
         member: CN=Campus Admins North,OU=Staff,{base}\n",
        base = SambaDc::BASE_DN
    ));
}

fn add_member(dc: &SambaDc, group: &str, member: &str) {
    dc.ldapmodify(&format!(
        "dn: {group}\nchangetype: modify\nadd: member\nmember: {member}\n"
    ));
}

/// A privileged account carrying an employee's ID is never claimed, and the claim is
/// answered as a names mismatch (audited): `adminCount = 1`, a member of Domain Admins
/// through a nested group, or of a group in `accounts.protected_groups` through a nested
/// one. The accounts are untouched.
pub async fn a_privileged_account_is_never_claimed(dc: &mut SambaDc) {
    privileged_groups(dc);
    for (id, extra) in [(5090, "adminCount: 1\n"), (5091, ""), (5092, "")] {
        dc.ldapmodify(&format!(
            "dn: CN=Pat Admin{id},{base}\nchangetype: add\nobjectClass: user\n\
             sAMAccountName: e{id}\nuserPrincipalName: e{id}@{realm}\nemployeeID: {id}\n\
             userAccountControl: 514\n{extra}",
            base = SambaDc::USERS_BASE_DN,
            realm = SambaDc::REALM
        ));
    }
    let staff = SambaDc::USERS_BASE_DN;
    add_member(dc, NESTED_ADMINS, &format!("CN=Pat Admin5091,{staff}"));
    add_member(
        dc,
        &format!("CN=Campus Admins North,{staff}"),
        &format!("CN=Pat Admin5092,{staff}"),
    );
    let mut ad = Ad::new(
        dc,
        true,
        "5090,Admin,Pat,pat.admin@district.example,active\n\
         5091,Admin,Pat,pat.admin1@district.example,active\n\
         5092,Admin,Pat,pat.admin2@district.example,active\n",
    );
    ad.reconfigure(&format!(
        "[accounts]\nprotected_groups = [\"{CAMPUS_ADMINS}\"]\n"
    ));
    let mut client = ad.client().await;
    let mismatch = client
        .claim_account(claim(5090, "Someone", "Else", GOOD))
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Code::NotFound, "{mismatch:?}");
    for id in [5090, 5091, 5092] {
        let refused = client
            .claim_account(claim(id, "Admin", "Pat", GOOD))
            .await
            .unwrap_err();
        assert_eq!(
            (refused.code(), refused.message()),
            (mismatch.code(), mismatch.message()),
            "{id}: {refused:?}"
        );
        let audit = ad.audit(id);
        assert!(
            audit.contains("the directory account is privileged"),
            "{id}: {audit}"
        );
        let entry = dc.search(
            &format!("(employeeID={id})"),
            &["userAccountControl", "pwdLastSet"],
        );
        assert_eq!(
            attribute(&entry, "userAccountControl").as_deref(),
            Some("514")
        );
        assert_eq!(
            attribute(&entry, "pwdLastSet").as_deref(),
            Some("0"),
            "{entry}"
        );
        assert!(!dc.can_bind(&upn(&format!("e{id}")), GOOD));
    }
}

/// An account claimed by its owner and later made privileged (put in a group nested in
/// Domain Admins) is left alone by every flow: a reset with the right answers and a change
/// with the right password are refused as wrong ones, and no password check binds as it
/// (its bad-password count stays).
pub async fn a_claimed_account_made_privileged_is_left_alone(dc: &mut SambaDc) {
    privileged_groups(dc);
    let ad = Ad::new(dc, true, "5100,Lead,Lee,lee.lead@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5100, "Lead", "Lee", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let found = dc.search("(employeeID=5100)", &["dn"]);
    let dn = attribute(&found, "dn").unwrap();
    add_member(dc, NESTED_ADMINS, &dn);
    // Samba counts bad passwords only under a lockout policy.
    let domain = |threshold: u32| {
        format!(
            "dn: {base}\nchangetype: modify\nreplace: lockoutThreshold\n\
             lockoutThreshold: {threshold}\n",
            base = SambaDc::BASE_DN
        )
    };
    dc.ldapmodify(&domain(50));
    let bad_count = || {
        attribute(
            &dc.search("(employeeID=5100)", &["badPwdCount"]),
            "badPwdCount",
        )
    };
    assert!(!dc.logs_in("e5100", "Not-The-Password-1"));
    let before = bad_count();
    assert_eq!(before.as_deref(), Some("1"), "Samba counts a wrong bind");

    let reset = client
        .complete_password_reset(reset("e5100", "Reset-Lantern-Orchid-58"))
        .await
        .unwrap_err();
    assert_eq!(reset.code(), Code::Unauthenticated, "{reset:?}");
    // A wrong password first: a bind with it would count. (A bind with the right one would
    // clear the count, so it comes after the count is read.)
    let mut after = None;
    for current in ["Not-The-Password-2", GOOD] {
        let change = client
            .change_password(ChangePasswordRequest {
                username: "e5100".into(),
                current_password: current.into(),
                new_password: "Changed-Meadow-Falcon-64".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(change.code(), Code::Unauthenticated, "{change:?}");
        after = after.or_else(bad_count);
    }
    dc.ldapmodify(&domain(0));
    assert_eq!(after, before, "claimd bound as the privileged account");
    // Claiming it again answers as for any claimed account, not as for a mismatch.
    let again = client
        .claim_account(claim(5100, "Lead", "Lee", GOOD))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");

    assert!(dc.logs_in("e5100", GOOD));
    let audit = ad.audit(5100);
    assert_eq!(
        audit.matches("the directory account is privileged").count(),
        3,
        "{audit}"
    );
}

/// IT moves the employeeID from the claimed account to another one: a reset still goes to
/// the account the claim took (its objectGUID kept with the claim), never to the new holder.
pub async fn a_moved_employee_id_never_redirects_a_reset(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5110,Move,Max,max.move@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5110, "Move", "Max", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let dn = attribute(&dc.search("(employeeID=5110)", &["dn"]), "dn").unwrap();
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\ndelete: employeeID\n"
    ));
    dc.ldapmodify(&format!(
        "dn: CN=Other Holder,{base}\nchangetype: add\nobjectClass: user\n\
         sAMAccountName: other5110\nemployeeID: 5110\nuserAccountControl: 514\n",
        base = SambaDc::USERS_BASE_DN
    ));
    let reset_to = "Reset-Lantern-Orchid-58";
    let op = reset_settled(&mut client, "e5110", reset_to).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(dc.logs_in("e5110", reset_to));
    let other = dc.search(
        "(sAMAccountName=other5110)",
        &["pwdLastSet", "userAccountControl"],
    );
    assert_eq!(
        attribute(&other, "pwdLastSet").as_deref(),
        Some("0"),
        "{other}"
    );
    assert_eq!(
        attribute(&other, "userAccountControl").as_deref(),
        Some("514"),
        "{other}"
    );
}

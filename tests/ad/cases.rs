//! The AD tests, run one after another by `main` against the shared DC.

use std::{fs, time::Duration};

use claimd_api::v1::{ChangePasswordRequest, CompletePasswordResetRequest, OperationState};
use claimd_testkit::SambaDc;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::*;

pub async fn claim_enables_a_preprovisioned_account(dc: &mut SambaDc) {
    // HR created the account disabled (514 | DONT_EXPIRE_PASSWORD 0x10000).
    dc.ldapmodify(&format!(
        "dn: CN=Pre Hire,{base}\nchangetype: add\nobjectClass: user\nsAMAccountName: e5001\n\
         userPrincipalName: e5001@{realm}\nemployeeID: 5001\nuserAccountControl: 66050\n",
        base = SambaDc::USERS_BASE_DN,
        realm = SambaDc::REALM
    ));
    let ad = Ad::new(dc, true, "5001,Hire,Pre,pre.hire@district.example,active\n");
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5001, "Hire", "Pre", GOOD))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.username, "e5001");
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    let found = dc.search(
        "(employeeID=5001)",
        &["userAccountControl", "sAMAccountName"],
    );
    assert_eq!(found.matches("dn: ").count(), 1, "no duplicate: {found}");
    assert_eq!(
        attribute(&found, "userAccountControl").as_deref(),
        Some("66048"),
        "enabled, other bits kept"
    );
    assert!(dc.logs_in("e5001", GOOD));
}

pub async fn claim_creates_a_new_enabled_account(dc: &mut SambaDc) {
    let ad = Ad::new(
        dc,
        true,
        "5002,Doe,Jane,jane.5002@district.example,active\n",
    );
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5002, "Doe", "Jane", GOOD)).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    let entry = dc.search(
        "(employeeID=5002)",
        &[
            "sAMAccountName",
            "userPrincipalName",
            "givenName",
            "sn",
            "displayName",
            "mail",
            "userAccountControl",
        ],
    );
    for (name, value) in [
        ("sAMAccountName", "e5002"),
        ("userPrincipalName", "e5002@district.example"),
        ("givenName", "Jane"),
        ("sn", "Doe"),
        ("displayName", "Jane Doe"),
        ("mail", "jane.5002@district.example"),
        ("userAccountControl", "512"),
    ] {
        assert_eq!(
            attribute(&entry, name).as_deref(),
            Some(value),
            "{name} in\n{entry}"
        );
    }
    assert!(
        entry.contains(&format!("dn: CN=Jane Doe,{}", SambaDc::USERS_BASE_DN)),
        "{entry}"
    );
    assert!(dc.logs_in("e5002", GOOD));
    report_latency(&ad.claimd.logs());
}

pub async fn a_password_ad_refuses_fails_readably_and_the_person_can_claim_again(dc: &mut SambaDc) {
    let ad = Ad::new(dc, false, "5003,Roe,Rick,rick@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5003, "Roe", "Rick", SIMPLE)).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    assert_eq!(op.reason, claimd_core::reasons::AD_COMPLEXITY);
    assert!(!op.reason.contains(SIMPLE));
    let op = claim_settled(&mut client, claim(5003, "Roe", "Rick", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert_eq!(
        dc.search("(employeeID=5003)", &["cn"])
            .matches("dn: ")
            .count(),
        1
    );
    assert!(dc.logs_in("e5003", GOOD));
}

pub async fn the_precheck_refuses_a_simple_password_as_a_field_error(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5004,Poe,Ann,ann@district.example,active\n");
    let mut client = ad.client().await;
    let status = client
        .claim_account(claim(5004, "Poe", "Ann", SIMPLE))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(violation.field, "password");
    assert!(
        violation.description.contains("complexity"),
        "{}",
        violation.description
    );
}

pub async fn resets_and_changes_land_in_ad(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5005,Moe,Kim,kim@district.example,active\n");
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5005, "Moe", "Kim", GOOD))
        .await
        .unwrap()
        .into_inner();
    settle(&mut client, &reply.operation.unwrap().id).await;

    let reset_to = "Reset-Lantern-Orchid-58";
    let op = reset_settled(&mut client, "e5005", reset_to).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(dc.logs_in("e5005", reset_to));
    assert!(!dc.logs_in("e5005", GOOD));

    let wrong = ChangePasswordRequest {
        username: "e5005".into(),
        current_password: GOOD.into(),
        new_password: "Changed-Meadow-Falcon-64".into(),
    };
    assert_eq!(
        client.change_password(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let change = ChangePasswordRequest {
        username: "e5005".into(),
        current_password: reset_to.into(),
        new_password: "Changed-Meadow-Falcon-64".into(),
    };
    let op = client
        .change_password(change)
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.logs_in("e5005", "Changed-Meadow-Falcon-64"));
    assert!(!dc.logs_in("e5005", reset_to));

    let logs = ad.claimd.logs();
    report_latency(&logs);
    for secret in [
        GOOD,
        reset_to,
        "Changed-Meadow-Falcon-64",
        SambaDc::SERVICE_PASSWORD,
        "Rex the Dog",
        "Jonesboro",
    ] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
}

/// Names that are DN syntax (a comma, a plus, a leading `#`) are escaped in the CN: the
/// account is created under exactly that name, found again by employeeID and reset.
pub async fn names_with_dn_syntax_are_created_found_and_reset(dc: &mut SambaDc) {
    let people = [
        (5010, "O'Brien, Jr.", "Pat"),
        (5011, "Smith+Jones", "Al"),
        (5012, "Lee", "#Hash"),
    ];
    let roster: String = people
        .iter()
        .map(|(id, last, first)| format!("{id},\"{last}\",{first},p{id}@district.example,active\n"))
        .collect();
    let ad = Ad::new(dc, true, &roster);
    let mut client = ad.client().await;
    for (id, last, first) in people {
        let reply = client
            .claim_account(claim(id, last, first, GOOD))
            .await
            .unwrap()
            .into_inner();
        let op = settle(&mut client, &reply.operation.unwrap().id).await;
        assert_eq!(op.state(), OperationState::Succeeded, "{last}: {op:?}");
        let entry = dc.search(&format!("(employeeID={id})"), &["cn", "sn", "givenName"]);
        assert_eq!(entry.matches("dn: ").count(), 1, "{entry}");
        assert_eq!(
            attribute(&entry, "cn"),
            Some(format!("{first} {last}")),
            "{entry}"
        );
        assert_eq!(attribute(&entry, "sn").as_deref(), Some(last), "{entry}");
        assert_eq!(attribute(&entry, "givenName").as_deref(), Some(first));
        let username = format!("e{id}");
        assert!(dc.logs_in(&username, GOOD), "{username}");

        let reset_to = "Reset-Lantern-Orchid-58";
        let op = client
            .complete_password_reset(CompletePasswordResetRequest {
                username: username.clone(),
                answers: answers(),
                new_password: reset_to.into(),
                verification_code: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .operation
            .unwrap();
        let op = settle(&mut client, &op.id).await;
        assert_eq!(op.state(), OperationState::Succeeded, "{last}: {op:?}");
        assert!(dc.logs_in(&username, reset_to), "{username}");
        assert!(!dc.logs_in(&username, GOOD), "{username}");
    }
}

/// The roster after a claim, in AD: a mover's names and mail are updated, a leaver's account
/// is disabled (ACCOUNTDISABLE, other bits kept) and the login refused, a rehire claims again
/// and the account is enabled with the new password.
pub async fn roster_changes_reach_ad_movers_leavers_and_rehires(dc: &mut SambaDc) {
    let ad = Ad::new(
        dc,
        true,
        "5020,Mover,Mia,mia@district.example,active
",
    );
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5020, "Mover", "Mia", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let header = "employee_id,last_name,first_name,email,status\n";
    let attrs = [
        "givenName",
        "sn",
        "displayName",
        "mail",
        "userAccountControl",
    ];
    let entry = || dc.search("(employeeID=5020)", &attrs);

    ad.claimd.import_roster(&format!(
        "{header}5020,Mover-Lee,Mia,mia.lee@district.example,active\n"
    ));
    claimd_testkit::wait_until("the mover's update", Duration::from_secs(60), || {
        attribute(&entry(), "sn").as_deref() == Some("Mover-Lee")
    });
    let updated = entry();
    assert_eq!(
        attribute(&updated, "displayName").as_deref(),
        Some("Mia Mover-Lee")
    );
    assert_eq!(
        attribute(&updated, "mail").as_deref(),
        Some("mia.lee@district.example")
    );
    assert!(dc.logs_in("e5020", GOOD));
    // IT has meanwhile set "password never expires" (0x10000) on the account: disabling
    // and enabling it must keep that bit.
    let dn = attribute(&updated, "dn").expect("the entry's DN");
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 66048\n"
    ));

    ad.claimd.import_roster(&format!(
        "{header}5020,Mover-Lee,Mia,mia.lee@district.example,terminated\n"
    ));
    claimd_testkit::wait_until(
        "the leaver's account disabled",
        Duration::from_secs(60),
        || attribute(&entry(), "userAccountControl").as_deref() == Some("66050"),
    );
    assert!(!dc.logs_in("e5020", GOOD));

    ad.claimd.import_roster(&format!(
        "{header}5020,Mover-Lee,Mia,mia.lee@district.example,active\n"
    ));
    let again = "Second-Term-Lantern-8";
    let op = claim_settled(&mut client, claim(5020, "Mover-Lee", "Mia", again)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert_eq!(
        attribute(&entry(), "userAccountControl").as_deref(),
        Some("66048"),
        "enabled again, the other bits kept"
    );
    assert!(dc.logs_in("e5020", again));
    assert!(!dc.logs_in("e5020", GOOD));
}

/// A pre-provisioned account someone has already used (a password set and a logon) is not
/// taken over by a claim, and the refusal names no account; a district that allows it sets
/// `accounts.adopt_used_accounts`.
pub async fn a_used_preprovisioned_account_is_claimed_only_when_the_district_allows(
    dc: &mut SambaDc,
) {
    let dn = format!("CN=Used Before,{}", SambaDc::USERS_BASE_DN);
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: user\nsAMAccountName: e5030\n\
         userPrincipalName: e5030@{realm}\nemployeeID: 5030\n",
        realm = SambaDc::REALM
    ));
    // Someone sets a password on it and logs on.
    let quoted: Vec<u8> = "\"Someone-Else-Pass-77\""
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &quoted);
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {encoded}\n-\n\
         replace: userAccountControl\nuserAccountControl: 512\n"
    ));
    assert!(dc.logs_in("e5030", "Someone-Else-Pass-77"));

    let mut ad = Ad::new(dc, true, "5030,Before,Used,used@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5030, "Before", "Used", GOOD)).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    assert_eq!(op.reason, claimd_core::reasons::ACCOUNT_USED);
    assert!(
        !op.reason.contains("Used Before") && !op.reason.contains("CN="),
        "{}",
        op.reason
    );
    assert!(dc.logs_in("e5030", "Someone-Else-Pass-77"), "untouched");

    ad.claimd.stop_with(nix::sys::signal::Signal::SIGTERM);
    ad.claimd
        .set_env("CLAIMD__ACCOUNTS__ADOPT_USED_ACCOUNTS", "true");
    ad.claimd.launch();
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5030, "Before", "Used", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(dc.logs_in("e5030", GOOD));
}

pub async fn a_claim_made_while_the_dc_is_down_completes_when_it_is_back(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5006,Loe,Sam,sam@district.example,active\n");
    let mut client = ad.client().await;
    dc.stop();
    let reply = client
        .claim_account(claim(5006, "Loe", "Sam", GOOD))
        .await
        .unwrap()
        .into_inner();
    let id = reply.operation.unwrap().id;
    wait_retrying(&mut client, &id).await;
    dc.resume();
    assert_eq!(
        settle(&mut client, &id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.logs_in("e5006", GOOD));
}

pub async fn starttls_and_failover_reach_the_dc(dc: &mut SambaDc) {
    // The first server is down: claimd fails over to the DC, over StartTLS on port 389.
    let dead = claimd_testkit::free_port();
    let url = format!(
        "url = [\"ldap://127.0.0.1:{dead}\", \"{}\"]\nstarttls = true",
        SambaDc::LDAP_URL
    );
    let ad = Ad::with_url(dc, true, "5007,Ray,Lee,lee@district.example,active\n", &url);
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5007, "Ray", "Lee", GOOD)).await;
    assert_eq!(
        op.state(),
        OperationState::Succeeded,
        "{op:?}\n{}",
        ad.claimd.logs()
    );
    assert!(dc.logs_in("e5007", GOOD));
    assert!(
        ad.claimd
            .logs()
            .contains("failed over to another directory server")
    );
}

pub async fn check_config_refuses_plain_ldap(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "");
    let config = fs::read_to_string(ad.claimd.config_path()).unwrap();
    ad.claimd
        .write_config(&config.replace(SambaDc::LDAPS_URL, SambaDc::LDAP_URL));
    let out = ad.claimd.run(&["check-config"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("directory.url") && stderr.contains("clear text"),
        "{stderr}"
    );
    assert!(!stderr.contains(SambaDc::SERVICE_PASSWORD));
}

/// A pre-provisioned account whose sAMAccountName is not the claimd username is not taken:
/// the claim fails with a plain reason for IT, and the account is left as it was.
pub async fn a_preprovisioned_account_with_another_username_is_left_alone(dc: &mut SambaDc) {
    let dn = format!("CN=Jo Other,{}", SambaDc::USERS_BASE_DN);
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: user\nsAMAccountName: jother\n\
         userPrincipalName: jother@{realm}\nemployeeID: 5050\nuserAccountControl: 514\n",
        realm = SambaDc::REALM
    ));
    let ad = Ad::new(dc, true, "5050,Other,Jo,jo@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5050, "Other", "Jo", GOOD)).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    assert_eq!(op.reason, claimd_core::reasons::ACCOUNT_OTHER_USERNAME);
    let entry = dc.search(
        "(employeeID=5050)",
        &["sAMAccountName", "userAccountControl", "pwdLastSet"],
    );
    assert_eq!(entry.matches("dn: ").count(), 1, "nothing created: {entry}");
    assert_eq!(
        attribute(&entry, "sAMAccountName").as_deref(),
        Some("jother")
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
    assert!(!dc.can_bind("jother@district.example", GOOD));
}

/// Two accounts carrying one employeeID: claimd guesses neither, says how many it found,
/// and touches neither.
pub async fn two_accounts_with_one_employee_id_are_both_left_alone(dc: &mut SambaDc) {
    for (cn, sam) in [("Twin One", "e5060"), ("Twin Two", "twin5060")] {
        dc.ldapmodify(&format!(
            "dn: CN={cn},{base}\nchangetype: add\nobjectClass: user\nsAMAccountName: {sam}\n\
             employeeID: 5060\nuserAccountControl: 514\n",
            base = SambaDc::USERS_BASE_DN
        ));
    }
    let ad = Ad::new(dc, true, "5060,Twin,Tess,tess@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5060, "Twin", "Tess", GOOD)).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    assert_eq!(
        op.reason,
        claimd_core::reasons::with_number(claimd_core::reasons::SEVERAL_ACCOUNTS, 2)
    );
    let found = dc.search("(employeeID=5060)", &["userAccountControl", "pwdLastSet"]);
    assert_eq!(found.matches("dn: ").count(), 2, "{found}");
    assert_eq!(
        found.matches("userAccountControl: 514").count(),
        2,
        "{found}"
    );
    assert_eq!(found.matches("pwdLastSet: 0").count(), 2, "{found}");
}

/// A username of exactly 20 characters (AD's sAMAccountName limit) is created and logs in;
/// a template that would make 21 stops check-config, naming the key.
pub async fn a_twenty_character_username_is_created_and_twenty_one_refused(dc: &mut SambaDc) {
    // "district-staff" and six digits: 20 characters.
    let mut ad = Ad::new(dc, true, "5070,Long,Lou,lou@district.example,active\n");
    ad.claimd.stop_with(nix::sys::signal::Signal::SIGTERM);
    ad.claimd
        .set_env("CLAIMD__ACCOUNTS__USERNAME_TEMPLATE", "district-staff{id6}");
    ad.claimd.launch();
    let mut client = ad.client().await;
    let reply = client
        .claim_account(claim(5070, "Long", "Lou", GOOD))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.username, "district-staff005070");
    assert_eq!(reply.username.len(), 20);
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let entry = dc.search("(employeeID=5070)", &["sAMAccountName"]);
    assert_eq!(
        attribute(&entry, "sAMAccountName").as_deref(),
        Some("district-staff005070")
    );
    assert!(dc.logs_in("district-staff005070", GOOD));

    ad.claimd.set_env(
        "CLAIMD__ACCOUNTS__USERNAME_TEMPLATE",
        "district-staffs{id6}",
    );
    let out = ad.claimd.run(&["check-config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("accounts.username_template"),
        "{stderr}"
    );
}

/// `directory.upn_suffix` other than the domain's: new accounts get it in their
/// userPrincipalName, and the login and the change-password check use it.
pub async fn a_custom_upn_suffix_is_written_and_used_to_log_in(dc: &mut SambaDc) {
    let url = format!(
        "url = \"{}\"\nupn_suffix = \"staff.district.example\"",
        SambaDc::LDAPS_URL
    );
    let ad = Ad::with_url(
        dc,
        true,
        "5080,Suffix,Sue,sue@district.example,active\n",
        &url,
    );
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5080, "Suffix", "Sue", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let entry = dc.search("(employeeID=5080)", &["userPrincipalName"]);
    assert_eq!(
        attribute(&entry, "userPrincipalName").as_deref(),
        Some("e5080@staff.district.example")
    );
    assert!(dc.can_bind("e5080@staff.district.example", GOOD));
    // ChangePassword checks the current password with a bind as e5080@staff.district.example.
    let changed = "Second-Harbor-Lantern-8";
    let op = client
        .change_password(ChangePasswordRequest {
            username: "e5080".into(),
            current_password: GOOD.into(),
            new_password: changed.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(&mut client, &op.id).await.state(),
        OperationState::Succeeded
    );
    assert!(dc.can_bind("e5080@staff.district.example", changed));
}

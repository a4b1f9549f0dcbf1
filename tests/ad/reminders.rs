//! Expiry reminders on Active Directory: with the domain's maximum password age at ten days,
//! a claimed account gets one reminder (AD's own `msDS-UserPasswordExpiryTimeComputed`) over
//! many scans; one whose password never expires (`DONT_EXPIRE_PASSWORD`) gets none.

use std::time::Duration;

use claimd_api::v1::OperationState;
use claimd_testkit::{SambaDc, wait_until};

use crate::harness::{Ad, GOOD, claim, claim_settled};

/// Samba's own default, put back after the case.
const DEFAULT_MAX_AGE_DAYS: &str = "42";

fn scans(logs: &str) -> usize {
    logs.matches("expiry reminder scan done").count()
}

pub async fn reminders_come_once_and_never_for_a_password_that_never_expires(dc: &mut SambaDc) {
    dc.samba_tool(&["domain", "passwordsettings", "set", "--max-pwd-age=10"]);
    let mut ad = Ad::new(
        dc,
        true,
        "5301,Expiring,Eve,eve@district.example,active\n\
         5302,Forever,Fay,fay@district.example,active\n",
    );
    let mut client = ad.client().await;
    // Fay's password is set never to expire before any scan can see it.
    let op = claim_settled(&mut client, claim(5302, "Forever", "Fay", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    dc.samba_tool(&["user", "setexpiry", "e5302", "--noexpiry"]);

    ad.claimd.set_env(
        "CLAIMD__PORTAL__PUBLIC_URL",
        "https://accounts.district.example",
    );
    ad.reconfigure("[reminders]\ndays_before = [14, 7, 1]\nscan_interval_secs = 1\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5301, "Expiring", "Eve", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");

    let within = Duration::from_secs(60);
    let reminders = || {
        ad.smtp
            .messages()
            .into_iter()
            .filter(|m| m.subject.contains("password expires"))
            .collect::<Vec<_>>()
    };
    wait_until("a reminder", within, || !reminders().is_empty());
    let seen = scans(&ad.claimd.logs());
    wait_until("three more scans", within, || {
        scans(&ad.claimd.logs()) >= seen + 3
    });
    let sent = reminders();
    dc.samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        &format!("--max-pwd-age={DEFAULT_MAX_AGE_DAYS}"),
    ]);
    assert_eq!(sent.len(), 1, "one reminder, for Eve only: {sent:#?}");
    assert_eq!(sent[0].to, "eve@district.example");
    assert_eq!(sent[0].subject, "Your district password expires in 10 days");
    assert!(
        sent[0]
            .body
            .contains("https://accounts.district.example/change-password"),
        "{}",
        sent[0].body
    );
    assert!(ad.audit(5301).contains("expiry_reminder"));
    dc.kinit("e5301", GOOD)
        .expect("the password still gets a ticket");
}

//! claimd never locks a domain login, judged by Kerberos: with the domain locking after three
//! wrong passwords, claimd's own wrong checks stop below it, wrong passwords typed elsewhere
//! count before claimd binds, and a login the domain locked is said to be locked.

use claimd_api::v1::{
    ChangePasswordRequest, OperationState, UnlockAccountRequest,
    account_service_client::AccountServiceClient,
};
use claimd_testkit::SambaDc;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::harness::*;

/// The domain's lockout policy while a case runs (three wrong passwords within 30 minutes
/// lock for 30 minutes), put back to "never locks" when it ends, pass or fail.
pub struct DomainLockout<'a>(&'a SambaDc);

impl<'a> DomainLockout<'a> {
    pub fn after(dc: &'a SambaDc, threshold: u32) -> Self {
        set_lockout(dc, threshold);
        Self(dc)
    }
}

impl Drop for DomainLockout<'_> {
    fn drop(&mut self) {
        set_lockout(self.0, 0);
    }
}

fn set_lockout(dc: &SambaDc, threshold: u32) {
    // Thirty minutes, in AD's negative 100-nanosecond ticks.
    let thirty_minutes = -18_000_000_000_i64;
    dc.ldapmodify(&format!(
        "dn: {base}\nchangetype: modify\nreplace: lockoutThreshold\nlockoutThreshold: {threshold}\n-\n\
         replace: lockOutObservationWindow\nlockOutObservationWindow: {thirty_minutes}\n-\n\
         replace: lockoutDuration\nlockoutDuration: {thirty_minutes}\n",
        base = SambaDc::BASE_DN
    ));
}

async fn change(
    client: &mut AccountServiceClient<Channel>,
    username: &str,
    current: &str,
) -> Result<(), Status> {
    client
        .change_password(ChangePasswordRequest {
            username: username.into(),
            current_password: current.into(),
            new_password: "Changed-Meadow-Falcon-64".into(),
        })
        .await
        .map(drop)
}

pub async fn claimd_never_locks_a_domain_login(dc: &mut SambaDc) {
    let ad = Ad::new(
        dc,
        true,
        "5200,Guess,Gil,gil@district.example,active\n\
         5201,Elsewhere,Eve,eve@district.example,active\n\
         5202,Locked,Lou,lou@district.example,active\n\
         5203,Finegrained,Fay,fay@district.example,active\n",
    );
    let mut client = ad.client().await;
    for (id, last, first) in [
        (5200, "Guess", "Gil"),
        (5201, "Elsewhere", "Eve"),
        (5202, "Locked", "Lou"),
        (5203, "Finegrained", "Fay"),
    ] {
        let op = claim_settled(&mut client, claim(id, last, first, GOOD)).await;
        assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    }
    let _policy = DomainLockout::after(dc, 3);

    // Six wrong current passwords: two wrong binds, then refusals before any bind.
    let mut codes = Vec::new();
    for n in 0..6 {
        let status = change(&mut client, "e5200", &format!("Wrong-Password-Try-{n}"))
            .await
            .unwrap_err();
        if status.code() == Code::ResourceExhausted {
            assert!(
                status.get_error_details().retry_info().is_some(),
                "{status:?}"
            );
        }
        codes.push(status.code());
    }
    assert_eq!(
        codes,
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
        ]
    );
    let count = attribute(
        &dc.search("(employeeID=5200)", &["badPwdCount"]),
        "badPwdCount",
    );
    assert_eq!(count.as_deref(), Some("2"), "claimd's wrong binds");
    dc.kinit("e5200", GOOD).expect("the login still works");

    // Two wrong passwords at a workstation: claimd's check would be the third.
    for n in 0..2 {
        assert!(!dc.logs_in("e5201", &format!("Typed-At-A-Workstation-{n}")));
    }
    let status = change(&mut client, "e5201", "Wrong-Password-Try-1")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let count = attribute(
        &dc.search("(employeeID=5201)", &["badPwdCount"]),
        "badPwdCount",
    );
    assert_eq!(count.as_deref(), Some("2"), "claimd bound");
    dc.kinit("e5201", GOOD).expect("the login still works");

    // Locked by three wrong passwords at a workstation: even the right one is refused, in
    // plain words that point to Unlock My Account.
    for n in 0..3 {
        assert!(!dc.logs_in("e5202", &format!("Typed-At-A-Workstation-{n}")));
    }
    let revoked = dc.kinit("e5202", GOOD).unwrap_err();
    assert!(revoked.contains("revoked"), "{revoked}");
    let status = change(&mut client, "e5202", GOOD).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let reason = status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone());
    assert_eq!(reason.as_deref(), Some("DIRECTORY_LOCKED"));
    assert!(status.message().contains("Unlock My Account"), "{status:?}");
    // A fine-grained policy for one person (two wrong passwords lock) overrides the domain's.
    let found = dc.search("(employeeID=5203)", &["dn"]);
    let fay = attribute(&found, "dn").unwrap_or_else(|| panic!("{found}"));
    let pso = fine_grained_policy(dc, 2, &fay);
    let status = change(&mut client, "e5203", "Wrong-Password-Try-1")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = change(&mut client, "e5203", "Wrong-Password-Try-2")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    dc.kinit("e5203", GOOD).expect("the login still works");
    dc.ldapmodify(&format!("dn: {pso}\nchangetype: delete\n"));

    // Lift it for the cases after this one.
    let dn = attribute(&dc.search("(employeeID=5202)", &["dn"]), "dn").unwrap();
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: lockoutTime\nlockoutTime: 0\n"
    ));
}

/// A fine-grained password policy (PSO) applying to `user` alone, locking after `threshold`
/// wrong passwords; its DN.
fn fine_grained_policy(dc: &SambaDc, threshold: u32, user: &str) -> String {
    let container = format!(
        "CN=Password Settings Container,CN=System,{}",
        SambaDc::BASE_DN
    );
    // As on Windows, only administrators may read a PSO's settings: the README asks IT to
    // let claimd's service account (here: Account Operators) read them.
    dc.samba_tool(&[
        "dsacl",
        "set",
        &format!("--objectdn={container}"),
        "--sddl=(A;CI;RPLCLORC;;;AO)",
    ]);
    let dn = format!("CN=Strict Lockout,{container}");
    let thirty_minutes = -18_000_000_000_i64;
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: msDS-PasswordSettings\n\
         msDS-PasswordSettingsPrecedence: 1\nmsDS-PasswordReversibleEncryptionEnabled: FALSE\n\
         msDS-PasswordHistoryLength: 0\nmsDS-PasswordComplexityEnabled: FALSE\n\
         msDS-MinimumPasswordLength: 7\nmsDS-MinimumPasswordAge: 0\n\
         msDS-MaximumPasswordAge: -9223372036854775808\nmsDS-LockoutThreshold: {threshold}\n\
         msDS-LockoutObservationWindow: {thirty_minutes}\nmsDS-LockoutDuration: {thirty_minutes}\n\
         msDS-PSOAppliesTo: {user}\n"
    ));
    dn
}

/// A domain lockout from wrong kinit tries is lifted by Unlock My Account with the answers,
/// and the unchanged password then gets a ticket; a reset lifts it too.
pub async fn unlock_my_account_lifts_a_domain_lockout(dc: &mut SambaDc) {
    let ad = Ad::new(
        dc,
        true,
        "5210,Unlock,Una,una@district.example,active\n\
         5211,Renew,Rae,rae@district.example,active\n",
    );
    let mut client = ad.client().await;
    for (id, last, first) in [(5210, "Unlock", "Una"), (5211, "Renew", "Rae")] {
        let op = claim_settled(&mut client, claim(id, last, first, GOOD)).await;
        assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    }
    let _policy = DomainLockout::after(dc, 3);
    for user in ["e5210", "e5211"] {
        for n in 0..3 {
            assert!(!dc.logs_in(user, &format!("Typed-At-A-Workstation-{n}")));
        }
        let revoked = dc.kinit(user, GOOD).unwrap_err();
        assert!(revoked.contains("revoked"), "{revoked}");
    }

    let mut wrong = answers();
    wrong[0].answer = "Fido".into();
    let refused = client
        .unlock_account(UnlockAccountRequest {
            username: "e5210".into(),
            answers: wrong,
            verification_code: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(dc.kinit("e5210", GOOD).is_err(), "still locked");
    let reply = client
        .unlock_account(UnlockAccountRequest {
            username: "e5210".into(),
            answers: answers(),
            verification_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    dc.kinit("e5210", GOOD)
        .expect("the unchanged password gets a ticket");

    let op = reset_settled(&mut client, "e5211", "Reset-Lantern-Orchid-58").await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    dc.kinit("e5211", "Reset-Lantern-Orchid-58")
        .expect("the reset password gets a ticket at once");
}

/// "User must change password at next logon" (pwdLastSet = 0): Windows and kinit refuse the
/// password until it is changed; ChangePassword with it works, says it was due, and the new
/// password gets a ticket.
pub async fn a_must_change_password_is_changed_and_logs_in(dc: &mut SambaDc) {
    let ad = Ad::new(dc, true, "5220,Mustafa,Cal,cal@district.example,active\n");
    let mut client = ad.client().await;
    let op = claim_settled(&mut client, claim(5220, "Mustafa", "Cal", GOOD)).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let dn = attribute(&dc.search("(employeeID=5220)", &["dn"]), "dn").unwrap();
    dc.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: 0\n"
    ));
    let expired = dc.kinit("e5220", GOOD).unwrap_err();
    assert!(expired.contains("Password expired"), "{expired}");
    let reply = client
        .change_password(ChangePasswordRequest {
            username: "e5220".into(),
            current_password: GOOD.into(),
            new_password: "Changed-Meadow-Falcon-64".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(reply.current_password_expired, "{reply:?}");
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    dc.kinit("e5220", "Changed-Meadow-Falcon-64")
        .expect("the new password gets a ticket");
}

//! One-time codes: a claim code works until it expires, once, and only the newest; a claim
//! uses it up with the claim; verification codes are few, short-lived and used once.

use std::sync::Arc;

use claimd_core::{
    Email, EmployeeId, Store, Username,
    mail::{Mail, MailKind},
    store::{AuditAction, AuditOutcome, ClaimInsert, IssuedCode},
};

use crate::fixtures::*;

fn issued(id: u32, hash: &str, expires_at: i64) -> IssuedCode {
    IssuedCode {
        employee_id: EmployeeId::new(id).unwrap(),
        hash: hash.into(),
        expires_at,
        mail: None,
        audit: audit(T0, AuditAction::ClaimCode, AuditOutcome::Printed),
    }
}

pub async fn claim_codes_expire_are_replaced_and_used_once(store: Arc<dyn Store>) {
    seeded(&*store, &[77777, 77778]).await;
    let id = EmployeeId::new(77777).unwrap();
    let needing = store.entries_needing_codes(0, 10).await.unwrap();
    assert_eq!(needing.len(), 2);
    store
        .issue_claim_codes(&[issued(77777, "old", T0 + 1_000)], T0)
        .await
        .unwrap();
    assert!(store.claim_code_live(id, "old", T0 + 999).await.unwrap());
    assert!(
        !store.claim_code_live(id, "old", T0 + 1_000).await.unwrap(),
        "expired"
    );
    assert!(!store.claim_code_live(id, "other", T0).await.unwrap());
    // Only 77778 still needs one.
    let needing = store.entries_needing_codes(0, 10).await.unwrap();
    assert_eq!(needing.len(), 1);
    assert_eq!(needing[0].employee_id.get(), 77778);

    // Reissued: the old one is dead.
    store
        .issue_claim_codes(&[issued(77777, "new", T0 + 10_000)], T0 + 1)
        .await
        .unwrap();
    assert!(!store.claim_code_live(id, "old", T0 + 2).await.unwrap());
    let mut with_old = claim(77777, T0 + 2);
    with_old.claim_code = Some("old".into());
    assert_eq!(
        store.insert_claim(with_old).await.unwrap(),
        ClaimInsert::CodeRefused
    );
    let mut with_new = claim(77777, T0 + 3);
    with_new.claim_code = Some("new".into());
    assert_eq!(
        store.insert_claim(with_new).await.unwrap(),
        ClaimInsert::Created
    );
    assert!(
        !store.claim_code_live(id, "new", T0 + 4).await.unwrap(),
        "used"
    );
}

pub async fn verification_codes_are_few_and_used_once(store: Arc<dyn Store>) {
    let jane = Username::parse("e77777").unwrap();
    let rick = Username::parse("e77778").unwrap();
    let mail = Mail {
        kind: MailKind::VerificationCode,
        to: Email::parse("jane@home.example").unwrap(),
        subject: "code".into(),
        body: "sealed:v1:00".into(),
    };
    let add = |hash: String, at: i64| {
        let store = store.clone();
        let (jane, mail) = (jane.clone(), mail.clone());
        async move {
            store
                .add_verification_code(
                    &jane,
                    &hash,
                    at + 600_000,
                    &mail,
                    audit(at, AuditAction::VerificationCode, AuditOutcome::Sent),
                    &claimd_core::codes::CodeQuota::default(),
                )
                .await
                .unwrap()
        }
    };
    // Two and a half minutes apart: a code younger than two minutes and unused stops a new one.
    assert!(add("a".into(), T0).await);
    assert!(!add("early".into(), T0 + 60_000).await, "one is on its way");
    assert!(add("b".into(), T0 + 150_000).await);
    assert!(add("c".into(), T0 + 300_000).await);
    assert!(
        !add("d".into(), T0 + 450_000).await,
        "a fourth while three are live"
    );
    let live = |user: Username, hash: &'static str, at: i64| {
        let store = store.clone();
        async move { store.verification_code_live(&user, hash, at).await.unwrap() }
    };
    let take = |user: Username, hash: &'static str, at: i64| {
        let store = store.clone();
        async move { store.take_verification_code(&user, hash, at).await.unwrap() }
    };
    assert!(!live(rick.clone(), "a", T0 + 5).await);
    assert!(!take(rick, "a", T0 + 5).await, "another account's");
    assert!(live(jane.clone(), "a", T0 + 5).await);
    assert!(take(jane.clone(), "a", T0 + 5).await);
    assert!(!live(jane.clone(), "a", T0 + 6).await);
    assert!(!take(jane.clone(), "a", T0 + 6).await, "once");
    assert!(!take(jane.clone(), "b", T0 + 750_001).await, "expired");

    // Expired or used ones no longer count as live: more may be sent, ten in a day at most.
    let mut sent = 3;
    let mut at = T0 + 1_000_000;
    while add(format!("n{sent}"), at).await {
        // Used at once, so only the day's count stops them.
        let hash = format!("n{sent}");
        assert!(
            store
                .take_verification_code(&jane, &hash, at)
                .await
                .unwrap()
        );
        sent += 1;
        at += 1;
        assert!(sent <= 10, "more than ten in a day");
    }
    assert_eq!(sent, 10);
    assert!(add("later".into(), T0 + 86_400_001).await, "a day on");
}

/// A code drawn for someone who claims before it is stored is not stored; a changed
/// personal address ends the code mailed to the old one; a file without the column keeps
/// the addresses on file.
pub async fn codes_follow_the_person_and_their_address(store: Arc<dyn Store>) {
    use claimd_core::store::ImportOptions;
    let mut jane = entry(77777, "Doe", claimd_core::RosterStatus::Active);
    jane.personal_email = Some(Email::parse("jane@home.example").unwrap());
    store
        .import_roster(std::slice::from_ref(&jane), T0)
        .await
        .unwrap();
    store
        .issue_claim_codes(&[issued(77777, "h", T0 + 1_000_000)], T0)
        .await
        .unwrap();
    let id = EmployeeId::new(77777).unwrap();
    assert!(store.claim_code_live(id, "h", T0 + 1).await.unwrap());

    // Re-imported without the column: the address kept, the code alive.
    let mut bare = jane.clone();
    bare.personal_email = None;
    let keep = ImportOptions {
        keep_personal_email: true,
        ..ImportOptions::default()
    };
    let mut rows = std::iter::once(Ok(bare));
    let summary = store
        .import_roster_rows(&mut rows, &keep, T0 + 2)
        .await
        .unwrap();
    assert_eq!(summary.unchanged, 1, "{summary:?}");
    let on_file = store.roster_entry(id).await.unwrap().unwrap();
    assert_eq!(on_file.personal_email, jane.personal_email);
    assert!(store.claim_code_live(id, "h", T0 + 3).await.unwrap());

    // A new address: the code mailed to the old one is dead; the entry needs a new one.
    let mut moved = jane.clone();
    moved.personal_email = Some(Email::parse("jane@new.example").unwrap());
    store.import_roster(&[moved], T0 + 4).await.unwrap();
    assert!(!store.claim_code_live(id, "h", T0 + 5).await.unwrap());
    assert_eq!(store.entries_needing_codes(0, 10).await.unwrap().len(), 1);

    // Claimed before the code is stored: no code, no mail.
    store.insert_claim(claim(77777, T0 + 6)).await.unwrap();
    let stored = store
        .issue_claim_codes(&[issued(77777, "late", T0 + 1_000_000)], T0 + 7)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert!(!store.claim_code_live(id, "late", T0 + 8).await.unwrap());
}

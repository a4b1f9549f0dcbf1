//! One-time codes: a claim code works until it expires, once, and only the newest; a claim
//! uses it up with the claim; verification codes are few, short-lived and used once.

use std::sync::Arc;

use claimd_core::{
    Email, EmployeeId, Store, Username,
    mail::{Mail, MailKind},
    store::{ClaimInsert, IssuedCode},
};

use crate::fixtures::*;

fn issued(id: u32, hash: &str, expires_at: i64) -> IssuedCode {
    IssuedCode {
        employee_id: EmployeeId::new(id).unwrap(),
        hash: hash.into(),
        expires_at,
        mail: None,
        audit: audit(T0, "claim_code", "printed"),
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
    for (i, hash) in ["a", "b", "c"].into_iter().enumerate() {
        let at = T0 + i as i64;
        let added = store
            .add_verification_code(&jane, hash, at + 600_000, &mail, audit(at, "v", "sent"))
            .await
            .unwrap();
        assert!(added, "{hash}");
    }
    assert!(
        !store
            .add_verification_code(&jane, "d", T0 + 600_000, &mail, audit(T0 + 3, "v", "sent"))
            .await
            .unwrap(),
        "a fourth while three are live"
    );
    assert!(
        !store
            .take_verification_code(&rick, "a", T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_verification_code(&jane, "a", T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_verification_code(&jane, "a", T0 + 6)
            .await
            .unwrap(),
        "once"
    );
    assert!(
        !store
            .take_verification_code(&jane, "b", T0 + 600_001)
            .await
            .unwrap(),
        "expired"
    );
    // Expired ones no longer count: a new one may be sent.
    assert!(
        store
            .add_verification_code(
                &jane,
                "e",
                T0 + 1_300_000,
                &mail,
                audit(T0 + 700_000, "v", "sent")
            )
            .await
            .unwrap()
    );
}

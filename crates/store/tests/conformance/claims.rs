//! The roster and claims: imports, one live claim per person.

use std::sync::Arc;

use claimd_core::{
    EmployeeId, RosterStatus, Store,
    store::{ClaimInsert, ClaimState},
};

use crate::fixtures::*;

pub async fn roster_import_counts_and_updates(store: Arc<dyn Store>) {
    let first = store
        .import_roster(
            &[
                entry(1, "Doe", RosterStatus::Active),
                entry(2, "Roe", RosterStatus::Active),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!((first.added, first.updated, first.unchanged), (2, 0, 0));
    let again = store
        .import_roster(
            &[
                entry(1, "Doe", RosterStatus::Active),
                entry(2, "Roe", RosterStatus::Terminated),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 1, 1));
    let two = store
        .roster_entry(EmployeeId::new(2).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.status, RosterStatus::Terminated);
    assert_eq!(two.last_name.as_str(), "Roe");
    assert!(
        store
            .roster_entry(EmployeeId::new(3).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn one_live_claim_per_employee(store: Arc<dyn Store>) {
    seeded(&*store, &[77777]).await;
    assert_eq!(
        store.insert_claim(claim(77777, T0)).await.unwrap(),
        ClaimInsert::Created
    );
    assert_eq!(
        store.insert_claim(claim(77777, T0)).await.unwrap(),
        ClaimInsert::Exists(ClaimState::Pending)
    );
    assert_eq!(
        store
            .live_claim(EmployeeId::new(77777).unwrap())
            .await
            .unwrap(),
        Some(ClaimState::Pending)
    );
}

pub async fn concurrent_claims_of_one_person_admit_one(store: Arc<dyn Store>) {
    seeded(&*store, &[5]).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_claim(claim(5, T0)).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == ClaimInsert::Created {
            created += 1;
        }
    }
    assert_eq!(created, 1);
}

//! The roster and claims: imports, one live claim per person.

use std::sync::Arc;

use claimd_core::{
    EmployeeId, RosterEntry, RosterStatus, Store,
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

/// An import larger than what the store compares at once: a bad row near the end undoes
/// the chunks already written, and a full import finds who is missing across chunks.
pub async fn a_large_import_is_whole_or_nothing(store: Arc<dyn Store>) {
    use claimd_core::{RosterProblem, store::ImportOptions};
    const ROWS: u32 = 5_000;
    let staff = |moved: u32, skip: u32| {
        (1..=ROWS).filter(move |id| *id != skip).map(move |id| {
            entry(
                id,
                if id == moved { "Moved" } else { "Doe" },
                RosterStatus::Active,
            )
        })
    };
    let all: Vec<_> = staff(0, 0).collect();
    assert_eq!(store.import_roster(&all, T0).await.unwrap().added, 5_000);
    store.insert_claim(claim(4_500, T0)).await.unwrap();

    let full = ImportOptions {
        full: true,
        ..ImportOptions::default()
    };
    let mut bad = staff(10, 0).enumerate().map(|(i, entry)| {
        if i == 4_900 {
            Err(vec![RosterProblem {
                line: 4_902,
                message: "status: must be active or terminated".into(),
            }])
        } else {
            Ok(entry)
        }
    });
    let refused = store
        .import_roster_rows(&mut bad, &full, T0 + 1)
        .await
        .unwrap();
    assert!(!refused.applied, "{refused:?}");
    assert_eq!(refused.rows, 5_000);
    assert_eq!(refused.problems.len(), 1);
    let ten = store
        .roster_entry(EmployeeId::new(10).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ten.last_name.as_str(),
        "Doe",
        "a chunk before the bad row was kept"
    );

    // 4,500 left (missing from the whole-staff file); 10 moved.
    let mut good = staff(10, 4_500).map(Ok);
    let summary = store
        .import_roster_rows(&mut good, &full, T0 + 2)
        .await
        .unwrap();
    assert!(
        summary.applied && summary.problems.is_empty(),
        "{summary:?}"
    );
    assert_eq!(
        (summary.updated, summary.unchanged, summary.terminated),
        (2, 4_998, 1)
    );
    assert_eq!(summary.accounts_to_disable(), 1);
    assert_eq!(
        store
            .live_claim(EmployeeId::new(4_500).unwrap())
            .await
            .unwrap(),
        None
    );
    let ten = store
        .roster_entry(EmployeeId::new(10).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ten.last_name.as_str(), "Moved");
}

/// A roster's `site` is stored, updated by a file that has the column (an empty cell
/// clears it), and kept by a file without it (`keep_site`), as the other optional column.
pub async fn sites_are_stored_updated_and_kept_without_the_column(store: Arc<dyn Store>) {
    use claimd_core::{Site, store::ImportOptions};
    let id = EmployeeId::new(1).unwrap();
    let at = |site: &str| RosterEntry {
        site: Site::parse(site).unwrap(),
        ..entry(1, "Doe", RosterStatus::Active)
    };
    let site_of = |store: Arc<dyn Store>| async move {
        let entry = store.roster_entry(id).await.unwrap().unwrap();
        entry.site.map(|s| s.as_str().to_owned())
    };
    store.import_roster(&[at("101")], T0).await.unwrap();
    assert_eq!(site_of(store.clone()).await.as_deref(), Some("101"));

    let moved = store.import_roster(&[at("202")], T0 + 1).await.unwrap();
    assert_eq!(moved.updated, 1, "{moved:?}");
    assert_eq!(site_of(store.clone()).await.as_deref(), Some("202"));

    let keep = ImportOptions {
        keep_site: true,
        ..ImportOptions::default()
    };
    let mut rows = std::iter::once(Ok(at("")));
    let kept = store
        .import_roster_rows(&mut rows, &keep, T0 + 2)
        .await
        .unwrap();
    assert_eq!(kept.unchanged, 1, "{kept:?}");
    assert_eq!(site_of(store.clone()).await.as_deref(), Some("202"));

    store.import_roster(&[at("")], T0 + 3).await.unwrap();
    assert_eq!(
        site_of(store.clone()).await,
        None,
        "an empty cell clears it"
    );
}

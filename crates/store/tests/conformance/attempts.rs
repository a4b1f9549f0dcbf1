//! Failed attempts and the locks they place.

use std::sync::Arc;

use claimd_core::{
    EmployeeId, Store,
    store::{AttemptKey, LockoutPolicy, Reservation},
};

use crate::fixtures::*;

pub async fn failures_lock_accounts_and_addresses(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        address_failures: 7,
        ..LockoutPolicy::default()
    };
    let account = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let other = AttemptKey::Employee(EmployeeId::new(2).unwrap());
    let address = AttemptKey::Address("192.0.2.1".parse().unwrap());
    for i in 0..4 {
        let locks = fail(
            &*store,
            &[account.clone(), address.clone()],
            &policy,
            T0 + i,
        )
        .await;
        assert!(locks.is_empty());
    }
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), T0 + 4)
            .await
            .unwrap(),
        None
    );
    let locks = fail(
        &*store,
        &[account.clone(), address.clone()],
        &policy,
        T0 + 4,
    )
    .await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].key, account);
    let until = T0 + 4 + 15 * 60 * 1000;
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), T0 + 5)
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), until)
            .await
            .unwrap(),
        None,
        "locks end"
    );
    // Two more failures from the same address on another account lock the address (7).
    fail(&*store, &[other.clone(), address.clone()], &policy, T0 + 6).await;
    let locks = fail(&*store, &[other.clone(), address.clone()], &policy, T0 + 7).await;
    assert_eq!(locks.iter().map(|l| &l.key).collect::<Vec<_>>(), [&address]);
    assert!(
        store
            .locked_until(&[other, address], T0 + 8)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn old_and_cleared_failures_do_not_count(store: Arc<dyn Store>) {
    let policy = LockoutPolicy::default();
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let window = 15 * 60 * 1000;
    for i in 0..4 {
        fail(&*store, std::slice::from_ref(&key), &policy, T0 + i).await;
    }
    // Past the window, the first four have expired.
    assert!(
        fail(
            &*store,
            std::slice::from_ref(&key),
            &policy,
            T0 + window + 10
        )
        .await
        .is_empty()
    );
    for i in 0..3 {
        fail(
            &*store,
            std::slice::from_ref(&key),
            &policy,
            T0 + window + 11 + i,
        )
        .await;
    }
    store.clear_failures(&key).await.unwrap();
    assert!(
        fail(
            &*store,
            std::slice::from_ref(&key),
            &policy,
            T0 + window + 20
        )
        .await
        .is_empty()
    );
}

pub async fn endless_failures_lock_until_an_admin_acts(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        account_consecutive_limit: 12,
        ..LockoutPolicy::default()
    };
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let hour = 60 * 60 * 1000;
    let mut last = Vec::new();
    for i in 0..12 {
        // Spread out so the windowed count never reaches five.
        last = fail(&*store, std::slice::from_ref(&key), &policy, T0 + i * hour).await;
    }
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].until, i64::MAX);
    // A year later the account is still locked: time alone never lifts it.
    let year = 365 * 24 * hour;
    let keys = std::slice::from_ref(&key);
    assert_eq!(
        store.locked_until(keys, T0 + year).await.unwrap(),
        Some(i64::MAX)
    );
    // An administrator's unlock does, and the count starts again from zero.
    assert!(
        store
            .unlock(&key, audit(T0 + year, "admin.unlock", "unlocked"))
            .await
            .unwrap()
    );
    assert_eq!(store.locked_until(keys, T0 + year).await.unwrap(), None);
    let again = fail(&*store, keys, &policy, T0 + year + 1).await;
    assert!(again.is_empty(), "{again:?}");
}

/// Thirty simultaneous reservations on one account: five are judged, the rest refused, as if
/// they had come one after another.
pub async fn a_burst_of_reservations_is_judged_like_a_row(store: Arc<dyn Store>) {
    let policy = LockoutPolicy::default();
    let key = AttemptKey::Username(claimd_core::Username::parse("e77777").unwrap());
    let burst = (0..30).map(|_| {
        let store = store.clone();
        let keys = [key.clone()];
        let policy = policy.clone();
        tokio::spawn(async move { store.reserve_attempt(&keys, &policy, T0).await.unwrap() })
    });
    let results: Vec<Reservation> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let granted = results
        .iter()
        .filter(|r| matches!(r, Reservation::Granted(_)))
        .count();
    assert_eq!(granted, 5, "{results:?}");
    let locks: usize = results
        .iter()
        .map(|r| match r {
            Reservation::Granted(t) => t.locks.len(),
            Reservation::Locked { .. } => 0,
        })
        .sum();
    assert_eq!(locks, 1, "the fifth placed the lock");
}

/// A reservation given back (a right secret) leaves no count, no step of the consecutive
/// count and no lock behind; a refused one counts nothing.
pub async fn a_given_back_attempt_leaves_nothing(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        account_consecutive_limit: 6,
        ..LockoutPolicy::default()
    };
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let keys = std::slice::from_ref(&key);
    for i in 0..4 {
        fail(&*store, keys, &policy, T0 + i).await;
    }
    // The fifth would lock; it proves right and is given back.
    let Reservation::Granted(fifth) = store.reserve_attempt(keys, &policy, T0 + 4).await.unwrap()
    else {
        panic!("the fifth attempt is judged")
    };
    assert_eq!(fifth.locks.len(), 1);
    store.give_back(&fifth).await.unwrap();
    assert_eq!(store.locked_until(keys, T0 + 5).await.unwrap(), None);
    // Still four counted in the window: the next failure locks.
    let locks = fail(&*store, keys, &policy, T0 + 6).await;
    assert_eq!(locks.len(), 1);
    // While locked, reservations are refused and count nothing: after the lock the
    // consecutive count is 5 (not 6 plus the refused ones), so one failure does not lock
    // for good.
    for i in 0..10 {
        assert!(matches!(
            store
                .reserve_attempt(keys, &policy, T0 + 7 + i)
                .await
                .unwrap(),
            Reservation::Locked { .. }
        ));
    }
    let after = T0 + 6 + 15 * 60 * 1000;
    assert_eq!(store.locked_until(keys, after).await.unwrap(), None);
    let locks = fail(&*store, keys, &policy, after).await;
    assert_eq!(
        locks.iter().map(|l| l.until).collect::<Vec<_>>(),
        [i64::MAX],
        "the sixth consecutive failure locks until an admin acts"
    );
}

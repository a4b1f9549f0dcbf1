//! Failed attempts and the locks they place.

use std::sync::Arc;

use claimd_core::{
    EmployeeId, Store,
    store::{AttemptKey, LockoutPolicy},
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
        let locks = store
            .record_failure(&[account.clone(), address.clone()], &policy, T0 + i)
            .await
            .unwrap();
        assert!(locks.is_empty());
    }
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), T0 + 4)
            .await
            .unwrap(),
        None
    );
    let locks = store
        .record_failure(&[account.clone(), address.clone()], &policy, T0 + 4)
        .await
        .unwrap();
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
    store
        .record_failure(&[other.clone(), address.clone()], &policy, T0 + 6)
        .await
        .unwrap();
    let locks = store
        .record_failure(&[other.clone(), address.clone()], &policy, T0 + 7)
        .await
        .unwrap();
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
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + i)
            .await
            .unwrap();
    }
    // Past the window, the first four have expired.
    assert!(
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 10)
            .await
            .unwrap()
            .is_empty()
    );
    for i in 0..3 {
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 11 + i)
            .await
            .unwrap();
    }
    store.clear_failures(&key).await.unwrap();
    assert!(
        store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + window + 20)
            .await
            .unwrap()
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
        last = store
            .record_failure(std::slice::from_ref(&key), &policy, T0 + i * hour)
            .await
            .unwrap();
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
    let again = store
        .record_failure(keys, &policy, T0 + year + 1)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

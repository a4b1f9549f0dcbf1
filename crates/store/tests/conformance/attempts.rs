//! Failed attempts and the locks they place.

use std::sync::Arc;

use claimd_core::{
    EmployeeId, Store,
    store::{AttemptKey, AuditAction, AuditOutcome, LockoutPolicy, Reservation},
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
            .locked_until(std::slice::from_ref(&account), &policy, T0 + 4)
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
            .locked_until(std::slice::from_ref(&account), &policy, T0 + 5)
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&account), &policy, until)
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
            .locked_until(&[other, address], &policy, T0 + 8)
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

pub async fn endless_failures_close_the_answers_until_a_code_or_an_admin(store: Arc<dyn Store>) {
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
        store.locked_until(keys, &policy, T0 + year).await.unwrap(),
        Some(i64::MAX)
    );
    // A reset carrying the mailed code is still judged, told that only the code may open
    // it, and the windowed limit still holds for it: five more failures lock it for a while.
    for i in 0..5 {
        let now = T0 + year + i;
        let Reservation::Granted(ticket) = store
            .reserve_attempt(keys, &policy, now, true)
            .await
            .unwrap()
        else {
            panic!("a reset with the code was refused past the limit");
        };
        assert!(ticket.past_limit);
        store.fail_attempt(&ticket, &policy, now).await.unwrap();
    }
    assert!(matches!(
        store.reserve_attempt(keys, &policy, T0 + year + 6, true).await.unwrap(),
        Reservation::Locked { until } if until < i64::MAX
    ));
    let later = T0 + year + hour;
    let Reservation::Granted(right) = store
        .reserve_attempt(keys, &policy, later, true)
        .await
        .unwrap()
    else {
        panic!("the windowed lock did not end");
    };
    // The right code and answers reopen the account for plain attempts too.
    store.give_back(&right, true).await.unwrap();
    assert_eq!(
        store.locked_until(keys, &policy, later).await.unwrap(),
        None
    );
    for i in 0..11 {
        fail(&*store, keys, &policy, later + (i + 1) * hour).await;
    }
    assert_eq!(
        store
            .locked_until(keys, &policy, later + 12 * hour)
            .await
            .unwrap(),
        None,
        "the count started again from zero"
    );
    fail(&*store, keys, &policy, later + 13 * hour).await;
    // An administrator's unlock opens it too, and the count starts again from zero.
    assert!(
        store
            .unlock(
                &key,
                audit(T0 + year, AuditAction::AdminUnlock, AuditOutcome::Done)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.locked_until(keys, &policy, T0 + year).await.unwrap(),
        None
    );
    let again = fail(&*store, keys, &policy, T0 + year + 1).await;
    assert!(again.is_empty(), "{again:?}");
}

/// Thirty simultaneous reservations on one account: five are judged, the rest refused, as if
/// they had come one after another; the five failures lock it once.
pub async fn a_burst_of_reservations_is_judged_like_a_row(store: Arc<dyn Store>) {
    let policy = LockoutPolicy::default();
    let key = AttemptKey::Username(claimd_core::Username::parse("e77777").unwrap());
    let burst: Vec<_> = (0..30)
        .map(|_| {
            let store = store.clone();
            let keys = [key.clone()];
            let policy = policy.clone();
            tokio::spawn(async move {
                store
                    .reserve_attempt(&keys, &policy, T0, false)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = Vec::new();
    for task in burst {
        match task.await.unwrap() {
            Reservation::Granted(ticket) => granted.push(ticket),
            Reservation::Crowded => {}
            locked => panic!("{locked:?}"),
        }
    }
    assert_eq!(granted.len(), 5);
    let mut locks = Vec::new();
    for ticket in &granted {
        locks.extend(store.fail_attempt(ticket, &policy, T0 + 1).await.unwrap());
    }
    assert_eq!(locks.len(), 1, "the fifth failure locks: {locks:?}");
    assert!(matches!(
        store
            .reserve_attempt(&[key], &policy, T0 + 2, false)
            .await
            .unwrap(),
        Reservation::Locked { .. }
    ));
}

/// An attempt given back (a right secret) counts for nothing; refused attempts count nothing.
pub async fn a_given_back_attempt_leaves_nothing(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        account_consecutive_limit: 6,
        ..LockoutPolicy::default()
    };
    let key = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let keys = std::slice::from_ref(&key);
    for i in 0..4 {
        assert!(fail(&*store, keys, &policy, T0 + i).await.is_empty());
    }
    // The fifth is not judged (say, the directory was down): given back, nothing counted.
    let Reservation::Granted(fifth) = store
        .reserve_attempt(keys, &policy, T0 + 4, false)
        .await
        .unwrap()
    else {
        panic!("the fifth attempt is judged")
    };
    store.give_back(&fifth, false).await.unwrap();
    assert_eq!(
        store.locked_until(keys, &policy, T0 + 5).await.unwrap(),
        None
    );
    // Still four failures in the window: the next one locks.
    assert_eq!(fail(&*store, keys, &policy, T0 + 6).await.len(), 1);
    // While locked, reservations are refused and count nothing: after the lock the
    // consecutive count is 5, so one more failure (the sixth) locks for good.
    for i in 0..10 {
        assert!(matches!(
            store
                .reserve_attempt(keys, &policy, T0 + 7 + i, false)
                .await
                .unwrap(),
            Reservation::Locked { .. }
        ));
    }
    let after = T0 + 6 + 15 * 60 * 1000;
    assert_eq!(
        store.locked_until(keys, &policy, after).await.unwrap(),
        None
    );
    let locks = fail(&*store, keys, &policy, after).await;
    assert_eq!(
        locks.iter().map(|l| l.until).collect::<Vec<_>>(),
        [i64::MAX],
        "the sixth consecutive failure locks until an admin acts"
    );
}

/// A proven secret gives its attempt back and clears the account's failures, not the
/// client address's.
pub async fn a_proven_secret_clears_the_account_not_the_address(store: Arc<dyn Store>) {
    let policy = LockoutPolicy {
        address_failures: 6,
        ..LockoutPolicy::default()
    };
    let account = AttemptKey::Employee(EmployeeId::new(1).unwrap());
    let address = AttemptKey::Address("192.0.2.1".parse().unwrap());
    let keys = [account.clone(), address.clone()];
    for i in 0..4 {
        fail(&*store, &keys, &policy, T0 + i).await;
    }
    let Reservation::Granted(right) = store
        .reserve_attempt(&keys, &policy, T0 + 4, false)
        .await
        .unwrap()
    else {
        panic!("judged")
    };
    store.give_back(&right, true).await.unwrap();
    // The account starts again from zero: four more failures do not lock it...
    for i in 0..4 {
        let locks = fail(&*store, std::slice::from_ref(&account), &policy, T0 + 5 + i).await;
        assert!(locks.is_empty(), "{locks:?}");
    }
    // ...but the address still holds its four: two more lock it (six).
    fail(&*store, std::slice::from_ref(&address), &policy, T0 + 10).await;
    let locks = fail(&*store, std::slice::from_ref(&address), &policy, T0 + 11).await;
    assert_eq!(locks.iter().map(|l| &l.key).collect::<Vec<_>>(), [&address]);
}

/// A rate with a window of its own: verification-code offers from one address, 20 an hour.
/// Spread over the hour they still add up, the 20th locks the address's offers for the
/// hour (never more than 20 in one), and other keys are counted in their own window.
pub async fn a_rate_counts_and_locks_over_its_own_window(store: Arc<dyn Store>) {
    let policy = LockoutPolicy::default();
    let offers = AttemptKey::CodeOffer("192.0.2.7".parse().unwrap());
    let minute = 60_000;
    // Twenty offers, three minutes apart: past the 15-minute window of failures, within the
    // hour of offers.
    for i in 0..20 {
        let locks = fail(
            &*store,
            std::slice::from_ref(&offers),
            &policy,
            T0 + i * 3 * minute,
        )
        .await;
        assert_eq!(locks.is_empty(), i < 19, "offer {i}");
    }
    let last = T0 + 19 * 3 * minute;
    let hour = 60 * minute;
    assert_eq!(
        store
            .reserve_attempt(
                std::slice::from_ref(&offers),
                &policy,
                last + hour - 1,
                false
            )
            .await
            .unwrap(),
        Reservation::Locked { until: last + hour }
    );
    assert!(matches!(
        store
            .reserve_attempt(std::slice::from_ref(&offers), &policy, last + hour, false)
            .await
            .unwrap(),
        Reservation::Granted(_)
    ));
}

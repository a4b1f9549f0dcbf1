//! The helpdesk's sessions and name search, and the audit's actor.

use std::{sync::Arc, time::Duration};

use claimd_core::{
    PersonName, RosterEntry, RosterStatus, Site, Store,
    helpdesk::Sites,
    store::{AuditAction, AuditOutcome, HelperSession, SessionLimits},
};

use crate::fixtures::{T0, audit, entry};

const MINUTE: i64 = 60_000;

fn session(sites: Sites, at: i64) -> HelperSession {
    HelperSession {
        login: "tech101".into(),
        dn: "uid=tech101,ou=people,dc=example,dc=org".into(),
        sites,
        started_at: at,
        seen_at: at,
    }
}

fn sites(codes: &[&str]) -> Sites {
    Sites::parse(&codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()).unwrap()
}

pub async fn a_session_ends_idle_at_its_limit_or_on_sign_out(store: Arc<dyn Store>) {
    let limits = SessionLimits::default();
    let scope = sites(&["101", "102"]);
    store
        .open_session("idle", &session(scope.clone(), T0), &limits)
        .await
        .unwrap();
    let seen = store
        .touch_session("idle", T0 + 14 * MINUTE, &limits)
        .await
        .unwrap()
        .expect("used within 15 minutes");
    assert_eq!(seen.sites, scope);
    assert_eq!(seen.login, "tech101");
    assert_eq!(seen.seen_at, T0 + 14 * MINUTE);
    assert!(
        store
            .touch_session("idle", T0 + 28 * MINUTE, &limits)
            .await
            .unwrap()
            .is_some(),
        "idle time counts from the last use"
    );
    assert_eq!(
        store
            .touch_session("idle", T0 + 43 * MINUTE + 1, &limits)
            .await
            .unwrap(),
        None,
        "15 minutes unused end it"
    );
    assert_eq!(
        store
            .touch_session("idle", T0 + 30 * MINUTE, &limits)
            .await
            .unwrap(),
        None,
        "an ended session is gone, whatever clock asks next"
    );

    // Used every ten minutes, it still ends 8 hours after sign-in.
    store
        .open_session("long", &session(Sites::All, T0), &limits)
        .await
        .unwrap();
    let mut at = T0;
    while at + 10 * MINUTE < T0 + 8 * 60 * MINUTE {
        at += 10 * MINUTE;
        assert!(
            store
                .touch_session("long", at, &limits)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        store
            .touch_session("long", T0 + 8 * 60 * MINUTE, &limits)
            .await
            .unwrap(),
        None
    );

    store
        .open_session("out", &session(Sites::All, T0), &limits)
        .await
        .unwrap();
    store.close_session("out").await.unwrap();
    store.close_session("out").await.unwrap();
    assert_eq!(
        store.touch_session("out", T0 + 1, &limits).await.unwrap(),
        None
    );
    assert_eq!(
        store.touch_session("never", T0, &limits).await.unwrap(),
        None
    );
    let short = SessionLimits {
        idle: Duration::from_secs(1),
        max: Duration::from_secs(2),
    };
    assert_eq!(short.open_since(10_000), (9_000, 8_000));
}

pub async fn people_are_found_by_name_within_the_scope(store: Arc<dyn Store>) {
    let person = |id: u32, last: &str, first: &str, site: &str| RosterEntry {
        first_name: PersonName::parse(first).unwrap(),
        site: Site::parse(site).unwrap(),
        ..entry(id, last, RosterStatus::Active)
    };
    store
        .import_roster(
            &[
                person(1, "Garcia", "Ana", "101"),
                person(2, "Garcia", "Luis", "202"),
                person(3, "Gardner", "Sam", "102"),
                person(4, "Ng", "Gary", ""),
                person(5, "Dia_z", "Ana", "101"),
            ],
            T0,
        )
        .await
        .unwrap();
    let ids = |found: Vec<RosterEntry>| {
        found
            .iter()
            .map(|e| e.employee_id.get())
            .collect::<Vec<_>>()
    };
    let tech = sites(&["101", "102"]);
    assert_eq!(
        ids(store.people_named("gar", &tech, 10).await.unwrap()),
        [1, 3],
        "last names, case-blind, only sites 101 and 102"
    );
    assert_eq!(
        ids(store.people_named("GAR", &Sites::All, 10).await.unwrap()),
        [1, 2, 3, 4],
        "the district sees every site and people with none; first names count"
    );
    assert_eq!(
        ids(store.people_named("gar", &Sites::All, 2).await.unwrap()),
        [1, 2]
    );
    assert_eq!(
        ids(store.people_named("dia_", &Sites::All, 10).await.unwrap()),
        [5]
    );
    assert!(
        store
            .people_named("di%", &Sites::All, 10)
            .await
            .unwrap()
            .is_empty(),
        "a typed % is a letter, not a pattern"
    );
    assert!(
        store
            .people_named("gar", &sites(&["303"]), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn the_audit_names_who_acted(store: Arc<dyn Store>) {
    let mut event = audit(T0, AuditAction::AdminUnlock, AuditOutcome::Done);
    event.actor = Some("helpdesk:tech101".into());
    event.reason = Some("called from the front office".into());
    store.record_audit(event).await.unwrap();
    store
        .record_audit(audit(T0 + 1, AuditAction::Claim, AuditOutcome::Accepted))
        .await
        .unwrap();
    let rows = store.audit_rows(None, 2).await.unwrap();
    assert_eq!(rows[0].actor, None, "a person's own request");
    assert_eq!(rows[1].actor.as_deref(), Some("helpdesk:tech101"));
    assert_eq!(
        rows[1].reason.as_deref(),
        Some("called from the front office")
    );
}

//! A helpdesk helper's sign-in against a real slapd and the SQLite store: a campus tech in a
//! helpdesk group signs in with their own directory password and gets a session with their
//! group's sites; a wrong password is refused and counted, and the sixth try in the window is
//! refused without a bind; a directory user in no helpdesk group is refused without their
//! password ever being tried (no bind in slapd's log); sign-out ends the session.

use std::sync::Arc;

use claimd_core::{
    Accounts, AccountsDeps, AnswerHasher, Error, Events, MailWriter, Sealer, Store,
    admission::{AdmissionPolicy, CpuPool},
    helpdesk::{Helpdesk, HelpdeskDeps, HelperGroup, SignIn, Sites},
    store::SessionLimits,
};
use claimd_ldap::{DirectorySettings, Flavor, LdapDirectory};
use claimd_testkit::Slapd;
use secrecy::{ExposeSecret, SecretString};

const SUFFIX: &str = "dc=example,dc=org";
const TECH_PASSWORD: &str = "Campus-Tech-Ladder-61";
const CLERK_PASSWORD: &str = "Front-Desk-Window-83";

fn user_dn(uid: &str) -> String {
    format!("uid={uid},{}", Slapd::USERS_BASE_DN)
}

/// tech101 in techs-101; clerk9, a directory user in no helpdesk group.
fn people(slapd: &Slapd) {
    let tech = user_dn("tech101");
    let clerk = user_dn("clerk9");
    slapd.add(&format!(
        "dn: {tech}\nobjectClass: inetOrgPerson\nuid: tech101\ncn: Terry Tech\nsn: Tech\n\
         userPassword: {TECH_PASSWORD}\n\n\
         dn: {clerk}\nobjectClass: inetOrgPerson\nuid: clerk9\ncn: Cleo Clerk\nsn: Clerk\n\
         userPassword: {CLERK_PASSWORD}\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: cn=techs-101,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: techs-101\n\
         member: {tech}\n"
    ));
}

async fn helpdesk(slapd: &Slapd, dir: &tempfile::TempDir) -> (Helpdesk, Arc<dyn Store>) {
    helpdesk_lasting(slapd, dir, SessionLimits::default()).await
}

async fn helpdesk_lasting(
    slapd: &Slapd,
    dir: &tempfile::TempDir,
    limits: SessionLimits,
) -> (Helpdesk, Arc<dyn Store>) {
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let store: Arc<dyn Store> = Arc::new(claimd_store::SqliteStore::connect(&url).await.unwrap());
    let directory = Arc::new(
        LdapDirectory::new(DirectorySettings {
            flavor: Flavor::OpenLdap,
            urls: vec![slapd.url()],
            bind_dn: Slapd::SERVICE_DN.into(),
            bind_password: SecretString::from(Slapd::SERVICE_PASSWORD),
            users_base_dn: Slapd::USERS_BASE_DN.into(),
            ca_file: None,
            starttls: false,
            allow_insecure_directory: true,
            timeout: std::time::Duration::from_secs(5),
            upn_suffix: None,
            adopt_used_accounts: false,
            protected_groups: Vec::new(),
            ppolicy_default_dn: None,
        })
        .unwrap(),
    );
    let accounts = Accounts::new(AccountsDeps {
        store: store.clone(),
        policy: Arc::new(Default::default()),
        hasher: AnswerHasher::new(None),
        sealer: Arc::new(Sealer::from_key(&[7; 32])),
        events: Arc::new(Events::default()),
        directory: directory.clone(),
        mail: Arc::new(MailWriter::new("District IT")),
        cpu: Arc::new(CpuPool::new(&AdmissionPolicy::default())),
    })
    .unwrap();
    let sites = Sites::parse(&["101".into(), "102".into()]).unwrap();
    let desk = Helpdesk::new(HelpdeskDeps {
        accounts: Arc::new(accounts),
        store: store.clone(),
        helpers: directory,
        groups: vec![HelperGroup {
            group: format!("cn=techs-101,ou=groups,{SUFFIX}"),
            sites,
        }],
        limits,
        codes: None,
    });
    (desk, store)
}

fn sign_in(username: &str, password: &str) -> SignIn {
    SignIn {
        username: username.into(),
        password: SecretString::from(password),
    }
}

fn client() -> Option<std::net::IpAddr> {
    Some("10.1.2.3".parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tech_signs_in_with_their_own_password_and_others_are_refused() {
    let slapd = Slapd::start();
    people(&slapd);
    let dir = tempfile::tempdir().unwrap();
    let (desk, store) = helpdesk(&slapd, &dir).await;

    let signed_in = desk
        .sign_in(sign_in("Tech101", TECH_PASSWORD), client())
        .await
        .expect("the tech's own password signs them in");
    assert_eq!(signed_in.session.login, "tech101");
    assert_eq!(
        format!("{:?}", signed_in.session.sites),
        r#"["101", "102"]"#
    );
    let token = signed_in.token.expose_secret().to_owned();
    let open = desk.session(&token).await.unwrap().expect("open");
    assert_eq!(open.dn, user_dn("tech101"));

    // A directory user in no helpdesk group: refused like a wrong password, never bound as.
    let binds = slapd.operations("BIND", &user_dn("clerk9"));
    assert_eq!(
        desk.sign_in(sign_in("clerk9", CLERK_PASSWORD), client())
            .await
            .unwrap_err(),
        Error::Unauthenticated
    );
    assert_eq!(
        slapd.operations("BIND", &user_dn("clerk9")),
        binds,
        "the password of someone who is not a helper is never tried"
    );
    assert_eq!(
        desk.sign_in(sign_in("nobody", "Whatever-Password-1"), client())
            .await
            .unwrap_err(),
        Error::Unauthenticated
    );

    // Wrong passwords count against the login typed; the limit then refuses even the right
    // one, without a bind.
    for _ in 0..5 {
        assert_eq!(
            desk.sign_in(sign_in("tech101", "Not-The-Password-1"), client())
                .await
                .unwrap_err(),
            Error::Unauthenticated
        );
    }
    let binds = slapd.operations("BIND", &user_dn("tech101"));
    assert!(matches!(
        desk.sign_in(sign_in("TECH101", TECH_PASSWORD), client())
            .await
            .unwrap_err(),
        Error::LockedOut { .. }
    ));
    assert_eq!(slapd.operations("BIND", &user_dn("tech101")), binds);

    let audit = store.audit_rows(None, 50).await.unwrap();
    let rows: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "helpdesk.sign_in")
        .collect();
    assert!(
        rows.iter()
            .any(|r| r.actor.as_deref() == Some("helpdesk:tech101") && r.outcome == "accepted"),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.actor.as_deref() == Some("helpdesk:clerk9")
                && r.reason.as_deref() == Some("not in a helpdesk group")),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.reason.as_deref() == Some("wrong password")),
        "{rows:#?}"
    );
    assert!(
        !format!("{audit:?}").contains(TECH_PASSWORD) && !format!("{audit:?}").contains(&token),
        "no secret in the audit"
    );

    desk.sign_out(&token).await.unwrap();
    assert_eq!(desk.session(&token).await.unwrap(), None, "signed out");
    assert_eq!(desk.session("not-a-token").await.unwrap(), None);
}

/// A session ends once unused for its idle time, and at its lifetime however busy (here a
/// second and three, for 15 minutes and 8 hours).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_when_idle_and_at_its_lifetime() {
    use std::time::{Duration, Instant};

    let slapd = Slapd::start();
    people(&slapd);
    let dir = tempfile::tempdir().unwrap();
    let limits = SessionLimits {
        idle: Duration::from_secs(1),
        max: Duration::from_secs(3),
    };
    let (desk, _store) = helpdesk_lasting(&slapd, &dir, limits).await;

    // Left alone past its idle time: over.
    let idle = desk
        .sign_in(sign_in("tech101", TECH_PASSWORD), client())
        .await
        .unwrap()
        .token;
    let idle = idle.expose_secret().to_owned();
    assert!(desk.session(&idle).await.unwrap().is_some());
    // The idle time itself is what is waited for.
    tokio::time::sleep(limits.idle + Duration::from_millis(300)).await;
    assert_eq!(desk.session(&idle).await.unwrap(), None, "idle too long");

    // Used every few hundred milliseconds: open until its lifetime, then over.
    let busy = desk
        .sign_in(sign_in("tech101", TECH_PASSWORD), client())
        .await
        .unwrap()
        .token;
    let busy = busy.expose_secret().to_owned();
    let started = Instant::now();
    while desk.session(&busy).await.unwrap().is_some() {
        assert!(
            started.elapsed() < limits.max + Duration::from_secs(2),
            "still open past its lifetime"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(started.elapsed() >= limits.max - Duration::from_millis(300));
}

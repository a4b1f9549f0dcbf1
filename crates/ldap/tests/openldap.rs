//! The openldap writer against a real slapd started by the test harness.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use async_trait::async_trait;
use claimd_core::{
    Account, DirectoryError, DirectoryJob, DirectoryWriter, Email, EmployeeId, EntryLedger,
    JobKind, OperationId, PersonName, Username,
};
use claimd_ldap::{DirectorySettings, LdapDirectory};
use claimd_testkit::Slapd;
use common::settings;
use secrecy::SecretString;

mod common;

fn job(id: u32, last: &str, first: &str) -> DirectoryJob {
    DirectoryJob {
        id: OperationId::new(),
        kind: JobKind::Provision,
        account: Account {
            username: Username::parse(&format!("e{id}")).unwrap(),
            employee_id: EmployeeId::new(id).unwrap(),
            first_name: PersonName::parse(first).unwrap(),
            last_name: PersonName::parse(last).unwrap(),
            email: Email::parse(&format!("e{id}@district.example")).unwrap(),
        },
        rehire: false,
        entry: None,
    }
}

/// The store's part in a claim, in memory: the entry a job's try records is given to the
/// job's next try, as the store gives it with the lease.
static RECORDED: LazyLock<Mutex<HashMap<OperationId, String>>> = LazyLock::new(Default::default);

struct Recorder(OperationId);

#[async_trait]
impl EntryLedger for Recorder {
    async fn record(&self, entry: &str) -> Result<(), DirectoryError> {
        RECORDED.lock().unwrap().insert(self.0, entry.to_owned());
        Ok(())
    }
}

/// One try of `job`, as the worker makes it.
async fn apply(
    dir: &LdapDirectory,
    job: &DirectoryJob,
    password: Option<&SecretString>,
) -> Result<(), DirectoryError> {
    let mut job = job.clone();
    job.entry = RECORDED.lock().unwrap().get(&job.id).cloned();
    dir.apply(&job, password, &Recorder(job.id)).await
}

/// The entry holds one password, stored with a hashing scheme (`{SSHA}…`), never as typed.
fn assert_server_hashed(slapd: &Slapd, dn: &str, password: &str) {
    let values = slapd.attribute_values(dn, "userPassword");
    assert_eq!(values.len(), 1, "one userPassword on {dn}");
    let stored = String::from_utf8_lossy(&values[0]);
    let scheme = stored
        .strip_prefix('{')
        .and_then(|rest| rest.split_once('}'))
        .map(|(scheme, _)| scheme);
    assert!(
        matches!(scheme, Some("SSHA" | "SSHA512" | "ARGON2" | "CRYPT"))
            || scheme.is_some_and(|s| s.starts_with("PBKDF2")),
        "userPassword is not a server-side hash: {:?}",
        scheme
    );
    assert!(!stored.contains(password));
}

fn user_dn(id: u32) -> String {
    format!("uid=e{id},{}", Slapd::USERS_BASE_DN)
}

#[tokio::test]
async fn provision_creates_the_entry_and_the_user_binds_and_twice_is_once() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let job = job(77777, "Doe", "Jane");
    apply(
        &dir,
        &job,
        Some(&SecretString::from("Correct-Horse-Battery-9")),
    )
    .await
    .unwrap();
    let ldif = slapd.search(Slapd::USERS_BASE_DN, "(uid=e77777)", &["*"]);
    for line in [
        "dn: uid=e77777,ou=people,dc=example,dc=org",
        "objectClass: inetOrgPerson",
        "uid: e77777",
        "cn: Jane Doe",
        "sn: Doe",
        "givenName: Jane",
        "mail: e77777@district.example",
        "employeeNumber: 77777",
    ] {
        assert!(
            ldif.lines().any(|l| l == line),
            "missing {line:?} in\n{ldif}"
        );
    }
    assert_server_hashed(&slapd, &user_dn(77777), "Correct-Horse-Battery-9");
    assert!(slapd.can_bind(&user_dn(77777), "Correct-Horse-Battery-9"));

    apply(
        &dir,
        &job,
        Some(&SecretString::from("Correct-Horse-Battery-9")),
    )
    .await
    .unwrap();
    assert_eq!(
        slapd
            .search(Slapd::USERS_BASE_DN, "(employeeNumber=77777)", &["uid"])
            .matches("dn: ")
            .count(),
        1
    );
    assert!(slapd.can_bind(&user_dn(77777), "Correct-Horse-Battery-9"));
}

#[tokio::test]
async fn names_with_ldap_syntax_are_written_and_found_exactly() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    apply(
        &dir,
        &job(1, "Smith)(uid=*", "Al"),
        Some(&SecretString::from("Correct-Horse-Battery-1")),
    )
    .await
    .unwrap();
    apply(
        &dir,
        &job(2, "O'Brien, Jr.", "Pat"),
        Some(&SecretString::from("Correct-Horse-Battery-2")),
    )
    .await
    .unwrap();
    apply(
        &dir,
        &job(3, "Smith", "Bo"),
        Some(&SecretString::from("Correct-Horse-Battery-3")),
    )
    .await
    .unwrap();
    let found = slapd.search(
        Slapd::USERS_BASE_DN,
        // Written by hand (RFC 4515), not by the escaper under test.
        r"(sn=Smith\29\28uid=\2a)",
        &["uid"],
    );
    assert_eq!(found.matches("dn: ").count(), 1, "{found}");
    assert!(found.contains("uid: e1"));
    let found = slapd.search(Slapd::USERS_BASE_DN, "(sn=O'Brien, Jr.)", &["cn"]);
    assert!(found.contains("cn: Pat O'Brien, Jr."), "{found}");
}

#[tokio::test]
async fn a_password_the_server_refuses_is_a_permanent_readable_failure() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let short = "Zq8#mv2Lp"; // passes claimd's policy, shorter than the server's.
    assert!(short.len() < Slapd::POLICY_MIN_LENGTH);
    let err = apply(
        &dir,
        &job(5, "Doe", "Jane"),
        Some(&SecretString::from(short)),
    )
    .await
    .unwrap_err();
    let DirectoryError::Permanent { reason } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        reason,
        "the directory refused the password: it does not meet the directory's password policy"
    );
    assert!(!reason.contains(short));
    // A later try with a good password completes the same entry.
    apply(
        &dir,
        &job(5, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-5")),
    )
    .await
    .unwrap();
    assert!(slapd.can_bind(&user_dn(5), "Correct-Horse-Battery-5"));
}

#[tokio::test]
async fn a_stopped_directory_is_transient_and_the_connection_recovers() {
    let mut slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    apply(
        &dir,
        &job(6, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-6")),
    )
    .await
    .unwrap();
    slapd.stop();
    let err = apply(
        &dir,
        &job(7, "Roe", "Rick"),
        Some(&SecretString::from("Correct-Horse-Battery-7")),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    slapd.resume();
    apply(
        &dir,
        &job(7, "Roe", "Rick"),
        Some(&SecretString::from("Correct-Horse-Battery-7")),
    )
    .await
    .unwrap();
    assert!(slapd.can_bind(&user_dn(7), "Correct-Horse-Battery-7"));
}

#[tokio::test]
async fn an_entry_of_another_employee_is_never_taken_over() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    apply(
        &dir,
        &job(8, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-8")),
    )
    .await
    .unwrap();
    let mut other = job(9, "Roe", "Rick");
    other.account.username = Username::parse("e8").unwrap();
    let err = apply(
        &dir,
        &other,
        Some(&SecretString::from("Correct-Horse-Battery-9")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DirectoryError::Permanent { .. }), "{err:?}");
    assert!(slapd.can_bind(&user_dn(8), "Correct-Horse-Battery-8"));
}

#[tokio::test]
async fn an_entry_without_an_employee_number_is_never_taken_over() {
    let slapd = Slapd::start();
    // An account IT made by hand with claimd's username but no employeeNumber.
    slapd.add(&format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: e11\ncn: Hand Made\nsn: Made\n\
         userPassword: Hand-Made-Password-11\n",
        dn = user_dn(11)
    ));
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let err = apply(
        &dir,
        &job(11, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-1")),
    )
    .await
    .unwrap_err();
    let DirectoryError::Permanent { reason } = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("no employee number"), "{reason}");
    assert!(slapd.can_bind(&user_dn(11), "Hand-Made-Password-11"));
    assert!(!slapd.can_bind(&user_dn(11), "Correct-Horse-Battery-1"));
    let entry = slapd.search(&user_dn(11), "(objectClass=*)", &["sn", "employeeNumber"]);
    assert!(
        entry.contains("sn: Made") && !entry.contains("employeeNumber"),
        "{entry}"
    );
}

/// An entry made before rollout for this person (their names and number) that someone
/// already logs in with.
fn pre_made(slapd: &Slapd, id: u32, password: Option<&str>) {
    let password = password.map_or(String::new(), |p| format!("userPassword: {p}\n"));
    slapd.add(&format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: e{id}\ncn: Jane Doe\nsn: Doe\n\
         givenName: Jane\nemployeeNumber: {id}\nmail: owner@district.example\n{password}",
        dn = user_dn(id)
    ));
}

#[tokio::test]
async fn an_entry_in_use_is_not_taken_over_by_names_and_id() {
    let slapd = Slapd::start();
    pre_made(&slapd, 200101, Some("Owners-Own-Password-1"));
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let claim = job(200101, "Doe", "Jane");
    let err = apply(
        &dir,
        &claim,
        Some(&SecretString::from("Attackers-Choice-9")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        DirectoryError::Permanent {
            reason: claimd_core::reasons::ACCOUNT_USED.into()
        }
    );
    assert!(slapd.can_bind(&user_dn(200101), "Owners-Own-Password-1"));
    assert!(!slapd.can_bind(&user_dn(200101), "Attackers-Choice-9"));
    let entry = slapd.search(&user_dn(200101), "(objectClass=*)", &["mail"]);
    assert!(entry.contains("mail: owner@district.example"), "{entry}");
    // Nothing was recorded for the claim: a later try is refused the same way.
    assert!(!RECORDED.lock().unwrap().contains_key(&claim.id));

    // A district that allows it (accounts.adopt_used_accounts) takes it over.
    let mut adopting = settings(&slapd);
    adopting.adopt_used_accounts = true;
    let dir = LdapDirectory::new(adopting).unwrap();
    apply(
        &dir,
        &claim,
        Some(&SecretString::from("Claimants-Choice-9")),
    )
    .await
    .unwrap();
    assert!(slapd.can_bind(&user_dn(200101), "Claimants-Choice-9"));
}

#[tokio::test]
async fn a_pre_made_entry_nobody_uses_is_claimed_and_its_retry_goes_on() {
    let slapd = Slapd::start();
    pre_made(&slapd, 200102, None);
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let claim = job(200102, "Doe", "Jane");
    apply(
        &dir,
        &claim,
        Some(&SecretString::from("Claimants-Choice-2")),
    )
    .await
    .unwrap();
    assert!(slapd.can_bind(&user_dn(200102), "Claimants-Choice-2"));
    let entry = slapd.search(&user_dn(200102), "(objectClass=*)", &["mail"]);
    assert!(entry.contains("mail: e200102@district.example"), "{entry}");
    // The entry was recorded before the password: the claim's own retry (a crash before its
    // end was stored) is not refused for the password it set itself.
    assert!(RECORDED.lock().unwrap().contains_key(&claim.id));
    apply(
        &dir,
        &claim,
        Some(&SecretString::from("Claimants-Choice-2")),
    )
    .await
    .unwrap();
    // Another claim of the same person (say after IT released this one) is not this one.
    let again = job(200102, "Doe", "Jane");
    let err = apply(&dir, &again, Some(&SecretString::from("Someone-Else-3")))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::Permanent { .. }), "{err:?}");
    assert!(slapd.can_bind(&user_dn(200102), "Claimants-Choice-2"));
}

#[tokio::test]
async fn a_wrong_service_password_is_retried_not_blamed_on_the_person() {
    let slapd = Slapd::start();
    let mut s = settings(&slapd);
    s.bind_password = SecretString::from("not-the-password");
    let dir = LdapDirectory::new(s).unwrap();
    let err = apply(
        &dir,
        &job(10, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-0")),
    )
    .await
    .unwrap_err();
    let DirectoryError::Transient { reason } = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("service account bind failed"), "{reason}");
    assert!(!reason.contains("not-the-password"));
}

/// Several URLs: the first that answers is used, in the order given; when it stops, the
/// next one takes the writes.
#[tokio::test]
async fn writes_go_to_the_first_server_that_answers_in_order() {
    let mut first = Slapd::start();
    let second = Slapd::start();
    // Port 1 (tcpmux) has no server on these machines: refused at once.
    let dead = "ldap://127.0.0.1:1".to_owned();
    let dir = LdapDirectory::new(DirectorySettings {
        urls: vec![dead, first.url(), second.url()],
        ..settings(&first)
    })
    .unwrap();
    apply(
        &dir,
        &job(13, "Doe", "Jane"),
        Some(&SecretString::from("Correct-Horse-Battery-3")),
    )
    .await
    .unwrap();
    assert!(first.can_bind(&user_dn(13), "Correct-Horse-Battery-3"));
    assert!(!second.can_bind(&user_dn(13), "Correct-Horse-Battery-3"));

    first.stop();
    // The connection to the stopped server breaks; one write may be lost to it (transient),
    // and the next goes to the second server.
    let job14 = job(14, "Roe", "Rick");
    let password = SecretString::from("Correct-Horse-Battery-4");
    if let Err(e) = apply(&dir, &job14, Some(&password)).await {
        assert!(e.is_retryable(), "{e:?}");
        apply(&dir, &job14, Some(&password)).await.unwrap();
    }
    assert!(second.can_bind(&user_dn(14), "Correct-Horse-Battery-4"));
}

#[test]
fn clear_text_to_a_remote_directory_is_refused() {
    let s = DirectorySettings {
        urls: vec!["ldap://ldap.district.example".into()],
        ..settings(&Slapd::start())
    };
    assert_eq!(
        LdapDirectory::new(s).unwrap_err().key,
        "allow_insecure_directory"
    );
}

/// A group IT keeps its own administrators in, listed in `accounts.protected_groups`.
const ADMINS: &str = "cn=it-admins,dc=example,dc=org";

fn protecting(slapd: &Slapd, groups: &[&str]) -> LdapDirectory {
    let mut s = settings(slapd);
    s.protected_groups = groups.iter().map(|g| (*g).to_owned()).collect();
    LdapDirectory::new(s).unwrap()
}

#[tokio::test]
async fn a_member_of_a_protected_group_is_never_claimed_reset_or_disabled() {
    let slapd = Slapd::start();
    pre_made(&slapd, 300301, Some("Admins-Own-Password-1"));
    slapd.add(&format!(
        "dn: {ADMINS}\nobjectClass: groupOfNames\ncn: it-admins\nmember: {}\n",
        user_dn(300301)
    ));
    let dir = protecting(&slapd, &[ADMINS]);
    let refused = DirectoryError::Permanent {
        reason: claimd_core::reasons::ACCOUNT_PRIVILEGED.into(),
    };
    let claim = job(300301, "Doe", "Jane");
    let password = SecretString::from("Attackers-Choice-9");
    // Even where the district lets used entries be claimed.
    let mut adopting = settings(&slapd);
    adopting.adopt_used_accounts = true;
    adopting.protected_groups = vec![ADMINS.into()];
    let adopting = LdapDirectory::new(adopting).unwrap();
    assert_eq!(
        apply(&adopting, &claim, Some(&password)).await.unwrap_err(),
        refused
    );
    for kind in [JobKind::ResetPassword, JobKind::DisableAccount] {
        let mut later = job(300301, "Doe", "Jane");
        later.kind = kind;
        assert_eq!(
            apply(&dir, &later, Some(&password)).await.unwrap_err(),
            refused,
            "{kind:?}"
        );
    }
    assert!(slapd.can_bind(&user_dn(300301), "Admins-Own-Password-1"));
    let checker: &dyn claimd_core::PasswordChecker = &dir;
    assert!(checker.is_protected(&claim.account, None).await.unwrap());
    let someone = job(300302, "Roe", "Rick");
    assert!(!checker.is_protected(&someone.account, None).await.unwrap());
    apply(&dir, &someone, Some(&password)).await.unwrap();

    // A protected group that is not there protects nobody: the job waits, naming the key.
    let dir = protecting(&slapd, &["cn=no-such-group,dc=example,dc=org"]);
    let err = apply(&dir, &job(300303, "Poe", "Pat"), Some(&password))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Transient { reason } if reason.contains("accounts.protected_groups")),
        "{err:?}"
    );
}

#[tokio::test]
async fn later_writes_go_only_to_the_entry_the_claim_took() {
    let slapd = Slapd::start();
    let dir = LdapDirectory::new(settings(&slapd)).unwrap();
    let claim = job(300401, "Doe", "Jane");
    apply(
        &dir,
        &claim,
        Some(&SecretString::from("Claimants-Choice-1")),
    )
    .await
    .unwrap();
    let taken = RECORDED.lock().unwrap().get(&claim.id).cloned();
    assert!(taken.is_some(), "the claim recorded its entry");
    // IT deletes the entry and makes another with the same uid and number, for someone to
    // use: a reset for the old claim must not land there.
    slapd.add(&format!("dn: {}\nchangetype: delete\n", user_dn(300401)));
    pre_made(&slapd, 300401, Some("Someone-Elses-Password-1"));
    for kind in [
        JobKind::ResetPassword,
        JobKind::UpdateAccount,
        JobKind::DisableAccount,
    ] {
        let mut later = job(300401, "Doe", "Jane");
        later.kind = kind;
        later.entry = taken.clone();
        let err = dir
            .apply(
                &later,
                Some(&SecretString::from("Attackers-Choice-9")),
                &Recorder(later.id),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            DirectoryError::Permanent {
                reason: claimd_core::reasons::ENTRY_REPLACED.into()
            },
            "{kind:?}"
        );
    }
    assert!(slapd.can_bind(&user_dn(300401), "Someone-Elses-Password-1"));
    let entry = slapd.search(&user_dn(300401), "(objectClass=*)", &["mail"]);
    assert!(entry.contains("mail: owner@district.example"), "{entry}");
}

//! The worker, one step at a time, between a real SQLite store and a real slapd.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use claimd_core::{
    AccountPolicy, Accounts, AccountsDeps, AnswerHasher, ClaimRequest, Email, EmployeeId, Events,
    MailWriter, OperationState, PersonName, RosterEntry, RosterStatus, Sealer, TypedAnswer,
    store::{ClaimState, ClaimStore, RosterStore},
};
use claimd_ldap::{DirectorySettings, Flavor, LdapDirectory};
use claimd_store::SqliteStore;
use claimd_sync::{Step, SyncConfig, Worker};
use claimd_testkit::Slapd;
use secrecy::SecretString;

struct Rig {
    slapd: Slapd,
    store: Arc<SqliteStore>,
    accounts: Accounts,
    worker: Worker,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let slapd = Slapd::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
            .await
            .unwrap(),
    );
    let entry = RosterEntry {
        employee_id: EmployeeId::new(77777).unwrap(),
        last_name: PersonName::parse("Doe").unwrap(),
        first_name: PersonName::parse("Jane").unwrap(),
        email: Email::parse("jane.doe@district.example").unwrap(),
        status: RosterStatus::Active,
        personal_email: None,
        site: None,
    };
    store.import_roster(&[entry], 0).await.unwrap();
    let sealer = Arc::new(Sealer::from_key(&[9; 32]));
    let events = Arc::new(Events::default());
    let directory = LdapDirectory::new(DirectorySettings {
        flavor: Flavor::OpenLdap,
        urls: vec![slapd.url()],
        bind_dn: Slapd::SERVICE_DN.into(),
        bind_password: SecretString::from(Slapd::SERVICE_PASSWORD),
        users_base_dn: Slapd::USERS_BASE_DN.into(),
        ca_file: None,
        starttls: false,
        allow_insecure_directory: true,
        timeout: Duration::from_secs(5),
        upn_suffix: None,
        adopt_used_accounts: false,
        protected_groups: Vec::new(),
        ppolicy_default_dn: None,
    })
    .unwrap();
    let directory = Arc::new(directory);
    let mail = Arc::new(MailWriter::new("District IT"));
    let accounts = Accounts::new(AccountsDeps {
        store: store.clone(),
        policy: Arc::new(AccountPolicy::default()),
        hasher: AnswerHasher::new(None),
        sealer: sealer.clone(),
        events: events.clone(),
        directory: directory.clone(),
        mail: mail.clone(),
        cpu: Arc::new(claimd_core::admission::CpuPool::new(&Default::default())),
    })
    .unwrap();
    let config = SyncConfig {
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..SyncConfig::default()
    };
    let worker = Worker::new(store.clone(), directory, sealer, events, mail, config);
    Rig {
        slapd,
        store,
        accounts,
        worker,
        _dir: dir,
    }
}

fn request(password: &str) -> ClaimRequest {
    let answer = |q: &str, a: &str| TypedAnswer {
        question_id: q.into(),
        answer: SecretString::from(a),
    };
    ClaimRequest {
        last_name: "Doe".into(),
        first_name: "Jane".into(),
        employee_id: "077777".into(),
        password: SecretString::from(password),
        answers: vec![
            answer("first-pet", "Rex"),
            answer("birth-city", "Atlanta"),
            answer("first-car", "Ford Focus"),
        ],
        claim_code: SecretString::default(),
    }
}

const DN: &str = "uid=e77777,ou=people,dc=example,dc=org";

#[tokio::test]
async fn a_claim_becomes_an_account_the_user_can_bind_with() {
    let rig = rig().await;
    let receipt = rig
        .accounts
        .claim(request("Correct-Horse-Battery-9"), None)
        .await
        .unwrap();
    assert_eq!(receipt.username.as_str(), "e77777");
    assert_eq!(rig.worker.step().await.unwrap(), Step::Succeeded);
    assert_eq!(rig.worker.step().await.unwrap(), Step::Idle);
    let op = rig
        .accounts
        .operation(&receipt.operation.id.to_string())
        .await
        .unwrap();
    assert_eq!(op.state, OperationState::Succeeded);
    assert_eq!(
        rig.store
            .live_claim(EmployeeId::new(77777).unwrap())
            .await
            .unwrap(),
        Some(ClaimState::Active)
    );
    assert!(rig.slapd.can_bind(DN, "Correct-Horse-Battery-9"));
}

#[tokio::test]
async fn an_outage_is_retried_until_the_directory_is_back() {
    let mut rig = rig().await;
    rig.slapd.stop();
    let receipt = rig
        .accounts
        .claim(request("Correct-Horse-Battery-9"), None)
        .await
        .unwrap();
    assert_eq!(rig.worker.step().await.unwrap(), Step::Retrying);
    let op = rig
        .accounts
        .operation(&receipt.operation.id.to_string())
        .await
        .unwrap();
    assert_eq!(op.state, OperationState::Pending);
    rig.slapd.resume();
    // Due again after the (short) backoff: step until it succeeds, within a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    while rig.worker.step().await.unwrap() != Step::Succeeded {
        assert!(
            Instant::now() < deadline,
            "the retried job did not succeed in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rig.slapd.can_bind(DN, "Correct-Horse-Battery-9"));
}

#[tokio::test]
async fn a_refused_password_fails_the_operation_and_frees_the_entry() {
    let rig = rig().await;
    // Good enough for claimd's policy, too short for the directory's (12).
    let receipt = rig
        .accounts
        .claim(request("Zq8#mv2Lp-x"), None)
        .await
        .unwrap();
    assert_eq!(rig.worker.step().await.unwrap(), Step::Failed);
    let op = rig
        .accounts
        .operation(&receipt.operation.id.to_string())
        .await
        .unwrap();
    assert_eq!(op.state, OperationState::Failed);
    assert_eq!(
        op.reason.as_deref(),
        Some(
            "the directory refused the password: it does not meet the directory's password policy"
        )
    );
    assert_eq!(
        rig.store
            .live_claim(EmployeeId::new(77777).unwrap())
            .await
            .unwrap(),
        None
    );

    let again = rig
        .accounts
        .claim(request("Correct-Horse-Battery-9"), None)
        .await
        .unwrap();
    assert_eq!(rig.worker.step().await.unwrap(), Step::Succeeded);
    let op = rig
        .accounts
        .operation(&again.operation.id.to_string())
        .await
        .unwrap();
    assert_eq!(op.state, OperationState::Succeeded);
    assert!(rig.slapd.can_bind(DN, "Correct-Horse-Battery-9"));
}

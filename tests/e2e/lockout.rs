//! claimd never locks a directory login (DESIGN.md, "The directory"): against slapd with
//! the ppolicy overlay locking after three wrong passwords, claimd's own wrong binds stop
//! below the threshold, a count already made elsewhere is respected before any bind, and a
//! login the directory has locked is said to be locked, in plain words. Unlock My Account
//! (and a reset) lifts such a lock; the password stays.

use std::time::{Duration, Instant};

use claimd_api::v1::{
    ChallengeAnswer, ChangePasswordRequest, CompletePasswordResetRequest, OperationState,
    UnlockAccountRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::Slapd;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::{
    client::{answers, settle},
    harness::{App, PASSWORD, claim_ok, jane},
    web::{form_tokens, get, header, post},
};

const NEW_PASSWORD: &str = "Lantern-Orchid-Compass-42";

/// slapd's default policy, as IT would set it: three wrong passwords within ten minutes
/// lock the login for ten minutes.
fn lock_after_three(app: &App) {
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdLockout\npwdLockout: TRUE\n-\n\
         add: pwdMaxFailure\npwdMaxFailure: 3\n-\nadd: pwdFailureCountInterval\n\
         pwdFailureCountInterval: 600\n-\nadd: pwdLockoutDuration\npwdLockoutDuration: 600\n",
        Slapd::DEFAULT_POLICY_DN
    ));
}

async fn claimed_under_lockout() -> (App, AccountServiceClient<Channel>) {
    let app = App::start_with(&[(
        "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
        Slapd::DEFAULT_POLICY_DN,
    )])
    .await;
    claim_then_lockout(app).await
}

async fn claim_then_lockout(app: App) -> (App, AccountServiceClient<Channel>) {
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), claimd_api::v1::OperationState::Succeeded);
    lock_after_three(&app);
    (app, client)
}

async fn change(client: &mut AccountServiceClient<Channel>, current: &str) -> Result<(), Status> {
    client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: current.into(),
            new_password: NEW_PASSWORD.into(),
        })
        .await
        .map(drop)
}

fn jane_dn() -> String {
    format!("uid=e77777,{}", Slapd::USERS_BASE_DN)
}

fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// Six wrong ChangePassword calls: two are judged (two wrong binds, below the threshold of
/// three), the rest refused before any bind with RESOURCE_EXHAUSTED and a retry time. The
/// login still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_wrong_current_passwords_never_lock_the_login() {
    let (app, mut client) = claimed_under_lockout().await;
    let binds_before = app.slapd.operations("BIND", &jane_dn());
    let mut codes = Vec::new();
    for n in 0..6 {
        let status = change(&mut client, &format!("Wrong-Password-Try-{n}"))
            .await
            .unwrap_err();
        if status.code() == Code::ResourceExhausted {
            assert!(
                status.get_error_details().retry_info().is_some(),
                "{status:?}"
            );
        }
        codes.push(status.code());
    }
    assert_eq!(
        codes,
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
            Code::ResourceExhausted,
        ]
    );
    assert_eq!(
        app.slapd.operations("BIND", &jane_dn()) - binds_before,
        2,
        "claimd bound past the lockout threshold"
    );
    let entry = app
        .slapd
        .search(&jane_dn(), "(objectClass=*)", &["pwdAccountLockedTime"]);
    assert!(!entry.contains("pwdAccountLockedTime"), "{entry}");
    assert!(app.can_login("e77777", PASSWORD));
}

/// Two wrong passwords typed elsewhere (a workstation): claimd's next check would be the
/// third, so it is refused before any bind; the login still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_made_elsewhere_count_before_claimd_binds() {
    let (app, mut client) = claimed_under_lockout().await;
    for n in 0..2 {
        assert!(!app.can_login("e77777", &format!("Typed-At-A-Workstation-{n}")));
    }
    let binds_before = app.slapd.operations("BIND", &jane_dn());
    let status = change(&mut client, "Wrong-Password-Try-1")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo");
    assert!(retry.as_secs() > 500 && retry.as_secs() <= 600, "{retry:?}");
    assert_eq!(app.slapd.operations("BIND", &jane_dn()), binds_before);
    assert!(app.can_login("e77777", PASSWORD));
}

/// A login the directory locked (three wrong passwords at a workstation) answers even the
/// right password with FAILED_PRECONDITION that says so and points to Unlock My Account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_the_directory_locked_is_said_to_be_locked() {
    let (app, mut client) = claimed_under_lockout().await;
    for n in 0..3 {
        assert!(!app.can_login("e77777", &format!("Typed-At-A-Workstation-{n}")));
    }
    assert!(
        !app.can_login("e77777", PASSWORD),
        "ppolicy locked the login"
    );
    let status = change(&mut client, PASSWORD).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), "DIRECTORY_LOCKED");
    assert!(status.message().contains("Unlock My Account"), "{status:?}");
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("the directory has locked the login"),
        "{audit}"
    );
}

/// Locks Jane's login as a workstation would: three wrong passwords.
fn lock_jane(app: &App) {
    for n in 0..3 {
        assert!(!app.can_login("e77777", &format!("Typed-At-A-Workstation-{n}")));
    }
    assert!(
        !app.can_login("e77777", PASSWORD),
        "ppolicy locked the login"
    );
}

fn lock_attributes(app: &App) -> String {
    app.slapd.search(
        &jane_dn(),
        "(objectClass=*)",
        &["pwdAccountLockedTime", "pwdFailureTime"],
    )
}

fn unlock(username: &str, answers: Vec<ChallengeAnswer>) -> UnlockAccountRequest {
    UnlockAccountRequest {
        username: username.into(),
        answers,
        verification_code: String::new(),
    }
}

fn wrong_answers() -> Vec<ChallengeAnswer> {
    let mut wrong = answers();
    wrong[0].answer = "Fido".into();
    wrong
}

/// Unlock My Account: wrong answers and an unknown username get one and the same refusal;
/// the right answers lift ppolicy's lock (and its count) and nothing else: the password
/// that was locked out logs in again, and the person is told by mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_my_account_lifts_the_lock_and_keeps_the_password() {
    let (app, mut client) = claimed_under_lockout().await;
    lock_jane(&app);
    let wrong = client
        .unlock_account(unlock("e77777", wrong_answers()))
        .await
        .unwrap_err();
    let unknown = client
        .unlock_account(unlock("e999999", answers()))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    assert_eq!(
        (unknown.code(), unknown.message()),
        (wrong.code(), wrong.message())
    );
    assert!(lock_attributes(&app).contains("pwdAccountLockedTime"));

    let reply = client
        .unlock_account(unlock("e77777", answers()))
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let left = lock_attributes(&app);
    assert!(
        !left.contains("pwdAccountLockedTime") && !left.contains("pwdFailureTime"),
        "{left}"
    );
    assert!(app.can_login("e77777", PASSWORD), "the same password");
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("unlock_account") && audit.contains("directory.unlock_account"),
        "{audit}"
    );
    let mails = app.smtp.wait_for(2, Duration::from_secs(20));
    let notice = mails
        .iter()
        .find(|m| m.subject == "Your district account was unlocked")
        .expect("an unlock notice");
    assert_eq!(notice.to, "jane.doe@district.example");
    assert!(notice.body.contains("e77777") && notice.body.contains("unchanged"));
}

/// Forgot My Password lifts the lock too: the new password logs in at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_lifts_the_directory_lock() {
    let (app, mut client) = claimed_under_lockout().await;
    lock_jane(&app);
    let reply = client
        .complete_password_reset(CompletePasswordResetRequest {
            username: "e77777".into(),
            answers: answers(),
            new_password: NEW_PASSWORD.into(),
            verification_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(!lock_attributes(&app).contains("pwdAccountLockedTime"));
    assert!(app.can_login("e77777", NEW_PASSWORD));
}

/// The page `/unlock`: the username, the person's three questions, then a page that follows
/// the directory job to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unlock_page_asks_the_questions_and_follows_the_unlock() {
    let app = App::with_portal_and(&[(
        "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
        Slapd::DEFAULT_POLICY_DN,
    )])
    .await;
    let (app, _client) = claim_then_lockout(app).await;
    lock_jane(&app);
    let (_, _, home) = get(&app.portal_listen, "/");
    assert!(home.contains("href=\"/unlock\""), "{home}");
    let (_, headers, body) = get(&app.portal_listen, "/unlock");
    let (cookie, token) = form_tokens(&headers, &body);
    let (status, _, body) = post(
        &app.portal_listen,
        "/unlock",
        &cookie,
        &[
            ("csrf", token.as_str()),
            ("step", "username"),
            ("username", "e77777"),
        ],
    );
    assert_eq!(status, 200);
    assert!(body.contains("action=\"/unlock\""), "{body}");
    assert!(
        !body.contains("new_password"),
        "an unlock sets no password: {body}"
    );
    let form = [
        ("csrf", token.as_str()),
        ("step", "answers"),
        ("username", "e77777"),
        ("question_1", "first-pet"),
        ("answer_1", "Rex the Dog"),
        ("question_2", "birth-city"),
        ("answer_2", "Jonesboro"),
        ("question_3", "first-car"),
        ("answer_3", "Ford Focus"),
    ];
    let (status, headers, _) = post(&app.portal_listen, "/unlock", &cookie, &form);
    assert_eq!(status, 303);
    let location = header(&headers, "location").unwrap().to_owned();
    assert!(location.starts_with("/unlock/done?op="), "{location}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, body) = get(&app.portal_listen, &location);
        if body.contains("Your Account Is Unlocked") {
            break;
        }
        assert!(body.contains("Unlocking your account"), "{body}");
        assert!(Instant::now() < deadline, "the unlock never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(app.can_login("e77777", PASSWORD));
}

/// A password an administrator set with `pwdReset: TRUE` (ppolicy's "must change at first
/// use") is changed with ChangePassword, which says it was due; the new password binds and
/// is not itself taken for one that must be changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_must_change_password_is_changed_and_said_to_be_due() {
    let (app, mut client) = claimed_under_lockout().await;
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdMustChange\npwdMustChange: TRUE\n",
        Slapd::DEFAULT_POLICY_DN
    ));
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n",
        jane_dn()
    ));
    change_when_due(&mut client).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
    let entry = app
        .slapd
        .search(&jane_dn(), "(objectClass=*)", &["pwdReset"]);
    assert!(!entry.contains("pwdReset"), "{entry}");
}

/// A password past `pwdMaxAge`, with grace logins left: ChangePassword (its bind is a grace
/// login) sets the new one and says the old had expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_password_with_grace_logins_is_changed() {
    let (app, mut client) = claimed_under_lockout().await;
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdMaxAge\npwdMaxAge: 1\n-\n\
         add: pwdGraceAuthNLimit\npwdGraceAuthNLimit: 3\n",
        Slapd::DEFAULT_POLICY_DN
    ));
    // pwdChangedTime has whole seconds: two seconds on, the password is past its age.
    let expired_at = Instant::now() + Duration::from_secs(2);
    claimd_testkit::wait_until("the password to expire", Duration::from_secs(10), || {
        Instant::now() >= expired_at
    });
    change_when_due(&mut client).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
}

/// ChangePassword from the right current password, which the directory calls due: the reply
/// says so and the new password is written.
async fn change_when_due(client: &mut AccountServiceClient<Channel>) {
    let reply = client
        .change_password(ChangePasswordRequest {
            username: "e77777".into(),
            current_password: PASSWORD.into(),
            new_password: NEW_PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(reply.current_password_expired, "{reply:?}");
    let op = settle(client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
}

//! HR's roster as the source of truth after a claim: leavers lose their login, movers' names
//! and mail reach the directory, rehires claim again, and a dry run or a truncated full export
//! changes nothing.

use std::{fs, time::Duration};

use claimd_api::v1::{
    BeginPasswordResetRequest, ChangePasswordRequest, ClaimAccountRequest,
    CompletePasswordResetRequest, OperationState, RecoverUsernameRequest,
    UpdateChallengeAnswersRequest, account_service_client::AccountServiceClient,
};
use claimd_testkit::{Slapd, wait_until};
use nix::sys::signal::Signal;
use tonic::{Code, transport::Channel};

use crate::harness::{App, PASSWORD, answers, claim_ok, jane, settle, wait_retrying};

const HEADER: &str = "employee_id,last_name,first_name,email,status\n";
const JANE: &str = "077777,Doe,Jane,jane.doe@district.example,active\n";
const ROY: &str = "000555,Roe,Roy,roy.roe@district.example,active\n";
const JANE_LEFT: &str = "077777,Doe,Jane,jane.doe@district.example,terminated\n";

/// claimd with Jane (077777) and Roy (000555) claimed and written.
async fn two_claimed(env: &[(&str, &str)]) -> (App, AccountServiceClient<Channel>) {
    let app = App::start_with(env).await;
    app.import_roster(&format!("{HEADER}{ROY}"));
    let mut client = app.client().await;
    for request in [
        jane(),
        ClaimAccountRequest {
            last_name: "Roe".into(),
            first_name: "Roy".into(),
            employee_id: "000555".into(),
            ..jane()
        },
    ] {
        let reply = claim_ok(&mut client, request).await;
        let op = settle(&mut client, &reply.operation.unwrap().id).await;
        assert_eq!(op.state(), OperationState::Succeeded);
    }
    (app, client)
}

/// `claimd roster import` with `args`, returning (success, everything printed).
fn import(app: &App, csv: &str, args: &[&str]) -> (bool, String) {
    let path = app.dir().join("import.csv");
    fs::write(&path, csv).unwrap();
    let mut all = vec!["roster", "import", path.to_str().unwrap()];
    all.extend(args);
    let out = app.claimd(&all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Waits (with a deadline) until `username` can no longer log in with `password`.
fn wait_login_refused(app: &App, username: &str, password: &str) {
    wait_until(
        &format!("{username}'s login to stop working"),
        Duration::from_secs(30),
        || !app.can_login(username, password),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_loses_the_login_and_self_service_and_a_queued_reset_is_cancelled() {
    let (mut app, mut client) = two_claimed(&[]).await;
    // A reset waits for the directory when HR's file says Jane has left.
    app.slapd.stop();
    let reset = client
        .complete_password_reset(CompletePasswordResetRequest {
            username: "e77777".into(),
            answers: answers(),
            new_password: "Violet-Harbor-Compass-31".into(),
            verification_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    wait_retrying(&mut client, &reset.id).await;
    let (ok, out) = import(&app, &format!("{HEADER}{JANE_LEFT}"), &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 terminated") && out.contains("1 to disable"),
        "{out}"
    );
    app.slapd.resume();

    let op = settle(&mut client, &reset.id).await;
    assert_eq!(op.state(), OperationState::Failed);
    assert_eq!(op.reason, claimd_core::reasons::LEFT);
    wait_login_refused(&app, "e77777", PASSWORD);
    assert!(!app.can_login("e77777", "Violet-Harbor-Compass-31"));
    assert!(app.can_login("e555", PASSWORD), "Roy is untouched");

    // Self-service answers as for a name nobody ever claimed: the same code and message
    // for every call, and decoy questions.
    let mut replies = Vec::new();
    for username in ["e77777", "e424242"] {
        let change = client
            .change_password(ChangePasswordRequest {
                username: username.into(),
                current_password: PASSWORD.into(),
                new_password: "Violet-Harbor-Compass-31".into(),
            })
            .await
            .unwrap_err();
        let reset = client
            .complete_password_reset(CompletePasswordResetRequest {
                username: username.into(),
                answers: answers(),
                new_password: "Violet-Harbor-Compass-31".into(),
                verification_code: String::new(),
            })
            .await
            .unwrap_err();
        let update = client
            .update_challenge_answers(UpdateChallengeAnswersRequest {
                username: username.into(),
                password: PASSWORD.into(),
                answers: answers(),
            })
            .await
            .unwrap_err();
        let shapes: Vec<(Code, String)> = [change, reset, update]
            .iter()
            .map(|s| (s.code(), s.message().to_owned()))
            .collect();
        for (code, _) in &shapes {
            assert_eq!(*code, Code::Unauthenticated, "{username}: {shapes:?}");
        }
        replies.push(shapes);
    }
    assert_eq!(replies[0], replies[1], "a leaver and a never-claimed name");
    let leaver_questions = questions(&mut client, "e77777").await;
    let mails_before = app.smtp.messages().len();
    client
        .recover_username(RecoverUsernameRequest {
            email: "jane.doe@district.example".into(),
        })
        .await
        .unwrap();
    // A username mail for Roy shows the sender is running; none went to Jane.
    client
        .recover_username(RecoverUsernameRequest {
            email: "roy.roe@district.example".into(),
        })
        .await
        .unwrap();
    let mails = app.smtp.wait_for(mails_before + 1, Duration::from_secs(20));
    assert!(
        mails[mails_before..]
            .iter()
            .all(|m| !m.to.contains("jane.doe")),
        "no username mail for a leaver"
    );
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(text.contains("roster.disable"), "{text}");

    // The questions are e77777's decoys: what the same seal key gives that username in a
    // store where nobody ever claimed it.
    app.stop_with(Signal::SIGTERM);
    let fresh = format!("sqlite://{}/never-claimed.db", app.dir().display());
    app.claimd.set_env("CLAIMD__STORE__URL", &fresh);
    app.launch().await;
    let mut client = app.client().await;
    assert_eq!(questions(&mut client, "e77777").await, leaver_questions);
}

/// The question ids BeginPasswordReset offers for `username`.
async fn questions(client: &mut AccountServiceClient<Channel>, username: &str) -> Vec<String> {
    let questions = client
        .begin_password_reset(BeginPasswordResetRequest {
            username: username.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .questions;
    assert_eq!(questions.len(), 3, "{username}");
    questions.into_iter().map(|q| q.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mover_s_names_and_mail_reach_the_directory_and_the_password_still_works() {
    let (app, _client) = two_claimed(&[]).await;
    let (ok, out) = import(
        &app,
        &format!("{HEADER}077777,Doe-Smith,Janet,janet.smith@district.example,active\n"),
        &[],
    );
    assert!(ok && out.contains("1 to update"), "{out}");
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    wait_until("the entry to be updated", Duration::from_secs(30), || {
        app.slapd
            .search(&dn, "(objectClass=*)", &["sn"])
            .contains("sn: Doe-Smith")
    });
    let entry = app.slapd.search(
        &dn,
        "(objectClass=*)",
        &["sn", "givenName", "mail", "cn", "uid"],
    );
    for line in [
        "sn: Doe-Smith",
        "givenName: Janet",
        "mail: janet.smith@district.example",
        "cn: Janet Doe-Smith",
        "uid: e77777",
    ] {
        assert!(entry.lines().any(|l| l == line), "{line} in {entry}");
    }
    assert!(app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehire_claims_again_with_a_new_password() {
    let (app, mut client) = two_claimed(&[]).await;
    let (ok, out) = import(&app, &format!("{HEADER}{JANE_LEFT}"), &[]);
    assert!(ok, "{out}");
    wait_login_refused(&app, "e77777", PASSWORD);
    let status = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "a leaver cannot claim");
    let (ok, out) = import(&app, &format!("{HEADER}{JANE}"), &[]);
    assert!(ok, "{out}");
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            password: "Second-Term-Lantern-8".into(),
            ..jane()
        },
    )
    .await;
    assert_eq!(reply.username, "e77777");
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(app.can_login("e77777", "Second-Term-Lantern-8"));
    assert!(!app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_import_disables_the_missing_and_refuses_a_truncated_file() {
    let (app, _client) = two_claimed(&[("CLAIMD__ROSTER__MAX_DISABLE_PERCENT", "60")]).await;
    // Both missing: 2 of 2 accounts, past the guard. Nothing changes.
    let (ok, out) = import(&app, HEADER, &["--full"]);
    assert!(!ok && out.contains("--allow-mass-disable"), "{out}");
    assert!(out.contains("nothing was imported"), "{out}");
    assert!(app.can_login("e77777", PASSWORD) && app.can_login("e555", PASSWORD));
    // A dry run prints the plan and changes nothing.
    let (ok, out) = import(&app, &format!("{HEADER}{ROY}"), &["--full", "--dry-run"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("disable e77777 (employee 077777): missing from a full import"),
        "{out}"
    );
    assert!(out.contains("dry run, nothing changed"), "{out}");
    // Neither the refused import nor the dry run queued anything: no disable in the audit.
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(!audit.contains("roster.disable"), "{audit}");
    assert!(app.can_login("e77777", PASSWORD));
    // Jane missing: 1 of 2, within 60 %: disabled; Roy stays.
    let (ok, out) = import(&app, &format!("{HEADER}{ROY}"), &["--full"]);
    assert!(ok && out.contains("1 to disable"), "{out}");
    wait_login_refused(&app, "e77777", PASSWORD);
    assert!(app.can_login("e555", PASSWORD));
    // The guard gives way when asked.
    let (ok, out) = import(&app, HEADER, &["--full", "--allow-mass-disable"]);
    assert!(ok && out.contains("1 to disable"), "{out}");
    wait_login_refused(&app, "e555", PASSWORD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_the_directory_is_down_land_when_it_returns() {
    let (mut app, _client) = two_claimed(&[]).await;
    app.slapd.stop();
    let (ok, out) = import(&app, &format!("{HEADER}{JANE_LEFT}"), &[]);
    assert!(ok, "{out}");
    wait_until("a failed disable", Duration::from_secs(30), || {
        app.logs().contains("directory write failed, will retry")
    });
    app.slapd.resume();
    wait_login_refused(&app, "e77777", PASSWORD);
    assert!(app.can_login("e555", PASSWORD));
}

/// With ppolicy locking (`pwdLockout`) and a policy that refuses the random password claimd
/// ends a leaver's login with (`pwdMaxLength: 40`, as a district's quality rule might), the
/// leaver still loses the login: the entry is locked until an administrator lifts it, and the
/// disable succeeds. A rehire's claim lifts that lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_loses_the_login_even_when_ppolicy_refuses_the_random_password() {
    let (app, mut client) = two_claimed(&[(
        "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
        Slapd::DEFAULT_POLICY_DN,
    )])
    .await;
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdLockout\npwdLockout: TRUE\n-\n\
         add: pwdMaxLength\npwdMaxLength: 40\n",
        Slapd::DEFAULT_POLICY_DN
    ));
    let (ok, out) = import(&app, &format!("{HEADER}{JANE_LEFT}"), &[]);
    assert!(ok, "{out}");
    wait_login_refused(&app, "e77777", PASSWORD);
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    wait_until("the disable to end", Duration::from_secs(30), || {
        let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
        String::from_utf8_lossy(&audit.stdout).contains("directory.disable_account")
    });
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    let disable = audit
        .lines()
        .find(|l| l.contains("directory.disable_account"))
        .unwrap();
    assert!(disable.contains("succeeded"), "{audit}");
    let entry = app
        .slapd
        .search(&dn, "(objectClass=*)", &["pwdAccountLockedTime"]);
    assert!(
        entry.contains("pwdAccountLockedTime: 000001010000Z"),
        "{entry}"
    );

    let (ok, out) = import(&app, &format!("{HEADER}{JANE}"), &[]);
    assert!(ok, "{out}");
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            password: "Second-Term-Lantern-8".into(),
            ..jane()
        },
    )
    .await;
    let op = settle(&mut client, &reply.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    assert!(app.can_login("e77777", "Second-Term-Lantern-8"));
}

/// With ppolicy locking and a random password the policy accepts (the usual case), the
/// leaver's entry still ends locked until an administrator lifts it: slapd's ppolicy drops
/// `pwdAccountLockedTime` when a password is set, so the lock must outlast the new password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_stays_locked_by_ppolicy_after_the_random_password() {
    let (app, _client) = two_claimed(&[(
        "CLAIMD__DIRECTORY__PPOLICY_DEFAULT_DN",
        Slapd::DEFAULT_POLICY_DN,
    )])
    .await;
    app.slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: pwdLockout\npwdLockout: TRUE\n",
        Slapd::DEFAULT_POLICY_DN
    ));
    let (ok, out) = import(&app, &format!("{HEADER}{JANE_LEFT}"), &[]);
    assert!(ok, "{out}");
    wait_until("the disable to end", Duration::from_secs(30), || {
        let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
        String::from_utf8_lossy(&audit.stdout).contains("directory.disable_account")
    });
    wait_login_refused(&app, "e77777", PASSWORD);
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    let entry = app
        .slapd
        .search(&dn, "(objectClass=*)", &["pwdAccountLockedTime"]);
    assert!(
        entry.contains("pwdAccountLockedTime: 000001010000Z"),
        "{entry}"
    );
}

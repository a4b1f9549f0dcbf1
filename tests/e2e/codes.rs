//! Proof beyond names (issue 13): claim codes HR sends to the personal address (or prints),
//! and Forgot My Password's code mailed there, through the real binary, slapd and SMTP.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use claimd_api::v1::{
    BeginPasswordResetRequest, ClaimAccountRequest, CompletePasswordResetRequest, OperationState,
};
use claimd_testkit::ReceivedMail;
use tonic::Code;

use crate::harness::{App, PASSWORD, answers, claim_ok, jane, settle};

const MAIL_WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "Violet-Harbor-Compass-31";

/// Jane with a personal address; Rick without one.
const ROSTER: &str = "employee_id,last_name,first_name,email,status,personal_email\n\
                      077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n\
                      077778,Roe,Rick,rick.roe@district.example,active,\n";

fn rick() -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: "Roe".into(),
        first_name: "Rick".into(),
        employee_id: "077778".into(),
        ..jane()
    }
}

/// The line after `marker` in a mail body.
fn after<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {body}"))
        + marker.len();
    body[start..].lines().next().unwrap().trim()
}

/// Waits (with a deadline) for mail number `seen + 1` to `to`, and returns it.
fn wait_mail_to(app: &App, to: &str, seen: usize) -> ReceivedMail {
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    loop {
        if let Some(mail) = mails_to(app, to).into_iter().nth(seen) {
            return mail;
        }
        assert!(std::time::Instant::now() < deadline, "no mail to {to}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mails_to(app: &App, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .messages()
        .into_iter()
        .filter(|m| m.to.contains(address))
        .collect()
}

/// Runs `roster import` of `csv` with extra arguments; stdout and stderr together.
fn import(app: &App, csv: &str, extra: &[&str]) -> (bool, String) {
    let path = app.dir().join("codes-roster.csv");
    std::fs::write(&path, csv).unwrap();
    let mut args = vec!["roster", "import", path.to_str().unwrap()];
    args.extend(extra);
    let out = app.claimd(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn not_found_message(app: &App, request: ClaimAccountRequest) -> (Code, String) {
    let status = app.client().await.claim_account(request).await.unwrap_err();
    (status.code(), status.message().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_codes_are_mailed_or_printed_used_once_and_reissued() {
    let app = App::start_with(&[("CLAIMD__ACCOUNTS__CLAIM_CODE", "required")]).await;
    let out_file = app.dir().join("codes.csv");
    let (ok, out) = import(&app, ROSTER, &["--codes-out", out_file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 mailed") && out.contains("1 written"),
        "{out}"
    );

    // Jane's code went to her personal address, and nowhere else.
    let mail = app.smtp.wait_for(1, MAIL_WAIT);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].to.contains("jane@home.example"), "{}", mail[0].to);
    assert_eq!(mail[0].subject, "Claim your district account");
    let jane_code = after(&mail[0].body, "Enter this claim code:").to_owned();
    assert_eq!(jane_code.len(), 14, "{jane_code}");
    assert!(
        mail[0].body.contains("(zeroes first: 077777)"),
        "{}",
        mail[0].body
    );

    // Rick's is in the mail-merge file, for HR alone.
    let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let csv = std::fs::read_to_string(&out_file).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("employee_id,last_name,first_name,claim_code")
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("077778,Roe,Rick,"), "{row}");
    let rick_code = row.rsplit(',').next().unwrap().to_owned();
    assert_eq!(lines.next(), None, "{csv}");
    // The store (the outbox included) never holds a code in the clear.
    for file in ["claimd.db", "claimd.db-wal"] {
        let bytes = std::fs::read(app.dir().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&jane_code) && !text.contains(&rick_code),
            "{file}"
        );
    }

    // No code, a wrong one, or Rick's: refused exactly as names that do not match.
    let (code, mismatch) = not_found_message(
        &app,
        ClaimAccountRequest {
            last_name: "Dough".into(),
            claim_code: jane_code.clone(),
            ..jane()
        },
    )
    .await;
    assert_eq!(code, Code::NotFound);
    for bad in ["", "XXXX-XXXX-XXXX", rick_code.as_str()] {
        let got = not_found_message(
            &app,
            ClaimAccountRequest {
                claim_code: bad.into(),
                ..jane()
            },
        )
        .await;
        assert_eq!(got, (Code::NotFound, mismatch.clone()), "{bad:?}");
    }

    // The right one, typed in lower case with spaces, works once.
    let typed = jane_code.to_lowercase().replace('-', " ");
    let reply = claim_ok(
        &mut app.client().await,
        ClaimAccountRequest {
            claim_code: typed,
            ..jane()
        },
    )
    .await;
    assert_eq!(reply.username, "e77777");
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );

    // A reissued code kills the old one; without a personal address it is printed here.
    let out = app.claimd(&["admin", "reissue-code", "077778"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    let new_code = after(&printed, "new claim code for employee 077778:")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(new_code, rick_code);
    let got = not_found_message(
        &app,
        ClaimAccountRequest {
            claim_code: rick_code,
            ..rick()
        },
    )
    .await;
    assert_eq!(got, (Code::NotFound, mismatch.clone()));
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            claim_code: new_code.clone(),
            ..rick()
        },
    )
    .await;
    assert_eq!(reply.username, "e77778");
    // A claimed person gets no new code.
    let out = app.claimd(&["admin", "reissue-code", "077778"]);
    assert!(!out.status.success());

    // Wrong codes count as failed claims: the sixth try is locked even with a right code.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077779,Poe,Pat,pat.poe@district.example,active,pat@home.example\n",
        &[],
    );
    assert!(ok, "{out}");
    let pat = wait_mail_to(&app, "pat@home.example", 0);
    let pat_code = after(&pat.body, "Enter this claim code:").to_owned();
    let pat_claim = |claim_code: &str| ClaimAccountRequest {
        last_name: "Poe".into(),
        first_name: "Pat".into(),
        employee_id: "077779".into(),
        claim_code: claim_code.into(),
        ..jane()
    };
    for _ in 0..5 {
        let got = not_found_message(&app, pat_claim("AAAA-AAAA-AAAA")).await;
        assert_eq!(got.0, Code::NotFound);
    }
    let got = not_found_message(&app, pat_claim(&pat_code)).await;
    assert_eq!(got.0, Code::ResourceExhausted, "{got:?}");
    // No code in claimd's log, and no code mail ever went to a district address.
    let logs = app.logs();
    assert!(!logs.contains(&jane_code) && !logs.contains(&new_code) && !logs.contains(&pat_code));
    assert!(
        mails_to(&app, "district.example")
            .iter()
            .all(|m| !m.body.contains("claim code:"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_codes_off_the_sheet_s_claim_is_unchanged_and_no_code_is_sent() {
    let app = App::start().await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    assert!(!out.contains("claim codes"), "{out}");
    let (ok, out) = import(&app, ROSTER, &["--codes-out", "/tmp/never.csv"]);
    assert!(!ok && out.contains("accounts.claim_code"), "{out}");
    let reply = claim_ok(&mut app.client().await, jane()).await;
    assert_eq!(reply.username, "e77777");
    let mail = app.smtp.wait_for(1, MAIL_WAIT);
    assert!(
        mail.iter().all(|m| !m.to.contains("home.example")),
        "{mail:?}"
    );
}

fn reset(username: &str, code: &str) -> CompletePasswordResetRequest {
    CompletePasswordResetRequest {
        username: username.into(),
        answers: answers(),
        new_password: NEW_PASSWORD.into(),
        verification_code: code.into(),
    }
}

/// A reset that is accepted and then written to the directory.
async fn reset_ok(
    client: &mut claimd_api::v1::account_service_client::AccountServiceClient<
        tonic::transport::Channel,
    >,
    request: CompletePasswordResetRequest,
) {
    let op = client
        .complete_password_reset(request)
        .await
        .unwrap()
        .into_inner()
        .operation
        .unwrap();
    assert_eq!(
        settle(client, &op.id).await.state(),
        OperationState::Succeeded
    );
}

/// Asks for Forgot My Password's questions, and returns the code that then arrives at `to`.
async fn verification_code(app: &App, username: &str, to: &str) -> String {
    let before = mails_to(app, to).len();
    app.client()
        .await
        .begin_password_reset(BeginPasswordResetRequest {
            username: username.into(),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    loop {
        let mail = mails_to(app, to);
        if mail.len() > before {
            let last = mail.last().unwrap();
            assert_eq!(last.subject, "Your district password reset code");
            return after(&last.body, "Verification code:").to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no code mailed to {to}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_needs_the_code_mailed_to_the_personal_address() {
    let app = App::start_with(&[("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email")]).await;
    // Jane and Rick with personal addresses, Pat without.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n\
         077778,Roe,Rick,rick.roe@district.example,active,rick@home.example\n\
         077779,Poe,Pat,pat.poe@district.example,active,\n",
        &[],
    );
    assert!(ok, "{out}");
    let pat = ClaimAccountRequest {
        last_name: "Poe".into(),
        first_name: "Pat".into(),
        employee_id: "077779".into(),
        ..jane()
    };
    let mut client = app.client().await;
    for person in [jane(), rick(), pat] {
        let reply = claim_ok(&mut client, person).await;
        assert_eq!(
            settle(&mut client, &reply.operation.unwrap().id)
                .await
                .state(),
            OperationState::Succeeded
        );
    }

    let code = verification_code(&app, "e77777", "jane@home.example").await;
    assert_eq!(code.replace(' ', "").len(), 8, "{code}");
    // Without it, with a wrong one, or on another account: as wrong answers.
    for (user, typed) in [
        ("e77777", ""),
        ("e77777", "0000 0000"),
        ("e77778", code.as_str()),
    ] {
        let status = client
            .complete_password_reset(reset(user, typed))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{user} {typed:?}");
    }
    reset_ok(&mut client, reset("e77777", &code)).await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
    // Used once.
    let status = client
        .complete_password_reset(reset("e77777", &code))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Pat has no personal address: answers alone, and the audit log says so.
    reset_ok(&mut client, reset("e77779", "")).await;
    let audit = app.claimd(&["admin", "audit", "--employee", "077779"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("answers_only"), "{audit}");

    // Wrong codes count against the answers' limit: with the failure above (the used
    // code; the reset before cleared the counter), four more lock Jane even with a right
    // code.
    let code = verification_code(&app, "e77777", "jane@home.example").await;
    for _ in 0..4 {
        let status = client
            .complete_password_reset(reset("e77777", "1111 1111"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let status = client
        .complete_password_reset(reset("e77777", &code))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);

    // At most three live codes: with one live (the last), two more are mailed, then none.
    for _ in 0..2 {
        verification_code(&app, "e77777", "jane@home.example").await;
    }
    let before = mails_to(&app, "jane@home.example").len();
    client
        .begin_password_reset(BeginPasswordResetRequest {
            username: "e77777".into(),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    while !app.logs().contains("the most allowed are live") {
        assert!(std::time::Instant::now() < deadline, "{}", app.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(mails_to(&app, "jane@home.example").len(), before);
    assert!(!app.logs().contains(&code), "a code reached the log");
    assert!(app.can_login("e77777", NEW_PASSWORD) && !app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_asks_for_the_codes_when_the_district_requires_them() {
    use crate::web::{form_tokens, get, header, jane_form, post};
    let app = App::with_portal_and(&[
        ("CLAIMD__ACCOUNTS__CLAIM_CODE", "required"),
        ("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email"),
    ])
    .await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    let jane_code = after(
        &wait_mail_to(&app, "jane@home.example", 0).body,
        "Enter this claim code:",
    )
    .to_owned();

    let (_, headers, body) = get(&app.portal_listen, "/claim");
    assert!(
        body.contains("name=\"claim_code\"") && body.contains("autocomplete=\"one-time-code\""),
        "{body}"
    );
    let (cookie, token) = form_tokens(&headers, &body);
    // Without the code: refused as a mismatch, and the code field is never filled back in.
    let (status, _, refused) = post(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
    );
    assert_eq!(status, 200);
    assert!(
        refused.contains("name=\"claim_code\" type=\"text\" value=\"\""),
        "{refused}"
    );
    let mut form = jane_form(&token, "077777");
    form.push(("claim_code", jane_code.as_str()));
    let (status, headers, _) = post(&app.portal_listen, "/claim", &cookie, &form);
    assert_eq!(status, 303, "claim with the code");
    let location = header(&headers, "location").unwrap();
    assert!(location.contains("&u=e77777&"), "{location}");
    let mut client = app.client().await;
    let op = location
        .split("op=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(
        settle(&mut client, op).await.state(),
        OperationState::Succeeded
    );

    let (_, headers, body) = get(&app.portal_listen, "/forgot-password");
    let (cookie, token) = form_tokens(&headers, &body);
    let seen = mails_to(&app, "jane@home.example").len();
    let (_, _, body) = post(
        &app.portal_listen,
        "/forgot-password",
        &cookie,
        &[
            ("csrf", token.as_str()),
            ("step", "username"),
            ("username", "e77777"),
        ],
    );
    assert!(body.contains("name=\"verification_code\""), "{body}");
    let code = after(
        &wait_mail_to(&app, "jane@home.example", seen).body,
        "Verification code:",
    )
    .to_owned();
    let mut form = vec![
        ("csrf", token.as_str()),
        ("step", "answers"),
        ("username", "e77777"),
        ("question_1", "first-pet"),
        ("answer_1", "rex the dog"),
        ("question_2", "birth-city"),
        ("answer_2", "Jonesboro"),
        ("question_3", "first-car"),
        ("answer_3", "Ford Focus"),
        ("new_password", NEW_PASSWORD),
        ("new_password_confirm", NEW_PASSWORD),
        ("verification_code", "0000 0000"),
    ];
    let (status, _, body) = post(&app.portal_listen, "/forgot-password", &cookie, &form);
    assert_eq!(status, 200);
    assert!(body.contains("are not right"), "{body}");
    form[11] = ("verification_code", code.as_str());
    let (status, _, _) = post(&app.portal_listen, "/forgot-password", &cookie, &form);
    assert_eq!(status, 303);
}

/// In a real browser, by keyboard and with scripts off: the claim code typed into its field,
/// then Forgot My Password with the mailed code. Both pages pass axe in both languages, and
/// their screenshots go with the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_typed_by_keyboard_in_a_real_browser() {
    use crate::browser::{fill, fill_secrets, shots, wait_for};
    use claimd_testkit::{Browser, keys};
    let app = App::with_portal_and(&[
        ("CLAIMD__ACCOUNTS__CLAIM_CODE", "required"),
        ("CLAIMD__RECOVERY__SECOND_FACTOR", "personal_email"),
    ])
    .await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    let code = after(
        &wait_mail_to(&app, "jane@home.example", 0).body,
        "Enter this claim code:",
    )
    .to_owned();
    let base = format!("http://{}", app.portal_listen);
    // axe runs as a script: its own browser, scripts on.
    let axe = Browser::start(true);
    let mut found = Vec::new();
    for lang in ["es", "en"] {
        axe.goto(&format!("{base}/claim?lang={lang}"));
        wait_for(&axe, "name=\"claim_code\"").await;
        found.extend(axe.accessibility_violations());
        axe.screenshot(&shots().join(format!("claim-with-code-{lang}.png")));
    }
    let browser = Browser::start(false);
    browser.goto(&format!("{base}/claim"));
    wait_for(&browser, "name=\"claim_code\"").await;
    fill(&browser, "last_name", "Doe");
    fill(&browser, "first_name", "Jane");
    fill(&browser, "employee_id", "077777");
    fill(&browser, "claim_code", &code.to_lowercase());
    fill_secrets(&browser, PASSWORD);
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "You Have Claimed Your Account").await;
    assert!(page.contains("e77777"), "{page}");

    let seen = mails_to(&app, "jane@home.example").len();
    browser.goto(&format!("{base}/forgot-password"));
    wait_for(&browser, "action=\"/forgot-password\"").await;
    fill(&browser, "username", "e77777");
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "name=\"verification_code\"").await;
    browser.screenshot(&shots().join("reset-with-code.png"));
    let code = after(
        &wait_mail_to(&app, "jane@home.example", seen).body,
        "Verification code:",
    )
    .to_owned();
    for (field, text) in [
        ("answer_1", "Rex the Dog"),
        ("answer_2", "Jonesboro"),
        ("answer_3", "Ford Focus"),
        ("verification_code", code.as_str()),
        ("new_password", NEW_PASSWORD),
        ("new_password_confirm", NEW_PASSWORD),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Your Password Has Been Changed").await;
    assert!(app.can_login("e77777", NEW_PASSWORD));
    // The answers step with its code field, in both languages.
    for lang in ["en", "es"] {
        axe.goto(&format!("{base}/forgot-password?lang={lang}"));
        wait_for(&axe, "action=\"/forgot-password\"").await;
        fill(&axe, "username", "e77777");
        axe.type_keys(keys::ENTER);
        wait_for(&axe, "name=\"verification_code\"").await;
        found.extend(axe.accessibility_violations());
    }
    assert!(found.is_empty(), "{found:#?}");
}

//! Proof beyond names (issue 13) on the portal: the claim and reset pages ask for the codes
//! when the district requires them, over HTTP and in a real browser by keyboard.

use claimd_api::v1::OperationState;

use crate::{
    codes::{NEW_PASSWORD, ROSTER, after, import, mails_to, wait_mail_to},
    harness::{App, PASSWORD, settle},
};

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

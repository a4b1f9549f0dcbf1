//! Every flow besides the claim (see `browser.rs`) in a real headless Chromium with scripts
//! off, by keyboard only: Tab to a field or a link, type, Enter. Some run in Spanish, chosen
//! by the browser's language or by the switch on the page. Screenshots go to
//! `target/tmp/portal-screenshots/`.

use std::time::Duration;

use claimd_testkit::{Browser, keys};

use crate::{
    browser::{fill, shots, wait_for},
    harness::{App, PASSWORD, claim_ok, jane},
};

/// An app whose Jane Doe has claimed e77777 (over gRPC) and whose claim has finished.
async fn claimed() -> App {
    let app = App::with_portal().await;
    let mut client = app.client().await;
    let receipt = claim_ok(&mut client, jane()).await;
    let op = receipt.operation.unwrap().id;
    crate::client::settle(&mut client, &op).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_my_password_by_keyboard_refuses_wrong_answers_then_sets_the_new_one() {
    let app = claimed().await;
    let base = format!("http://{}", app.portal_listen);
    let browser = Browser::start(false);

    // From the start page, by its link.
    browser.goto(&format!("{base}/"));
    wait_for(&browser, "href=\"/forgot-password\"").await;
    browser.tab_to_link("/forgot-password");
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "name=\"step\" value=\"username\"").await;
    fill(&browser, "username", "e77777");
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "What was the name of your first pet?").await;

    // Wrong answers: refused in the summary, nothing changed.
    let new_password = "Quiet-Meadow-Lantern-58";
    for (field, text) in [
        ("answer_1", "Fluffy"),
        ("answer_2", "Jonesboro"),
        ("answer_3", "Ford Focus"),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "There is a problem").await;
    assert!(page.contains("answers are not right"), "{page}");
    browser.screenshot(&shots().join("forgot-password-refused.png"));

    for (field, text) in [
        ("answer_1", "Rex the Dog"),
        ("answer_2", "Jonesboro"),
        ("answer_3", "Ford Focus"),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Your Password Has Been Changed").await;
    browser.screenshot(&shots().join("password-changed.png"));
    assert!(app.can_login("e77777", new_password));
    assert!(!app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_and_the_questions_change_by_keyboard() {
    let app = claimed().await;
    let base = format!("http://{}", app.portal_listen);
    let browser = Browser::start(false);

    browser.goto(&format!("{base}/challenge-questions"));
    wait_for(&browser, "action=\"/challenge-questions\"").await;
    for (field, text) in [
        ("username", "e77777"),
        ("current_password", PASSWORD),
        ("question_1", "What was your childhood nickname"),
        ("answer_1", "Sunny"),
        ("question_2", "What street did you live on"),
        ("answer_2", "Maple Avenue"),
        ("question_3", "Where did you work at your first job"),
        ("answer_3", "The Corner Diner"),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Your challenge questions and answers are changed").await;
    browser.screenshot(&shots().join("questions-changed.png"));

    // A wrong current password is refused; the right one changes it.
    browser.goto(&format!("{base}/change-password"));
    wait_for(&browser, "action=\"/change-password\"").await;
    let new_password = "Quiet-Meadow-Lantern-58";
    for (field, text) in [
        ("username", "e77777"),
        ("current_password", "Not-My-Password-11"),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "There is a problem").await;
    assert!(page.contains("password is not right"), "{page}");
    assert!(page.contains("value=\"e77777\""), "username kept");
    for (field, text) in [
        ("current_password", PASSWORD),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ] {
        fill(&browser, field, text);
    }
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Your Password Has Been Changed").await;
    assert!(app.can_login("e77777", new_password));
    assert!(!app.can_login("e77777", PASSWORD));

    // The new questions are the ones a reset now asks.
    browser.goto(&format!("{base}/forgot-password"));
    wait_for(&browser, "name=\"step\" value=\"username\"").await;
    fill(&browser, "username", "e77777");
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "What was your childhood nickname?").await;
    assert!(!page.contains("first pet"), "{page}");
}

/// Locked out after five wrong claims, the person follows the lockout page's link to the
/// support center, by keyboard, and the work order reaches the support address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_out_person_asks_the_support_center_by_keyboard() {
    let app = App::with_portal().await;
    let base = format!("http://{}", app.portal_listen);
    let browser = Browser::start(false);
    browser.goto(&format!("{base}/claim"));
    wait_for(&browser, "action=\"/claim\"").await;
    for attempt in 0..6 {
        // The names are kept after each refusal (Tab selects a field's text, so typing
        // replaces it); one more letter on the last name each time tells this attempt's
        // answer from the last one's.
        fill(
            &browser,
            "last_name",
            &format!("Dough{}", "e".repeat(attempt)),
        );
        if attempt == 0 {
            fill(&browser, "first_name", "Jane");
            fill(&browser, "employee_id", "077777");
        }
        crate::browser::fill_secrets(&browser, PASSWORD);
        browser.type_keys(keys::ENTER);
        if attempt < 5 {
            let typed = format!("value=\"Dough{}\"", "e".repeat(attempt));
            let page = wait_for(&browser, &typed).await;
            assert!(page.contains("could not find your names"), "{page}");
        }
    }
    let page = wait_for(&browser, "Please wait before trying again").await;
    assert!(page.contains("Try again in 15 minute(s)"), "{page}");
    browser.screenshot(&shots().join("locked-out.png"));

    browser.tab_to_link("/work-order?topic=locked");
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "action=\"/work-order\"").await;
    for (field, text) in [
        ("last_name", "Dough"),
        ("first_name", "Jane"),
        ("employee_id", "077777"),
        ("email", "jane.home@example.net"),
        ("details", "Locked out while claiming my account."),
    ] {
        fill(&browser, field, text);
    }
    // Enter in a textarea is a line break: Tab to the button and press it.
    browser.type_keys(keys::TAB);
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Expect email updates from the support center").await;
    browser.screenshot(&shots().join("work-order-sent.png"));
    let mails = app.smtp.wait_for(1, Duration::from_secs(20));
    assert!(
        mails[0].to.contains("help@district.example"),
        "{}",
        mails[0].to
    );
    assert!(
        mails[0].body.contains("Locked out while claiming"),
        "{}",
        mails[0].body
    );
}

/// A browser that asks for Spanish gets Spanish; the switch on the page (reached by Tab)
/// changes the language and the next pages keep it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish_by_the_browser_and_by_the_switch_and_forgot_username_in_spanish() {
    let app = claimed().await;
    let base = format!("http://{}", app.portal_listen);

    let browser = Browser::start_in(false, "es-MX");
    browser.goto(&format!("{base}/claim"));
    let page = wait_for(&browser, "Reclamar mi cuenta").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(
        page.contains("¿Cómo se llamaba su primera mascota?"),
        "{page}"
    );
    browser.screenshot(&shots().join("claim-es.png"));
    // A refused field is explained in Spanish, rule and all.
    fill(&browser, "last_name", "Doe");
    fill(&browser, "first_name", "Jane");
    fill(&browser, "employee_id", "1234567");
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "Hay un problema").await;
    assert!(
        page.contains("Número de empleado: debe tener exactamente seis dígitos"),
        "{page}"
    );
    browser.screenshot(&shots().join("claim-refused-es.png"));

    let browser = Browser::start(false);
    browser.goto(&format!("{base}/forgot-username"));
    wait_for(&browser, "Send My Username").await;
    browser.tab_to_link("/forgot-username?lang=es");
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "Enviar mi nombre de usuario").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    fill(&browser, "email", "Jane.Doe@district.example");
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "va en camino").await;
    assert!(
        page.contains("<html lang=\"es\">"),
        "the switch is remembered: {page}"
    );
    browser.screenshot(&shots().join("forgot-username-es.png"));
    let mails = app.smtp.wait_for(2, Duration::from_secs(20));
    assert!(mails.iter().any(|m| m.body.contains("e77777")
        && m.to.contains("jane.doe@district.example")
        && m.subject.to_lowercase().contains("username")));

    // And back to English.
    browser.goto(&format!("{base}/"));
    wait_for(&browser, "Reclamar mi cuenta").await;
    browser.tab_to_link("/?lang=en");
    browser.type_keys(keys::ENTER);
    wait_for(&browser, "Claim My Account").await;
}

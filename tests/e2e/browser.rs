//! The portal in a real headless Chromium with JavaScript off, used by keyboard only: Tab from
//! field to field, type, Enter. Screenshots of every page go to
//! `target/tmp/portal-screenshots/` for people to look at.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use claimd_testkit::{Browser, keys};

use crate::harness::{App, PASSWORD};

pub(crate) fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits (with a deadline) until the page holds `needle`: a submitted form's answer.
pub(crate) async fn wait_for(browser: &Browser, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = browser.source();
        if page.contains(needle) {
            return page;
        }
        assert!(Instant::now() < deadline, "{needle:?} never came: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tabs to `id` and types `text` there.
pub(crate) fn fill(browser: &Browser, id: &str, text: &str) {
    browser.tab_to(id);
    browser.type_keys(text);
}

/// The password twice, then the three questions (typed until the list selects them) and
/// their answers: what a refused claim must be given again, since secrets are never kept.
pub(crate) fn fill_secrets(browser: &Browser, password: &str) {
    fill(browser, "password", password);
    fill(browser, "password_confirm", password);
    for (field, text) in [
        ("question_1", "What was the name of your first pet"),
        ("answer_1", "Rex the Dog"),
        ("question_2", "In what city or town"),
        ("answer_2", "Jonesboro"),
        ("question_3", "What was the make and model"),
        ("answer_3", "Ford Focus"),
    ] {
        fill(browser, field, text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hire_claims_by_keyboard_in_a_real_browser_with_scripts_off() {
    let app = App::with_portal().await;
    let base = format!("http://{}", app.portal_listen);
    let shots = shots();
    let browser = Browser::start(false);

    browser.goto(&format!("{base}/"));
    wait_for(&browser, "href=\"/claim\"").await;
    browser.screenshot(&shots.join("index.png"));
    browser.goto(&format!("{base}/claim"));
    wait_for(&browser, "action=\"/claim\"").await;
    browser.screenshot(&shots.join("claim.png"));

    // A first try with a common password: refused beside the field, names kept.
    fill(&browser, "last_name", "Doe");
    fill(&browser, "first_name", "Jane");
    fill(&browser, "employee_id", "77777");
    fill_secrets(&browser, "password");
    browser.type_keys(keys::ENTER);
    let page = wait_for(&browser, "There is a problem").await;
    assert!(page.contains("id=\"password-error\""), "{page}");
    assert!(page.contains("value=\"Doe\""), "names kept");
    browser.screenshot(&shots.join("claim-refused.png"));

    // The passwords, questions and answers again, then Enter.
    fill_secrets(&browser, PASSWORD);
    browser.type_keys(keys::ENTER);

    // The finish page refreshes itself (no script) until the directory has the account.
    let page = wait_for(&browser, "You Have Claimed Your Account").await;
    assert!(page.contains("e77777"), "{page}");
    assert!(browser.url().contains("/claim/done?op="));
    browser.screenshot(&shots.join("claimed.png"));
    assert!(app.can_login("e77777", PASSWORD));

    for page in [
        "forgot-username",
        "forgot-password",
        "unlock",
        "change-password",
        "challenge-questions",
        "work-order",
    ] {
        browser.goto(&format!("{base}/{page}"));
        wait_for(&browser, &format!("action=\"/{page}\"")).await;
        browser.screenshot(&shots.join(format!("{page}.png")));
    }
}

/// axe-core finds no WCAG 2.1 A or AA violation on any page in either language, blank or
/// with refused fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_the_axe_accessibility_checks_in_english_and_spanish() {
    let app = App::with_portal().await;
    let base = format!("http://{}", app.portal_listen);
    let browser = Browser::start(true);
    let mut found = Vec::new();
    for lang in ["en", "es"] {
        for page in [
            "",
            "claim",
            "forgot-username",
            "forgot-password",
            "unlock",
            "change-password",
            "challenge-questions",
            "work-order",
        ] {
            browser.goto(&format!("{base}/{page}?lang={lang}"));
            let source = wait_for(&browser, "</footer>").await;
            assert!(
                source.contains(&format!("<html lang=\"{lang}\">")),
                "{source}"
            );
            for violation in browser.accessibility_violations() {
                found.push(format!("/{page}?lang={lang}: {violation}"));
            }
        }
        // A refused claim: the error summary and the fields marked invalid.
        browser.goto(&format!("{base}/claim?lang={lang}"));
        wait_for(&browser, "action=\"/claim\"").await;
        fill(&browser, "last_name", "Doe");
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "error-summary").await;
        for violation in browser.accessibility_violations() {
            found.push(format!("/claim?lang={lang} (refused): {violation}"));
        }
    }
    assert!(found.is_empty(), "{found:#?}");

    // With scripts on, the password rules are checked as they are typed, in the page's
    // language.
    for (lang, said) in [
        ("en", "At least 8 characters (5 so far)"),
        ("es", "Al menos 8 caracteres (5 hasta ahora)"),
    ] {
        browser.goto(&format!("{base}/claim?lang={lang}"));
        wait_for(&browser, "action=\"/claim\"").await;
        fill(&browser, "password", "short");
        wait_for(&browser, said).await;
    }
}

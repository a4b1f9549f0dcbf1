//! The portal's pages over plain HTTP, as a browser with scripts off uses them: the claim
//! form, its CSRF token, refused fields kept and explained, the finish page, the headers.

use std::time::{Duration, Instant};

use crate::{
    harness::{App, PASSWORD},
    web::{form_tokens, get, get_with, header, jane_form, post, post_with},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hire_claims_on_the_portal_and_is_told_the_username() {
    let app = App::with_portal().await;
    let (status, headers, body) = get(&app.portal_listen, "/claim");
    assert_eq!(status, 200);
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(header(&headers, name), Some(value), "{name}");
    }
    let csp = header(&headers, "content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe"),
        "{csp}"
    );
    let cookie = header(&headers, "set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    for field in [
        "last_name",
        "first_name",
        "employee_id",
        "password",
        "password_confirm",
        "question_1",
        "answer_3",
    ] {
        assert!(body.contains(&format!("name=\"{field}\"")), "{field}");
    }
    // Claim codes are off by default: the sheet's form, unchanged.
    assert!(!body.contains("name=\"claim_code\""));
    assert!(body.contains("<html lang=\"en\">"));
    let (cookie, token) = form_tokens(&headers, &body);

    // Without its token (or with another), the form is refused and nothing is claimed.
    let (status, _, _) = post(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form("0000", "077777"),
    );
    assert_eq!(status, 403);
    let (status, _, _) = post(
        &app.portal_listen,
        "/claim",
        "",
        &jane_form(&token, "077777"),
    );
    assert_eq!(status, 403);
    // Operators see the refusals, without what was typed.
    claimd_testkit::wait_until("both refusals logged", Duration::from_secs(10), || {
        app.logs()
            .matches("form refused: its CSRF token does not match its cookie")
            .count()
            == 2
    });
    assert!(!app.logs().contains(crate::harness::PASSWORD));

    // A refused field is explained beside it and in the summary; names are kept, secrets not.
    let mut bad = jane_form(&token, "077777");
    bad[1] = ("last_name", "Do\u{202e}e");
    let (status, _, body) = post(&app.portal_listen, "/claim", &cookie, &bad);
    assert_eq!(status, 200);
    assert!(body.contains("id=\"last_name-error\""), "{body}");
    assert!(
        body.contains("aria-invalid=\"true\" aria-describedby=\"last_name-error"),
        "{body}"
    );
    assert!(body.contains("href=\"#last_name\""), "{body}");
    assert!(body.contains("value=\"Jane\""), "first name kept");
    assert!(
        !body.contains(PASSWORD) && !body.contains("Rex the Dog"),
        "no secret echoed"
    );

    // The five-digit ID from a badge is padded, as the sheet says.
    let (status, headers, _) = post(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "77777"),
    );
    assert_eq!(status, 303);
    let location = header(&headers, "location").unwrap().to_owned();
    assert!(
        location.starts_with("/claim/done?op=") && location.contains("&u=e77777&s="),
        "{location}"
    );
    assert!(!location.contains(PASSWORD));
    // The finish page shows only the username the link was made for.
    let forged = location.replace("&u=e77777", "&u=e12345");
    assert_eq!(get(&app.portal_listen, &forged).0, 404);

    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (status, _, body) = get(&app.portal_listen, &location);
        assert_eq!(status, 200);
        if !body.contains("Creating your account") {
            break body;
        }
        assert!(Instant::now() < deadline, "the claim never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("You Have Claimed Your Account"), "{page}");
    assert!(
        page.contains("Please retain your username for future use: <strong>e77777</strong>"),
        "{page}"
    );
    assert!(app.can_login("e77777", PASSWORD));
    assert_eq!(get(&app.portal_listen, "/healthz").0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_my_username_replies_the_same_and_mails_only_a_known_address() {
    let app = App::with_portal().await;
    // Jane claims over gRPC first, so her address is on file.
    let mut client = app.client().await;
    let reply = crate::harness::claim_ok(&mut client, crate::harness::jane()).await;
    crate::harness::settle(&mut client, &reply.operation.unwrap().id).await;
    app.smtp.wait_for(1, Duration::from_secs(20));

    // The unknown address first: the sender mails in the order mail was queued, so once
    // Jane's arrives, a mail for it would have arrived before.
    let mut pages = Vec::new();
    for email in ["nobody@district.example", "jane.doe@district.example"] {
        let (status, headers, body) = get(&app.portal_listen, "/forgot-username");
        assert_eq!(status, 200);
        let (cookie, token) = form_tokens(&headers, &body);
        let (status, _, body) = post(
            &app.portal_listen,
            "/forgot-username",
            &cookie,
            &[("csrf", token.as_str()), ("email", email)],
        );
        assert_eq!(status, 200);
        assert!(body.contains("its username is on its way there"), "{body}");
        pages.push(body.replace(email, "EMAIL").replace(&token, "TOKEN"));
    }
    // The two replies differ only in the address echoed (and each form's own token).
    let strip = |page: &str| {
        page.lines()
            .filter(|l| !l.contains("name=\"csrf\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&pages[0]), strip(&pages[1]));
    let mails = app.smtp.wait_for(2, Duration::from_secs(20));
    assert!(mails[1].body.contains("Username: e77777"));
    assert!(mails.iter().all(|m| !m.to.contains("nobody@")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_my_password_asks_the_three_questions_and_sets_the_new_one() {
    let app = App::with_portal().await;
    let mut client = app.client().await;
    let reply = crate::harness::claim_ok(&mut client, crate::harness::jane()).await;
    crate::harness::settle(&mut client, &reply.operation.unwrap().id).await;

    let (_, headers, body) = get(&app.portal_listen, "/forgot-password");
    let (cookie, token) = form_tokens(&headers, &body);
    let (status, _, body) = post(
        &app.portal_listen,
        "/forgot-password",
        &cookie,
        &[
            ("csrf", token.as_str()),
            ("step", "username"),
            ("username", " E77777 "),
        ],
    );
    assert_eq!(status, 200);
    for question in ["first-pet", "birth-city", "first-car"] {
        assert!(
            body.contains(&format!("value=\"{question}\"")),
            "{question}: {body}"
        );
    }
    let new_password = "Violet-Harbor-Compass-31";
    let mut form = vec![
        ("csrf", token.as_str()),
        ("step", "answers"),
        ("username", "e77777"),
        ("question_1", "first-pet"),
        ("answer_1", "Fido"),
        ("question_2", "birth-city"),
        ("answer_2", "Jonesboro"),
        ("question_3", "first-car"),
        ("answer_3", "Ford Focus"),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ];
    let (status, _, body) = post(&app.portal_listen, "/forgot-password", &cookie, &form);
    assert_eq!(status, 200);
    assert!(body.contains("are not right"), "{body}");
    assert!(!body.contains(new_password) && !body.contains("Fido"));
    form[4] = ("answer_1", "rex the dog");
    let (status, headers, _) = post(&app.portal_listen, "/forgot-password", &cookie, &form);
    assert_eq!(status, 303);
    let location = header(&headers, "location").unwrap().to_owned();
    assert!(location.starts_with("/password/done?op="), "{location}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, body) = get(&app.portal_listen, &location);
        if body.contains("Your Password Has Been Changed") {
            break;
        }
        assert!(body.contains("Setting your new password"), "{body}");
        assert!(Instant::now() < deadline, "the reset never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(app.can_login("e77777", new_password));
    assert!(!app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_and_the_questions_change_with_the_current_password() {
    let app = App::with_portal().await;
    let mut client = app.client().await;
    let reply = crate::harness::claim_ok(&mut client, crate::harness::jane()).await;
    crate::harness::settle(&mut client, &reply.operation.unwrap().id).await;

    // New questions: a wrong current password is refused, the right one takes them.
    let (_, headers, body) = get(&app.portal_listen, "/challenge-questions");
    let (cookie, token) = form_tokens(&headers, &body);
    let mut form = vec![
        ("csrf", token.as_str()),
        ("username", "e77777"),
        ("current_password", "Not-The-Password-1"),
        ("question_1", "elementary-school"),
        ("answer_1", "Lincoln Elementary"),
        ("question_2", "favorite-teacher"),
        ("answer_2", "Mrs Alvarez"),
        ("question_3", "childhood-street"),
        ("answer_3", "Maple Avenue"),
    ];
    let (status, _, body) = post(&app.portal_listen, "/challenge-questions", &cookie, &form);
    assert_eq!(status, 200);
    assert!(body.contains("is not right"), "{body}");
    form[2] = ("current_password", PASSWORD);
    let (status, _, body) = post(&app.portal_listen, "/challenge-questions", &cookie, &form);
    assert_eq!(status, 200);
    assert!(
        body.contains("Your challenge questions and answers are changed"),
        "{body}"
    );

    let (_, headers, body) = get(&app.portal_listen, "/change-password");
    let (cookie, token) = form_tokens(&headers, &body);
    let new_password = "Quiet-Meadow-Lantern-58";
    let form = [
        ("csrf", token.as_str()),
        ("username", "e77777"),
        ("current_password", PASSWORD),
        ("new_password", new_password),
        ("new_password_confirm", new_password),
    ];
    let (status, headers, _) = post(&app.portal_listen, "/change-password", &cookie, &form);
    assert_eq!(status, 303);
    let location = header(&headers, "location").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get(&app.portal_listen, &location)
        .2
        .contains("Your Password Has Been Changed")
    {
        assert!(Instant::now() < deadline, "the change never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(app.can_login("e77777", new_password));
    assert!(!app.can_login("e77777", PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_cannot_get_in_sends_a_work_order_to_the_support_center() {
    let app = App::with_portal().await;
    let (_, headers, body) = get(&app.portal_listen, "/claim");
    let (cookie, token) = form_tokens(&headers, &body);
    let mut wrong = jane_form(&token, "077777");
    wrong[1] = ("last_name", "Dough");
    let (status, _, body) = post(&app.portal_listen, "/claim", &cookie, &wrong);
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/work-order?topic=claim\""), "{body}");

    let (status, headers, body) = get(&app.portal_listen, "/work-order?topic=claim");
    assert_eq!(status, 200);
    let (cookie, token) = form_tokens(&headers, &body);
    let mut order = vec![
        ("csrf", token.as_str()),
        ("topic", "claim"),
        ("last_name", "Dough"),
        ("first_name", "Jane"),
        ("employee_id", "077777"),
        ("email", "jane.home@example.net"),
        (
            "details",
            "My name is spelled Dough on my badge.\nPlease help \u{202e}",
        ),
    ];
    let (status, _, body) = post(&app.portal_listen, "/work-order", &cookie, &order);
    assert_eq!(status, 200);
    assert!(body.contains("id=\"details-error\""), "{body}");
    order[6] = (
        "details",
        "My name is spelled Dough on my badge.\nPlease help.",
    );
    let (status, _, body) = post(&app.portal_listen, "/work-order", &cookie, &order);
    assert_eq!(status, 200);
    assert!(
        body.contains("Expect email updates from the support center"),
        "{body}"
    );
    let mails = app.smtp.wait_for(1, Duration::from_secs(20));
    let mail = &mails[0];
    assert!(mail.to.contains("help@district.example"), "{}", mail.to);
    assert!(mail.subject.contains("could not claim"), "{}", mail.subject);
    assert!(
        mail.body.contains("Reply to: jane.home@example.net"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("spelled Dough on my badge"),
        "{}",
        mail.body
    );
}

/// Behind the district's reverse proxy, the browser's address is the one the proxy forwards;
/// a proxy that forwards none is refused rather than counting everyone as itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = App::with_portal_and(&[("CLAIMD__PORTAL__TRUSTED_PROXIES", "127.0.0.1")]).await;
    let (_, headers, body) = get(&app.portal_listen, "/claim");
    let (cookie, token) = form_tokens(&headers, &body);
    let form = jane_form(&token, "077777");
    let (status, _, _) = post(&app.portal_listen, "/claim", &cookie, &form);
    assert_eq!(status, 400, "a trusted proxy must say who the browser is");
    let forwarded = "X-Forwarded-For: 198.51.100.23\r\n";
    let (status, _, _) = post_with(&app.portal_listen, "/claim", &cookie, &form, forwarded);
    assert_eq!(status, 303);
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(audit.contains("198.51.100.23"), "{audit}");
}

/// After five wrong tries the claim page says to wait, with a time, and offers the support
/// center; the lock is the same as over gRPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_page_says_to_wait_and_offers_the_support_center() {
    let app = App::with_portal().await;
    let (_, headers, body) = get(&app.portal_listen, "/claim");
    let (cookie, token) = form_tokens(&headers, &body);
    let mut wrong = jane_form(&token, "077777");
    wrong[1] = ("last_name", "Dough");
    for _ in 0..5 {
        let (status, _, body) = post(&app.portal_listen, "/claim", &cookie, &wrong);
        assert_eq!(status, 200);
        assert!(body.contains("could not find your names"), "{body}");
    }
    let (status, _, body) = post(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
    );
    assert_eq!(status, 429);
    assert!(body.contains("Please wait before trying again"), "{body}");
    assert!(body.contains("Try again in 15 minute(s)"), "{body}");
    assert!(body.contains("href=\"/work-order?topic=locked\""), "{body}");

    // The same lock answers a district service over gRPC: the right names for 077777 are
    // refused as locked, with when to retry.
    let mut client = app.client().await;
    let status = client
        .claim_account(crate::harness::jane())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let retry = tonic_types::StatusExt::get_error_details(&status)
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo on a lockout");
    assert!(
        retry > Duration::from_secs(14 * 60) && retry <= Duration::from_secs(15 * 60),
        "{retry:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_logo_is_served_and_shown_in_the_header() {
    let logo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/portal-claimed.png");
    let app = App::with_portal_and(&[("CLAIMD__PORTAL__LOGO_FILE", logo)]).await;
    let (status, headers, _) = get(&app.portal_listen, "/static/logo");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/png"));
    let size = std::fs::metadata(logo).unwrap().len().to_string();
    assert_eq!(header(&headers, "content-length"), Some(size.as_str()));
    let (_, _, page) = get(&app.portal_listen, "/");
    assert!(
        page.contains("<img src=\"/static/logo\" alt=\"\""),
        "{page}"
    );
    // It is the site's icon too.
    let (status, headers, _) = get(&app.portal_listen, "/favicon.ico");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/png"));
    // Without a logo, a plain icon: no browser logs a 404 for it.
    let plain = App::with_portal().await;
    let (status, headers, body) = get(&plain.portal_listen, "/favicon.ico");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/svg+xml"));
    assert!(body.starts_with("<svg"), "{body}");

    // A logo the pages cannot serve stops the start with the key named.
    let out = app.claimd(&["check-config"]);
    assert!(out.status.success());
    let bad = App::with_portal().await;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"))
        .args([
            "--config",
            bad.claimd.config_path().to_str().unwrap(),
            "check-config",
        ])
        .env("CLAIMD__PORTAL__LOGO_FILE", "/etc/hostname")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        !status.status.success() && stderr.contains("portal.logo_file"),
        "{stderr}"
    );
}

/// The browser's Accept-Language picks the pages' language; `?lang=` switches it and a cookie
/// remembers the switch; refusals (even a missing CSRF token) come in that language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_speak_the_language_the_browser_asks_for() {
    let app = App::with_portal().await;
    let spanish = "Accept-Language: es-MX,es;q=0.9,en;q=0.5\r\n";
    let (status, headers, body) = get_with(&app.portal_listen, "/claim", spanish);
    assert_eq!(status, 200);
    assert!(body.contains("<html lang=\"es\">"), "{body}");
    assert!(body.contains("Paso 2: Su número de empleado"), "{body}");
    assert!(body.contains("href=\"/claim?lang=en\""), "{body}");
    let (cookie, _) = form_tokens(&headers, &body);
    let (status, _, body) = post_with(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form("0000", "077777"),
        spanish,
    );
    assert_eq!(status, 403);
    assert!(body.contains("Este formulario ha caducado"), "{body}");

    let (_, headers, body) = get_with(&app.portal_listen, "/claim?lang=en", spanish);
    assert!(body.contains("<html lang=\"en\">"), "{body}");
    let remembered = headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with("claimd_lang=en"))
        .expect("the switch is remembered");
    assert!(
        remembered.contains("HttpOnly") && remembered.contains("SameSite=Strict"),
        "{remembered}"
    );
    let (_, _, body) = get_with(
        &app.portal_listen,
        "/forgot-username",
        &format!("{spanish}Cookie: claimd_lang=en\r\n"),
    );
    assert!(body.contains("<html lang=\"en\">"), "{body}");
}

/// Public over HTTPS (behind the district's TLS proxy): HSTS, and cookies that are `Secure`
/// and `__Host-` prefixed; a plain-named cookie, which a sibling subdomain could plant, is not
/// believed. An oversized form is refused before any flow runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_are_host_only_and_secure() {
    let app =
        App::with_portal_and(&[("CLAIMD__PORTAL__PUBLIC_URL", "https://my.district.example")])
            .await;
    let (status, headers, body) = get(&app.portal_listen, "/claim?lang=en");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "strict-transport-security"),
        Some("max-age=31536000")
    );
    let cookies: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(
            cookie.starts_with("__Host-")
                && cookie.contains("; Secure")
                && cookie.contains("Path=/")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && !cookie.contains("Domain"),
            "{cookie}"
        );
    }
    let (cookie, token) = form_tokens(&headers, &body);
    assert!(cookie.starts_with("__Host-claimd_csrf="), "{cookie}");
    let planted = cookie.trim_start_matches("__Host-");
    let (status, _, _) = post(
        &app.portal_listen,
        "/claim",
        planted,
        &jane_form(&token, "077777"),
    );
    assert_eq!(status, 403, "a cookie without the prefix is not believed");
    let (status, headers, _) = post(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
    );
    assert_eq!(status, 303);
    assert!(
        header(&headers, "location")
            .unwrap()
            .starts_with("/claim/done?")
    );

    let mut huge = jane_form(&token, "077777");
    let details = "x".repeat(40 * 1024);
    huge.push(("details", &details));
    let (status, _, _) = post(&app.portal_listen, "/claim", &cookie, &huge);
    assert_eq!(status, 413);
}

/// Behind the reverse proxy on this host that terminates TLS (no `public_url` set), the
/// proxy's `X-Forwarded-Proto: https` turns on HSTS and `__Host-` `Secure` cookies; from a
/// peer that is not a proxy the same header is the visitor's claim and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_saying_https_makes_cookies_secure() {
    let app = App::with_portal().await;
    let cookies = |headers: &[(String, String)]| -> Vec<String> {
        headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.clone())
            .collect()
    };
    let proto = "X-Forwarded-For: 198.51.100.23\r\nX-Forwarded-Proto: https\r\n";
    let (status, headers, _) = get_with(&app.portal_listen, "/claim?lang=en", proto);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "strict-transport-security"),
        Some("max-age=31536000")
    );
    let secure = cookies(&headers);
    assert_eq!(secure.len(), 2, "{secure:?}");
    assert!(
        secure
            .iter()
            .all(|c| c.starts_with("__Host-") && c.contains("; Secure")),
        "{secure:?}"
    );
    let (_, headers, _) = get(&app.portal_listen, "/claim?lang=en");
    assert!(header(&headers, "strict-transport-security").is_none());
    assert!(cookies(&headers).iter().all(|c| !c.starts_with("__Host-")));

    // Pages listening on loopback with a proxy listed elsewhere: this loopback peer is no
    // proxy, and its header is not believed.
    let app = App::with_portal_and(&[("CLAIMD__PORTAL__TRUSTED_PROXIES", "192.0.2.80")]).await;
    let (_, headers, _) = get_with(&app.portal_listen, "/claim?lang=en", proto);
    assert!(header(&headers, "strict-transport-security").is_none());
    assert!(cookies(&headers).iter().all(|c| !c.contains("Secure")));
}

/// A claim the directory refuses, followed in Spanish: the finish page gives the directory's
/// reason in Spanish, not in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_claim_s_finish_page_gives_its_reason_in_spanish() {
    let app = App::with_portal().await;
    let (_, headers, body) = get(&app.portal_listen, "/claim?lang=es");
    let (cookie, token) = form_tokens(&headers, &body);
    // Good enough for claimd's policy, shorter than the directory's own minimum (12).
    let short = "Zq8#mv2Lp-x";
    let mut form = jane_form(&token, "077777");
    form[4] = ("password", short);
    form[5] = ("password_confirm", short);
    let (status, headers, _) = post(&app.portal_listen, "/claim", &cookie, &form);
    assert_eq!(status, 303);
    let location = header(&headers, "location").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (status, _, body) = get_with(&app.portal_listen, &location, "Accept-Language: es\r\n");
        assert_eq!(status, 200);
        if body.contains("No se pudo crear su cuenta") {
            break body.replace("&#x27;", "'").replace("&#39;", "'");
        }
        assert!(Instant::now() < deadline, "the claim never failed: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(
        page.contains(
            "el directorio rechazó la contraseña: no cumple la política de contraseñas del directorio"
        ),
        "{page}"
    );
    assert!(!page.contains("the directory refused"), "{page}");
}

/// The default pages listen on loopback "behind the reverse proxy" with no proxies listed:
/// the proxy on this host names each visitor, so one visitor's wrong tries lock out that
/// visitor, not the district.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_local_reverse_proxy_one_visitor_s_tries_are_not_everyone_s() {
    let app = App::with_portal_and(&[("CLAIMD__SECURITY__ADDRESS_MAX_FAILURES", "3")]).await;
    let (_, headers, body) = get(&app.portal_listen, "/claim");
    let (cookie, token) = form_tokens(&headers, &body);
    let guesser = "X-Forwarded-For: 203.0.113.7\r\n";
    for id in ["100001", "100002", "100003"] {
        let (status, _, body) = post_with(
            &app.portal_listen,
            "/claim",
            &cookie,
            &jane_form(&token, id),
            guesser,
        );
        assert_eq!(status, 200);
        assert!(body.contains("could not find your names"), "{body}");
    }
    let (status, _, body) = post_with(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
        guesser,
    );
    assert_eq!(status, 429, "the guesser's address is locked: {body}");
    // Jane, through the same proxy from another address, claims.
    let (status, _, body) = post_with(
        &app.portal_listen,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
        "X-Forwarded-For: 198.51.100.9\r\n",
    );
    assert_eq!(status, 303, "{body}");
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(audit.contains("198.51.100.9"), "{audit}");
}

//! The helpdesk's pages as a campus tech uses them, against `claimd run` with a real slapd
//! and SMTP server: the tech signs in with their own directory password (a wrong one is
//! refused), finds a person of their site and not one of another (the very page an unknown
//! ID gets, for the page and for an action), sets a temporary password shown once (the
//! directory then takes it and must have it changed; the old one stops working), the person
//! is mailed, the audit names the tech and the reason, the password is in no log, and
//! sign-out ends the session.

use std::time::{Duration, Instant};

use claimd_testkit::Slapd;

use crate::{
    desk::{signed_in, without_token},
    harness::{App, PASSWORD, claim_ok, jane, settle},
    web::{header, post_with},
};

const SUFFIX: &str = "dc=example,dc=org";
const TECH_PASSWORD: &str = "Campus-Tech-Ladder-61";
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// `[helpdesk]`: techs-101 helps site 101.
fn helpdesk_config() -> String {
    format!(
        "[helpdesk]\ngroups = [{{ group = \"cn=techs-101,ou=groups,{SUFFIX}\", sites = [\"101\"] }}]\n"
    )
}

/// The roster with sites: Jane at 101, Sam at 202.
fn import_sites(app: &App) {
    app.import_roster(
        "employee_id,last_name,first_name,email,status,site\n\
         077777,Doe,Jane,jane.doe@district.example,active,101\n\
         88888,Other,Sam,sam.other@district.example,active,202\n\
         55555,League,Cole,cole.league@district.example,active,101\n\
         42,Terminated,Pat,pat@district.example,terminated,101\n",
    );
}

fn tech(slapd: &Slapd) {
    let tech = format!("uid=tech101,{}", Slapd::USERS_BASE_DN);
    // A colleague whose own account is on the roster (e55555, site 101): never helped.
    let colleague = format!("uid=e55555,{}", Slapd::USERS_BASE_DN);
    slapd.add(&format!(
        "dn: {tech}\nobjectClass: inetOrgPerson\nuid: tech101\ncn: Terry Tech\nsn: Tech\n\
         userPassword: {TECH_PASSWORD}\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {colleague}\nobjectClass: inetOrgPerson\nuid: e55555\ncn: Cole League\nsn: League\n\
         employeeNumber: 55555\nuserPassword: Colleague-Password-77\n\n\
         dn: cn=techs-101,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: techs-101\n\
         member: {tech}\nmember: {colleague}\n"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campus_tech_sets_a_temporary_password_for_a_person_of_their_site_only() {
    let mut app = App::with_portal_config(&helpdesk_config(), tech).await;
    import_sites(&app);
    let mut client = app.client().await;
    let claim = claim_ok(&mut client, jane()).await;
    settle(&mut client, &claim.operation.unwrap().id).await;
    assert!(app.can_login("e77777", PASSWORD));

    // A wrong password is refused, on the sign-in page, with no session.
    let refused = signed_in(&app.portal_listen, "tech101", "Not-The-Password-1")
        .err()
        .expect("refused");
    assert!(refused.contains("not correct"), "{refused}");
    let mut tech =
        signed_in(&app.portal_listen, "tech101", TECH_PASSWORD).expect("the tech's own password");

    // Search finds the person of site 101, and not the one of site 202.
    let (status, _, body) = tech.get("/helpdesk?query=Doe");
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/helpdesk/people/077777\""), "{body}");
    let (_, _, body) = tech.get("/helpdesk?query=088888");
    assert!(body.contains("No one within your sites matches."), "{body}");

    // Site 202's person answers as an unknown ID does, for the page and for an action.
    let (status, _, other) = tech.get("/helpdesk/people/088888");
    let (unknown_status, _, unknown) = tech.get("/helpdesk/people/099999");
    assert_eq!((status, unknown_status), (404, 404));
    // The one difference: the path each page links to in the other language.
    assert_eq!(
        without_token(&other).replace("088888", "099999"),
        without_token(&unknown)
    );
    for id in ["088888", "099999"] {
        let (status, body) = tech.post(
            "/helpdesk",
            &format!("/helpdesk/people/{id}/unlock"),
            &[("reason", "ticket 1")],
        );
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("No person with that employee ID"), "{body}");
    }

    // Out of scope is decided first: a forged token or no reason still gets the 404.
    let (status, _, body) = post_with(
        &app.portal_listen,
        "/helpdesk/people/088888/release",
        &tech.cookies(),
        &[("csrf", "forged"), ("reason", "")],
        "",
    );
    assert_eq!(status, 404, "{body}");
    let audit = app.claimd(&["admin", "audit"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("no_match") && audit.contains("no person \"088888\" within"),
        "a probe of another site is on record: {audit}"
    );

    // A colleague in a helpdesk group is never helped: taking over their login would
    // give the tech their scope.
    let (_, _, body) = tech.get("/helpdesk/people/055555");
    assert!(body.contains("the helpdesk cannot act on it"), "{body}");
    let (status, body) = tech.post(
        "/helpdesk/people/055555",
        "/helpdesk/people/055555/unlock",
        &[("reason", "ticket 2")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This account is privileged"), "{body}");

    // Jane's page shows her claim and her login.
    let page = "/helpdesk/people/077777";
    let (status, _, body) = tech.get(page);
    assert_eq!(status, 200, "{body}");
    for shown in [
        "Jane Doe",
        "e77777",
        "Claimed",
        "Login enabled",
        "temporary-password",
    ] {
        assert!(body.contains(shown), "{shown}: {body}");
    }

    // The reason is required.
    let action = "/helpdesk/people/077777/temporary-password";
    let (status, body) = tech.post(page, action, &[("reason", "  ")]);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("id=\"temporary-password-reason-error\""),
        "{body}"
    );
    assert!(
        !body.contains("id=\"temporary-password\""),
        "nothing set: {body}"
    );

    let reason = "ticket 4417, Jane at the front office with her badge";
    let (status, body) = tech.post(page, action, &[("reason", reason)]);
    assert_eq!(status, 200, "{body}");
    let temporary = body
        .split("<code id=\"temporary-password\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the temporary password, shown once")
        .to_owned();
    assert_eq!(temporary.len(), 19, "{temporary}");

    // The directory takes it, must have it changed, and the old password stops working.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !app.can_login("e77777", &temporary) {
        assert!(Instant::now() < deadline, "never set:\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!app.can_login("e77777", PASSWORD));
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    let reset = app.slapd.search(&dn, "(objectClass=*)", &["pwdReset"]);
    assert!(reset.contains("pwdReset: TRUE"), "{reset}");

    // Jane is told, at her district address.
    let deadline = Instant::now() + MAIL_WAIT;
    let notice = loop {
        let mails = app.smtp.messages();
        if let Some(notice) = mails
            .into_iter()
            .find(|m| m.subject.contains("temporary password"))
        {
            break notice;
        }
        assert!(Instant::now() < deadline, "no notice:\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(notice.to.contains("jane.doe@district.example"));
    assert!(
        !notice.body.contains(&temporary),
        "a notice never holds the password"
    );

    // The audit names the tech and the reason; no log holds the password.
    let audit = app.claimd(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("helpdesk.temporary_password"), "{audit}");
    assert!(audit.contains("helpdesk:tech101"), "{audit}");
    assert!(audit.contains(reason), "{audit}");
    assert!(audit.contains("helpdesk.look_up"), "{audit}");
    assert!(
        !app.logs().contains(&temporary),
        "the password reached the log"
    );
    assert!(!audit.contains(&temporary));

    // Sign-out ends the session in the store: the same cookie now goes to the sign-in page.
    let (status, _) = tech.post("/helpdesk", "/helpdesk/logout", &[]);
    assert_eq!(status, 303);
    let (status, headers, _) = tech.get(page);
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/helpdesk/login"));
    app.stop_with(nix::sys::signal::Signal::SIGTERM);
}

/// The helpdesk in a real headless Chromium, by keyboard: sign in, find,
/// the person's page, a refused action, a temporary password, an unknown ID; axe-core finds
/// no WCAG 2.1 A or AA violation on any of them in either language. Screenshots go to
/// `target/tmp/portal-screenshots/helpdesk-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_pages_work_by_keyboard_and_pass_axe_in_english_and_spanish() {
    use claimd_testkit::{Browser, keys};

    use crate::browser::{fill, shots, wait_for};

    let app = App::with_portal_config(&helpdesk_config(), tech).await;
    import_sites(&app);
    let mut client = app.client().await;
    let claim = claim_ok(&mut client, jane()).await;
    settle(&mut client, &claim.operation.unwrap().id).await;
    let base = format!("http://{}", app.portal_listen);
    let shots = shots();
    // axe runs as a script in the page; the pages need none.
    let browser = Browser::start(true);
    let mut found = Vec::new();
    let mut check = |browser: &Browser, name: &str| {
        for violation in browser.accessibility_violations() {
            found.push(format!("{name}: {violation}"));
        }
        browser.screenshot(&shots.join(format!("helpdesk-{name}.png")));
    };
    for lang in ["en", "es"] {
        browser.goto(&format!("{base}/helpdesk/login?lang={lang}"));
        wait_for(&browser, "action=\"/helpdesk/login\"").await;
        check(&browser, &format!("login-{lang}"));
        fill(&browser, "username", "tech101");
        fill(&browser, "password", "Wrong-Password-77");
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "error-summary").await;
        check(&browser, &format!("login-refused-{lang}"));
        fill(&browser, "password", TECH_PASSWORD);
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "role=\"search\"").await;
        fill(&browser, "query", "Doe");
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "/helpdesk/people/077777").await;
        check(&browser, &format!("search-{lang}"));
        browser.goto(&format!("{base}/helpdesk/people/077777?lang={lang}"));
        wait_for(&browser, "temporary-password-reason").await;
        check(&browser, &format!("person-{lang}"));
        // An action without its reason: the field is marked and explained.
        browser.tab_to("unlock-reason");
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "unlock-reason-error").await;
        check(&browser, &format!("reason-refused-{lang}"));
        fill(
            &browser,
            "temporary-password-reason",
            "ticket 4417, badge checked",
        );
        browser.type_keys(keys::ENTER);
        wait_for(&browser, "id=\"temporary-password\"").await;
        check(&browser, &format!("temporary-password-{lang}"));
        browser.goto(&format!("{base}/helpdesk/people/088888?lang={lang}"));
        wait_for(&browser, "</footer>").await;
        check(&browser, &format!("not-found-{lang}"));
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The other three actions, on slapd with claim codes required: claimd's own lock on a
/// person lifted (they claim at once), a claim code reissued to the personal address or shown
/// once when there is none (and refused once they have claimed), and a claim stuck while the
/// directory is down released (the person may claim again, and is told so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tech_unlocks_reissues_a_claim_code_and_releases_a_stuck_claim() {
    use claimd_api::v1::{ClaimAccountRequest, OperationState};

    use crate::harness::wait_retrying;

    let config = format!(
        "{}\n[accounts]\nclaim_code = \"required\"\n",
        helpdesk_config()
    );
    let mut app = App::with_portal_config(&config, tech).await;
    app.import_roster(
        "employee_id,last_name,first_name,email,status,site,personal_email\n\
         077777,Doe,Jane,jane.doe@district.example,active,101,jane@home.example\n\
         66666,Nocode,Max,max.nocode@district.example,active,101,\n\
         88888,Other,Sam,sam.other@district.example,active,202,sam@home.example\n",
    );
    let mut client = app.client().await;
    let max = |code: &str, last: &str| ClaimAccountRequest {
        last_name: last.into(),
        first_name: "Max".into(),
        employee_id: "066666".into(),
        claim_code: code.into(),
        ..jane()
    };
    let mut desk = signed_in(&app.portal_listen, "tech101", TECH_PASSWORD).expect("signed in");

    // Max's wrong tries lock him (claimd's lock, shown on his page); the tech lifts it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let refused = client
            .claim_account(max("AAAA-AAAA-AAAA", "Wrong"))
            .await
            .unwrap_err();
        if refused.code() == tonic::Code::ResourceExhausted {
            break;
        }
        assert!(Instant::now() < deadline, "never locked: {refused:?}");
    }
    let page = "/helpdesk/people/066666";
    let (_, _, body) = desk.get(page);
    assert!(
        body.contains("Locked by claimd</dt><dd>Yes, until"),
        "{body}"
    );
    assert!(
        !body.contains("temporary-password-reason"),
        "no account yet: {body}"
    );
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/066666/unlock",
        &[("reason", "ticket 12: Max mistyped his name")],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("locks on this person are lifted."), "{body}");

    // No personal address: the new code is shown once, and claims.
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/066666/claim-code",
        &[("reason", "ticket 13: printed for Max")],
    );
    assert_eq!(status, 200, "{body}");
    let code = body
        .split("<code id=\"claim-code\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the code, shown once")
        .to_owned();
    let deadline = Instant::now() + MAIL_WAIT;
    while !app.smtp.messages().iter().any(|m| {
        m.to.contains("max.nocode@district.example") && m.subject.contains("new claim code")
    }) {
        assert!(Instant::now() < deadline, "Max is not told");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !app.smtp.messages().iter().any(|m| m.body.contains(&code)),
        "a handed-over code is never mailed"
    );
    let claimed = claim_ok(&mut client, max(&code, "Nocode")).await;
    let op = settle(&mut client, &claimed.operation.unwrap().id).await;
    assert_eq!(op.state(), OperationState::Succeeded, "{op:?}");
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/066666/claim-code",
        &[("reason", "again")],
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("has claimed already"), "{body}");

    // Jane's new code goes to her personal address only.
    let page = "/helpdesk/people/077777";
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/077777/claim-code",
        &[("reason", "ticket 14: Jane lost the offer letter")],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("A new claim code was mailed"), "{body}");
    assert!(
        !body.contains("id=\"claim-code\""),
        "a mailed code is not shown: {body}"
    );
    let deadline = Instant::now() + MAIL_WAIT;
    let jane_code = loop {
        let mails = app.smtp.messages();
        let codes: Vec<_> = mails
            .iter()
            .filter(|m| m.to.contains("jane@home.example") && m.subject.contains("Claim"))
            .collect();
        // The import's code, then the reissued one.
        if codes.len() == 2 {
            break crate::codes::after(&codes[1].body, "Enter this claim code:").to_owned();
        }
        assert!(Instant::now() < deadline, "no second code: {mails:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Her claim sticks while the directory is down; the tech releases it.
    app.slapd.stop();
    let stuck = ClaimAccountRequest {
        claim_code: jane_code,
        ..jane()
    };
    let stuck = claim_ok(&mut client, stuck).await.operation.unwrap().id;
    wait_retrying(&mut client, &stuck).await;
    let (_, _, body) = desk.get(page);
    assert!(body.contains("release-reason"), "{body}");
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/077777/release",
        &[("reason", "ticket 15: the directory refused the claim")],
    );
    assert_eq!(status, 200, "{body}");
    let op = settle(&mut client, &stuck).await;
    assert_eq!(op.state(), OperationState::Failed, "{op:?}");
    let (status, body) = desk.post(
        page,
        "/helpdesk/people/077777/release",
        &[("reason", "again")],
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("no pending claim"), "{body}");
    app.slapd.resume();
    let deadline = Instant::now() + MAIL_WAIT;
    while !app
        .smtp
        .messages()
        .iter()
        .any(|m| m.to.contains("jane@home.example") && m.subject.contains("released"))
    {
        assert!(Instant::now() < deadline, "no release notice");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Sam, of site 202, cannot be given a code: the unknown ID's answer.
    let (status, _) = desk.post(
        "/helpdesk",
        "/helpdesk/people/088888/claim-code",
        &[("reason", "ticket 16")],
    );
    assert_eq!(status, 404);
    let sam = app.claimd(&["admin", "audit", "--employee", "088888"]);
    let sam = String::from_utf8_lossy(&sam.stdout);
    assert!(
        sam.contains("claim_code") && !sam.contains("helpdesk."),
        "{sam}"
    );
    let audit = app.claimd(&["admin", "audit", "--employee", "066666"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    for said in [
        "helpdesk.unlock",
        "helpdesk.claim_code",
        "ticket 12: Max mistyped his name",
        "ticket 13: printed for Max",
    ] {
        assert!(audit.contains(said), "{said}: {audit}");
    }
    assert!(!audit.contains(&code) && !app.logs().contains(&code));
}

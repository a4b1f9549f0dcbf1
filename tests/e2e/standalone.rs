//! `claimd portal` on its own host: the pages as a gRPC client of AccountService over TLS with
//! a client certificate, forwarding each browser's address so the service's limits count
//! people, not the portal.

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_testkit::{ClaimdProcess, Slapd, Smtp, TestCa};

use crate::{
    harness::PASSWORD,
    web::{form_tokens, get, get_with, header, jane_form, post_with},
};

/// `claimd run` with gRPC over TLS, asking clients for a certificate, trusting the portal
/// host's forwarded addresses, and three failed attempts per address before a lock.
fn service(slapd: &Slapd, smtp: &Smtp, server_ca: &TestCa, client_ca: &TestCa) -> ClaimdProcess {
    let mut claimd = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    let d = claimd.dir().to_owned();
    let server = server_ca.server_127();
    fs::write(d.join("server.pem"), &server.cert_pem).unwrap();
    fs::write(d.join("server.key"), &server.key_pem).unwrap();
    fs::write(d.join("clients-ca.pem"), client_ca.pem()).unwrap();
    claimd.write_config(&format!(
        r#"[grpc]
listen = "127.0.0.1:{port}"
tls_cert_file = "{d}/server.pem"
tls_key_file = "{d}/server.key"
client_ca_file = "{d}/clients-ca.pem"
trusted_proxies = ["127.0.0.1"]
[store]
url = "sqlite://{d}/claimd.db"
seal_key_file = "{d}/claimd.key"
[directory]
url = "{url}"
bind_dn = "{bind}"
bind_password = "{pw}"
users_base_dn = "{base}"
allow_insecure_directory = true
[mail]
url = "{smtp}"
from = "District IT <ithelp@district.example>"
[security]
address_max_failures = 3
[portal]
listen = ""
support_email = "help@district.example"
[sync]
poll_interval_ms = 100
"#,
        port = claimd.port(),
        d = d.display(),
        url = slapd.url(),
        bind = Slapd::SERVICE_DN,
        pw = Slapd::SERVICE_PASSWORD,
        base = Slapd::USERS_BASE_DN,
        smtp = smtp.url(),
    ));
    claimd.import_roster(
        "employee_id,last_name,first_name,email,status\n\
         077777,Doe,Jane,jane.doe@district.example,active\n",
    );
    claimd.launch();
    claimd
}

/// `claimd portal` calling `service`, with a client certificate when `identity` is given,
/// believing X-Forwarded-For from the district's reverse proxy on 127.0.0.1.
fn portal(service: &ClaimdProcess, server_ca: &TestCa, identity: Option<&TestCa>) -> ClaimdProcess {
    let mut portal = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    let d = portal.dir().to_owned();
    fs::write(d.join("service-ca.pem"), server_ca.pem()).unwrap();
    let client_files = identity.map_or_else(String::new, |ca| {
        let cert = ca.client("portal.district.example");
        fs::write(d.join("portal.pem"), &cert.cert_pem).unwrap();
        fs::write(d.join("portal.key"), &cert.key_pem).unwrap();
        format!(
            "api_cert_file = \"{d}/portal.pem\"\napi_key_file = \"{d}/portal.key\"\n",
            d = d.display()
        )
    });
    portal.write_config(&format!(
        r#"[portal]
listen = "127.0.0.1:{port}"
api = "https://127.0.0.1:{api}"
api_ca_file = "{d}/service-ca.pem"
key_file = "{d}/claimd-portal.key"
{client_files}trusted_proxies = ["127.0.0.1"]
district_name = "Example School District"
# A DMZ host's own idea of where work orders go: shown on its pages at most, never mailed.
support_email = "decoy@dmz.example"
"#,
        port = portal.port(),
        api = service.port(),
        d = d.display(),
    ));
    portal.launch_command("portal");
    portal
}

/// The form's cookie and token, fetched as the browser at `from`.
fn claim_form(pages: &str, from: &str) -> (String, String) {
    let (status, headers, body) =
        get_with(pages, "/claim", &format!("X-Forwarded-For: {from}\r\n"));
    assert_eq!(status, 200, "{body}");
    form_tokens(&headers, &body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dmz_portal_claims_through_the_service_and_limits_count_each_browser() {
    let slapd = Slapd::start();
    let smtp = Smtp::start();
    let server_ca = TestCa::new("claimd server CA");
    let client_ca = TestCa::new("district services CA");
    let service = service(&slapd, &smtp, &server_ca, &client_ca);
    let mut portal = portal(&service, &server_ca, Some(&client_ca));
    let pages = format!("127.0.0.1:{}", portal.port());

    // A scripted guesser behind one address is stopped after three failures…
    let attacker = "203.0.113.7";
    let (cookie, token) = claim_form(&pages, attacker);
    let forwarded = format!("X-Forwarded-For: {attacker}\r\n");
    for id in ["100001", "100002", "100003"] {
        let (status, _, body) = post_with(
            &pages,
            "/claim",
            &cookie,
            &jane_form(&token, id),
            &forwarded,
        );
        assert_eq!(status, 200);
        assert!(body.contains("could not find your names"), "{body}");
    }
    let (status, _, body) = post_with(
        &pages,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
        &forwarded,
    );
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Please wait before trying again"), "{body}");

    // …while Jane, at another address behind the same portal, claims her account, with a
    // form she opened before the portal restarted (its key is kept in portal.key_file).
    let jane = "198.51.100.9";
    let (cookie, token) = claim_form(&pages, jane);
    portal.stop_with(nix::sys::signal::Signal::SIGTERM);
    portal.launch_command("portal");
    let (status, headers, body) = post_with(
        &pages,
        "/claim",
        &cookie,
        &jane_form(&token, "077777"),
        &format!("X-Forwarded-For: {jane}\r\n"),
    );
    assert_eq!(status, 303, "{body}");
    let location = header(&headers, "location").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (status, _, body) = get(&pages, &location);
        assert_eq!(status, 200, "{body}");
        if !body.contains("Creating your account") {
            break body;
        }
        assert!(Instant::now() < deadline, "the claim never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("You Have Claimed Your Account"), "{page}");
    assert!(page.contains("e77777"), "{page}");
    assert!(slapd.can_bind(&format!("uid=e77777,{}", Slapd::USERS_BASE_DN), PASSWORD));

    // While the service cannot be reached, the finish page shows progress and refreshes
    // rather than sending Jane back to a form that would say "already claimed".
    let mut service = service;
    service.stop_with(nix::sys::signal::Signal::SIGTERM);
    let (status, _, body) = get(&pages, &location);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Creating your account"), "{body}");
    assert!(body.contains("http-equiv=\"refresh\""), "{body}");
    service.launch();

    // A work order from the DMZ goes to the service's support address, not one the portal
    // names.
    let (_, headers, body) = get(&pages, "/work-order?topic=locked");
    let (cookie, token) = form_tokens(&headers, &body);
    let order = [
        ("csrf", token.as_str()),
        ("last_name", "Guesser"),
        ("first_name", "Sam"),
        ("employee_id", ""),
        ("email", "sam@district.example"),
        ("topic", "locked"),
        ("details", "Locked out at the portal."),
    ];
    let (status, _, body) = post_with(
        &pages,
        "/work-order",
        &cookie,
        &order,
        &format!("X-Forwarded-For: {jane}\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    // (The claim's notice to Jane is the other mail.)
    let mails = smtp.wait_for(2, Duration::from_secs(20));
    let order = mails
        .iter()
        .find(|m| m.to.contains("help@district.example"))
        .expect("the work order reached the support address");
    assert!(
        order.body.contains("Locked out at the portal."),
        "{}",
        order.body
    );
    assert!(
        mails.iter().all(|m| !m.to.contains("decoy@dmz.example")),
        "mail went where the DMZ portal said"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_without_the_district_certificate_is_refused_by_the_service() {
    let slapd = Slapd::start();
    let smtp = Smtp::start();
    let server_ca = TestCa::new("claimd server CA");
    let client_ca = TestCa::new("district services CA");
    let service = service(&slapd, &smtp, &server_ca, &client_ca);
    let stranger = TestCa::new("not the district");
    for identity in [None, Some(&stranger)] {
        let portal = portal(&service, &server_ca, identity);
        let pages = format!("127.0.0.1:{}", portal.port());
        let (status, _, body) = get(&pages, "/claim");
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("Something went wrong"), "{body}");
        assert!(
            !body.contains("certificate") && !body.contains("tls"),
            "no cause shown: {body}"
        );
    }
    // The pages' health check answers without the service.
    let portal = portal(&service, &server_ca, None);
    let (status, _, _) = get(&format!("127.0.0.1:{}", portal.port()), "/healthz");
    assert_eq!(status, 200);
}

#[test]
fn claimd_portal_names_each_missing_or_wrong_key() {
    let claimd = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    claimd.write_config("[portal]\nlisten = \"\"\napi = \"ftp://x\"\n");
    let out = claimd.run(&["portal"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("portal.listen: is required"), "{stderr}");
    claimd.write_config("[portal]\nlisten = \"127.0.0.1:0\"\napi = \"https://127.0.0.1:1\"\n");
    let out = claimd.run(&["portal"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("portal.api_ca_file"),
        "{stderr}"
    );
    // Passwords cross this link: plain HTTP only to this same host.
    claimd.write_config("[portal]\nlisten = \"127.0.0.1:0\"\napi = \"http://10.0.0.5:50051\"\n");
    let out = claimd.run(&["portal"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("portal.api") && stderr.contains("unencrypted"),
        "{stderr}"
    );
}

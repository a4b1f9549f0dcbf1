//! Mail to a relay that requires STARTTLS (`smtp://host?tls=required`, the district's CA in
//! `mail.ca_file`) and a login (`smtp://user:password@host`), as many district relays do.

use std::time::Duration;

use claimd_testkit::{Smtp, TestCa, wait_until};
use nix::sys::signal::Signal;

use crate::harness::{App, claim_ok, jane, settle};

const MAIL_PASSWORD: &str = "Relay-Pass-Orchid-61";

/// claimd switched over to `smtp` at `url`, trusting `ca` for it.
async fn using(app: &mut App, smtp: Smtp, url: &str, ca: Option<&std::path::Path>) {
    app.stop_with(Signal::SIGTERM);
    app.smtp = smtp;
    app.claimd.set_env("CLAIMD__MAIL__URL", url);
    if let Some(ca) = ca {
        app.claimd
            .set_env("CLAIMD__MAIL__CA_FILE", ca.to_str().unwrap());
    }
    app.launch().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_go_out_over_starttls_with_a_login() {
    let ca = TestCa::new("district mail CA");
    let mut app = App::start().await;
    let ca_file = app.dir().join("mail-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let smtp = Smtp::start_secure(&ca.server_127(), Some(("claimd", MAIL_PASSWORD)));
    let url = format!(
        "smtp://claimd:{MAIL_PASSWORD}@127.0.0.1:{}?tls=required",
        smtp.url().rsplit(':').next().unwrap()
    );
    using(&mut app, smtp, &url, Some(&ca_file)).await;
    let mut client = app.client().await;
    let reply = claim_ok(&mut client, jane()).await;
    settle(&mut client, &reply.operation.unwrap().id).await;
    let mails = app.smtp.wait_for(1, Duration::from_secs(20));
    assert_eq!(mails[0].subject, "Your district account is ready");
    assert!(
        !app.logs().contains(MAIL_PASSWORD),
        "the relay's password reached the log"
    );
    let check = app.claimd(&["check-config"]);
    assert!(check.status.success());
    assert!(!String::from_utf8_lossy(&check.stdout).contains(MAIL_PASSWORD));
    assert!(!String::from_utf8_lossy(&check.stderr).contains(MAIL_PASSWORD));
}

/// A wrong relay password, or a relay certificate the district's CA did not sign: nothing
/// is delivered, the sender says so in its log, and the password never reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_login_or_an_unknown_certificate_delivers_nothing() {
    let ca = TestCa::new("district mail CA");
    let stranger = TestCa::new("someone else");
    for (server, password, what) in [
        (&ca, "Not-The-Relay-Pass", "a wrong password"),
        (&stranger, MAIL_PASSWORD, "a certificate from another CA"),
    ] {
        let mut app = App::start().await;
        let ca_file = app.dir().join("mail-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let smtp = Smtp::start_secure(&server.server_127(), Some(("claimd", MAIL_PASSWORD)));
        let url = format!(
            "smtp://claimd:{password}@127.0.0.1:{}?tls=required",
            smtp.url().rsplit(':').next().unwrap()
        );
        using(&mut app, smtp, &url, Some(&ca_file)).await;
        let mut client = app.client().await;
        let reply = claim_ok(&mut client, jane()).await;
        settle(&mut client, &reply.operation.unwrap().id).await;
        wait_until(
            &format!("{what}: a failed delivery"),
            Duration::from_secs(20),
            || {
                let logs = app.logs();
                logs.contains("mail not sent") || logs.contains("mail refused for good")
            },
        );
        assert!(app.smtp.messages().is_empty(), "{what}: delivered anyway");
        assert!(
            !app.logs().contains(password),
            "{what}: the password reached the log"
        );
    }
}

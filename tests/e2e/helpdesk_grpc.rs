//! HelpdeskService as a district tool calls it: over TLS with a client certificate that
//! `[helpdesk] clients` maps to sites. No certificate is UNAUTHENTICATED (AccountService still
//! serves such callers: the certificate is asked for, not required), an unlisted one is
//! PERMISSION_DENIED, a person outside the certificate's sites answers like an unknown ID,
//! the audit names the certificate and its `actor`, and plain-text gRPC refuses the service
//! even on loopback.

use std::{
    fs,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    ListChallengeQuestionsRequest, LookUpPersonRequest, SetTemporaryPasswordRequest,
    account_service_client::AccountServiceClient, helpdesk_service_client::HelpdeskServiceClient,
};
use claimd_testkit::{ClaimdProcess, Slapd, TestCa};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

use crate::harness::{App, PASSWORD, jane};

async fn channel(port: u16, ca: &str, identity: Option<&claimd_testkit::Issued>) -> Channel {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("127.0.0.1");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("TLS connects")
}

fn look_up(id: &str) -> LookUpPersonRequest {
    LookUpPersonRequest {
        employee_id: id.into(),
        actor: "jdoe".into(),
        reason: "ticket 981".into(),
    }
}

/// CAs for a TLS claimd: its server's, and the district tools'.
struct Cas {
    server: TestCa,
    tools: TestCa,
}

/// `claimd run` over TLS with HelpdeskService for `CN=ticketing.district.example` (site
/// 101), `grpc_extra` added to `[grpc]`; the roster has Jane (101) and Sam (202).
fn tls_claimd(slapd: &Slapd, cas: &Cas, grpc_extra: &str) -> ClaimdProcess {
    let server = cas.server.server_127();
    let mut claimd = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    let d = claimd.dir().to_owned();
    fs::write(d.join("server.pem"), &server.cert_pem).unwrap();
    fs::write(d.join("server.key"), &server.key_pem).unwrap();
    fs::write(d.join("tools-ca.pem"), cas.tools.pem()).unwrap();
    claimd.write_config(&format!(
        r#"[grpc]
listen = "127.0.0.1:{port}"
tls_cert_file = "{d}/server.pem"
tls_key_file = "{d}/server.key"
{grpc_extra}
[store]
url = "sqlite://{d}/claimd.db"
seal_key_file = "{d}/claimd.key"
[directory]
url = "{url}"
bind_dn = "{bind}"
bind_password = "{pw}"
users_base_dn = "{base}"
allow_insecure_directory = true
[portal]
listen = ""
[sync]
poll_interval_ms = 100
backoff_initial_ms = 100
[helpdesk]
client_ca_file = "{d}/tools-ca.pem"
clients = [{{ subject = "CN=ticketing.district.example", sites = ["101"] }}]
"#,
        port = claimd.port(),
        d = d.display(),
        url = slapd.url(),
        bind = Slapd::SERVICE_DN,
        pw = Slapd::SERVICE_PASSWORD,
        base = Slapd::USERS_BASE_DN,
    ));
    claimd.import_roster(
        "employee_id,last_name,first_name,email,status,site\n\
         077777,Doe,Jane,jane.doe@district.example,active,101\n\
         88888,Other,Sam,sam.other@district.example,active,202\n",
    );
    claimd.launch();
    claimd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_listed_certificate_acts_and_only_within_its_sites() {
    let slapd = Slapd::start();
    let cas = Cas {
        server: TestCa::new("claimd server CA"),
        tools: TestCa::new("district tools CA"),
    };
    let claimd = tls_claimd(&slapd, &cas, "");
    let port = claimd.port();

    // AccountService needs no certificate: the helpdesk CA is asked for, not required.
    let anonymous = channel(port, cas.server.pem(), None).await;
    let mut accounts = AccountServiceClient::new(anonymous.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while accounts
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{}", claimd.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    accounts.claim_account(jane()).await.expect("claimed");

    // No certificate: UNAUTHENTICATED, before anything else.
    let status = HelpdeskServiceClient::new(anonymous)
        .look_up_person(look_up("077777"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // A certificate of the tools' CA that is not listed: PERMISSION_DENIED.
    let other = cas.tools.client("other.district.example");
    let status = HelpdeskServiceClient::new(channel(port, cas.server.pem(), Some(&other)).await)
        .look_up_person(look_up("077777"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let ticketing = cas.tools.client("ticketing.district.example");
    let mut desk =
        HelpdeskServiceClient::new(channel(port, cas.server.pem(), Some(&ticketing)).await);
    let person = desk
        .look_up_person(look_up("077777"))
        .await
        .expect("Jane is at site 101")
        .into_inner()
        .person
        .unwrap();
    assert_eq!(
        (person.username.as_str(), person.site.as_str()),
        ("e77777", "101")
    );

    // Site 202's person answers exactly as an unknown ID does.
    let out_of_scope = desk.look_up_person(look_up("088888")).await.unwrap_err();
    let unknown = desk.look_up_person(look_up("099999")).await.unwrap_err();
    assert_eq!(out_of_scope.code(), Code::NotFound);
    assert_eq!(
        (out_of_scope.code(), out_of_scope.message()),
        (unknown.code(), unknown.message())
    );

    // The actor is required: the audit must name a person.
    let status = desk
        .look_up_person(LookUpPersonRequest {
            actor: " ".into(),
            ..look_up("077777")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("actor"), "{status:?}");

    // Once Jane's claim is written, a temporary password replaces hers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let dn = format!("uid=e77777,{}", Slapd::USERS_BASE_DN);
    while !slapd.can_bind(&dn, PASSWORD) {
        assert!(Instant::now() < deadline, "{}", claimd.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let set = desk
        .set_temporary_password(SetTemporaryPasswordRequest {
            employee_id: "077777".into(),
            actor: "jdoe".into(),
            reason: "ticket 981: Jane called from her desk phone".into(),
        })
        .await
        .expect("set")
        .into_inner();
    assert!(!format!("{set:?}").contains(&set.temporary_password));
    while !slapd.can_bind(&dn, &set.temporary_password) {
        assert!(Instant::now() < deadline, "{}", claimd.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!slapd.can_bind(&dn, PASSWORD));

    let audit = claimd.run(&["admin", "audit", "--employee", "077777"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("helpdesk.temporary_password"), "{audit}");
    assert!(
        audit.contains("cert:CN=ticketing.district.example as jdoe"),
        "{audit}"
    );
    assert!(audit.contains("ticket 981: Jane called"), "{audit}");
    assert!(!claimd.logs().contains(&set.temporary_password));
}

/// Plain-text gRPC carries no certificate: HelpdeskService refuses every call, even on
/// loopback, while AccountService serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_grpc_refuses_the_helpdesk_even_on_loopback() {
    let config =
        "[helpdesk]\ngroups = [{ group = \"cn=techs,dc=example,dc=org\", sites = [\"*\"] }]\n";
    let app = App::with_portal_config(config, |_| {}).await;
    let channel = Channel::from_shared(app.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HelpdeskServiceClient::new(channel)
        .look_up_person(look_up("077777"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        app.client()
            .await
            .list_challenge_questions(ListChallengeQuestionsRequest {})
            .await
            .is_ok()
    );
}

/// With `grpc.client_ca_file` too (every caller shows a certificate, of either CA), a
/// certificate of the services' CA naming the tool's subject is not the tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_s_subject_from_another_trusted_ca_is_not_the_tool() {
    let slapd = Slapd::start();
    let cas = Cas {
        server: TestCa::new("claimd server CA"),
        tools: TestCa::new("district tools CA"),
    };
    let services = TestCa::new("district services CA");
    let dir = tempfile::tempdir().unwrap();
    let services_pem = dir.path().join("services-ca.pem");
    fs::write(&services_pem, services.pem()).unwrap();
    let claimd = tls_claimd(
        &slapd,
        &cas,
        &format!("client_ca_file = \"{}\"", services_pem.display()),
    );
    let port = claimd.port();
    let impostor = services.client("ticketing.district.example");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let channel = channel(port, cas.server.pem(), Some(&impostor)).await;
        match HelpdeskServiceClient::new(channel)
            .look_up_person(look_up("077777"))
            .await
        {
            Err(status) if status.code() == Code::Unavailable => {
                assert!(Instant::now() < deadline, "{}", claimd.logs());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => break other.unwrap_err(),
        }
    };
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // The services' certificate still serves AccountService.
    let mut accounts =
        AccountServiceClient::new(channel(port, cas.server.pem(), Some(&impostor)).await);
    accounts
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await
        .expect("a district service's certificate");
    let tool = cas.tools.client("ticketing.district.example");
    let person = HelpdeskServiceClient::new(channel(port, cas.server.pem(), Some(&tool)).await)
        .look_up_person(look_up("077777"))
        .await
        .expect("the tools' CA issued this one")
        .into_inner();
    assert_eq!(person.person.unwrap().site, "101");
}

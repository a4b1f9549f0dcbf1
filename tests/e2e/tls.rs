//! gRPC over TLS with client certificates, as district services connect in production.

use std::{fs, time::Duration};

use claimd_api::v1::{ListChallengeQuestionsRequest, account_service_client::AccountServiceClient};
use claimd_testkit::{ClaimdProcess, Slapd, TestCa};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

async fn connect(
    port: u16,
    ca: &str,
    identity: Option<Identity>,
) -> Result<AccountServiceClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("127.0.0.1");
    if let Some(identity) = identity {
        tls = tls.identity(identity);
    }
    let channel = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    Ok(AccountServiceClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_with_a_district_certificate_get_in() {
    let slapd = Slapd::start();
    let server_ca = TestCa::new("claimd server CA");
    let client_ca = TestCa::new("district services CA");
    let server = server_ca.server_127();
    let mut claimd = ClaimdProcess::new(env!("CARGO_BIN_EXE_claimd"));
    let d = claimd.dir().to_owned();
    fs::write(d.join("server.pem"), &server.cert_pem).unwrap();
    fs::write(d.join("server.key"), &server.key_pem).unwrap();
    fs::write(d.join("clients-ca.pem"), client_ca.pem()).unwrap();
    claimd.write_config(&format!(
        r#"[grpc]
listen = "127.0.0.1:{port}"
tls_cert_file = "{d}/server.pem"
tls_key_file = "{d}/server.key"
client_ca_file = "{d}/clients-ca.pem"
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
"#,
        port = claimd.port(),
        d = d.display(),
        url = slapd.url(),
        bind = Slapd::SERVICE_DN,
        pw = Slapd::SERVICE_PASSWORD,
        base = Slapd::USERS_BASE_DN,
    ));
    claimd.launch();

    let portal = client_ca.client("portal.district.example");
    let mut client = connect(
        claimd.port(),
        server_ca.pem(),
        Some(Identity::from_pem(&portal.cert_pem, &portal.key_pem)),
    )
    .await
    .expect("a district service connects");
    let questions = client
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(questions.questions.len() >= 10);

    // No client certificate, or one from another CA: refused.
    let stranger_ca = TestCa::new("someone else");
    let stranger = stranger_ca.client("stranger");
    for identity in [
        None,
        Some(Identity::from_pem(&stranger.cert_pem, &stranger.key_pem)),
    ] {
        let refused = match connect(claimd.port(), server_ca.pem(), identity).await {
            Err(_) => true,
            Ok(mut client) => client
                .list_challenge_questions(ListChallengeQuestionsRequest {})
                .await
                .is_err(),
        };
        assert!(refused, "a client without a district certificate got in");
    }
}

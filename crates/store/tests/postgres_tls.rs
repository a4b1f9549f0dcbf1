//! The PostgreSQL store over TLS: with `store.ca_file` the server's certificate must be
//! signed by that CA and name the host dialled, or the connection is refused at once.

use std::time::{Duration, Instant};

use claimd_core::{EmployeeId, store::prelude::*};
use claimd_store::{PgSettings, PgStore};
use claimd_testkit::{Postgres, TestCa};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_requires_a_server_certificate_it_signed() {
    let ca = TestCa::new("district database CA");
    let identity = ca.server_127();
    let server = tokio::task::spawn_blocking(move || Postgres::start_tls(&identity))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("db-ca.pem");
    std::fs::write(&trusted, ca.pem()).unwrap();
    let trusted_again = trusted.clone();
    let stranger = dir.path().join("other-ca.pem");
    std::fs::write(&stranger, TestCa::new("someone else").pem()).unwrap();

    let settings = |ca_file| PgSettings {
        ca_file: Some(ca_file),
        max_connections: 2,
        ..PgSettings::default()
    };
    let store = PgStore::connect(&server.url(), &settings(trusted))
        .await
        .expect("TLS verified against the district's CA");
    assert!(
        store
            .roster_entry(EmployeeId::new(1).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(encrypted, "the session is encrypted");

    // A certificate from another CA is refused, and at once (not waited on as an outage).
    let started = Instant::now();
    let refused = PgStore::connect(&server.url(), &settings(stranger)).await;
    let error = refused
        .expect_err("a server the CA did not sign was accepted")
        .to_string();
    assert!(
        error.contains("UnknownIssuer"),
        "refused for another reason: {error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the refusal was retried"
    );

    // The district's CA signed it, but for another host: refused too (the name is checked,
    // not only the signature).
    let elsewhere = ca.server_named("db.elsewhere.example");
    let impostor = tokio::task::spawn_blocking(move || Postgres::start_tls(&elsewhere))
        .await
        .unwrap();
    let refused = PgStore::connect(&impostor.url(), &settings(trusted_again)).await;
    let error = refused
        .expect_err("a certificate for another host was accepted")
        .to_string();
    assert!(
        error.contains("not valid for name"),
        "refused for another reason: {error}"
    );
}

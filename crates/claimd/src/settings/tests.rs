use std::{
    collections::{BTreeSet, HashMap},
    io::Write,
};

use secrecy::ExposeSecret;

use super::Settings;

fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    )
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_match_the_contract() {
    let s = Settings::load(None, env(&[])).unwrap();
    assert_eq!(s.grpc.listen, "127.0.0.1:50051");
    assert_eq!(s.store.url, "sqlite://claimd.db");
    assert_eq!(s.directory.flavor, claimd_ldap::Flavor::OpenLdap);
    assert_eq!(s.directory.url.list(), ["ldap://127.0.0.1:389"]);
    assert!(!s.directory.allow_insecure_directory);
}

#[test]
fn file_then_environment() {
    let f = file(
        "[grpc]\nlisten = \"0.0.0.0:6000\"\n[directory]\nurl = \"ldaps://dc1\"\nbind_password = \"from-file\"\n",
    );
    let s = Settings::load(
        Some(f.path()),
        env(&[
            ("CLAIMD__DIRECTORY__URL", "ldaps://dc2"),
            ("CLAIMD__GRPC__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
        ]),
    )
    .unwrap();
    assert_eq!(s.grpc.listen, "0.0.0.0:6000");
    assert_eq!(s.directory.url.list(), ["ldaps://dc2"]);
    assert_eq!(
        s.directory.bind_password.unwrap().expose_secret(),
        "from-file"
    );
    assert_eq!(s.grpc.trusted_proxies.len(), 2);
}

#[test]
fn numeric_looking_secrets_stay_text() {
    let s = Settings::load(
        None,
        env(&[("CLAIMD__DIRECTORY__BIND_PASSWORD", "12345678")]),
    )
    .unwrap();
    assert_eq!(
        s.directory.bind_password.unwrap().expose_secret(),
        "12345678"
    );
}

#[test]
fn unknown_keys_are_named() {
    let f = file("[grpc]\nlistenn = \"x\"\n");
    let err = Settings::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("grpc") && err.contains("listenn"), "{err}");
    let err = Settings::load(None, env(&[("CLAIMD__DIRECTORY__URLL", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("directory") && err.contains("urll"), "{err}");
    let err = Settings::load(Some(file("[nope]\nx = 1\n").path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn badly_typed_values_are_named() {
    let err = Settings::load(None, env(&[("CLAIMD__SYNC__CONCURRENCY", "many")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sync.concurrency"), "{err}");
    let err = Settings::load(
        Some(file("[directory]\nstarttls = \"maybe\"\n").path()),
        env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("directory.starttls"), "{err}");
}

#[test]
fn debug_output_hides_secrets() {
    let s = Settings::load(
        None,
        env(&[("CLAIMD__DIRECTORY__BIND_PASSWORD", "bind-Secret-123")]),
    )
    .unwrap();
    let printed = format!("{s:?}");
    assert!(!printed.contains("bind-Secret-123"), "{printed}");
}

#[test]
fn the_example_config_in_deploy_is_valid() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/claimd.example.toml");
    let password = file("bind-secret\n");
    let path = password.path().to_str().unwrap();
    let s = Settings::load(
        Some(&example),
        env(&[("CLAIMD__DIRECTORY__BIND_PASSWORD_FILE", path)]),
    )
    .unwrap();
    let parts = s.parts().unwrap();
    assert_eq!(parts.directory.bind_password.expose_secret(), "bind-secret");
}

#[test]
fn several_directory_urls_are_read_from_a_list_or_a_comma_separated_value() {
    let f = file("[directory]\nurl = [\"ldaps://dc1\", \"ldaps://dc2\"]\nbind_password = \"x\"\n");
    let s = Settings::load(Some(f.path()), env(&[])).unwrap();
    assert_eq!(s.directory.url.list(), ["ldaps://dc1", "ldaps://dc2"]);
    let s = Settings::load(
        None,
        env(&[("CLAIMD__DIRECTORY__URL", "ldaps://dc1, ldaps://dc2")]),
    )
    .unwrap();
    assert_eq!(s.directory.url.list(), ["ldaps://dc1", "ldaps://dc2"]);
}

#[test]
fn a_closed_set_names_its_key_and_its_words() {
    for (key, env_key, words) in [
        (
            "directory.flavor",
            "CLAIMD__DIRECTORY__FLAVOR",
            "must be openldap or active_directory, not \"samba\"",
        ),
        (
            "log.format",
            "CLAIMD__LOG__FORMAT",
            "must be pretty or json, not \"samba\"",
        ),
        (
            "accounts.claim_code",
            "CLAIMD__ACCOUNTS__CLAIM_CODE",
            "must be off or required, not \"samba\"",
        ),
        (
            "recovery.second_factor",
            "CLAIMD__RECOVERY__SECOND_FACTOR",
            "must be off or personal_email, not \"samba\"",
        ),
    ] {
        let err = Settings::load(None, env(&[(env_key, "samba")]))
            .unwrap_err()
            .to_string();
        assert_eq!(err, format!("configuration key {key}: {words}"));
        let (section, field) = key.split_once('.').unwrap();
        let err = Settings::load(
            Some(file(&format!("[{section}]\n{field} = \"samba\"\n")).path()),
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, format!("configuration key {key}: {words}"));
    }
}

#[test]
fn closed_sets_are_read_from_the_environment() {
    let s = Settings::load(
        None,
        env(&[
            ("CLAIMD__DIRECTORY__FLAVOR", "active_directory"),
            ("CLAIMD__LOG__FORMAT", "json"),
            ("CLAIMD__ACCOUNTS__CLAIM_CODE", "required"),
            ("CLAIMD__RECOVERY__SECOND_FACTOR", "off"),
        ]),
    )
    .unwrap();
    assert_eq!(s.directory.flavor, claimd_ldap::Flavor::ActiveDirectory);
    assert_eq!(s.log.format, super::LogFormat::Json);
    assert_eq!(s.accounts.claim_code, super::ClaimCode::Required);
    assert_eq!(s.recovery.second_factor, super::SecondFactor::Off);
}

/// Secure by default: a reset needs the mailed code wherever the roster has an address.
#[test]
fn the_second_factor_is_on_by_default() {
    let s = Settings::load(None, env(&[])).unwrap();
    assert_eq!(s.recovery.second_factor, super::SecondFactor::PersonalEmail);
}

#[test]
fn every_problem_is_listed_at_once() {
    let err = Settings::load(
        None,
        env(&[
            ("CLAIMD__LIMITS__CPU_QUEUE", "0"),
            ("CLAIMD__SYNC__CONCURRENCY", "0"),
            ("CLAIMD__ROSTER__MAX_DISABLE_PERCENT", "101"),
            ("CLAIMD__SECURITY__LOCKOUT_SECS", "0"),
            ("CLAIMD__LOG__LEVEL", "info,[[["),
        ]),
    )
    .unwrap()
    .parts()
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("invalid configuration:\n  "), "{err}");
    for key in [
        "limits.cpu_queue",
        "sync.concurrency",
        "roster.max_disable_percent",
        "security.lockout_secs",
        "log.level",
    ] {
        assert!(err.contains(&format!("\n  {key}: ")), "{key} in {err}");
    }
}

#[test]
fn active_directory_settings_are_checked() {
    let f = file(
        "[directory]\nflavor = \"active_directory\"\nurl = \"ldap://dc1.district.example\"\n\
         bind_dn = \"svc-claimd@district.example\"\nbind_password = \"x\"\n\
         users_base_dn = \"OU=Staff,DC=district,DC=example\"\n",
    );
    let err = Settings::load(Some(f.path()), env(&[]))
        .unwrap()
        .parts()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("directory.url") && err.contains("clear text"),
        "{err}"
    );
    let parts = Settings::load(
        Some(f.path()),
        env(&[("CLAIMD__DIRECTORY__URL", "ldaps://dc1.district.example")]),
    )
    .unwrap()
    .parts()
    .unwrap();
    assert_eq!(parts.directory.upn_suffix(), "district.example");
}

#[test]
fn the_store_is_sqlite_or_postgres_with_its_keys_checked() {
    let s = Settings::load(
        None,
        env(&[(
            "CLAIMD__STORE__URL",
            "postgres://claimd:s3cret-pw@127.0.0.1/claimd",
        )]),
    )
    .unwrap();
    assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
    let store = s.store().unwrap();
    assert_eq!(store.display(), "postgres://claimd@127.0.0.1/claimd");
    assert!(!format!("{store:?}").contains("s3cret"), "{store:?}");
    let query = super::store::without_password(
        "postgres://claimd@db/claimd?password=s3cret&sslmode=require",
    );
    assert_eq!(query, "postgres://claimd@db/claimd?sslmode=require");

    let mut password = tempfile::NamedTempFile::new().unwrap();
    writeln!(password, "db-Pa55word").unwrap();
    let s = Settings::load(
        None,
        env(&[
            ("CLAIMD__STORE__URL", "postgres://claimd@localhost/claimd"),
            (
                "CLAIMD__STORE__PASSWORD_FILE",
                password.path().to_str().unwrap(),
            ),
        ]),
    )
    .unwrap();
    let store = s.store().unwrap();
    assert_eq!(
        store.postgres.password.as_ref().unwrap().expose_secret(),
        "db-Pa55word"
    );
    assert!(!format!("{store:?}").contains("db-Pa55word"));

    for (pairs, key) in [
        (vec![("CLAIMD__STORE__URL", "mysql://x/y")], "store.url"),
        (
            vec![("CLAIMD__STORE__PASSWORD_FILE", "/etc/hostname")],
            "store.password_file: is for a postgres:// store.url only",
        ),
        (
            vec![
                ("CLAIMD__STORE__URL", "postgres://claimd@db/claimd"),
                ("CLAIMD__STORE__CA_FILE", "/nonexistent/ca.pem"),
            ],
            "store.ca_file: cannot read /nonexistent/ca.pem",
        ),
        (
            vec![(
                "CLAIMD__STORE__URL",
                "postgres://claimd@db.district.example/claimd",
            )],
            "store.ca_file: is required for a database on another host",
        ),
    ] {
        let error = Settings::load(None, env(&pairs))
            .unwrap()
            .store()
            .unwrap_err();
        assert!(format!("{error:#}").contains(key), "{error:#}");
    }
}

#[test]
fn grpc_on_another_address_without_tls_needs_allow_plaintext() {
    let f = file(
        "[grpc]\nlisten = \"0.0.0.0:50051\"\n[directory]\nurl = \"ldaps://dc1\"\nbind_password = \"x\"\n",
    );
    let err = Settings::load(Some(f.path()), env(&[]))
        .unwrap()
        .parts()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("grpc.listen") && err.contains("grpc.allow_plaintext"),
        "{err}"
    );
    let parts = Settings::load(
        Some(f.path()),
        env(&[("CLAIMD__GRPC__ALLOW_PLAINTEXT", "true")]),
    )
    .unwrap()
    .parts()
    .unwrap();
    assert!(!parts.listen.ip().is_loopback());
    // Loopback needs nothing: the embedded default.
    let f = file(
        "[grpc]\nlisten = \"[::1]:50051\"\n[directory]\nurl = \"ldaps://dc1\"\nbind_password = \"x\"\n",
    );
    Settings::load(Some(f.path()), env(&[]))
        .unwrap()
        .parts()
        .unwrap();
}

/// The keys of the example config: `(section, key, value, active)` for each `key = value`
/// line, commented out (`# key = value`) or not.
fn example_keys() -> Vec<(String, String, String, bool)> {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/claimd.example.toml"),
    )
    .unwrap();
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in example.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (text, active) = match line.strip_prefix("# ") {
            Some(rest) => (rest, false),
            None => (line, true),
        };
        let Some((key, value)) = text.split_once(" = ") else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        // The trailing `# CLAIMD__…` names the environment variable.
        let value = value.split("  ").next().unwrap_or(value).trim();
        keys.push((section.clone(), key.to_owned(), value.to_owned(), active));
    }
    keys
}

/// The fields serde expects in `section`, read off its refusal of an unknown one.
fn fields_of(section: &str) -> Vec<String> {
    let f = file(&format!("[{section}]\nnot_a_key_at_all = 1\n"));
    let error = Settings::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    let expected = error
        .split("expected one of ")
        .nth(1)
        .or_else(|| error.split("expected ").nth(1))
        .unwrap_or_else(|| panic!("{section}: {error}"));
    // "`a`, `b`, `c` for key …": the names between the first backticks of each item.
    expected
        .split(", ")
        .filter_map(|item| item.trim().strip_prefix('`')?.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// The example config lists every key the settings read, names no other, and every key it
/// sets is set to the default, but for the few a district must fill in.
#[test]
fn the_example_config_lists_every_key_with_its_default() {
    let keys = example_keys();
    let defaults = format!("{:?}", Settings::load(None, env(&[])).unwrap());
    let sections: BTreeSet<&str> = keys.iter().map(|(s, ..)| s.as_str()).collect();
    assert!(sections.len() >= 14, "{sections:?}");
    let mut problems = Vec::new();
    for section in sections {
        let listed: BTreeSet<&str> = keys
            .iter()
            .filter(|(s, ..)| s == section)
            .map(|(_, k, ..)| k.as_str())
            .collect();
        for field in fields_of(section) {
            if !listed.contains(field.as_str()) {
                problems.push(format!("{section}.{field} is not in the example config"));
            }
        }
    }
    // Where a district must say where its own servers and files are.
    let filled_in = [
        "store.url",
        "store.seal_key_file",
        "directory.url",
        "directory.bind_dn",
        "directory.bind_password_file",
        "directory.users_base_dn",
        "mail.from",
    ];
    for (section, key, value, active) in &keys {
        if value.ends_with('[') {
            continue; // an array spread over lines (challenge.questions), shown commented
        }
        let f = file(&format!("[{section}]\n{key} = {value}\n"));
        let name = format!("{section}.{key}");
        match Settings::load(Some(f.path()), env(&[])) {
            Err(e) => problems.push(format!("{name} = {value}: {e}")),
            Ok(loaded)
                if *active
                    && !filled_in.contains(&name.as_str())
                    && format!("{loaded:?}") != defaults =>
            {
                problems.push(format!(
                    "{name} = {value} in the example is not the default"
                ));
            }
            Ok(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn mail_ca_file_needs_tls_and_a_readable_certificate() {
    let ca = file("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    let path = ca.path().to_str().unwrap().to_owned();
    for (url, ca_file, expected) in [
        (
            "smtp://127.0.0.1:25",
            path.as_str(),
            "mail.ca_file: is only used with TLS",
        ),
        (
            "smtp://127.0.0.1:587?tls=required",
            "/nonexistent/ca.pem",
            "mail.ca_file: /nonexistent/ca.pem cannot be read",
        ),
        (
            "smtps://127.0.0.1",
            path.as_str(),
            "mail.ca_file: is not a usable PEM certificate",
        ),
    ] {
        let s = Settings::load(
            None,
            env(&[
                ("CLAIMD__MAIL__URL", url),
                ("CLAIMD__MAIL__CA_FILE", ca_file),
                ("CLAIMD__DIRECTORY__BIND_PASSWORD", "x"),
            ]),
        )
        .unwrap();
        let error = s.parts().map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(expected), "{url}: {error}");
    }
}

#[test]
fn protected_groups_are_group_dns() {
    let f = file(
        "[accounts]\nprotected_groups = [\"CN=Tier 0,OU=Groups,DC=district,DC=example\", \"Tier 0\"]\n",
    );
    let s = Settings::load(Some(f.path()), env(&[])).unwrap();
    let Err(err) = s.parts() else {
        panic!("a name that is no DN is refused")
    };
    let err = err.to_string();
    assert!(
        err.contains("accounts.protected_groups: entry 2 is not a group's DN: \"Tier 0\""),
        "{err}"
    );
    assert!(!err.contains("entry 1"), "{err}");
}

/// `[reminders]` alone, as `parts()` checks it: the part, or the problems' text.
fn reminders(pairs: &[(&str, &str)]) -> Result<Option<super::ReminderParts>, String> {
    let s = Settings::load(None, env(pairs)).unwrap();
    let mut p = super::problems::Problems::default();
    let part = s.reminders(&mut p);
    p.finish(Some(part)).map_err(|e| e.to_string())
}

#[test]
fn reminders_are_off_by_default_and_their_keys_are_checked() {
    assert!(
        reminders(&[]).unwrap().is_none(),
        "no reminders unless days are set"
    );

    let on = reminders(&[
        ("CLAIMD__REMINDERS__DAYS_BEFORE", "7,14,1"),
        (
            "CLAIMD__PORTAL__PUBLIC_URL",
            "https://accounts.district.example/",
        ),
    ])
    .unwrap()
    .expect("on");
    assert_eq!(on.scan_interval, std::time::Duration::from_secs(3600));
    assert_eq!(
        on.change_page,
        "https://accounts.district.example/change-password"
    );

    let err = reminders(&[
        ("CLAIMD__REMINDERS__DAYS_BEFORE", "14,0"),
        ("CLAIMD__REMINDERS__SCAN_INTERVAL_SECS", "0"),
    ])
    .unwrap_err();
    assert!(
        err.contains("reminders.days_before: 0 is not a number of days"),
        "{err}"
    );
    assert!(
        err.contains("reminders.scan_interval_secs: must be at least 1"),
        "{err}"
    );
}

//! The command line as IT staff use it: roster import and check-config.

use std::fs;

use claimd_api::v1::ClaimAccountRequest;
use tonic::Code;

use crate::harness::{App, claim_ok, jane};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_with_bad_rows_changes_nothing_and_names_every_line() {
    let app = App::start().await;
    let path = app.dir().join("bad.csv");
    fs::write(
        &path,
        "employee_id,last_name,first_name,email,status\n\
         000500,Good,Row,good@district.example,active\n\
         12x,Bad,Id,bad@district.example,active\n\
         501,,Name,nn@district.example,active\n\
         502,Bad,Status,bs@district.example,retired\n",
    )
    .unwrap();
    let out = app.claimd(&["roster", "import", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "line 3: employee_id",
        "line 4: last_name",
        "line 5: status",
        "nothing was imported",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from:\n{stderr}"
        );
    }
    let mut client = app.client().await;
    let good_row = ClaimAccountRequest {
        last_name: "Good".into(),
        first_name: "Row".into(),
        employee_id: "000500".into(),
        ..jane()
    };
    assert_eq!(
        client.claim_account(good_row).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reimport_updates_changed_rows_and_terminations_take_effect() {
    let app = App::start().await;
    let out = {
        let path = app.dir().join("update.csv");
        fs::write(
            &path,
            "employee_id,last_name,first_name,email,status,department\n\
             77777,Doe-Smith,Jane,jane.doe@district.example,active,Math\n\
             600,Leaving,Lee,lee@district.example,terminated,Art\n",
        )
        .unwrap();
        app.claimd(&["roster", "import", path.to_str().unwrap()])
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 added, 1 updated, 0 unchanged"),
        "{stdout}"
    );
    let mut client = app.client().await;
    let old_name = client.claim_account(jane()).await.unwrap_err();
    assert_eq!(old_name.code(), Code::NotFound);
    // The terminated row was added, and cannot claim: answered like names that match nobody.
    let terminated = client
        .claim_account(ClaimAccountRequest {
            last_name: "Leaving".into(),
            first_name: "Lee".into(),
            employee_id: "000600".into(),
            ..jane()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (terminated.code(), terminated.message()),
        (old_name.code(), old_name.message())
    );
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            last_name: "doe-smith".into(),
            ..jane()
        },
    )
    .await;
    assert_eq!(reply.username, "e77777");
}

#[test]
fn check_config_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let run = |text: &str| {
        fs::write(&config, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"))
            .arg("--config")
            .arg(&config)
            .arg("check-config")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(
        "[grpc]\nlisten = \"nowhere\"\n[directory]\nbind_password = \"x\"\nurl = \"ldaps://dc1\"\n",
    );
    assert!(!ok && err.contains("grpc.listen"), "{err}");
    // Reachable from other hosts in clear text: refused unless IT says a proxy does TLS.
    let open = "[grpc]\nlisten = \"0.0.0.0:50051\"\n[directory]\nbind_password = \"x\"\nurl = \"ldaps://dc1\"\n";
    let (ok, err) = run(open);
    assert!(
        !ok && err.contains("grpc.listen") && err.contains("grpc.allow_plaintext"),
        "{err}"
    );
    let (ok, err) = run(&open.replace("[directory]", "allow_plaintext = true\n[directory]"));
    assert!(ok, "{err}");
    let (ok, err) =
        run("[directory]\nbind_password = \"x\"\nurl = \"ldap://dc1.district.example\"\n");
    assert!(
        !ok && err.contains("directory.url") && err.contains("clear text"),
        "{err}"
    );
    let (ok, err) =
        run("[directory]\nbind_password = \"x\"\nurl = \"ldaps://dc1\"\nflavour = \"ad\"\n");
    assert!(!ok && err.contains("flavour"), "{err}");
    let (ok, err) = run(
        "[directory]\nbind_password = \"hunter2-bind\"\nurl = \"ldaps://dc1\"\n[accounts]\nusername_template = \"x\"\n",
    );
    assert!(!ok && err.contains("accounts.username_template"), "{err}");
    assert!(!err.contains("hunter2-bind"));
    let (ok, err) = run("[directory]\nbind_password = \"x\"\nurl = \"ldaps://dc1\"\n");
    assert!(ok, "{err}");
    // Valid, but answers would be hashed without a pepper: said, not refused.
    assert!(
        err.contains("warning: security.pepper_file is not set"),
        "{err}"
    );
    let pepper = dir.path().join("pepper");
    fs::write(&pepper, "a-long-random-pepper-value\n").unwrap();
    let (ok, err) = run(&format!(
        "[directory]\nbind_password = \"x\"\nurl = \"ldaps://dc1\"\n[security]\npepper_file = {:?}\n",
        pepper.display().to_string()
    ));
    assert!(ok && !err.contains("warning"), "{err}");
}

/// A replica (or a restart) with another seal key than the database was first started with
/// would accept claims the others cannot open: it refuses to start, naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_key_other_than_the_database_s_refuses_to_start() {
    let mut app = App::start().await;
    app.stop_with(nix::sys::signal::Signal::SIGTERM);
    let key = app.dir().join("claimd.key");
    let original = fs::read(&key).unwrap();
    fs::remove_file(&key).unwrap();
    let refused = app
        .claimd
        .refused_start("run", std::time::Duration::from_secs(30));
    assert!(
        refused.contains("store.seal_key_file") && refused.contains("claimd.key"),
        "{refused}"
    );
    // The first key starts again.
    fs::remove_file(&key).unwrap();
    fs::write(&key, original).unwrap();
    fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    app.launch().await;
}

/// Reflection lists the API to grpcurl by default; `grpc.reflection = false` turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_reflection_is_served_unless_turned_off() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    async fn services(endpoint: String) -> Result<String, tonic::Status> {
        let channel = tonic::transport::Endpoint::from_shared(endpoint)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut replies = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await?
            .into_inner();
        let reply = replies.message().await?.expect("a reply");
        Ok(format!("{:?}", reply.message_response))
    }
    let app = App::start().await;
    let listed = services(app.endpoint()).await.unwrap();
    assert!(listed.contains("claimd.v1.AccountService"), "{listed}");
    let hidden = App::start_with(&[("CLAIMD__GRPC__REFLECTION", "false")]).await;
    let status = services(hidden.endpoint()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

/// On a fresh install the directory's password file is not there yet: check-config checks
/// everything else and names it (exit 0), while `run` refuses to start naming the key. A
/// file that is there but empty is refused by both.
#[test]
fn a_secret_file_not_there_yet_is_named_by_check_config_and_stops_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let secret = dir.path().join("bind-password");
    fs::write(
        &config,
        format!(
            "[directory]\nurl = \"ldaps://dc1\"\nbind_password_file = {:?}\n[store]\nurl = \"sqlite://{}/c.db\"\nseal_key_file = \"{}/c.key\"\n",
            secret.display().to_string(),
            dir.path().display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let claimd = |command: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"))
            .arg("--config")
            .arg(&config)
            .arg(command)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = claimd("check-config");
    assert!(ok, "{err}");
    assert!(
        out.contains("not there yet: directory.bind_password_file"),
        "{out}"
    );
    let (ok, _, err) = claimd("run");
    assert!(!ok && err.contains("directory.bind_password_file"), "{err}");
    fs::write(&secret, "").unwrap();
    let (ok, _, err) = claimd("check-config");
    assert!(!ok && err.contains("is empty"), "{err}");
}

/// `--version` names the commit; the manual page and the completions come from the command
/// definitions, every subcommand in them.
#[test]
fn the_version_manual_and_completions_name_every_command() {
    let claimd = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_claimd"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let version = claimd(&["--version"]);
    let (name, rest) = version.trim().split_once(' ').unwrap();
    assert_eq!(name, "claimd");
    let (number, commit) = rest.split_once(' ').unwrap();
    assert_eq!(number, env!("CARGO_PKG_VERSION"));
    assert!(
        commit.starts_with('(') && commit.ends_with(')') && commit.len() > 2,
        "{version}"
    );
    let manual = claimd(&["manpage"]);
    assert!(
        manual.starts_with(".ie") || manual.contains(".TH claimd 1"),
        "{manual}"
    );
    let commands = [
        "run",
        "serve",
        "sync",
        "portal",
        "roster",
        "check-config",
        "admin",
        "completions",
    ];
    for command in commands {
        assert!(
            manual.contains(&format!("\\fBclaimd {command}\\fR")),
            "{command} in the manual"
        );
    }
    for nested in [
        "CLAIMD ROSTER IMPORT",
        "CLAIMD ADMIN UNLOCK",
        "CLAIMD ADMIN AUDIT",
    ] {
        assert!(manual.contains(nested), "{nested} in the manual");
    }
    assert!(
        !manual.contains("MANPAGE"),
        "the hidden command stays hidden"
    );
    for (shell, marker) in [
        ("bash", "_claimd()"),
        ("zsh", "#compdef claimd"),
        ("fish", "complete -c claimd"),
    ] {
        let script = claimd(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("check-config"), "{shell}");
    }
}

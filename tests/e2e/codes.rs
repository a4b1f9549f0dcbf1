//! Proof beyond names (issue 13), claim codes: sent by HR to the personal address (or
//! printed), used once, reissued; through the real binary, slapd and SMTP. The shared
//! helpers serve `second_factor` and `code_pages` too.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use claimd_api::v1::{ClaimAccountRequest, OperationState};
use claimd_testkit::ReceivedMail;
use tonic::Code;

use crate::harness::{App, claim_ok, jane, settle};

pub(crate) const MAIL_WAIT: Duration = Duration::from_secs(20);
pub(crate) const NEW_PASSWORD: &str = "Violet-Harbor-Compass-31";

/// Jane with a personal address; Rick without one.
pub(crate) const ROSTER: &str = "employee_id,last_name,first_name,email,status,personal_email\n\
                      077777,Doe,Jane,jane.doe@district.example,active,jane@home.example\n\
                      077778,Roe,Rick,rick.roe@district.example,active,\n";

pub(crate) fn rick() -> ClaimAccountRequest {
    ClaimAccountRequest {
        last_name: "Roe".into(),
        first_name: "Rick".into(),
        employee_id: "077778".into(),
        ..jane()
    }
}

/// The line after `marker` in a mail body.
pub(crate) fn after<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {body}"))
        + marker.len();
    body[start..].lines().next().unwrap().trim()
}

/// Waits (with a deadline) for mail number `seen + 1` to `to`, and returns it.
pub(crate) fn wait_mail_to(app: &App, to: &str, seen: usize) -> ReceivedMail {
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    loop {
        if let Some(mail) = mails_to(app, to).into_iter().nth(seen) {
            return mail;
        }
        assert!(std::time::Instant::now() < deadline, "no mail to {to}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn mails_to(app: &App, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .messages()
        .into_iter()
        .filter(|m| m.to.contains(address))
        .collect()
}

/// Runs `roster import` of `csv` with extra arguments; stdout and stderr together.
pub(crate) fn import(app: &App, csv: &str, extra: &[&str]) -> (bool, String) {
    let path = app.dir().join("codes-roster.csv");
    std::fs::write(&path, csv).unwrap();
    let mut args = vec!["roster", "import", path.to_str().unwrap()];
    args.extend(extra);
    let out = app.claimd(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn not_found_message(app: &App, request: ClaimAccountRequest) -> (Code, String) {
    let status = app.client().await.claim_account(request).await.unwrap_err();
    (status.code(), status.message().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_codes_are_mailed_or_printed_used_once_and_reissued() {
    let app = App::start_with(&[("CLAIMD__ACCOUNTS__CLAIM_CODE", "required")]).await;
    // An empty file made beforehand (mktemp) is taken, and made the owner's alone.
    let out_file = app.dir().join("codes.csv");
    std::fs::write(&out_file, "").unwrap();
    std::fs::set_permissions(&out_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = import(&app, ROSTER, &["--codes-out", out_file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 mailed") && out.contains("1 written"),
        "{out}"
    );

    // Jane's code went to her personal address, and nowhere else.
    let mail = app.smtp.wait_for(1, MAIL_WAIT);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].to.contains("jane@home.example"), "{}", mail[0].to);
    assert_eq!(mail[0].subject, "Claim your district account");
    let jane_code = after(&mail[0].body, "Enter this claim code:").to_owned();
    assert_eq!(jane_code.len(), 14, "{jane_code}");
    assert!(
        mail[0].body.contains("(zeroes first: 077777)"),
        "{}",
        mail[0].body
    );

    // Rick's is in the mail-merge file, for HR alone.
    let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let csv = std::fs::read_to_string(&out_file).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("employee_id,last_name,first_name,claim_code")
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("077778,Roe,Rick,"), "{row}");
    let rick_code = row.rsplit(',').next().unwrap().to_owned();
    assert_eq!(lines.next(), None, "{csv}");
    // A file with codes in it is never overwritten: the import stops before changing anything.
    let (ok, out) = import(&app, ROSTER, &["--codes-out", out_file.to_str().unwrap()]);
    assert!(!ok && out.contains("never overwritten"), "{out}");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), csv);
    // The store (the outbox included) never holds a code in the clear, in any form it can
    // be typed in.
    for file in ["claimd.db", "claimd.db-wal"] {
        for code in [&jane_code, &rick_code] {
            let bare = code.replace('-', "");
            for form in [
                code.clone(),
                bare.clone(),
                bare.to_lowercase(),
                code.to_lowercase(),
            ] {
                assert!(
                    !crate::harness::file_contains(&app.dir().join(file), &form),
                    "{form} in {file}"
                );
            }
        }
    }

    // No code, a wrong one, or Rick's: refused exactly as names that do not match.
    let (code, mismatch) = not_found_message(
        &app,
        ClaimAccountRequest {
            last_name: "Dough".into(),
            claim_code: jane_code.clone(),
            ..jane()
        },
    )
    .await;
    assert_eq!(code, Code::NotFound);
    for bad in ["", "XXXX-XXXX-XXXX", rick_code.as_str()] {
        let got = not_found_message(
            &app,
            ClaimAccountRequest {
                claim_code: bad.into(),
                ..jane()
            },
        )
        .await;
        assert_eq!(got, (Code::NotFound, mismatch.clone()), "{bad:?}");
    }

    // The right one, typed in lower case with spaces, works once.
    let typed = jane_code.to_lowercase().replace('-', " ");
    let reply = claim_ok(
        &mut app.client().await,
        ClaimAccountRequest {
            claim_code: typed,
            ..jane()
        },
    )
    .await;
    assert_eq!(reply.username, "e77777");
    let mut client = app.client().await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );

    // A reissued code kills the old one; without a personal address it is printed here.
    let out = app.claimd(&["admin", "reissue-code", "077778"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    let new_code = after(&printed, "new claim code for employee 077778:")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(new_code, rick_code);
    let got = not_found_message(
        &app,
        ClaimAccountRequest {
            claim_code: rick_code,
            ..rick()
        },
    )
    .await;
    assert_eq!(got, (Code::NotFound, mismatch.clone()));
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            claim_code: new_code.clone(),
            ..rick()
        },
    )
    .await;
    assert_eq!(reply.username, "e77778");
    // A claimed person gets no new code.
    let out = app.claimd(&["admin", "reissue-code", "077778"]);
    assert!(!out.status.success());

    // Wrong codes count as failed claims: the sixth try is locked even with a right code.
    let (ok, out) = import(
        &app,
        "employee_id,last_name,first_name,email,status,personal_email\n\
         077779,Poe,Pat,pat.poe@district.example,active,pat@home.example\n",
        &[],
    );
    assert!(ok, "{out}");
    let pat = wait_mail_to(&app, "pat@home.example", 0);
    let pat_code = after(&pat.body, "Enter this claim code:").to_owned();
    let pat_claim = |claim_code: &str| ClaimAccountRequest {
        last_name: "Poe".into(),
        first_name: "Pat".into(),
        employee_id: "077779".into(),
        claim_code: claim_code.into(),
        ..jane()
    };
    for _ in 0..5 {
        let got = not_found_message(&app, pat_claim("AAAA-AAAA-AAAA")).await;
        assert_eq!(got.0, Code::NotFound);
    }
    let got = not_found_message(&app, pat_claim(&pat_code)).await;
    assert_eq!(got.0, Code::ResourceExhausted, "{got:?}");
    // No code in claimd's log, and no code mail ever went to a district address.
    let logs = app.logs();
    assert!(!logs.contains(&jane_code) && !logs.contains(&new_code) && !logs.contains(&pat_code));
    assert!(
        mails_to(&app, "district.example")
            .iter()
            .all(|m| !m.body.contains("claim code:"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_codes_off_the_sheet_s_claim_is_unchanged_and_no_code_is_sent() {
    let app = App::start().await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    assert!(!out.contains("claim codes"), "{out}");
    let (ok, out) = import(&app, ROSTER, &["--codes-out", "/tmp/never.csv"]);
    assert!(!ok && out.contains("accounts.claim_code"), "{out}");
    let reply = claim_ok(&mut app.client().await, jane()).await;
    assert_eq!(reply.username, "e77777");
    let mail = app.smtp.wait_for(1, MAIL_WAIT);
    assert!(
        mail.iter().all(|m| !m.to.contains("home.example")),
        "{mail:?}"
    );
}

/// A code past its `claim_code_days` is refused like a names mismatch; a reissued one goes
/// to the personal address and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_fails_and_a_reissued_one_is_mailed() {
    let app = App::start_with(&[("CLAIMD__ACCOUNTS__CLAIM_CODE", "required")]).await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    let old = after(
        &wait_mail_to(&app, "jane@home.example", 0).body,
        "Enter this claim code:",
    )
    .to_owned();
    // Thirty days pass (the store's clock for this code, the rest unchanged).
    let db = format!("sqlite://{}", app.dir().join("claimd.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let aged = sqlx::query("UPDATE claim_codes SET expires_at = 1 WHERE employee_id = 77777")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(aged.rows_affected(), 1);
    pool.close().await;

    let (code, mismatch) = not_found_message(
        &app,
        ClaimAccountRequest {
            last_name: "Dough".into(),
            ..jane()
        },
    )
    .await;
    assert_eq!(code, Code::NotFound);
    let expired = not_found_message(
        &app,
        ClaimAccountRequest {
            claim_code: old.clone(),
            ..jane()
        },
    )
    .await;
    assert_eq!(expired, (Code::NotFound, mismatch));

    // The nightly import does not renew it (it would mail people who never claim every
    // month): nothing is mailed, and the old code still fails.
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok && !out.contains("1 mailed"), "{out}");
    let still = not_found_message(
        &app,
        ClaimAccountRequest {
            claim_code: old.clone(),
            ..jane()
        },
    )
    .await;
    assert_eq!(still, expired);

    let out = app.claimd(&["admin", "reissue-code", "077777"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("mailed"), "{said}");
    assert!(!said.contains(&old));
    let new = after(
        &wait_mail_to(&app, "jane@home.example", 1).body,
        "Enter this claim code:",
    )
    .to_owned();
    assert_ne!(new, old);
    // The reissue's mail came after anything the import queued: only these two were sent.
    assert_eq!(mails_to(&app, "jane@home.example").len(), 2);
    let reply = claim_ok(
        &mut app.client().await,
        ClaimAccountRequest {
            claim_code: new,
            ..jane()
        },
    )
    .await;
    assert_eq!(reply.username, "e77777");
}

/// A rehire gets a new code at the import that makes them active again (the old one was
/// used), and claims with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehire_gets_a_new_code_and_claims_with_it() {
    let app = App::start_with(&[("CLAIMD__ACCOUNTS__CLAIM_CODE", "required")]).await;
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok, "{out}");
    let first = after(
        &wait_mail_to(&app, "jane@home.example", 0).body,
        "Enter this claim code:",
    )
    .to_owned();
    let mut client = app.client().await;
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            claim_code: first.clone(),
            ..jane()
        },
    )
    .await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
    let left = ROSTER.replace(
        "jane.doe@district.example,active",
        "jane.doe@district.example,terminated",
    );
    let (ok, out) = import(&app, &left, &[]);
    assert!(ok, "{out}");
    let (ok, out) = import(&app, ROSTER, &[]);
    assert!(ok && out.contains("1 mailed"), "{out}");
    let second = after(
        &wait_mail_to(&app, "jane@home.example", 1).body,
        "Enter this claim code:",
    )
    .to_owned();
    assert_ne!(second, first);
    let used = app
        .client()
        .await
        .claim_account(ClaimAccountRequest {
            claim_code: first,
            ..jane()
        })
        .await
        .unwrap_err();
    assert_eq!(used.code(), Code::NotFound, "the old code is spent");
    let reply = claim_ok(
        &mut client,
        ClaimAccountRequest {
            claim_code: second,
            ..jane()
        },
    )
    .await;
    assert_eq!(
        settle(&mut client, &reply.operation.unwrap().id)
            .await
            .state(),
        OperationState::Succeeded
    );
}

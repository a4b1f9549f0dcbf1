//! The README's first command: claimd's main job on its embedded defaults, end to end.
//!
//! Starts a throwaway OpenLDAP (slapd) on a free loopback port in a temp dir, imports
//! `deploy/sample-roster.csv` with `claimd roster import`, runs `claimd run` (gRPC service and
//! sync worker, SQLite store), claims Jane Doe's account (077777) over gRPC as the portal
//! would, watches the operation, then shows the entry with `ldapsearch` and logs in with
//! `ldapwhoami`, and prints the confirmation mail a local SMTP server received. Everything
//! is removed afterwards.
//!
//! Run it with `scripts/demo`, which builds claimd first and passes the binary's path.

mod common;

use std::{fs, path::Path, time::Duration};

use claimd_api::v1::{
    ChallengeAnswer, ClaimAccountRequest, ListChallengeQuestionsRequest, WatchOperationRequest,
};
use claimd_testkit::Slapd;

use common::{BoxError, Stack};

const PASSWORD: &str = "Maple-Canoe-Lantern-42";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let claimd = std::env::args()
        .nth(1)
        .ok_or("usage: demo PATH-TO-CLAIMD (scripts/demo passes it)")?;
    let roster = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/sample-roster.csv"
    ))
    .canonicalize()?;

    println!("== 1. A throwaway OpenLDAP directory");
    let mut stack = Stack::new(&claimd)?;
    println!(
        "   slapd is listening on {} (users under {})",
        stack.slapd.url(),
        Slapd::USERS_BASE_DN
    );
    println!("   claimd's config: {}", stack.config().display());

    println!("\n== 2. Import the HR roster: claimd roster import deploy/sample-roster.csv");
    print!("   {}", stack.import(&roster)?);

    println!("\n== 3. Start claimd run (gRPC service + directory sync worker, SQLite store)");
    let result = claim(&mut stack).await;
    if result.is_ok() && std::env::args().any(|a| a == "--keep") {
        println!(
            "\n== The portal stays up for you: http://127.0.0.1:{}/claim (the sample roster's \
             other people can claim there; Ctrl-C ends the demo)",
            stack.portal_port
        );
        tokio::signal::ctrl_c().await?;
    }
    println!(
        "\n== 7. claimd stopped on SIGTERM ({}); its log was {}",
        stack.stop()?,
        stack.log().display()
    );
    if result.is_err() {
        eprintln!("{}", fs::read_to_string(stack.log()).unwrap_or_default());
    }
    result?;
    println!("   The demo's directory and files are removed now.");
    Ok(())
}

async fn claim(stack: &mut Stack) -> Result<(), BoxError> {
    let mut client = stack.run().await?;
    println!(
        "   gRPC on 127.0.0.1:{}; the self-service pages on http://127.0.0.1:{}/",
        stack.port, stack.portal_port
    );

    println!("\n== 4. Claim My Account: Doe / Jane / 077777, a password and three answers");
    let questions = client
        .list_challenge_questions(ListChallengeQuestionsRequest {})
        .await?
        .into_inner()
        .questions;
    let answers = ["Biscuit", "Lincoln Elementary", "Jonesboro"];
    for (q, a) in questions.iter().zip(answers) {
        println!("   {} -> {a}", q.text);
    }
    let request = ClaimAccountRequest {
        last_name: "Doe".into(),
        first_name: "Jane".into(),
        employee_id: "077777".into(),
        password: PASSWORD.into(),
        answers: questions
            .iter()
            .zip(answers)
            .map(|(q, a)| ChallengeAnswer {
                question_id: q.id.clone(),
                answer: a.into(),
            })
            .collect(),
        claim_code: String::new(),
    };
    let reply = client.claim_account(request).await?.into_inner();
    println!("   {}", reply.message);
    let id = reply.operation.ok_or("no operation")?.id;
    let mut stream = client
        .watch_operation(WatchOperationRequest { id: id.clone() })
        .await?
        .into_inner();
    while let Some(update) =
        tokio::time::timeout(Duration::from_secs(30), stream.message()).await??
    {
        let op = update.operation.ok_or("no operation")?;
        println!("   operation {id}: {:?} {}", op.state(), op.reason);
    }

    println!("\n== 5. The account in the directory");
    let slapd = &stack.slapd;
    let dn = format!("uid={},{}", reply.username, Slapd::USERS_BASE_DN);
    println!(
        "   $ ldapsearch -x -H {} -b {} '(uid={})'",
        slapd.url(),
        Slapd::USERS_BASE_DN,
        reply.username
    );
    for line in slapd
        .search(
            Slapd::USERS_BASE_DN,
            &format!("(uid={})", reply.username),
            &["*"],
        )
        .lines()
    {
        println!("   {line}");
    }
    println!(
        "   (userPassword is the server's own {{SSHA}} hash: claimd never writes a password in clear)"
    );
    let ok = slapd.can_bind(&dn, PASSWORD);
    let verdict = if ok { "login OK" } else { "LOGIN FAILED" };
    println!(
        "   $ ldapwhoami -x -H {} -D '{dn}' -w '<the chosen password>'  ->  {verdict}",
        slapd.url()
    );
    if !ok {
        return Err("the user could not log in".into());
    }

    println!("\n== 6. The confirmation mail (a local SMTP server received it)");
    let mail = stack.smtp.wait_for(1, Duration::from_secs(30)).remove(0);
    println!(
        "   To: {}\n   From: {}\n   Subject: {}\n",
        mail.to, mail.from, mail.subject
    );
    for line in mail.body.lines() {
        println!("   | {line}");
    }
    Ok(())
}

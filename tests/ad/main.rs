//! The Active Directory suite: the real `claimd` binary against a real Samba AD DC that this
//! binary provisions and starts itself (root only; Samba's LDAP ports are fixed, so there is
//! one DC, shared, and the tests run one after another). Runs without the libtest harness so
//! the DC is stopped at the end whatever happens.

mod cases;
#[path = "../common/client.rs"]
mod client;
mod harness;

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
    time::Instant,
};

use cases::*;
use claimd_testkit::SambaDc;

fn main() -> ExitCode {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("starting a Samba AD DC");
    let started = Instant::now();
    let mut dc = SambaDc::start();
    println!("DC up in {:.1} s", started.elapsed().as_secs_f64());
    let mut failed = Vec::new();
    let mut ran = 0;
    macro_rules! run {
        ($($test:ident),* $(,)?) => {$(
            let name = stringify!($test);
            if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
                ran += 1;
                let started = Instant::now();
                let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on($test(&mut dc))));
                let verdict = if outcome.is_ok() { "ok" } else { failed.push(name); "FAILED" };
                println!("test ad::{name} ... {verdict} ({:.1} s)", started.elapsed().as_secs_f64());
            }
        )*};
    }
    run!(
        claim_enables_a_preprovisioned_account,
        claim_creates_a_new_enabled_account,
        a_password_ad_refuses_fails_readably_and_the_person_can_claim_again,
        the_precheck_refuses_a_simple_password_as_a_field_error,
        resets_and_changes_land_in_ad,
        a_claim_made_while_the_dc_is_down_completes_when_it_is_back,
        starttls_and_failover_reach_the_dc,
        check_config_refuses_plain_ldap,
    );
    drop(dc);
    println!(
        "\nAD suite: {} passed, {} failed",
        ran - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! The Active Directory suite: the real `claimd` binary against a real Samba AD DC that this
//! binary provisions and starts itself (root only; Samba's LDAP ports are fixed, so there is
//! one DC, shared, and the tests run one after another). Runs without the libtest harness so
//! the DC is stopped at the end whatever happens.

mod cases;
#[path = "../common/client.rs"]
mod client;
#[path = "../common/desk.rs"]
mod desk;
mod harness;
mod helpdesk;
mod helpers;
mod lockout;
mod privileged;
mod reminders;
mod temporary;
// The pages' plain HTTP client, shared with the e2e suite (which uses all of it).
#[path = "../e2e/web.rs"]
#[allow(dead_code)]
mod web;

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
    time::Instant,
};

use cases::*;
use claimd_testkit::SambaDc;
use helpdesk::*;
use helpers::*;
use lockout::*;
use privileged::*;
use reminders::*;
use temporary::*;

/// Every case, in the order they run.
macro_rules! cases {
    ($($test:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($test)),*];

        fn run_case(name: &str, dc: &mut SambaDc, runtime: &tokio::runtime::Runtime) {
            match name {
                $(stringify!($test) => runtime.block_on($test(dc)),)*
                _ => unreachable!("{name} is in NAMES"),
            }
        }
    };
}

cases!(
    claim_enables_a_preprovisioned_account,
    claim_creates_a_new_enabled_account,
    a_password_ad_refuses_fails_readably_and_the_person_can_claim_again,
    the_precheck_refuses_a_simple_password_as_a_field_error,
    resets_and_changes_land_in_ad,
    names_with_dn_syntax_are_created_found_and_reset,
    roster_changes_reach_ad_movers_leavers_and_rehires,
    a_used_preprovisioned_account_is_claimed_only_when_the_district_allows,
    a_claim_made_while_the_dc_is_down_completes_when_it_is_back,
    starttls_and_failover_reach_the_dc,
    check_config_refuses_plain_ldap,
    a_preprovisioned_account_with_another_username_is_left_alone,
    a_privileged_account_is_never_claimed,
    a_claimed_account_made_privileged_is_left_alone,
    a_moved_employee_id_never_redirects_a_reset,
    two_accounts_with_one_employee_id_are_both_left_alone,
    a_twenty_character_username_is_created_and_twenty_one_refused,
    a_custom_upn_suffix_is_written_and_used_to_log_in,
    claimd_never_locks_a_domain_login,
    unlock_my_account_lifts_a_domain_lockout,
    a_must_change_password_is_changed_and_logs_in,
    reminders_come_once_and_never_for_a_password_that_never_expires,
    a_helper_is_found_in_the_domain_and_nested_groups_count,
    a_temporary_password_must_be_changed_at_the_next_domain_login,
    a_campus_tech_unlocks_and_sets_a_temporary_password_in_ad,
);

/// The filters and `--skip` patterns of a libtest-style command line; other flags are ignored.
fn parse_args(args: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<String>) {
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--skip" {
            skips.extend(args.next());
        } else if !arg.starts_with('-') {
            // The suite prints its tests as `ad::name`; a filter may say it the same way.
            filters.push(arg.strip_prefix("ad::").unwrap_or(&arg).to_owned());
        }
    }
    (filters, skips)
}

/// The cases selected as libtest selects: names containing a filter (all without one), less
/// those containing a `--skip` pattern.
fn selected(filters: &[String], skips: &[String]) -> Vec<&'static str> {
    NAMES
        .iter()
        .copied()
        .filter(|name| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .filter(|name| !skips.iter().any(|s| name.contains(s.as_str())))
        .collect()
}

fn main() -> ExitCode {
    let (filters, skips) = parse_args(std::env::args().skip(1));
    let selected = selected(&filters, &skips);
    if selected.is_empty() {
        println!(
            "no AD test selected by {filters:?} --skip {skips:?}\n\nAD suite: 0 passed, 0 failed"
        );
        // A typo in a filter must not look like a passing suite; skipping everything may.
        return if filters.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("starting a Samba AD DC");
    let started = Instant::now();
    let mut dc = SambaDc::start();
    println!("DC up in {:.1} s", started.elapsed().as_secs_f64());
    let mut failed = Vec::new();
    for name in &selected {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(name, &mut dc, &runtime)));
        let verdict = if outcome.is_ok() {
            "ok"
        } else {
            failed.push(*name);
            "FAILED"
        };
        println!(
            "test ad::{name} ... {verdict} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    drop(dc);
    println!(
        "\nAD suite: {} passed, {} failed",
        selected.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! The fault campaign: two `claimd run` replicas and a separate `claimd sync` on one
//! PostgreSQL, with clients claiming and resetting through both replicas while a random
//! process is SIGKILLed and restarted again and again, PostgreSQL is restarted once and the
//! directory stalls once. At the end every accepted operation must have reached its end, the
//! password that works must be each account's newest, no job may be left, and every job must
//! have its audit rows.
//!
//! `cargo test -p claimd --test faults` runs the short form (20 kills); set
//! `CLAIMD_FAULT_KILLS=100` for the long one. Runs without the libtest harness (one campaign,
//! its servers stopped at the end whatever happens).

mod campaign;
#[path = "../common/client.rs"]
#[allow(dead_code)]
mod client;

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
    time::Instant,
};

const NAME: &str = "fault_campaign";

/// The number of kills: `CLAIMD_FAULT_KILLS`, 20 when unset. A campaign of no kills tests
/// nothing, so 0 (or anything but a number) is refused rather than passed.
fn kills() -> Result<usize, String> {
    let Ok(value) = std::env::var("CLAIMD_FAULT_KILLS") else {
        return Ok(20);
    };
    match value.trim().parse::<usize>() {
        Ok(0) => Err(
            "CLAIMD_FAULT_KILLS=0 would kill nothing and check nothing; \
                       set it to 1 or more (20 is the short form, 100 the long one)"
                .into(),
        ),
        Ok(kills) => Ok(kills),
        Err(_) => Err(format!(
            "CLAIMD_FAULT_KILLS must be a whole number of kills, 1 or more, not {value:?}"
        )),
    }
}

fn main() -> ExitCode {
    // libtest-style filters: the campaign runs when none is given or one matches its name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        println!("fault campaign not selected by {filters:?}\n\nfaults: 0 passed, 0 failed");
        return ExitCode::FAILURE;
    }
    let kills = match kills() {
        Ok(kills) => kills,
        Err(problem) => {
            println!("test faults::{NAME} ... FAILED: {problem}\n\nfaults: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on(campaign::run(kills))));
    let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
    println!(
        "test faults::{NAME} ({kills} kills) ... {verdict} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! The store conformance suite: what every backend must do, run unchanged against each by a
//! macro: SQLite in a temp file, and a real PostgreSQL server the test starts itself.

mod attempts;
mod claims;
mod codes;
mod fixtures;
mod helpdesk;
mod jobs;
mod recovery;

use std::sync::Arc;

use claimd_core::Store;

macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            conformance!(@tests $make;
                claims::roster_import_counts_and_updates,
                claims::one_live_claim_per_employee,
                claims::concurrent_claims_of_one_person_admit_one,
                claims::a_large_import_is_whole_or_nothing,
                claims::sites_are_stored_updated_and_kept_without_the_column,
                codes::claim_codes_expire_are_replaced_and_used_once,
                codes::verification_codes_are_few_and_used_once,
                codes::codes_follow_the_person_and_their_address,
                jobs::a_finished_job_completes_its_operation_and_claim,
                jobs::a_refused_job_frees_the_roster_entry,
                jobs::an_expired_lease_is_taken_over_and_the_old_holder_fenced,
                jobs::a_retried_job_waits_until_due,
                jobs::a_held_retry_is_left_alone_until_it_ends,
                jobs::jobs_are_leased_and_recorded_in_batches,
                jobs::a_claim_s_directory_entry_is_kept_under_its_lease,
                jobs::the_first_seal_key_s_fingerprint_is_kept,
                attempts::failures_lock_accounts_and_addresses,
                attempts::old_and_cleared_failures_do_not_count,
                attempts::endless_failures_close_the_answers_until_a_code_or_an_admin,
                attempts::a_burst_of_reservations_is_judged_like_a_row,
                attempts::a_given_back_attempt_leaves_nothing,
                attempts::a_proven_secret_clears_the_account_not_the_address,
                attempts::a_rate_counts_and_locks_over_its_own_window,
                recovery::active_claims_are_found_by_username_and_email,
                recovery::a_newer_password_job_supersedes_a_waiting_one,
                recovery::an_account_s_jobs_run_in_order,
                recovery::answers_are_replaced_with_their_notice,
                recovery::mail_is_leased_retried_and_sent_once,
                recovery::a_leaver_takes_no_new_password_claim_or_revived_claim,
                recovery::the_lease_is_confirmed_before_a_write,
                recovery::releasing_an_active_claim_changes_nothing,
                recovery::a_release_racing_the_worker_s_finish_has_one_winner,
                recovery::a_held_reset_of_a_leaver_is_fenced_as_left,
                helpdesk::a_session_ends_idle_at_its_limit_or_on_sign_out,
                helpdesk::people_are_found_by_name_within_the_scope,
                helpdesk::the_audit_names_who_acted,
            );
        }
    };
    (@tests $make:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _guard) = $make.await;
                crate::$module::$test(store).await;
            }
        )*
    };
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let store = claimd_store::SqliteStore::connect(&url).await.unwrap();
    (Arc::new(store), dir)
}

conformance!(sqlite, sqlite());

async fn postgres() -> (Arc<dyn Store>, claimd_testkit::Postgres) {
    let server = tokio::task::spawn_blocking(claimd_testkit::Postgres::start)
        .await
        .unwrap();
    let settings = claimd_store::PgSettings {
        max_connections: 8,
        ..Default::default()
    };
    let store = claimd_store::PgStore::connect(&server.url(), &settings)
        .await
        .unwrap();
    (Arc::new(store), server)
}

conformance!(postgres, postgres());

//! The sections that shape the account flows: `[accounts]` (usernames, passwords, claim
//! codes), `[recovery]` (the second factor), `[challenge]` (the question pool) and
//! `[security]` (attempt limits and the answer pepper).

use std::path::PathBuf;

use claimd_core::Question;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSection {
    pub username_template: String,
    pub password_min_length: usize,
    /// AD: claim a pre-provisioned account even when it has been used before.
    pub adopt_used_accounts: bool,
    /// `off` (names and ID claim) or `required` (and the code HR sent).
    pub claim_code: String,
    /// Days a claim code works.
    pub claim_code_days: u32,
}

impl Default for AccountsSection {
    fn default() -> Self {
        Self {
            username_template: "e{id}".into(),
            password_min_length: claimd_core::MIN_PASSWORD_CHARS,
            adopt_used_accounts: false,
            claim_code: "off".into(),
            claim_code_days: 30,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverySection {
    /// `off` (answers alone) or `personal_email` (and a code mailed there).
    pub second_factor: String,
}

impl Default for RecoverySection {
    fn default() -> Self {
        Self {
            second_factor: "off".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengeSection {
    /// The question pool; the built-in default pool when empty.
    pub questions: Vec<Question>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySection {
    pub pepper_file: Option<PathBuf>,
    pub account_max_failures: u32,
    pub address_max_failures: u32,
    pub failure_window_secs: u64,
    pub lockout_secs: u64,
    pub account_consecutive_limit: u32,
    pub username_mails_per_address: u32,
}

impl Default for SecuritySection {
    fn default() -> Self {
        let d = claimd_core::LockoutPolicy::default();
        Self {
            pepper_file: None,
            account_max_failures: d.account_failures,
            address_max_failures: d.address_failures,
            failure_window_secs: d.window.as_secs(),
            lockout_secs: d.lock_for.as_secs(),
            account_consecutive_limit: d.account_consecutive_limit,
            username_mails_per_address: d.username_mails_per_address,
        }
    }
}

//! The sections that shape the account flows: `[accounts]` (usernames, passwords, claim
//! codes), `[passwords]` (the breached list), `[recovery]` (the second factor), `[challenge]`
//! (the question pool) and `[security]` (attempt limits and the answer pepper).

use std::{path::PathBuf, sync::Arc, time::Duration};

use claimd_core::{
    AccountPolicy, LockoutPolicy, PasswordPolicy, Question, QuestionPool, UsernameTemplate,
};
use claimd_ldap::Flavor;
use secrecy::SecretSlice;
use serde::Deserialize;

use super::{
    Settings,
    problems::{self, Choice, Problems, read_secret_file},
};

/// `accounts.claim_code`: what a claim needs beyond the names and the ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimCode {
    /// The names and the ID claim.
    Off,
    /// And the one-time code HR sent (`roster import --codes-out`, or mailed).
    Required,
}

impl Choice for ClaimCode {
    const WORDS: &'static [(&'static str, Self)] =
        &[("off", Self::Off), ("required", Self::Required)];
}

/// `recovery.second_factor`: what a reset needs beyond the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    /// The answers alone.
    Off,
    /// And a code mailed to the personal address on file.
    PersonalEmail,
}

impl Choice for SecondFactor {
    const WORDS: &'static [(&'static str, Self)] =
        &[("off", Self::Off), ("personal_email", Self::PersonalEmail)];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSection {
    pub username_template: String,
    pub password_min_length: usize,
    /// AD: claim a pre-provisioned account even when it has been used before.
    pub adopt_used_accounts: bool,
    /// Directory groups (DNs) whose members claimd never acts on, beside AD's privileged ones.
    pub protected_groups: Vec<String>,
    /// `off` (names and ID claim) or `required` (and the code HR sent).
    #[serde(deserialize_with = "problems::choice")]
    pub claim_code: ClaimCode,
    /// Days a claim code works.
    pub claim_code_days: u32,
}

impl Default for AccountsSection {
    fn default() -> Self {
        Self {
            username_template: "e{id}".into(),
            password_min_length: claimd_core::MIN_PASSWORD_CHARS,
            adopt_used_accounts: false,
            protected_groups: Vec::new(),
            claim_code: ClaimCode::Off,
            claim_code_days: 30,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsSection {
    /// A sorted Pwned Passwords SHA-1 file (`HASH:COUNT` lines); none: no breached list.
    pub breached_file: Option<PathBuf>,
    /// How many sightings in the list refuse a password.
    pub breached_min_count: u64,
}

impl Default for PasswordsSection {
    fn default() -> Self {
        Self {
            breached_file: None,
            breached_min_count: 1,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverySection {
    /// `off` (answers alone) or `personal_email` (and a code mailed there).
    #[serde(deserialize_with = "problems::choice")]
    pub second_factor: SecondFactor,
}

impl Default for RecoverySection {
    /// Secure by default: whoever has a personal address on the roster also needs the code
    /// mailed there; people without one reset with their answers, audited `answers_only`.
    fn default() -> Self {
        Self {
            second_factor: SecondFactor::PersonalEmail,
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

impl Settings {
    /// The account policy: `[accounts]`, `[recovery]`, `[challenge]` and `[security]`'s
    /// attempt limits, checked.
    pub(super) fn account_policy(&self, p: &mut Problems) -> Option<AccountPolicy> {
        let a = &self.accounts;
        let usernames = self.usernames(p);
        let passwords = p.take(
            "accounts.password_min_length",
            PasswordPolicy::new(a.password_min_length).map(|policy| {
                policy.with_ad_complexity(
                    self.directory.flavor == Flavor::ActiveDirectory
                        && self.directory.ad_complexity_precheck,
                )
            }),
        );
        let passwords = passwords.and_then(|policy| self.breached(policy, p));
        let questions = if self.challenge.questions.is_empty() {
            Some(QuestionPool::default())
        } else {
            p.take(
                "challenge.questions",
                QuestionPool::new(self.challenge.questions.clone()),
            )
        };
        let lockout = self.lockout(p);
        let claim_code = self.claim_code_lifetime(p);
        Some(AccountPolicy {
            usernames: usernames?,
            passwords: passwords?,
            questions: questions?,
            lockout,
            claim_code,
            second_factor: self.recovery.second_factor == SecondFactor::PersonalEmail,
        })
    }

    /// The policy with `[passwords]`'s breached list, opened and checked, when one is given.
    fn breached(&self, policy: PasswordPolicy, p: &mut Problems) -> Option<PasswordPolicy> {
        let s = &self.passwords;
        p.at_least_one("passwords.breached_min_count", s.breached_min_count);
        let Some(path) = &s.breached_file else {
            return Some(policy);
        };
        let list = p.take(
            "passwords.breached_file",
            claimd_breached::BreachedList::open(path, s.breached_min_count.max(1)),
        )?;
        Some(policy.with_breached(Arc::new(list)))
    }

    /// `accounts.username_template` alone, for the commands that need only the store.
    pub fn username_template(&self) -> anyhow::Result<UsernameTemplate> {
        let mut p = Problems::default();
        let usernames = self.usernames(&mut p);
        p.finish(usernames)
    }

    /// `accounts.username_template`, checked.
    pub(super) fn usernames(&self, p: &mut Problems) -> Option<UsernameTemplate> {
        p.take(
            "accounts.username_template",
            UsernameTemplate::parse(&self.accounts.username_template),
        )
    }

    /// How long a claim code works; `None` when claims need none.
    pub(super) fn claim_code_lifetime(&self, p: &mut Problems) -> Option<Duration> {
        let a = &self.accounts;
        p.at_least_one("accounts.claim_code_days", u64::from(a.claim_code_days));
        (a.claim_code == ClaimCode::Required)
            .then(|| Duration::from_secs(u64::from(a.claim_code_days) * 86_400))
    }

    /// `[security]`'s attempt limits, each at least 1.
    fn lockout(&self, p: &mut Problems) -> LockoutPolicy {
        let s = &self.security;
        p.at_least_one(
            "security.account_max_failures",
            u64::from(s.account_max_failures),
        );
        p.at_least_one(
            "security.address_max_failures",
            u64::from(s.address_max_failures),
        );
        p.at_least_one("security.failure_window_secs", s.failure_window_secs);
        p.at_least_one("security.lockout_secs", s.lockout_secs);
        p.at_least_one(
            "security.account_consecutive_limit",
            u64::from(s.account_consecutive_limit),
        );
        p.at_least_one(
            "security.username_mails_per_address",
            u64::from(s.username_mails_per_address),
        );
        LockoutPolicy {
            account_failures: s.account_max_failures,
            address_failures: s.address_max_failures,
            window: Duration::from_secs(s.failure_window_secs),
            lock_for: Duration::from_secs(s.lockout_secs),
            account_consecutive_limit: s.account_consecutive_limit,
            username_mails_per_address: s.username_mails_per_address,
            ..LockoutPolicy::default()
        }
    }

    /// `security.pepper_file`, read: at least 16 characters, or none.
    pub(super) fn pepper(&self, p: &mut Problems) -> Option<SecretSlice<u8>> {
        let path = self.security.pepper_file.as_ref()?;
        let pepper = p.take("security.pepper_file", read_secret_file(path))?;
        if pepper.len() < 16 {
            p.add("security.pepper_file", "must hold at least 16 characters");
            return None;
        }
        Some(SecretSlice::from(pepper.into_bytes()))
    }
}

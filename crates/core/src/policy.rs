//! The district's rules, gathered from configuration and shared by the flows.

use crate::{LockoutPolicy, PasswordPolicy, QuestionPool, UsernameTemplate};

/// Everything configurable that the account flows apply.
#[derive(Clone, Debug, Default)]
pub struct AccountPolicy {
    /// How usernames are made.
    pub usernames: UsernameTemplate,
    /// What a new password must satisfy.
    pub passwords: PasswordPolicy,
    /// The challenge questions offered.
    pub questions: QuestionPool,
    /// When failures lock an account or an address.
    pub lockout: LockoutPolicy,
}
